"""The whole way in, over real HTTP and real SMTP: graduate provisioned → one e-mail → link → active member."""

from __future__ import annotations

import re
import time

import pytest
import requests
import sqlalchemy as sa
from click.testing import CliRunner
from flask.cli import ScriptInfo

from network_service.accounts.models import Person
from network_service.cli import main as mentornet_cli
from network_service.courses.models import CompletionEvent
from network_service.db import session
from network_service.mail.models import MailStatus, OutboundEmail
from network_service.networks.models import Membership, MembershipStatus, Origin
from tests import bridge_payloads as payloads
from tests import helpers
from tests.live import live_service
from tests.smtp import html_of, text_of

pytestmark = pytest.mark.live


@pytest.fixture
def live(tmp_path):
    with live_service(tmp_path) as service:
        yield service.app, service.base_url, service.smtp


def _provision(app, event_id: str, email: str = "grace@example.org") -> str:
    result = CliRunner().invoke(
        mentornet_cli,
        ["bridge", "provision", helpers.COURSE, email, "--name", "Grace Graduate", "--event-id", event_id],
        obj=ScriptInfo(create_app=lambda: app),
    )
    assert result.exit_code == 0, result.output
    return result.output


def _csrf(html: str) -> str:
    return helpers.csrf_from(html)


def test_graduate_receives_one_invitation_and_becomes_an_active_member(live):
    app, base_url, smtp = live

    # The graduate's pass arrives as the Open edX forwarder sends it: signed, over HTTP.
    event = payloads.passing_status("0b6a2c1e-0000-4000-8000-00000000e2e1")
    accepted = payloads.post_signed(base_url, event)
    assert accepted.status_code == 202 and accepted.json()["status"] == "received"
    [message] = smtp.inbox.wait_for(1)
    assert message["To"] == "grace@example.org"
    body = text_of(message)
    assert helpers.link_in(html_of(message), "/invitations/") == helpers.link_in(body, "/invitations/")
    link = helpers.link_in(body, "/invitations/")
    assert link.startswith(base_url)

    browser = requests.Session()
    page = browser.get(link, timeout=10)
    assert page.status_code == 200 and "Join Test Network" in page.text
    version = re.search(r'name="agreement_version" type="hidden" value="(\d+)"', page.text).group(1)
    joined = browser.post(
        link,
        data={
            "csrf_token": _csrf(page.text),
            "display_name": "Grace G.",
            "accept_agreement": "y",
            "agreement_version": version,
        },
        timeout=10,
    )
    assert joined.status_code == 200 and joined.url == f"{base_url}/profile"
    assert "Welcome to Test Network" in joined.text  # signed in by the invitation
    assert "Test Network" in browser.get(f"{base_url}/", timeout=10).text

    # The same event again, and another event for the same graduate: nothing more is sent.
    assert payloads.post_signed(base_url, event).json()["duplicate"] is True
    assert "already_member" in _provision(app, "xapi-statement-7")  # another route, the same graduate

    with app.app_context():
        person = session.scalar(sa.select(Person).where(Person.email == "grace@example.org"))
        membership = session.scalar(sa.select(Membership).where(Membership.person_id == person.id))
        assert membership.status == MembershipStatus.active and membership.origin == Origin.graduate
        assert session.scalar(sa.select(sa.func.count(CompletionEvent.id))) == 2
        # The SMTP server has the mail before the background thread commits its row as sent: on a starved
        # machine that commit can come after all the requests above. Wait for it (generously).
        deadline = time.monotonic() + 60
        while (
            statuses := session.scalars(
                sa.select(OutboundEmail.status).where(OutboundEmail.kind == "invitation")
            ).all()
        ) != [MailStatus.sent] and time.monotonic() < deadline:
            session.rollback()
            time.sleep(0.05)
        assert statuses == [MailStatus.sent]
    assert len(smtp.inbox.messages) == 1

    # The link is single use: a second visit explains and offers a new sign-in link.
    again = browser.get(link, timeout=10)
    assert again.status_code == 410 and "already been accepted" in again.text


def test_healthz_and_sign_in_page_over_http(live):
    _app, base_url, _smtp = live
    assert requests.get(f"{base_url}/healthz", timeout=10).json() == {"status": "ok"}
    page = requests.get(f"{base_url}/sign-in", timeout=10)
    assert page.status_code == 200 and "Send me a sign-in link" in page.text
