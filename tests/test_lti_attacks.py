"""Every launch that fails a check of the security framework is refused: a 4xx page naming the check, no
session, no Person, no LtiIdentity."""

from __future__ import annotations

import base64
import json
import socket
import time

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import rsa

from lti_bridge.lti.models import LtiIdentity, LtiNonce
from network_service.accounts.models import Person
from network_service.app import create_app
from network_service.db import db, session, utcnow
from tests.databases import app_config

pytest_plugins = ("tests.lti_platform",)  # the stand-in platform and its fixtures


def post_launch(client, id_token: str, state: str):
    return client.post("/lti/launch", data={"id_token": id_token, "state": state})


def _counts(run) -> tuple[int, int]:
    return run(
        lambda: (
            session.scalar(sa.select(sa.func.count(Person.id))),
            session.scalar(sa.select(sa.func.count(LtiIdentity.id))),
        )
    )


def assert_refused(response, check: str, run, before=(0, 0), status: int | None = None) -> str:
    body = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, (response.status_code, body)
    if status is not None:
        assert response.status_code == status
    assert f'data-lti-check="{check}"' in body, body
    assert not any(h.startswith("mentornet_session=") for h in response.headers.getlist("Set-Cookie"))
    assert _counts(run) == before
    return body


def _no_signed_in_session(client) -> None:
    with client.session_transaction() as browser_session:
        assert "person_id" not in browser_session


def _launch(client, registered, **overrides):
    query = registered.begin_login(client)
    return post_launch(client, registered.id_token(query["nonce"], **overrides), query["state"])


# -- state and nonce -----------------------------------------------------------------------------------


def test_replayed_id_token_is_refused_even_with_the_stolen_state_cookie(app, client, registered, run):
    run(lambda: registered.register(client_id="unused", trust_email=True))  # a second registration, unused
    query = registered.begin_login(client)
    state_cookie = client.get_cookie("mentornet_lti_state", path="/lti/")
    token = registered.id_token(query["nonce"])
    assert post_launch(client, token, query["state"]).status_code == 303
    before = _counts(run)

    attacker = app.test_client()
    attacker.set_cookie("mentornet_lti_state", state_cookie.value, path="/lti/")
    body = assert_refused(post_launch(attacker, token, query["state"]), "nonce", run, before)
    assert "already been used" in body
    _no_signed_in_session(attacker)


def test_replayed_id_token_without_the_state_cookie_is_refused(app, client, registered, run):
    query = registered.begin_login(client)
    token = registered.id_token(query["nonce"])
    assert post_launch(client, token, query["state"]).status_code == 303
    before = _counts(run)
    assert_refused(post_launch(app.test_client(), token, query["state"]), "state", run, before)


def test_reused_nonce_from_an_earlier_login_is_refused(client, registered, run):
    first = registered.begin_login(client)
    assert post_launch(client, registered.id_token(first["nonce"]), first["state"]).status_code == 303
    before = _counts(run)
    second = registered.begin_login(client)
    response = post_launch(client, registered.id_token(first["nonce"]), second["state"])
    assert "not the one issued" in assert_refused(response, "nonce", run, before)


def test_missing_nonce_is_refused(client, registered, run):
    assert_refused(_launch(client, registered, nonce=registered.DROP), "nonce", run)


def test_state_mismatch_is_refused(client, registered, run):
    query = registered.begin_login(client)
    response = post_launch(client, registered.id_token(query["nonce"]), "a-state-this-browser-never-had")
    assert_refused(response, "state", run, status=403)


def test_state_of_another_browser_is_refused(app, client, registered, run):
    victim = registered.begin_login(client)
    attacker = app.test_client()
    registered.begin_login(attacker)  # the attacker has a state cookie, but for their own login
    response = post_launch(attacker, registered.id_token(victim["nonce"]), victim["state"])
    assert_refused(response, "state", run)


