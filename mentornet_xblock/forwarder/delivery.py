"""One POST of a signed event to the bridge, and what to do about its outcome. No Django, no Celery."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

import requests

SIGNATURE_HEADER = "X-MentorNET-Signature"
TIMEOUT = (3, 10)  # connect, read (seconds)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """An event ready to send: the URL, the exact bytes and their signature, and a label for the logs."""

    url: str
    body: bytes
    signature: str
    label: str


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    retryable: bool
    reason: str


def post(delivery: Delivery) -> Outcome:
    """Send once; never raises. Connection errors, timeouts, 429 and 5xx are worth retrying, the rest is not."""
    try:
        response = requests.post(
            delivery.url,
            data=delivery.body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: delivery.signature},
            timeout=TIMEOUT,
            # A redirected POST would arrive as a GET without the body: a wrong URL, not a transient failure.
            allow_redirects=False,
        )
    except (requests.ConnectionError, requests.Timeout) as exc:
        return Outcome(delivered=False, retryable=True, reason=f"{type(exc).__name__}: {exc}")
    except requests.RequestException as exc:
        return Outcome(delivered=False, retryable=False, reason=f"{type(exc).__name__}: {exc}")
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(delivered=True, retryable=False, reason=f"HTTP {status}")
    return Outcome(delivered=False, retryable=status == 429 or status >= 500, reason=f"HTTP {status}")


def backoff_delay(retry: int, base: float, maximum: float) -> float:
    """Exponential back-off with full jitter: a random delay up to ``base * 2**retry`` (capped)."""
    return random.uniform(0, min(maximum, base * (2**retry)))  # noqa: S311  # nosec B311  # jitter, not a secret


def log_rejected(delivery: Delivery, outcome: Outcome) -> None:
    log.error(
        "mentorNET forwarder: the bridge refused %s (%s); not retrying. Check MENTORNET_BRIDGE_URL and "
        "MENTORNET_WEBHOOK_SECRET; `mentornet bridge reconcile` picks up the pass later.",
        delivery.label,
        outcome.reason,
    )


def log_given_up(delivery: Delivery, outcome: Outcome, attempts: int) -> None:
    log.error(
        "mentorNET forwarder: giving up on %s after %d attempts (last: %s); `mentornet bridge reconcile` "
        "picks up the pass later.",
        delivery.label,
        attempts,
        outcome.reason,
    )
