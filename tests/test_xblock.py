"""The mentorNET XBlock in XBlock's own test runtime: its views, its handlers (webob requests), missing settings.

Skipped where XBlock is not installed (the ``openedx`` extra is optional).
"""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

pytest.importorskip("xblock")

from webob import Request  # noqa: E402  (webob comes with XBlock)

from lti_bridge.platform.core import sign_message_hint  # noqa: E402
from lti_bridge.platform.keys import PlatformKey, generate_private_key_pem  # noqa: E402
from mentornet_xblock.lms.endpoints import authorize_target, key_set  # noqa: E402
from tests.xblock_runtime import COURSE, LmsRuntime, lms_user, make_block  # noqa: E402

LMS = "https://lms.example.test"
NETWORK = "https://mentornet.example.test"
KEY_PEM = generate_private_key_pem()


def settings(**changes) -> dict:
    bucket = {
        "NETWORK_URL": NETWORK,
        "ISSUER": LMS,
        "CLIENT_ID": "openedx-client",
        "DEPLOYMENT_ID": "1",
        "PLATFORM_KEY": KEY_PEM,
        "SHARE_PII": False,
        **changes,
    }
    return {"mentornet": {k: v for k, v in bucket.items() if v is not None}}


@pytest.fixture
def runtime():
    return LmsRuntime(settings(), lms_user(), base=LMS)


@pytest.fixture
def block(runtime):
    return make_block(runtime, network_slug="test-net")


def _call(runtime, block, handler: str, url: str = "", method: str = "GET", **kwargs):
    request = Request.blank(url or f"/handler/{handler}", method=method, **kwargs)
    return runtime.handle(block, handler, request)


def _login(runtime, block, mode="iframe") -> dict[str, str]:
    response = _call(runtime, block, "lti_login", f"/handler/lti_login?mode={mode}")
    assert response.status_code == 302
    location = urlsplit(response.location)
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{NETWORK}/lti/login"
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def _tool_auth_request(login: dict[str, str], **changes) -> dict[str, str]:
    """What mentorNET's /lti/login sends back to the LMS (see lti_bridge.lti.launch.start_login)."""
    return {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": login["client_id"],
        "redirect_uri": f"{NETWORK}/lti/launch",
        "login_hint": login["login_hint"],
        "state": "state-1",
        "nonce": "nonce-1",
        "lti_message_hint": login["lti_message_hint"],
        **changes,
    }


def _authorize(runtime, block, params: dict[str, str], method: str = "GET"):
    if method == "GET":
        status, target = authorize_target(settings()["mentornet"], params)
        assert status == 302, target
        return _call(runtime, block, "lti_authorize", target.removeprefix(LMS))
    return _call(runtime, block, "lti_authorize", method="POST", POST=params)