def test_missing_state_cookie_is_refused_with_advice_about_blocked_cookies(app, client, registered, run):
    query = registered.begin_login(client)
    response = post_launch(app.test_client(), registered.id_token(query["nonce"]), query["state"])
    body = assert_refused(response, "state", run)
    assert "new window" in body


def test_expired_login_is_refused(client, registered, run):
    query = registered.begin_login(client)

    def expire():
        session.execute(sa.update(LtiNonce).values(expires_at=utcnow()))

    run(expire)
    assert_refused(post_launch(client, registered.id_token(query["nonce"]), query["state"]), "state", run)


# -- the token's signature -----------------------------------------------------------------------------


def test_alg_none_is_refused(client, registered, run):
    query = registered.begin_login(client)
    assert_refused(post_launch(client, registered.unsigned(query["nonce"]), query["state"]), "alg", run)


def test_hs256_signed_with_the_platforms_public_key_is_refused(client, registered, run):
    query = registered.begin_login(client)
    token = registered.hs256_with_public_key(query["nonce"])
    assert "HS256" in assert_refused(post_launch(client, token, query["state"]), "alg", run)


def test_unknown_kid_is_refused_after_one_refetch(client, registered, run):
    assert _launch(client, registered).status_code == 303  # the key set is now cached
    before = _counts(run)
    outsider = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = _launch(client, registered, kid="not-in-the-set", key=outsider)
    assert_refused(response, "kid", run, before)
    assert registered.jwks_requests == 2  # the cached set, and one more fetch in case the platform rotated


def test_token_without_kid_is_refused(client, registered, run):
    query = registered.begin_login(client)
    import jwt

    token = jwt.encode(registered.claims(query["nonce"]), registered.keys[registered.kid], algorithm="RS256")
    assert_refused(post_launch(client, token, query["state"]), "kid", run)


def test_token_signed_by_another_key_under_the_platforms_kid_is_refused(client, registered, run):
    outsider = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_refused(_launch(client, registered, key=outsider), "signature", run)


