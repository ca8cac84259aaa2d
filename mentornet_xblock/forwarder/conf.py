"""The forwarder's settings, read from Django settings at the moment they are needed.

Reading late matters: Open edX imports plugin apps before its settings exist, and tests override settings.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from django.conf import settings

EVENTS_PATH = "/bridge/openedx/events"

DEFAULTS: dict[str, object] = {
    # Base URL of mentorNET, e.g. "https://mentornet.example.org"; events go to <URL>/bridge/openedx/events.
    "MENTORNET_BRIDGE_URL": "",
    # The same value as mentorNET's MENTORNET_WEBHOOK_SECRET; signs every event.
    "MENTORNET_WEBHOOK_SECRET": "",  # nosec B105  # empty: the operator sets it
    "MENTORNET_FORWARDER_ENABLED": True,
    # Retries after the first attempt before an event is given up (reconciliation still finds the pass).
    "MENTORNET_FORWARDER_MAX_RETRIES": 10,
    # None: use Celery when it is installed, the LMS names a broker and tasks are not run eagerly.
    "MENTORNET_FORWARDER_USE_CELERY": None,
    # Seconds before the first retry, doubled on every further retry (with full jitter), capped at the max.
    # Celery reads it once, when the task is registered, and rounds it to whole seconds (at least 1).
    "MENTORNET_FORWARDER_RETRY_BACKOFF": 5,
    "MENTORNET_FORWARDER_RETRY_BACKOFF_MAX": 600,
    # Events the in-process sender holds at most (waiting plus retrying); read when the sender starts.
    "MENTORNET_FORWARDER_QUEUE_SIZE": 1000,
}


@dataclass(frozen=True)
class ForwarderSettings:
    bridge_url: str
    webhook_secret: str
    enabled: bool
    max_retries: int
    use_celery: bool
    retry_backoff: float
    retry_backoff_max: float
    queue_size: int

    @property
    def events_url(self) -> str:
        return self.bridge_url.rstrip("/") + EVENTS_PATH

    @property
    def configured(self) -> bool:
        return bool(self.bridge_url and self.webhook_secret)


def _setting(name: str):
    return getattr(settings, name, DEFAULTS[name])


def current() -> ForwarderSettings:
    use_celery = _setting("MENTORNET_FORWARDER_USE_CELERY")
    return ForwarderSettings(
        bridge_url=str(_setting("MENTORNET_BRIDGE_URL") or ""),
        webhook_secret=str(_setting("MENTORNET_WEBHOOK_SECRET") or ""),
        enabled=bool(_setting("MENTORNET_FORWARDER_ENABLED")),
        max_retries=max(0, int(_setting("MENTORNET_FORWARDER_MAX_RETRIES"))),
        use_celery=lms_has_celery() if use_celery is None else bool(use_celery),
        retry_backoff=max(0.0, float(_setting("MENTORNET_FORWARDER_RETRY_BACKOFF"))),
        retry_backoff_max=max(0.0, float(_setting("MENTORNET_FORWARDER_RETRY_BACKOFF_MAX"))),
        queue_size=max(1, int(_setting("MENTORNET_FORWARDER_QUEUE_SIZE"))),
    )


def lms_has_celery() -> bool:
    """Celery is installed, a broker is configured, and tasks really leave the process.

    Eager mode (Open edX devstack and test settings) would run the POST and its retries inside the learner's
    request, so it counts as "no Celery" here.
    """
    if importlib.util.find_spec("celery") is None:
        return False
    broker = getattr(settings, "CELERY_BROKER_URL", None) or getattr(settings, "BROKER_URL", None)
    eager = getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False) or getattr(
        settings, "CELERY_ALWAYS_EAGER", False
    )
    return bool(broker) and not eager