def _form(html: str) -> tuple[str, dict[str, str]]:
    action = unescape(re.search(r'<form id="lti-launch" method="post" action="([^"]+)"', html).group(1))
    fields = {name: unescape(value) for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', html)}
    return action, fields


# -- views ---------------------------------------------------------------------------------------------------


def test_student_view_is_an_accessible_iframe_that_starts_the_launch(runtime, block):
    fragment = runtime.render(block, "student_view")
    html = fragment.body_html()
    frame = re.search(r"<iframe[^>]*>", html).group(0)
    assert 'title="Mentor network"' in frame and 'tabindex="0"' in frame and 'height="480"' in frame
    assert f'src="{LMS}/handler/lti_login?mode=iframe"' in frame
    assert f'data-origin="{NETWORK}"' in frame
    assert 'target="_blank"' in html and "mode=window" in html  # the same network in a new window
    own = block.student_view({})
    assert "lti.frameResize" in own.foot_html() and own.js_init_fn == "MentorNetXBlock"
    assert (
        "Mentor network" in runtime.i18n.asked
        and "Open the mentor network in a new window" in runtime.i18n.asked
    )


def test_student_view_as_a_button_and_the_height_is_bounded(runtime):
    block = make_block(runtime, display_mode="window", height=10_000)
    html = runtime.render(block, "student_view").body_html()
    assert "<iframe" not in html and 'class="mentornet-open"' in html and "mode=window" in html
    framed = make_block(runtime, height=10_000)
    assert 'height="2000"' in runtime.render(framed, "student_view").body_html()


def test_author_and_studio_views(runtime, block):
    author = runtime.render(block, "author_view").body_html()
    assert "test-net" in author and "Panel in the page" in author and NETWORK in author
    studio = runtime.render(block, "studio_view")
    html = studio.body_html()
    for name in ("display_name", "network_slug", "display_mode", "height"):
        assert f'<label for="mentornet-{name}">' in html and f'id="mentornet-{name}"' in html
        assert f'aria-describedby="mentornet-{name}-help"' in html
    own = block.studio_view({})
    assert own.js_init_fn == "MentorNetStudio" and "save_settings" in own.foot_html()


def test_save_settings_checks_every_field(runtime, block):
    def save(**data):
        response = _call(runtime, block, "save_settings", method="POST", body=json.dumps(data).encode())
        return json.loads(response.body)

    bad = save(display_name="", network_slug="Not A Slug!", display_mode="popup", height="tall")
    assert bad["result"] == "error" and set(bad["errors"]) == {
        "display_name",
        "network_slug",
        "display_mode",
        "height",
    }
    assert block.network_slug == "test-net"
    good = save(display_name="Our mentors", network_slug="other-net", display_mode="window", height=600)
    assert good == {"result": "success"}
    assert (block.display_name, block.network_slug, block.display_mode, block.height) == (
        "Our mentors",
        "other-net",
        "window",
        600,
    )


def test_missing_settings_tell_the_author_what_to_set(block):
    runtime = LmsRuntime(
        settings(CLIENT_ID=None, PLATFORM_KEY=None, NETWORK_URL="not a url"), lms_user(), base=LMS
    )
    block = make_block(runtime)
    author = runtime.render(block, "author_view").body_html()
    assert 'role="alert"' in author and "XBLOCK_SETTINGS" in author
    for name in ("CLIENT_ID", "PLATFORM_KEY", "NETWORK_URL"):
        assert name in author
    student = runtime.render(block, "student_view").body_html()
    assert "<iframe" not in student and "not available here yet" in student
    assert _call(runtime, block, "lti_login").status_code == 400
    assert _call(runtime, block, "jwks").status_code == 503
    assert authorize_target(settings(PLATFORM_KEY=None)["mentornet"], {})[0] == 503


def test_a_visitor_who_is_not_signed_in_gets_no_launch():
    runtime = LmsRuntime(settings(), None, base=LMS)
    block = make_block(runtime)
    assert "<iframe" not in runtime.render(block, "student_view").body_html()
    assert _call(runtime, block, "lti_login").status_code == 400


# -- handlers ------------------------------------------------------------------------------------------------


def test_jwks_handler_and_the_lms_wide_key_set_publish_the_signing_key(runtime, block):
    response = _call(runtime, block, "jwks")
    keys = json.loads(response.body)["keys"]
    assert response.content_type == "application/json" and keys[0]["kid"] == PlatformKey(KEY_PEM).kid
    assert "d" not in keys[0]  # public only
    assert json.loads(key_set(settings()["mentornet"])[1]) == {"keys": keys}


def test_login_initiation_names_the_learner_course_block_and_target(runtime, block):
    login = _login(runtime, block)
    assert (
        login["iss"] == LMS and login["client_id"] == "openedx-client" and login["lti_deployment_id"] == "1"
    )
    assert login["login_hint"] == "anon-42" and login["target_link_uri"] == f"{NETWORK}/embed/panel"
    hint = PlatformKey(KEY_PEM).verify(login["lti_message_hint"], audience="openedx-client")
    assert hint["h"] == f"{LMS}/handler/lti_authorize" and hint["r"] == str(block.scope_ids.usage_id)
    assert _login(runtime, block, "window")["target_link_uri"] == f"{NETWORK}/networks/test-net"


def test_authorisation_signs_the_id_token_without_personal_data_by_default(runtime, block):
    login = _login(runtime, block)
    response = _authorize(runtime, block, _tool_auth_request(login))
    assert response.status_code == 200, response.text
    action, fields = _form(response.text)
    assert action == f"{NETWORK}/lti/launch" and fields["state"] == "state-1"
    assert '<script src="/static/public/lti-autosubmit.js">' in response.text  # no inline script
    assert "data-autosubmit" in response.text
    claims = jwt.decode(
        fields["id_token"],
        PlatformKey(KEY_PEM).public_pem,
        algorithms=["RS256"],
        audience="openedx-client",
        issuer=LMS,
    )
    claim = "https://purl.imsglobal.org/spec/lti/claim/"
    assert claims["sub"] == "anon-42" and claims["nonce"] == "nonce-1"
    assert not {"email", "name", "preferred_username"} & set(claims)
    assert claims[claim + "context"]["id"] == COURSE
    assert claims[claim + "resource_link"]["id"] == str(block.scope_ids.usage_id)
    assert claims[claim + "custom"] == {"mentornet_course": COURSE, "mentornet_network": "test-net"}
    assert claims[claim + "target_link_uri"] == f"{NETWORK}/embed/panel"
    assert claims[claim + "roles"] == ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]


