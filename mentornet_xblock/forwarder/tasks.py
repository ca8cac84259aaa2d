"""The Celery task that posts an event when the LMS has Celery (its workers discover this module)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from mentornet_xblock.forwarder import conf, delivery
from mentornet_xblock.forwarder.delivery import Delivery

log = logging.getLogger(__name__)


class RetryableDeliveryError(Exception):
    """The bridge was unreachable, too slow, busy (429) or failing (5xx): worth another try later."""


def _whole_seconds(name: str) -> int:
    # Celery takes its back-off when the task is registered, in whole seconds.
    try:
        value = getattr(settings, name, conf.DEFAULTS[name])
    except ImproperlyConfigured:  # imported before the LMS settings exist
        value = conf.DEFAULTS[name]
    return max(1, round(float(value)))


@shared_task(
    bind=True,
    name="mentornet_xblock.forwarder.tasks.deliver_event",
    autoretry_for=(RetryableDeliveryError,),
    retry_backoff=_whole_seconds("MENTORNET_FORWARDER_RETRY_BACKOFF"),
    retry_backoff_max=_whole_seconds("MENTORNET_FORWARDER_RETRY_BACKOFF_MAX"),
    retry_jitter=True,
    # The limit is MENTORNET_FORWARDER_MAX_RETRIES, read on every run below, so a settings change needs no
    # restart of the task registry.
    max_retries=None,
    ignore_result=True,
    acks_late=True,
)
def deliver_event(self, url: str, body: str, signature: str, label: str) -> None:
    """POST one signed event. ``body`` is the JSON text (ASCII), so its bytes are exactly the signed bytes."""
    event = Delivery(url=url, body=body.encode("utf-8"), signature=signature, label=label)
    outcome = delivery.post(event)
    if outcome.delivered:
        log.info("mentorNET forwarder: delivered %s (%s)", label, outcome.reason)
        return
    if not outcome.retryable:
        delivery.log_rejected(event, outcome)
        return
    attempts = self.request.retries + 1
    if attempts > conf.current().max_retries:
        delivery.log_given_up(event, outcome, attempts)
        return
    log.warning("mentorNET forwarder: %s failed (%s); Celery retries it", label, outcome.reason)
    raise RetryableDeliveryError(outcome.reason)
