"""End to end: the XBlock's own handlers launch the real network service over HTTP on 127.0.0.1.

A stand-in LMS (a WSGI server) serves the block's handlers through XBlock's runtime and the two LMS-wide
endpoints of ``mentornet_xblock.lms``; a ``requests.Session`` is the learner's browser. The network service runs
on its own database with the LMS registered by ``mentornet lti platform add --openedx``.
"""

from __future__ import annotations

import ast
import json
import re
from html import unescape
from urllib.parse import urlsplit

import jwt
import pytest
import requests

pytest.importorskip("xblock")
pytestmark = pytest.mark.live

from click.testing import CliRunner  # noqa: E402
from flask.cli import ScriptInfo  # noqa: E402

from lti_bridge.lti.models import LtiIdentity, LtiPlatform  # noqa: E402
from network_service.cli import main  # noqa: E402
from network_service.db import session  # noqa: E402
from tests.live import live_service  # noqa: E402
from tests.xblock_runtime import StandInLms, lms_user  # noqa: E402


@pytest.fixture
def connected(tmp_path):
    """The network service and the LMS, introduced by the one-step command."""
    lms = StandInLms()
    # No outbox worker: on SQLite its writes could meet the GET /lti/login's deferred transaction (see the report).
    with live_service(tmp_path, OUTBOX_WORKER=False) as live:
        runner = CliRunner()
        result = runner.invoke(
            main,
            ["lti", "platform", "add", "--openedx", lms.url, "--trust-email"],
            obj=ScriptInfo(create_app=lambda: live.app),
        )
        assert result.exit_code == 0, result.output
        snippet = result.stdout
        bucket = ast.literal_eval(snippet.split('XBLOCK_SETTINGS["mentornet"] = ', 1)[1])
        assert bucket["NETWORK_URL"] == live.base_url and bucket["ISSUER"] == lms.url
        lms.start(bucket, lms_user(anonymous_id="anon-mina", email="mentor@example.org"))
        try:
            yield live, lms
        finally:
            lms.stop()


def browser() -> requests.Session:
    return requests.Session()


def localhost_is_secure(browser_: requests.Session) -> None:
    """Browsers treat http://127.0.0.1 as a secure context and send it ``Secure`` cookies; requests does not
    (and drops a custom cookie policy when it merges jars), so the flag is lifted before the next request."""
    for cookie in browser_.cookies:
        cookie.secure = False


def open_block(browser_: requests.Session, lms: StandInLms) -> requests.Response:
    """The iframe loads the block's login handler; every redirect is followed, as a browser does."""
    response = browser_.get(f"{lms.url}/handler/lti_login?mode=iframe", timeout=30)
    assert response.status_code == 200, response.text
    assert [urlsplit(r.url).path for r in response.history] == [
        "/handler/lti_login",
        "/lti/login",
        "/mentornet/lti/authorize",
    ]
    assert any(cookie.name == "mentornet_lti_state" and cookie.secure for cookie in browser_.cookies)
    localhost_is_secure(browser_)
    return response


def launch_form(response: requests.Response) -> tuple[str, dict[str, str]]:
    html = response.text
    action = unescape(re.search(r'<form id="lti-launch" method="post" action="([^"]+)"', html).group(1))
    return action, {
        name: unescape(value) for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', html)
    }


def test_the_block_launches_the_panel_with_the_learners_status(connected):
    live, lms = connected
    learner = browser()
    action, fields = launch_form(open_block(learner, lms))
    assert action == f"{live.base_url}/lti/launch"
    panel = learner.post(action, data=fields, timeout=30)
    assert panel.status_code == 200, panel.text
    assert urlsplit(panel.url).path == "/embed/panel"
    assert "Test Network" in panel.text and "You are a member." in panel.text

    with live.app.app_context():
        platform = session.query(LtiPlatform).filter_by(issuer=lms.url).one()
        identity = session.query(LtiIdentity).filter_by(platform_id=platform.id).one()
        assert identity.sub == "anon-mina" and identity.person.email == "mentor@example.org"
        assert platform.jwks_url == f"{lms.url}/mentornet/lti/jwks" and platform.product == "openedx"


def test_a_tampered_id_token_is_refused(connected):
    live, lms = connected
    attacker = browser()
    action, fields = launch_form(open_block(attacker, lms))
    header, payload, signature = fields["id_token"].split(".")
    claims = jwt.decode(fields["id_token"], options={"verify_signature": False})
    claims["email"] = "meta@example.org"  # become the Meta-Mentor
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    refused = attacker.post(
        action, data={**fields, "id_token": f"{header}.{forged_payload}.{signature}"}, timeout=30
    )
    assert refused.status_code == 401 and "signature" in refused.text
    assert "Test Network" not in refused.text


def test_a_replayed_launch_is_refused(connected):
    live, lms = connected
    learner = browser()
    action, fields = launch_form(open_block(learner, lms))
    cookies_at_launch = learner.cookies.copy()
    assert learner.post(action, data=fields, timeout=30).status_code == 200

    replayer = browser()
    replayer.cookies.update(cookies_at_launch)  # the same browser state, the same token: the nonce is spent
    refused = replayer.post(action, data=fields, timeout=30)
    assert refused.status_code == 401 and "nonce" in refused.text


def test_the_lms_refuses_to_sign_twice_for_one_tool_nonce(connected):
    live, lms = connected
    learner = browser()
    first = open_block(learner, lms)
    again = learner.get(first.url, timeout=30)  # the same authorisation request, sent again
    assert again.status_code == 400 and "LTI check: nonce" in again.text


def test_the_tools_key_set_url_serves_the_lms_key(connected):
    live, lms = connected
    keys = requests.get(f"{lms.url}/mentornet/lti/jwks", timeout=30).json()["keys"]
    assert keys and keys[0]["kid"] and "d" not in keys[0]