def test_personal_data_goes_only_when_the_operator_shares_it():
    runtime = LmsRuntime(settings(SHARE_PII=True), lms_user(staff=True), base=LMS)
    block = make_block(runtime)
    login = _login(runtime, block)
    response = _authorize(runtime, block, _tool_auth_request(login), method="POST")
    claims = jwt.decode(_form(response.text)[1]["id_token"], options={"verify_signature": False})
    assert (claims["email"], claims["name"], claims["preferred_username"]) == (
        "mentor@example.org",
        "Mina Mentor",
        "mina",
    )
    assert claims["https://purl.imsglobal.org/spec/lti/claim/roles"][0].endswith("#Instructor")


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"redirect_uri": "https://attacker.example/launch"}, "redirect_uri"),
        ({"nonce": ""}, "nonce"),
        ({"state": ""}, "state"),
        ({"login_hint": "anon-99"}, "login_hint"),
        ({"client_id": "another"}, "client_id"),
        ({"response_mode": "query"}, "response_mode"),
    ],
)
def test_a_bad_authorisation_request_signs_nothing(runtime, block, change, check):
    login = _login(runtime, block)
    response = _authorize(runtime, block, _tool_auth_request(login, **change), method="POST")
    assert response.status_code == 400 and f"LTI check: {check}" in response.text
    assert "id_token" not in response.text


def test_a_replayed_nonce_or_a_foreign_hint_is_refused(runtime, block):
    login = _login(runtime, block)
    assert _authorize(runtime, block, _tool_auth_request(login)).status_code == 200
    replay = _authorize(runtime, block, _tool_auth_request(login), method="POST")
    assert replay.status_code == 400 and "LTI check: nonce" in replay.text

    other_user = LmsRuntime(settings(), lms_user("anon-7"), base=LMS)
    other_block = make_block(other_user)
    stolen = _call(other_user, other_block, "lti_authorize", method="POST", POST=_tool_auth_request(login))
    assert stolen.status_code == 400 and "LTI check: lti_message_hint" in stolen.text

    stranger = PlatformKey(generate_private_key_pem())
    forged = sign_message_hint(
        stranger,
        client_id="openedx-client",
        login_hint="anon-42",
        authorize_url="https://evil/",
        resource="x",
    )
    assert authorize_target(settings()["mentornet"], {"lti_message_hint": forged})[0] == 400
    forged_here = _tool_auth_request(login, lti_message_hint=forged, nonce="nonce-2")
    assert "LTI check: lti_message_hint" in _authorize(runtime, block, forged_here, method="POST").text


def test_the_block_is_registered_under_the_xblock_entry_point():
    from pathlib import Path

    setup = (Path(__file__).resolve().parent.parent / "setup.py").read_text()
    assert '"xblock.v1": ["mentornet=mentornet_xblock.block:MentorNetXBlock"]' in setup
    from mentornet_xblock.block import MentorNetXBlock

    scenarios = MentorNetXBlock.workbench_scenarios()
    assert scenarios and all("<mentornet" in xml for _title, xml in scenarios)
