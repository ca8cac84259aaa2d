"""What a login and a launch cost in SQL statements, so a regression is caught here (the speed is in bench/);
the login's cached copy of the registrations follows every change; the launch's own reading of a token's
header answers as PyJWT's."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
import sqlalchemy as sa

from lti_bridge.lti.launch import CLAIM, _unverified_header
from lti_bridge.lti.models import LtiPlatform
from lti_bridge.lti.registrations import add_deployment, find_platform, remove_platform
from network_service.db import session
from tests.goals_roles import count_statements

pytest_plugins = ("tests.lti_platform",)

COURSE_CONTEXT = {CLAIM + "context": {"id": "course-7", "title": "Integration course"}}


def _launch(client, platform, **claims):
    query = platform.begin_login(client)
    id_token = platform.id_token(query["nonce"], **claims)
    return client.post("/lti/launch", data={"id_token": id_token, "state": query["state"]})


def _kinds(statements: list[str]) -> list[str]:
    """'SELECT lti_nonce', 'UPDATE person', ...: the verb and the main table of each statement (a SELECT's
    last FROM: the one outside its subqueries)."""
    kinds = []
    for statement in statements:
        words = statement.split()
        verb = words[0].upper()
        if verb == "SELECT":
            table = words[len(words) - 1 - words[::-1].index("FROM") + 1]
        else:
            table = words[{"UPDATE": 1, "INSERT": 2, "DELETE": 2}[verb]]
        kinds.append(f"{verb} {table}")
    return kinds


def test_a_login_is_one_insert_and_a_returning_learners_launch_six_statements(app, client, platform, run):
    run(lambda: platform.register(trust_email=True))
    claims = {"email": "learner@example.org", "name": "Ada", **COURSE_CONTEXT}
    assert _launch(client, platform, **claims).status_code == 303  # first launch: learner and course made

    with count_statements(app) as login:
        query = platform.begin_login(client)
    assert _kinds(login) == ["INSERT lti_nonce"], login

    id_token = platform.id_token(query["nonce"], **claims)
    with count_statements(app) as launch:
        response = client.post("/lti/launch", data={"id_token": id_token, "state": query["state"]})
    assert response.status_code == 303
    assert _kinds(launch) == [
        "SELECT lti_nonce",  # the login with its registration (joined), as the database holds them now
        "UPDATE lti_nonce",  # the nonce spent: of two uses, one wins
        "SELECT lti_identity",  # the learner with their person (joined)
        "UPDATE person",  # last sign-in
        "SELECT lti_context",  # the course remembered, and whether the learner holds a grant for it (none)
        # sign-in: this browser's earlier session (its first launch made one) ends, its row becoming the new
        # session's record, with a new id (accounts/sessions.py: start_session)
        "UPDATE device_session",
    ], launch


def test_a_first_launch_in_a_browser_inserts_its_session_record(app, client, platform, run):
    run(lambda: platform.register(trust_email=True))
    claims = {"email": "learner@example.org", "name": "Ada", **COURSE_CONTEXT}
    query = platform.begin_login(client)
    id_token = platform.id_token(query["nonce"], **claims)
    with count_statements(app) as launch:
        response = client.post("/lti/launch", data={"id_token": id_token, "state": query["state"]})
    assert response.status_code == 303
    assert "INSERT device_session" in _kinds(launch), launch  # (the learner was made: cache versions too)
    assert "DELETE device_session" not in _kinds(launch) and "UPDATE device_session" not in _kinds(launch)


def test_the_login_sees_a_changed_registration_at_once(client, registered, run):
    registered.begin_login(client)  # the registration is now in the login's cache

    def change():
        find_platform(registered.issuer, registered.client_id).oidc_auth_url = (
            registered.auth_url + "?tenant=9"
        )
        add_deployment(registered.issuer, registered.client_id, "deployment-2")

    run(change)
    response = client.get("/lti/login", query_string=registered.login_params())
    assert "tenant=9" in response.headers["Location"]

    run(lambda: remove_platform(registered.issuer, registered.client_id))
    response = client.get("/lti/login", query_string=registered.login_params())
    assert response.status_code == 400
    assert "mentornet lti platform add" in response.get_data(as_text=True)


def test_a_registration_removed_by_another_process_refuses_the_login_not_fails(client, registered, run):
    registered.begin_login(client)  # cached; now a Core delete, as another process would, unseen by this one
    run(lambda: session.execute(sa.delete(LtiPlatform).where(LtiPlatform.issuer == registered.issuer)))
    response = client.get("/lti/login", query_string=registered.login_params())
    assert response.status_code == 400
    assert registered.issuer in response.get_data(as_text=True)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize(
    "token",
    [
        "{h}.{p}.{s}",
        "{h}.{p}.",
        "{h}.{p}",
        "{h}..{s}",
        "{h}.{p}.{s}.{s}",
        "{h}=.{p}.{s}",
        "{h}a.{p}.{s}",  # a header of impossible length
        "{h}.{p}a.{s}",  # a payload of impossible length
        "{h}.{p}.{s}!",
        "{list}.{p}.{s}",
        "{notjson}.{p}.{s}",
        "{intkid}.{p}.{s}",
        "{b64}.{p}.{s}",
        "{b64}..{s}",
        "",
    ],
)
def test_the_launch_reads_a_tokens_header_as_pyjwt_does(token):
    parts = {
        "h": _b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "k1"}).encode()),
        "p": _b64(json.dumps({"sub": "x"}).encode()),
        "s": _b64(b"signature" * 20),
        "list": _b64(b"[1, 2]"),
        "notjson": _b64(b"{alg: RS256"),
        "intkid": _b64(json.dumps({"alg": "RS256", "kid": 7}).encode()),
        "b64": _b64(json.dumps({"alg": "RS256", "kid": "k1", "b64": False, "crit": ["b64"]}).encode()),
    }
    token = token.format(**parts)

    def read(function):
        try:
            return function(token)
        except jwt.PyJWTError:
            return "refused"

    assert read(_unverified_header) == read(jwt.get_unverified_header)
