"""The background thread of a web process (network_service.background): work committed by requests is done
right after, and work that keeps arriving is done in batches instead of a pass per request."""

from __future__ import annotations

import threading
import time

from flask import Flask

from network_service import background


class Queue:
    """A drain over a list: each pass takes everything waiting and records how much it took."""

    def __init__(self):
        self.waiting = 0
        self.passes: list[int] = []
        self.calls = 0  # drain() calls that have returned; one that took nothing ends a pass
        self.lock = threading.Lock()
        self.done = threading.Event()

    def add(self, n: int = 1) -> None:
        with self.lock:
            self.waiting += n

    def drain(self) -> int:
        with self.lock:
            taken, self.waiting = self.waiting, 0
        if taken:
            self.passes.append(taken)
            self.done.set()
        self.calls += 1
        return taken

    def wait_for_calls(self, count: int, timeout: float = 20) -> None:
        """Wait (generously: the machine may be starved) until the thread has called drain() ``count`` times,
        instead of sleeping and hoping it got there."""
        deadline = time.monotonic() + timeout
        while self.calls < count:
            assert time.monotonic() < deadline, (
                f"drain() called {self.calls} times, not {count}, in {timeout} s"
            )
            time.sleep(0.01)


def _worker(monkeypatch, batch_seconds: float):
    monkeypatch.setattr(background, "BATCH_SECONDS", batch_seconds)
    app = Flask(__name__)
    queue = Queue()
    background.add_drain(app, "queue", queue.drain)
    return background.BackgroundWorker(app), queue


def test_work_after_a_quiet_time_is_done_at_once_and_what_follows_in_one_batch(monkeypatch):
    # The batch interval (4 s) is well above the bound on the first piece (2.5 s), so that a machine busy
    # with both suites at once cannot make a prompt pass look like one that waited for the interval.
    worker, queue = _worker(monkeypatch, batch_seconds=4.0)
    try:
        worker.ensure_started()
        queue.wait_for_calls(1)  # the thread's first pass found nothing: it waits to be woken
        queue.add()
        woken = time.monotonic()
        worker.notify()
        assert queue.done.wait(2.5), "the first piece of work waited for the batch interval"
        assert time.monotonic() - woken < 2.5
        # That pass ends with a call that finds nothing; work added before it would join the pass.
        queue.wait_for_calls(3)
        queue.done.clear()
        for _ in range(5):  # five requests commit work while the thread pauses after its pass
            queue.add()
            worker.notify()
            time.sleep(0.05)
        assert queue.done.wait(10)
        assert queue.passes == [1, 5]
    finally:
        worker.stop()


def test_without_work_the_thread_does_not_pause(monkeypatch):
    worker, queue = _worker(monkeypatch, batch_seconds=30.0)
    try:
        worker.ensure_started()
        queue.wait_for_calls(1)  # the first pass, which found nothing
        worker.notify()  # a wake-up that finds nothing to do
        queue.wait_for_calls(2)
        queue.add()
        worker.notify()
        # Far below the 30 s pause that a pass that did nothing must not take.
        assert queue.done.wait(15), "a pass that did nothing made the next work wait"
        assert queue.passes == [1]
    finally:
        worker.stop()


def test_stopping_ends_the_pause(monkeypatch):
    worker, queue = _worker(monkeypatch, batch_seconds=30.0)
    worker.ensure_started()
    queue.add()
    worker.notify()
    assert queue.done.wait(15)
    began = time.monotonic()
    worker.stop(timeout=15)  # half the pause: on a starved machine the thread may take a while to end
    assert not worker._thread.is_alive() and time.monotonic() - began < 15
