"""The framework-free platform core closes lti1p3platform 0.1.8's five known gaps.

Each gap test first shows the bare library doing the wrong thing (so the test fails the day the library is
fixed, and reminds us to drop our patch), then shows our class refusing.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
import uuid

import jwt
import pytest
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.score import UpdateScoreStatus
from lti1p3platform.service_connector import AssignmentsGradesService

from lti_bridge.platform.core import (
    SCOPE_LINEITEM_READONLY,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
    AccessTokenRefused,
    AuthRequestRefused,
    DictRequest,
    LaunchUser,
    MemoryReplayGuard,
    PlatformConfig,
    ScopedGradesService,
    ScoreInvalid,
    ToolRegistration,
    build_launch,
    check_auth_request,
    completes,
    read_message_hint,
    route_authorization,
    sign_message_hint,
    validate_score,
)
from lti_bridge.platform.keys import PlatformKey, generate_private_key_pem

ISSUER = "https://lms.example.test"
CLIENT = "tool-client"
TOKEN_URL = "https://lms.example.test/lti/token"
LAUNCH = "https://tool.example.test/lti/launch"
LINEITEMS = "https://lms.example.test/lti/ags/lineitems"


@pytest.fixture(scope="module")
def platform_key() -> PlatformKey:
    return PlatformKey(generate_private_key_pem())


@pytest.fixture(scope="module")
def tool_key() -> PlatformKey:
    return PlatformKey(generate_private_key_pem())


@pytest.fixture
def registration(platform_key, tool_key) -> ToolRegistration:
    return ToolRegistration(
        issuer=ISSUER,
        client_id=CLIENT,
        deployment_id="1",
        key=platform_key,
        oidc_login_url="https://tool.example.test/lti/login",
        launch_url=LAUNCH,
        redirect_uris=[LAUNCH],
        tool_key_set=tool_key.jwks(),
        scopes=[SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE],
    )


@pytest.fixture
def config(registration) -> PlatformConfig:
    return PlatformConfig(registration=registration, token_url=TOKEN_URL, replay_guard=MemoryReplayGuard())


# -- the bare library, as it ships ---------------------------------------------------------------------------


def _bare_registration(platform_key, tool_key) -> Registration:
    registration = Registration()
    registration.set_iss(ISSUER).set_client_id(CLIENT).set_deployment_id("1").set_launch_url(LAUNCH)
    registration.set_platform_private_key(platform_key.private_pem).set_platform_public_key(
        platform_key.public_pem
    )
    registration.set_tool_key_set(tool_key.jwks())
    return registration


class BareConfig(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, registration):
        self._registration = registration

    def get_registration_by_params(self, **kwargs):
        return self._registration


class BareLaunch(LTIAdvantageMessageLaunchAbstract):
    def render_launch_form(self, launch_data, **kwargs):
        return launch_data


class MemoryGrades:
    """Storage for both the bare and our AGS service."""

    def find_lineitems(self, page=1, limit=None, **filters):
        return {"content": [{"id": f"{LINEITEMS}/1", "scoreMaximum": 10}], "has_next": True}

    def find_lineitem(self, line_item_id):
        return {"id": line_item_id}

    def create_lineitem(self, creation_data):
        return creation_data

    def update_lineitem(self, update_data):
        return update_data

    def delete_lineitem(self, line_item_id):
        return None

    def update_score(self, line_item_id, score):
        self.scores.append(score)
        return UpdateScoreStatus.SUCCESS

    def get_results(self, line_item_id, page=1, limit=None, user_id=None):
        return {"content": [], "has_next": True}


class BareGrades(MemoryGrades, AssignmentsGradesService):
    scores: list


class OurGrades(MemoryGrades, ScopedGradesService):
    scores: list


def _service(cls, config, *, method="GET", token=None, query=None, body=None):
    request = DictRequest(
        method=method,
        query=query,
        json=body,
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )
    service = cls(request, config, LINEITEMS)
    service.scores = []
    return service


def _assertion(tool_key, *, aud=TOKEN_URL, jti=None, **extra) -> str:
    now = int(time.time())
    claims = {
        "iss": CLIENT,
        "sub": CLIENT,
        "aud": aud,
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex if jti is None else jti,
    }
    return tool_key.sign({**claims, **extra})


def _token_request(assertion: str, scope: str = SCOPE_SCORE) -> dict:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
        "scope": scope,
    }


def _auth_params(**extra) -> dict:
    return {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": CLIENT,
        "redirect_uri": LAUNCH,
        "login_hint": "anon-1",
        "nonce": "n-1",
        "state": "s-1",
        **extra,
    }


# -- gap 1: redirect-URI allowlist ---------------------------------------------------------------------------


def test_gap1_the_id_token_goes_only_to_a_registered_redirect_uri(platform_key, tool_key, registration):
    evil = "https://attacker.example/steal"
    bare = BareLaunch(
        DictRequest(query=_auth_params(redirect_uri=evil)),
        BareConfig(registration=_bare_registration(platform_key, tool_key)),
    )
    bare.set_user_data("anon-1", [])
    assert bare.lti_launch()["launch_url"] == evil  # the bare library posts the signed token to the attacker

    user = LaunchUser(sub="anon-1", roles=[])
    with pytest.raises(AuthRequestRefused) as refused:
        build_launch(registration, _auth_params(redirect_uri=evil), user=user, resource_link={"id": "rl"})
    assert refused.value.check == "redirect_uri"
    with pytest.raises(AuthRequestRefused) as refused:
        check_auth_request(registration, _auth_params(redirect_uri=evil), login_hint="anon-1")
    assert refused.value.check == "redirect_uri"

    form = build_launch(registration, _auth_params(), user=user, resource_link={"id": "rl"})
    assert form.action == LAUNCH and form.fields["state"] == "s-1"
    claims = jwt.decode(
        form.fields["id_token"], platform_key.public_pem, algorithms=["RS256"], audience=CLIENT, issuer=ISSUER
    )
    assert (
        jwt.get_unverified_header(form.fields["id_token"])["kid"] == platform_key.kid
    )  # the library sends none
    assert claims["nonce"] == "n-1" and claims["sub"] == "anon-1"


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"scope": "openid profile"}, "scope"),
        ({"response_type": "code"}, "response_type"),
        ({"response_mode": "query"}, "response_mode"),
        ({"prompt": "login"}, "prompt"),
        ({"client_id": "other"}, "client_id"),
        ({"nonce": ""}, "nonce"),
        ({"state": ""}, "state"),
        ({"login_hint": "someone-else"}, "login_hint"),
    ],
)
def test_every_field_of_the_auth_request_is_checked(registration, change, check):
    with pytest.raises(AuthRequestRefused) as refused:
        check_auth_request(registration, _auth_params(**change), login_hint="anon-1")
    assert refused.value.check == check


# -- gap 2: client assertion aud and jti replay --------------------------------------------------------------


def test_gap2_a_client_assertion_for_another_audience_is_refused(platform_key, tool_key, config):
    foreign = _assertion(tool_key, aud="https://another-platform.example/token")
    bare = BareConfig(registration=_bare_registration(platform_key, tool_key))
    assert bare.get_access_token(_token_request(foreign))["access_token"]  # the bare library accepts it

    with pytest.raises(AccessTokenRefused) as refused:
        config.get_access_token(_token_request(foreign))
    assert refused.value.check == "aud"


def test_gap2_a_replayed_client_assertion_is_refused(platform_key, tool_key, config):
    assertion = _assertion(tool_key)
    bare = BareConfig(registration=_bare_registration(platform_key, tool_key))
    assert bare.get_access_token(_token_request(assertion))["access_token"]
    assert bare.get_access_token(_token_request(assertion))["access_token"]  # the bare library: twice

    assert config.get_access_token(_token_request(assertion))["scope"] == SCOPE_SCORE
    with pytest.raises(AccessTokenRefused) as refused:
        config.get_access_token(_token_request(assertion))
    assert refused.value.check == "jti"


@pytest.mark.parametrize(
    ("claims", "check"),
    [
        ({"iss": "someone"}, "iss"),
        ({"sub": "someone"}, "sub"),
        ({"exp": int(time.time()) - 60}, "exp"),
        ({"jti": ""}, "jti"),
    ],
)
def test_the_assertions_other_claims_are_checked(tool_key, config, claims, check):
    with pytest.raises(AccessTokenRefused) as refused:
        config.get_access_token(_token_request(_assertion(tool_key, **claims)))
    assert refused.value.check == check


def test_an_assertion_signed_by_another_key_is_refused(config):
    stranger = PlatformKey(generate_private_key_pem())
    with pytest.raises(AccessTokenRefused) as refused:
        config.get_access_token(_token_request(_assertion(stranger)))
    assert refused.value.check == "kid"


def test_only_the_tools_granted_scopes_are_issued(tool_key, config):
    nrps = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
    granted = config.get_access_token(_token_request(_assertion(tool_key), f"{SCOPE_SCORE} {nrps}"))
    assert granted["scope"] == SCOPE_SCORE
    with pytest.raises(AccessTokenRefused) as refused:
        config.get_access_token(_token_request(_assertion(tool_key), nrps))
    assert refused.value.error == "invalid_scope"


# -- gap 3: per-endpoint scopes ------------------------------------------------------------------------------


def test_gap3_a_result_readonly_token_cannot_post_scores(platform_key, tool_key, config):
    score = {
        "userId": "anon-1",
        "timestamp": "2026-11-28T10:00:00+00:00",
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "scoreGiven": 9,
        "scoreMaximum": 10,
    }
    bare_config = BareConfig(registration=_bare_registration(platform_key, tool_key))
    bare_token = bare_config.get_access_token(_token_request(_assertion(tool_key), SCOPE_RESULT_READONLY))
    bare = _service(BareGrades, bare_config, method="POST", token=bare_token["access_token"], body=score)
    assert bare.handle_update_score("1").code == 200 and bare.scores  # the bare library takes the score

    read_only = config.get_access_token(_token_request(_assertion(tool_key), SCOPE_RESULT_READONLY))[
        "access_token"
    ]
    ours = _service(OurGrades, config, method="POST", token=read_only, body=score)
    assert ours.handle_resp(ours.handle_update_score, line_item_id="1").code == 403 and not ours.scores
    results = _service(OurGrades, config, token=read_only)
    assert results.handle_resp(results.handle_get_results, line_item_id="1").code == 200

    score_token = config.get_access_token(_token_request(_assertion(tool_key), SCOPE_SCORE))["access_token"]
    ours = _service(OurGrades, config, method="POST", token=score_token, body=score)
    assert ours.handle_resp(ours.handle_update_score, line_item_id="1").code == 200 and ours.scores
    lineitems = _service(OurGrades, config, token=score_token)
    assert lineitems.handle_resp(lineitems.handle_get_lineitems).code == 403
    assert _service(OurGrades, config, token="forged").handle_resp(lineitems.handle_get_lineitems).code == 403


# -- gap 4: score validation ---------------------------------------------------------------------------------

GOOD = {
    "userId": "anon-1",
    "timestamp": "2026-11-28T10:00:00.123+00:00",
    "activityProgress": "Completed",
    "gradingProgress": "FullyGraded",
    "scoreGiven": 7,
    "scoreMaximum": 10,
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"userId": None}, "userId"),
        ({"userId": ""}, "userId"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": "2026-11-28T10:00:00"}, "timestamp"),
        ({"activityProgress": "Done"}, "activityProgress"),
        ({"gradingProgress": "Graded"}, "gradingProgress"),
        ({"scoreGiven": "lots"}, "scoreGiven"),
        ({"scoreGiven": -1}, "scoreGiven"),
        ({"scoreGiven": True}, "scoreGiven"),
        ({"scoreMaximum": 0}, "scoreMaximum"),
        ({"scoreMaximum": None}, "scoreMaximum"),
    ],
)
def test_gap4_invalid_scores_are_refused(platform_key, tool_key, config, change, field):
    bad = {**GOOD, **change}
    bare_config = BareConfig(registration=_bare_registration(platform_key, tool_key))
    bare_token = bare_config.get_access_token(_token_request(_assertion(tool_key)))["access_token"]
    bare = _service(BareGrades, bare_config, method="POST", token=bare_token, body=bad)
    assert bare.handle_update_score("1").code == 200 and bare.scores == [bad]  # the bare library stores it

    with pytest.raises(ScoreInvalid) as invalid:
        validate_score(bad)
    assert invalid.value.field == field
    token = config.get_access_token(_token_request(_assertion(tool_key)))["access_token"]
    ours = _service(OurGrades, config, method="POST", token=token, body=bad)
    response = ours.handle_resp(ours.handle_update_score, line_item_id="1")
    assert response.code == 400 and response.result["error"] == field and not ours.scores


def test_a_score_for_a_user_never_launched_is_refused():
    with pytest.raises(ScoreInvalid):
        validate_score(GOOD, known_user=lambda user_id: user_id == "someone-else")
    assert validate_score(GOOD, known_user=lambda user_id: user_id == "anon-1")["scoreGiven"] == 7


def test_completion_needs_completed_fully_graded_at_the_pass_mark():
    assert completes(GOOD, 0.7)
    assert not completes(GOOD, 0.71)
    assert not completes({**GOOD, "gradingProgress": "Pending"}, 0.5)
    assert not completes({**GOOD, "activityProgress": "Submitted"}, 0.5)
    assert not completes({k: v for k, v in GOOD.items() if k != "scoreGiven"}, 0.5)


# -- gap 5: ?page= -------------------------------------------------------------------------------------------


def test_gap5_a_page_from_the_query_string_is_a_number(platform_key, tool_key, config):
    bare_config = BareConfig(registration=_bare_registration(platform_key, tool_key))
    bare_token = bare_config.get_access_token(_token_request(_assertion(tool_key)))
    bare = _service(BareGrades, bare_config, token=bare_token["access_token"], query={"page": "1"})
    with pytest.raises(TypeError):  # "1" + 1 in the bare library
        bare.handle_get_lineitems()

    token = config.get_access_token(_token_request(_assertion(tool_key), SCOPE_LINEITEM_READONLY))[
        "access_token"
    ]
    ours = _service(OurGrades, config, token=token, query={"page": "1", "limit": "5"})
    response = ours.handle_resp(ours.handle_get_lineitems)
    assert response.code == 200 and response.result["next"] == f"{LINEITEMS}?limit=5&page=2"
    assert (
        ours.handle_resp(
            _service(OurGrades, config, token=token, query={"page": "x"}).handle_get_lineitems
        ).code
        == 400
    )
    results_token = config.get_access_token(_token_request(_assertion(tool_key), SCOPE_RESULT_READONLY))
    results = _service(OurGrades, config, token=results_token["access_token"], query={"page": "2"})
    assert (
        results.handle_resp(results.handle_get_results, line_item_id="7")
        .result["next"]
        .endswith("/7/results?page=3")
    )


# -- the signed message hint, and importing without frameworks -----------------------------------------------


def test_the_message_hint_routes_to_the_block_that_started_the_login(platform_key):
    hint = sign_message_hint(
        platform_key,
        client_id=CLIENT,
        login_hint="anon-1",
        authorize_url="https://lms/h/authorize?x=1",
        resource="b1",
    )
    url = route_authorization(platform_key, {"lti_message_hint": hint, "state": "s"}, client_id=CLIENT)
    assert url.startswith("https://lms/h/authorize?x=1&lti_message_hint=") and url.endswith("&state=s")
    with pytest.raises(AuthRequestRefused):
        read_message_hint(platform_key, hint, client_id="another-client")
    stranger = PlatformKey(generate_private_key_pem())
    forged = sign_message_hint(
        stranger, client_id=CLIENT, login_hint="anon-1", authorize_url="https://evil/", resource="b1"
    )
    with pytest.raises(AuthRequestRefused):
        route_authorization(platform_key, {"lti_message_hint": forged}, client_id=CLIENT)
    expired = sign_message_hint(
        platform_key,
        client_id=CLIENT,
        login_hint="a",
        authorize_url="https://lms/",
        resource="b",
        seconds=-60,
    )
    with pytest.raises(AuthRequestRefused):
        read_message_hint(platform_key, expired, client_id=CLIENT)


def test_the_core_imports_without_flask_django_or_pkg_resources():
    code = (
        "import sys, json; sys.modules['flask'] = None; sys.modules['pkg_resources'] = None; "
        "sys.modules['xblock'] = None; sys.modules['django'] = None; "
        "import lti_bridge.platform.core, lti_bridge.platform.keys, mentornet_xblock.config, "
        "mentornet_xblock.lms.endpoints; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'django', 'network_service', 'lti1p3platform') and sys.modules[m] is not None)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    loaded = json.loads(out)
    assert not [m for m in loaded if m.startswith(("flask", "django", "network_service"))]
    assert "lti1p3platform.framework" not in loaded and "lti1p3platform.core" not in loaded


def test_the_platform_jwks_names_the_signing_kid(platform_key, registration):
    assert registration.get_jwks() == [platform_key.public_jwk()]
    assert platform_key.jwks()["keys"][0]["kid"] == platform_key.kid
    assert dt.datetime.now(dt.UTC)  # keep the dt import honest for future score tests


def test_a_platform_key_survives_folded_or_escaped_line_breaks(platform_key):
    folded = " ".join(platform_key.private_pem.split("\n"))  # what YAML does to a multi-line --set value
    escaped = platform_key.private_pem.replace("\n", "\\n")  # what an environment variable may carry
    assert PlatformKey(folded).kid == PlatformKey(escaped).kid == platform_key.kid
    with pytest.raises(ValueError):
        PlatformKey("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