def test_tampered_payload_is_refused(client, registered, run):
    query = registered.begin_login(client)
    header, payload, signature = registered.id_token(query["nonce"]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = post_launch(client, f"{header}.{forged}.{signature}", query["state"])
    assert_refused(response, "signature", run)


def test_jwks_unreachable_is_refused_and_names_the_url(client, platform, run):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{probe.getsockname()[1]}/jwks"
    run(lambda: platform.register(jwks_url=dead_url))
    body = assert_refused(_launch(client, platform), "jwks", run)
    assert dead_url in body


def test_not_a_jwt_is_refused(client, registered, run):
    query = registered.begin_login(client)
    assert_refused(post_launch(client, "not-a-token", query["state"]), "id_token", run, status=400)


# -- the claims ----------------------------------------------------------------------------------------


def test_wrong_iss_is_refused(client, registered, run):
    assert_refused(_launch(client, registered, iss="https://evil.example"), "iss", run)


def test_wrong_aud_is_refused(client, registered, run):
    assert_refused(_launch(client, registered, aud="someone-else"), "aud", run)


def test_extra_untrusted_aud_is_refused(client, registered, run):
    response = _launch(client, registered, aud=[registered.client_id, "intruder"], azp=registered.client_id)
    assert "intruder" in assert_refused(response, "aud", run)


@pytest.fixture
def two_registrations(registered, run):
    """A second client id of ours at the same platform: a trusted extra audience."""
    run(lambda: registered.register(client_id="mentornet-second"))
    return registered


def test_several_audiences_with_our_azp_launch(client, two_registrations, run):
    response = _launch(
        client,
        two_registrations,
        aud=[two_registrations.client_id, "mentornet-second"],
        azp="mentornet-client",
    )
    assert response.status_code == 303


def test_missing_azp_with_several_audiences_is_refused(client, two_registrations, run):
    response = _launch(client, two_registrations, aud=[two_registrations.client_id, "mentornet-second"])
    assert_refused(response, "azp", run)


def test_wrong_azp_is_refused(client, two_registrations, run):
    response = _launch(
        client,
        two_registrations,
        aud=[two_registrations.client_id, "mentornet-second"],
        azp="mentornet-second",
    )
    assert_refused(response, "azp", run)


def test_wrong_azp_with_a_single_audience_is_refused(client, registered, run):
    assert_refused(_launch(client, registered, azp="someone-else"), "azp", run)


def test_expired_token_is_refused(client, registered, run):
    now = int(time.time())
    assert_refused(_launch(client, registered, iat=now - 600, exp=now - 120), "exp", run)


def test_token_without_exp_is_refused(client, registered, run):
    assert_refused(_launch(client, registered, exp=registered.DROP), "exp", run)


def test_iat_in_the_future_is_refused(client, registered, run):
    now = int(time.time())
    assert_refused(_launch(client, registered, iat=now + 600, exp=now + 900), "iat", run)


def test_iat_a_little_ahead_is_tolerated(client, registered, run):
    now = int(time.time())
    assert _launch(client, registered, iat=now + 30).status_code == 303


def test_unknown_deployment_is_refused(client, registered, run):
    body = assert_refused(_launch(client, registered, deployment_id="deployment-9"), "deployment_id", run)
    assert "deployment-9" in body


def test_unsupported_message_type_is_refused(client, registered, run):
    response = _launch(client, registered, message_type="LtiSubmissionReviewRequest")
    assert "not supported" in assert_refused(response, "message_type", run, status=400)


def test_wrong_version_is_refused(client, registered, run):
    assert_refused(_launch(client, registered, version="1.1.0"), "version", run, status=400)


def test_missing_sub_is_refused(client, registered, run):
    assert_refused(_launch(client, registered, sub=registered.DROP), "sub", run, status=400)


def test_missing_resource_link_is_refused(client, registered, run):
    assert_refused(
        _launch(client, registered, resource_link=registered.DROP), "resource_link", run, status=400
    )


def test_resource_link_without_id_is_refused(client, registered, run):
    assert_refused(_launch(client, registered, resource_link={"title": "x"}), "resource_link", run)


def test_a_token_refused_after_its_nonce_check_cannot_be_replayed_later(client, registered, run):
    query = registered.begin_login(client)
    token = registered.id_token(query["nonce"], deployment_id="deployment-9")
    assert_refused(post_launch(client, token, query["state"]), "deployment_id", run)
    assert run(lambda: session.scalar(sa.select(LtiNonce.used_at))) is not None


def test_refusals_are_logged_with_the_claimed_registration(client, registered, run, caplog):
    caplog.set_level("WARNING", logger="lti_bridge.lti.views")
    _launch(client, registered, iss="https://evil.example")
    [entry] = [r for r in caplog.records if r.name == "lti_bridge.lti.views"]
    message = entry.getMessage()
    assert "check iss" in message and "https://evil.example" in message
    assert registered.client_id in message


def test_a_second_platform_cannot_launch_with_the_first_ones_login(client, registered, run, make_platform):
    other = make_platform(issuer="https://other-lms.example", client_id="other-client")
    run(other.register)
    query = registered.begin_login(client)
    token = other.id_token(query["nonce"], iss=other.issuer, aud=other.client_id)
    # the login picked the first registration: the other platform's key is not in its key set
    assert_refused(post_launch(client, token, query["state"]), "kid", run)


def test_failed_launches_are_rate_limited_per_client(database_url):
    limited = create_app(app_config(database_url, RATELIMIT_ENABLED=True))
    client = limited.test_client()
    try:
        statuses = [
            client.post("/lti/launch", data={"id_token": "x", "state": "y"}).status_code for _ in range(32)
        ]
    finally:
        db.dispose(limited)
    assert statuses[:30] == [403] * 30 and statuses[30:] == [429, 429]
