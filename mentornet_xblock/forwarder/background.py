"""The in-process sender for an LMS without Celery: one daemon thread, a bounded queue, back-off retries.

Submitting never blocks and never raises; when the queue is full or an event runs out of retries the sender
logs it and moves on (reconciliation against the LMS grades API finds those passes later).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mentornet_xblock.forwarder import delivery as delivery_module
from mentornet_xblock.forwarder.delivery import Delivery, Outcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int
    backoff: float
    backoff_max: float


@dataclass(order=True)
class _Scheduled:
    due: float
    sequence: int
    delivery: Delivery = field(compare=False)
    attempts: int = field(compare=False, default=0)


class BackgroundSender:
    """Delivers events on its own thread; a retry waits in a schedule, so it never holds up other events."""

    def __init__(
        self,
        capacity: int,
        policy: Callable[[], RetryPolicy],
        post: Callable[[Delivery], Outcome] = delivery_module.post,
    ):
        self._capacity = capacity
        self._policy = policy
        self._post = post
        self._incoming: queue.Queue[Delivery] = queue.Queue(maxsize=capacity)
        self._retrying: list[_Scheduled] = []
        self._sequence = itertools.count()
        self._unfinished = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._start_lock = threading.Lock()

    def submit(self, delivery: Delivery) -> bool:
        """Queue an event; False (and an error in the log) when the queue is full."""
        self._ensure_running()
        with self._idle:
            self._unfinished += 1
        try:
            self._incoming.put_nowait(delivery)
        except queue.Full:
            self._finished()
            log.error(
                "mentorNET forwarder: queue full (%d events); dropping %s. `mentornet bridge reconcile` "
                "picks up the pass later.",
                self._capacity,
                delivery.label,
            )
            return False
        return True

    def flush(self, timeout: float) -> bool:
        """Wait until every submitted event is delivered or given up; False if some are still pending."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._unfinished:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    @property
    def pending(self) -> int:
        with self._idle:
            return self._unfinished

    def _ensure_running(self) -> None:
        # After a fork (gunicorn, Celery prefork) the parent's thread does not exist in the child.
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
                return
            if self._pid != os.getpid():
                self._incoming = queue.Queue(maxsize=self._capacity)
                self._retrying = []
                self._unfinished = 0
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="mentornet-forwarder", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            timeout = None
            if self._retrying:
                timeout = max(0.0, self._retrying[0].due - time.monotonic())
            try:
                fresh = self._incoming.get(timeout=timeout)
            except queue.Empty:
                pass
            else:
                self._attempt(_Scheduled(time.monotonic(), next(self._sequence), fresh))
            while self._retrying and self._retrying[0].due <= time.monotonic():
                self._attempt(heapq.heappop(self._retrying))

    def _attempt(self, scheduled: _Scheduled) -> None:
        try:
            outcome = self._post(scheduled.delivery)
            attempts = scheduled.attempts + 1
            if outcome.delivered:
                log.info("mentorNET forwarder: delivered %s (%s)", scheduled.delivery.label, outcome.reason)
            elif not outcome.retryable:
                delivery_module.log_rejected(scheduled.delivery, outcome)
            elif self._schedule_retry(scheduled, outcome, attempts):
                return  # still pending
            else:
                delivery_module.log_given_up(scheduled.delivery, outcome, attempts)
        except Exception:  # the thread must outlive any surprise; a pass lost here is reconciled later
            log.exception("mentorNET forwarder: unexpected error while sending %s", scheduled.delivery.label)
        self._finished()

    def _schedule_retry(self, scheduled: _Scheduled, outcome: Outcome, attempts: int) -> bool:
        policy = self._policy()
        if attempts > policy.max_retries or len(self._retrying) >= self._capacity:
            return False
        delay = delivery_module.backoff_delay(attempts - 1, policy.backoff, policy.backoff_max)
        log.warning(
            "mentorNET forwarder: %s failed (%s); retry %d of %d in %.1f s",
            scheduled.delivery.label,
            outcome.reason,
            attempts,
            policy.max_retries,
            delay,
        )
        scheduled.due = time.monotonic() + delay
        scheduled.attempts = attempts
        heapq.heappush(self._retrying, scheduled)
        return True

    def _finished(self) -> None:
        with self._idle:
            self._unfinished -= 1
            if not self._unfinished:
                self._idle.notify_all()
