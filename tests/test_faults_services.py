"""SMTP and Redis go away under a served application: real servers behind a TCP proxy the test cuts.

- SMTP refused or black-holed: notification and digest mail waits in the outbox (pending, an attempt counted,
  the error kept) and goes out once the server is back; nothing is lost or sent twice.
- Redis (the Celery broker, the rate-limit storage) refused: events are accepted, the mail goes out from the
  web process, and rate-limited pages still answer (never a 500); once Redis is back the limits count there.
"""

from __future__ import annotations

import time
import uuid

import pytest
import redis
import requests
import sqlalchemy as sa

from network_service import security
from network_service.accounts.models import Person
from network_service.db import session, utcnow
from network_service.mail.models import MailStatus, OutboundEmail
from network_service.mail.operations import deliver_due
from network_service.notifications.models import EmailFrequency
from network_service.notifications.operations import notify, send_digest, set_frequency
from tests import bridge_payloads as payloads
from tests.fault_proxy import FaultProxy
from tests.helpers import csrf_from
from tests.live import live_service

pytestmark = pytest.mark.live

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def _person(email: str) -> Person:
    return session.scalar(sa.select(Person).where(Person.email == email))


def _outbox() -> list[OutboundEmail]:
    session.rollback()
    return list(session.scalars(sa.select(OutboundEmail).order_by(OutboundEmail.id)))


def _make_due() -> None:
    """What waiting out the back-off does (the test does not sleep through it)."""
    session.execute(sa.update(OutboundEmail).values(next_attempt_at=utcnow()))
    session.commit()


def test_notification_and_digest_mail_wait_out_an_smtp_outage(tmp_path):
    # the proxy's target is set once the SMTP server has its port
    with FaultProxy("127.0.0.1", 1) as proxy, live_service(tmp_path, smtp_running=True) as live:
        proxy.target = ("127.0.0.1", live.smtp.port)
        live.app.config["SMTP_URL"] = f"smtp://127.0.0.1:{proxy.port}"
        with live.app.app_context():
            mentor, meta = _person("mentor@example.org"), _person("meta@example.org")
            set_frequency(mentor, EmailFrequency.immediately, actor=mentor)
            set_frequency(meta, EmailFrequency.daily, actor=meta)
            session.commit()

            proxy.refuse()  # the SMTP server is down
            notify([mentor, meta], "goals.assigned", url="/", goal="Find a flat")
            session.commit()
            assert send_digest(meta, EmailFrequency.daily, utcnow())
            session.commit()
            assert deliver_due() == 0
            kinds = sorted(mail.kind for mail in _outbox())
            assert len(kinds) == 2 and "notification.digest" in kinds
            for mail in _outbox():
                assert (mail.status, mail.attempts) == (MailStatus.pending, 1)
                assert mail.last_error  # what went wrong, for the operator's `mentornet outbox` view

            proxy.blackhole()  # a host that drops packets: the SMTP client's timeout ends the attempt
            live.app.config["SMTP_TIMEOUT"] = 2  # the black-holed attempt waits this long (15 s by default)
            _make_due()
            assert deliver_due(limit=1) == 0
            assert [mail.attempts for mail in _outbox()] == [2, 1]
            assert live.smtp.inbox.messages == []

            proxy.forward()  # back
            # The healthy server (in this process, behind the proxy) gets the default timeout again: on a starved
            # machine one of its answers may take longer than 2 s, which would make a working delivery fail.
            live.app.config["SMTP_TIMEOUT"] = 15
            _make_due()
            assert deliver_due() == 2
            assert deliver_due() == 0  # nothing goes twice
        messages = live.smtp.inbox.wait_for(2)
        assert sorted(m["To"] for m in messages) == ["mentor@example.org", "meta@example.org"]
        with live.app.app_context():
            assert {mail.status for mail in _outbox()} == {MailStatus.sent}


