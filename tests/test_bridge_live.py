"""Completion sources over real HTTP against a served app: concurrency, every source, an SMTP outage."""

from __future__ import annotations

import base64
import threading
import time

import pytest
import requests
import sqlalchemy as sa

from lti_bridge.models import SourceKind
from lti_bridge.sources import create_source
from network_service.accounts.models import Person
from network_service.courses.models import CompletionEvent
from network_service.db import session
from network_service.mail.models import MailStatus, OutboundEmail
from tests import bridge_payloads as payloads
from tests.live import live_service

pytestmark = pytest.mark.live


def _count(app, model, *where) -> int:
    with app.app_context():
        return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout}s")
        time.sleep(0.05)


def test_fifty_concurrent_copies_of_one_event_give_one_graduate_and_one_email(tmp_path):
    with live_service(tmp_path) as live:
        payload = payloads.passing_status("7d9c0b1e-5a5a-4c4c-9d9d-000000000050")
        barrier = threading.Barrier(50)
        statuses: list[int] = []

        def deliver():
            barrier.wait()
            statuses.append(payloads.post_signed(live.base_url, payload).status_code)

        threads = [threading.Thread(target=deliver) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        assert statuses == [202] * 50
        assert _count(live.app, CompletionEvent) == 1
        # The endpoint answers once the event is stored; a background drain acts on it after the commit. Wait
        # (generously: the machine may be busy) until it has, then look at what acting on it made.
        _wait_until(lambda: _count(live.app, CompletionEvent, CompletionEvent.processed_at.is_not(None)) == 1)
        live.smtp.inbox.wait_for(1, timeout=60)
        assert _count(live.app, Person, Person.email == "grace@example.org") == 1
        assert _count(live.app, OutboundEmail) == 1
        assert len(live.smtp.inbox.messages) == 1


def test_every_source_provisions_over_http(tmp_path):
    with live_service(tmp_path) as live:
        with live.app.app_context():
            _hook, token = create_source("lms-webhooks", SourceKind.openedx_webhooks)
            lrs, secret = create_source("lrs", SourceKind.xapi)
            username = lrs.username
            session.commit()

        signed = payloads.post_signed(live.base_url, payloads.passing_status(email="one@example.org"))
        webhook = requests.post(
            f"{live.base_url}/bridge/openedx/events/{token}",
            json=payloads.passing_status(email="two@example.org"),
            timeout=30,
        )
        statement = payloads.xapi_passed(actor={"mbox": "mailto:three@example.org"})
        basic = base64.b64encode(f"{username}:{secret}".encode()).decode()
        lrs_response = requests.post(
            f"{live.base_url}/bridge/xapi/statements",
            json=statement,
            headers={"Authorization": f"Basic {basic}", "X-Experience-API-Version": "1.0.3"},
            timeout=30,
        )
        assert (signed.status_code, webhook.status_code, lrs_response.status_code) == (202, 202, 200)
        messages = live.smtp.inbox.wait_for(3)
        assert sorted(m["To"] for m in messages) == [
            "one@example.org",
            "three@example.org",
            "two@example.org",
        ]


def test_invitations_wait_out_an_smtp_outage_and_all_arrive(tmp_path):
    with live_service(tmp_path, smtp_running=False) as live:
        for number in range(5):
            assert (
                payloads.post_signed(
                    live.base_url, payloads.passing_status(email=f"g{number}@example.org")
                ).status_code
                == 202
            )

        def attempted() -> bool:
            return _count(live.app, OutboundEmail, OutboundEmail.attempts > 0) == 5

        _wait(attempted)
        assert _count(live.app, OutboundEmail, OutboundEmail.status == MailStatus.pending) == 5

        live.smtp.start()
        with live.app.app_context():  # what `mentornet outbox send` does after an outage
            from network_service.mail.operations import deliver_due

            session.execute(sa.update(OutboundEmail).values(next_attempt_at=OutboundEmail.created_at))
            session.commit()
            deliver_due()
        messages = live.smtp.inbox.wait_for(5)
        assert sorted(m["To"] for m in messages) == [f"g{n}@example.org" for n in range(5)]
        # The background thread may have sent some of them: the SMTP server has a mail before its row is
        # committed as sent, and on a starved machine that commit can lag. Wait for it (generously).
        _wait_until(lambda: _count(live.app, OutboundEmail, OutboundEmail.status == MailStatus.sent) == 5)


def _wait(condition, timeout: float = 20) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")
