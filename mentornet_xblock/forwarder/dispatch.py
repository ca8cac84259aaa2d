"""From a received signal to a queued delivery: build and sign the body, then hand it over after the commit.

Everything here runs in the learner's request (or the grading task), so it never raises and never waits on
the network: the POST happens in a Celery worker or in the background sender's thread.
"""

from __future__ import annotations

import atexit
import logging
import threading

from django.db import transaction

from lti_bridge import signing
from mentornet_xblock.forwarder import conf, payload
from mentornet_xblock.forwarder.background import BackgroundSender, RetryPolicy
from mentornet_xblock.forwarder.delivery import Delivery

log = logging.getLogger(__name__)

# How long a stopping LMS process waits for events still on their way.
EXIT_GRACE_SECONDS = 5.0

_warned_unconfigured = False
_sender: BackgroundSender | None = None
_sender_lock = threading.Lock()


def forward(data, metadata) -> None:
    """Queue one openedx-events event for the bridge."""
    try:
        config = conf.current()
        if not config.enabled:
            return
        if not config.configured:
            _warn_unconfigured()
            return
        body = payload.event_body(data, metadata)
        event = Delivery(
            url=config.events_url,
            body=body,
            signature=signing.sign(body, config.webhook_secret),
            label=f"{metadata.event_type} {metadata.id}",
        )
        _after_commit(lambda: _enqueue(event, config.use_celery))
    except Exception:
        log.exception(
            "mentorNET forwarder: could not queue an event; `mentornet bridge reconcile` finds the pass"
        )


def background_sender() -> BackgroundSender:
    """The process-wide in-process sender, created on first use."""
    global _sender
    if _sender is None:
        with _sender_lock:
            if _sender is None:
                _sender = BackgroundSender(capacity=conf.current().queue_size, policy=_retry_policy)
                atexit.register(_flush_at_exit, _sender)
    return _sender


def _after_commit(callback) -> None:
    """Hand over only what the LMS really commits; outside a transaction, at once."""
    try:
        transaction.on_commit(callback)
    except Exception:  # no usable database connection here: nothing to wait for
        callback()


def _enqueue(event: Delivery, use_celery: bool) -> None:
    try:
        if use_celery and _send_to_celery(event):
            return
        background_sender().submit(event)
    except Exception:
        log.exception("mentorNET forwarder: could not queue %s", event.label)


def _send_to_celery(event: Delivery) -> bool:
    try:
        from mentornet_xblock.forwarder import tasks

        # retry=False: with the broker down, fall back to this process at once instead of holding the request.
        tasks.deliver_event.apply_async(
            args=(event.url, event.body.decode("utf-8"), event.signature, event.label), retry=False
        )
    except Exception:
        log.warning(
            "mentorNET forwarder: Celery did not take %s; sending it from this process",
            event.label,
            exc_info=True,
        )
        return False
    return True


def _retry_policy() -> RetryPolicy:
    config = conf.current()
    return RetryPolicy(config.max_retries, config.retry_backoff, config.retry_backoff_max)


def _flush_at_exit(sender: BackgroundSender) -> None:
    if sender.pending and not sender.flush(EXIT_GRACE_SECONDS):
        log.warning(
            "mentorNET forwarder: process exiting with %d undelivered events; `mentornet bridge reconcile` "
            "finds those passes.",
            sender.pending,
        )


def _warn_unconfigured() -> None:
    global _warned_unconfigured
    if not _warned_unconfigured:
        _warned_unconfigured = True
        log.warning(
            "mentorNET forwarder: MENTORNET_BRIDGE_URL or MENTORNET_WEBHOOK_SECRET is not set; completion "
            "events are not forwarded to mentorNET."
        )
