"""End to end with a platform nobody here wrote: Open edX's ``LtiAdvantageConsumer`` (lti-consumer-xblock)
launches mentorNET over HTTP. The platform runs in a process of its own (tests/openedx_lti_platform.py), so its
Django settings stay there; mentorNET is served by tests.live on its own database; a ``requests.Session`` is the
browser (it follows the redirects and posts the auto-submitting form)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from lti_bridge.lti.models import LtiContext, LtiCoordinatorGrant, LtiIdentity
from lti_bridge.lti.registrations import add_platform
from network_service.db import session
from tests.helpers import COURSE
from tests.live import live_service

pytest.importorskip("lti_consumer")

ROOT = Path(__file__).resolve().parent.parent


class Browser(requests.Session):
    """Browsers treat http://127.0.0.1 as a secure context and send it ``Secure`` cookies; requests does not,
    so this browser keeps every cookie it receives from 127.0.0.1 as a plain one."""

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        for cookie in self.cookies:
            if cookie.domain == "127.0.0.1":
                cookie.secure = False
        return response


def browser() -> requests.Session:
    return Browser()


@pytest.fixture(scope="module")
def tool(tmp_path_factory):
    with live_service(tmp_path_factory.mktemp("openedx-e2e"), smtp_running=False) as live:
        yield live


@pytest.fixture(scope="module")
def openedx(tool):
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.openedx_lti_platform", json.dumps({"tool_base_url": tool.base_url})],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line, "the Open edX platform process did not start"
        platform = json.loads(line)
        with tool.app.app_context():
            add_platform(
                platform["issuer"],
                platform["client_id"],
                [platform["deployment_id"]],
                platform["oidc_auth_url"],
                platform["token_url"],
                platform["jwks_url"],
                trust_email=True,  # like an Open edX whose accounts confirm their e-mail addresses
            )
            session.commit()
        yield platform
    finally:
        process.stdin.close()
        process.wait(timeout=10)


def launch_form(user: requests.Session, openedx, **params) -> tuple[str, dict[str, str]]:
    """The learner presses the block's button: block → our login → the LMS's launch gate → its auto-post form."""
    params = {"context_id": COURSE, **params}
    start = user.get(openedx["start_url"], params=params, allow_redirects=False, timeout=10)
    assert start.status_code == 302
    login = user.get(start.headers["Location"], allow_redirects=False, timeout=10)  # our /lti/login
    assert login.status_code == 302, login.text
    assert any(c.name == "mentornet_lti_state" for c in user.cookies)
    gate = user.get(
        login.headers["Location"], allow_redirects=False, timeout=10
    )  # the LMS checks our redirect
    assert gate.status_code == 200, gate.text
    action = unescape(re.search(r'action="([^"]+)"', gate.text).group(1))
    fields = {unescape(n): unescape(v) for n, v in re.findall(r'name="([^"]+)" value="([^"]*)"', gate.text)}
    return action, fields


def check_of(response) -> str | None:
    match = re.search(r'data-lti-check="([^"]+)"', response.text)
    return match.group(1) if match else None


def _in_tool(tool, function):
    with tool.app.app_context():
        return function()


def test_a_learner_launches_from_open_edx_and_arrives_signed_in(tool, openedx):
    user = browser()
    action, fields = launch_form(
        user, openedx, user_id="edx-learner-1", role="student", email="ana@example.org"
    )
    assert action == f"{tool.base_url}/lti/launch" and set(fields) == {"state", "id_token"}
    landed = user.post(action, data=fields, allow_redirects=True, timeout=10)
    assert landed.status_code == 200 and landed.url.rstrip("/") == tool.base_url
    assert "Sign out" in landed.text

    identity, context = _in_tool(
        tool,
        lambda: (
            session.scalar(sa.select(LtiIdentity).where(LtiIdentity.sub == "edx-learner-1")),
            session.scalar(sa.select(LtiContext).where(LtiContext.context_id == COURSE)),
        ),
    )
    assert identity.person_id is not None and identity.email_claimed == "ana@example.org"
    assert context.course_key == COURSE  # an Open edX course key is kept as it is
    assert user.get(f"{tool.base_url}/networks/test-net/roster", timeout=10).status_code == 403


def test_open_edx_course_staff_act_as_coordinators_community_tas_do_not(tool, openedx):
    staff = browser()
    action, fields = launch_form(staff, openedx, user_id="edx-staff-1", role="staff", email="sam@example.org")
    assert staff.post(action, data=fields, timeout=10).status_code == 200
    assert staff.get(f"{tool.base_url}/networks/test-net/roster", timeout=10).status_code == 200

    ta = browser()
    action, fields = launch_form(
        ta, openedx, user_id="edx-ta-1", role="Community TA", email="tia@example.org"
    )
    assert ta.post(action, data=fields, timeout=10).status_code == 200
    assert ta.get(f"{tool.base_url}/networks/test-net/roster", timeout=10).status_code == 403
    grants = _in_tool(tool, lambda: session.scalar(sa.select(sa.func.count(LtiCoordinatorGrant.id))))
    assert grants == 1


def _tampered(id_token: str, **changes) -> str:
    header, payload, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_a_tampered_launch_is_refused_and_the_untouched_one_is_accepted_once(tool, openedx):
    user = browser()
    action, fields = launch_form(
        user, openedx, user_id="edx-learner-2", role="student", email="bo@example.org"
    )
    forged = dict(fields, id_token=_tampered(fields["id_token"], sub="edx-staff-1", email="sam@example.org"))
    refused = user.post(action, data=forged, allow_redirects=False, timeout=10)
    assert refused.status_code == 401 and check_of(refused) == "signature"

    elsewhere = browser()  # the real form, posted by a browser that did not log in
    stolen = elsewhere.post(action, data=fields, allow_redirects=False, timeout=10)
    assert stolen.status_code == 403 and check_of(stolen) == "state"

    state_cookie = next(c for c in user.cookies if c.name == "mentornet_lti_state")
    accepted = user.post(action, data=fields, allow_redirects=False, timeout=10)
    assert accepted.status_code == 303
    replaying = browser()  # even with the state cookie copied, the same token is accepted once
    replaying.cookies.set(state_cookie.name, state_cookie.value, domain=state_cookie.domain, path="/lti/")
    replayed = replaying.post(action, data=fields, allow_redirects=False, timeout=10)
    assert replayed.status_code == 401 and check_of(replayed) == "nonce"
    assert user.get(f"{tool.base_url}/networks/test-net/roster", timeout=10).status_code == 403