def _redis_reachable() -> bool:
    try:
        return bool(redis.Redis(REDIS_HOST, REDIS_PORT, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(not _redis_reachable(), reason="needs Redis on 127.0.0.1:6379")


@needs_redis
@pytest.mark.parametrize("fault", ["refuse", "blackhole"], ids=["cut", "hung"])
def test_with_the_broker_cut_or_hung_events_are_accepted_and_mail_goes_out_in_process(tmp_path, fault):
    """Redis refuses (down), or accepts and never answers (a hung host, packets dropped: given up on after the
    broker's socket timeout, 3 s): the events are accepted at once and the web process sends the mail."""
    with FaultProxy(REDIS_HOST, REDIS_PORT) as proxy:
        getattr(proxy, fault)()
        broker = f"redis://127.0.0.1:{proxy.port}/0"
        queue = f"mentornet-faults-{uuid.uuid4().hex}"
        with live_service(tmp_path, BROKER_URL=broker, CELERY_QUEUE=queue) as live:
            began = time.monotonic()
            outages = []
            for number in range(3):
                answer = payloads.post_signed(
                    live.base_url, payloads.passing_status(email=f"{fault}{number}@example.org")
                )
                assert answer.status_code == 202
                outages.append(live.app.extensions["mentornet.broker"]["down_until"])
            # The outage is noticed at the first event, and the broker is not asked again for a while: the later
            # events do not each wait out a broker timeout (had they asked, down_until would have moved on).
            assert outages[0] > 0 and outages[1] == outages[0] and outages[2] == outages[0], outages
            assert time.monotonic() - began < 15  # one broker timeout at most, and a margin
            messages = live.smtp.inbox.wait_for(3)
            assert sorted(m["To"] for m in messages) == [f"{fault}{n}@example.org" for n in range(3)]


def _sign_in_attempts(base_url: str):
    """A browser with the sign-in form's token; calling the result with N posts the form N times (statuses)."""
    browser = requests.Session()
    token = csrf_from(browser.get(f"{base_url}/sign-in", timeout=30).text)

    def attempts(count: int) -> list[int]:
        return [
            browser.post(
                f"{base_url}/sign-in",
                data={"email": "x@example.org", "csrf_token": token},
                allow_redirects=False,
                timeout=30,
            ).status_code
            for _ in range(count)
        ]

    return attempts


@needs_redis
def test_rate_limited_pages_answer_while_the_limit_storage_is_down(tmp_path, monkeypatch):
    # Redis refused answers at once whatever the timeout; once back, it may be slower than the 1 s after which
    # the limiter gives up on it on a starved machine (the limits would then be counted in two places).
    monkeypatch.setattr(security, "LIMIT_STORAGE_TIMEOUT", 15.0)
    with FaultProxy(REDIS_HOST, REDIS_PORT) as proxy:
        storage = f"redis://127.0.0.1:{proxy.port}/0"
        with live_service(tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URL=storage) as live:
            limiter = live.app.extensions["mentornet.limiter"]
            sign_in_attempts = _sign_in_attempts(live.base_url)
            proxy.refuse()
            statuses = sign_in_attempts(8)
            # No 500: the limiter counts in memory while Redis is away (5 per minute still holds).
            assert 500 not in statuses
            assert statuses[-1] == 429, statuses
            proxy.forward()
            limiter.reset()
            after = sign_in_attempts(7)
            assert 500 not in after and after[-1] == 429


@needs_redis
def test_a_hung_limit_storage_slows_no_page_for_long(tmp_path):
    """Redis accepts the connection and never answers (a hung host, a firewall dropping packets): the limiter
    gives up after its socket timeout, counts in memory, and the pages answer."""
    with FaultProxy(REDIS_HOST, REDIS_PORT) as proxy:
        proxy.blackhole()
        storage = f"redis://127.0.0.1:{proxy.port}/0"
        with live_service(tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URL=storage) as live:
            began = time.monotonic()
            statuses = _sign_in_attempts(live.base_url)(6)
            assert time.monotonic() - began < 15  # a few socket timeouts at most, not a hang per request
            assert 500 not in statuses and statuses[-1] == 429, statuses
