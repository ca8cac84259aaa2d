"""The JSON API v1 over the Flask test client: documentation, authentication, and problem documents."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.accounts.operations import create_api_token, get_or_create_person
from network_service.api.auth import PUBLIC_REQUESTS
from network_service.db import session
from network_service.networks.models import Membership, MembershipStatus, Network, Role
from network_service.networks.operations import invite_person
from tests.helpers import assert_problem, csrf_from, link_in, mails, sign_in_as

API = "/api/v1"
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def token_for(run, email: str) -> str:
    def create():
        person, _created = get_or_create_person(email)
        return create_api_token(person, "test")[1]

    return run(create)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def as_coordinator(run, world):
    return bearer(token_for(run, "coord@example.org"))


@pytest.fixture
def as_meta_mentor(run, world):
    return bearer(token_for(run, "meta@example.org"))


@pytest.fixture
def as_mentor(run, world):
    return bearer(token_for(run, "mentor@example.org"))


def person_by_email(run, email: str) -> Person:
    return run(lambda: session.scalar(sa.select(Person).where(Person.email == email)))


def membership_of(run, world, email: str) -> Membership | None:
    return run(
        lambda: session.scalar(
            sa.select(Membership)
            .join(Person)
            .where(Membership.network_id == world.network_id, Person.email == email)
        )
    )


def invite_by_system(run, world, email: str):
    run(lambda: invite_person(session.get(Network, world.network_id), email, actor=None))


# -- the OpenAPI document ------------------------------------------------------------------------------


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_openapi_document_lists_every_api_path_with_its_methods(app, client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    documented = {
        path: {method.upper() for method in operations} for path, operations in spec["paths"].items()
    }
    served = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(f"{API}/") or rule.rule == f"{API}/openapi.json":
            continue
        served.setdefault(_openapi_path(rule.rule), set()).update(rule.methods & HTTP_METHODS)
    assert served, "the app serves no API paths"
    for path, methods in served.items():
        assert path in documented, f"{path} is served but not documented"
        assert methods <= documented[path], f"{path}: {methods - documented[path]} not documented"


def test_openapi_document_names_the_revision_of_the_latest_listed_change(client):
    """docs/api-changes.md lists every change a client could notice; its newest date is the revision that
    info.version names, so that a change listed there without moving the revision (or the reverse) fails."""
    from pathlib import Path

    from network_service.api import API_REVISION

    changes = (Path(__file__).resolve().parents[1] / "docs" / "api-changes.md").read_text()
    dates = re.findall(r"^### (\d{4}-\d{2}-\d{2})$", changes, re.MULTILINE)
    assert dates and max(dates) == dates[0] == API_REVISION
    assert client.get(f"{API}/openapi.json").get_json()["info"]["version"] == f"v1 (revision {API_REVISION})"


def test_openapi_document_declares_bearer_authentication(client):
    spec = client.get(f"{API}/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert {"bearer": []} in spec["security"]


def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        *_path, section, name = node["$ref"].split("/")
        node = spec["components"][section][name]
    return node


def test_openapi_document_describes_errors_as_the_problem_documents_sent(client, world):
    spec = client.get(f"{API}/openapi.json").get_json()
    patch_me = spec["paths"][f"{API}/me"]["patch"]["responses"]
    for status in ("422", "default"):
        content = _resolve(spec, patch_me[status])["content"]
        assert list(content) == ["application/problem+json"]
        problem_schema = _resolve(spec, content["application/problem+json"]["schema"])
        assert {"title", "status"} <= set(problem_schema["required"])
        assert problem_schema["properties"]["status"]["type"] == "integer"
    sent = assert_problem(client.patch(f"{API}/me", json={"regoin": "x"}), 401)
    assert set(sent) <= set(problem_schema["properties"])


@pytest.mark.parametrize(
    ("method", "path", "properties"),
    [
        ("get", "/messages/{message_id}/revisions", {"message", "revisions"}),
        (
            "get",
            "/networks/{slug}/agreements",
            {"version", "title", "change_note", "published_by", "current"},
        ),
        ("get", "/networks/{slug}/agreements/{version}", {"body", "changes", "previous_version"}),
        ("post", "/networks/{slug}/agreement/reminders", {"version", "reminded", "already_reminded"}),
        ("get", "/networks/{slug}/suspensions", {"person", "role", "status"}),
    ],
)
def test_openapi_document_describes_what_the_web_pages_also_show(client, method, path, properties):
    """What the pages show (earlier texts, agreement versions, reminders, suspended members) is described in
    the API with its fields, not as an untyped answer."""
    spec = client.get(f"{API}/openapi.json").get_json()
    operation = spec["paths"][f"{API}{path}"][method]
    schema = _resolve(
        spec, _resolve(spec, operation["responses"]["200"])["content"]["application/json"]["schema"]
    )
    if schema.get("type") == "array":
        schema = _resolve(spec, schema["items"])
    assert properties <= set(schema["properties"]), schema
    assert operation["summary"]


def test_openapi_document_says_accepting_an_invitation_needs_no_credentials(client):
    spec = client.get(f"{API}/openapi.json").get_json()
    assert spec["paths"][f"{API}/invitations/accept"]["post"]["security"] == []
    assert "security" not in spec["paths"][f"{API}/me"]["patch"]  # the document-wide requirement holds


# -- authentication --------------------------------------------------------------------------------------


def test_request_without_credentials_is_401_problem_with_challenge(client, world):
    response = client.get(f"{API}/me")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_every_endpoint_but_accepting_an_invitation_needs_credentials(app, client, world):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(f"{API}/") or rule.endpoint.startswith("api-docs."):
            continue
        # credentials are checked before any path argument is looked up: any value will do
        path = re.sub(r"<int:[^>]+>", str(world.mentor_id), rule.rule)
        path = re.sub(r"<[^>]+>", world.slug, path)
        for method in rule.methods & HTTP_METHODS:
            # an invalid body too: credentials are checked before the input is judged
            response = client.open(path, method=method, json={"unknown": 1})
            if rule.endpoint == "api_networks.AcceptInvitation":
                assert response.status_code == 422, path
            elif (rule.endpoint, method) in PUBLIC_REQUESTS:  # the public directory: judged, never a 401
                assert response.status_code in {200, 404, 422}, path
            else:
                assert_problem(response, 401)
                assert response.headers["WWW-Authenticate"].startswith("Bearer"), path


def test_cors_preflight_needs_no_credentials(client, world):
    response = client.options(f"{API}/me")
    assert response.status_code == 200
    assert "PATCH" in response.headers["Allow"]


def test_wrong_bearer_token_is_401(client, world):
    response = client.get(f"{API}/me", headers=bearer("not-a-token-anyone-was-given"))
    body = assert_problem(response, 401)
    assert "token" in body["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_bearer_token_authenticates_its_owner(client, as_mentor):
    response = client.get(f"{API}/me", headers=as_mentor)
    assert response.status_code == 200
    me = response.get_json()
    assert me["email"] == "mentor@example.org"
    assert me["display_name"] == "Mina Mentor"
    assert me["languages"] == ["Italian", "Arabic"]


# -- the profile -----------------------------------------------------------------------------------------


def test_patch_me_changes_the_profile(client, run, as_mentor):
    response = client.patch(
        f"{API}/me", json={"region": "Palermo", "expertise": ["asylum law"]}, headers=as_mentor
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["region"] == "Palermo"
    person = person_by_email(run, "mentor@example.org")
    assert person.region == "Palermo"
    assert person.expertise == ["asylum law"]
    assert client.get(f"{API}/me", headers=as_mentor).get_json()["region"] == "Palermo"


def test_patch_me_with_unknown_field_is_422_naming_it(client, run, as_mentor):
    response = client.patch(f"{API}/me", json={"regoin": "Palermo"}, headers=as_mentor)
    assert_problem(response, 422, field="regoin")
    assert person_by_email(run, "mentor@example.org").region == ""


def test_patch_me_with_invalid_value_is_422_and_writes_nothing(client, run, as_mentor):
    response = client.patch(
        f"{API}/me", json={"display_name": "Mina M.", "timezone": "Mars/Olympus_Mons"}, headers=as_mentor
    )
    assert_problem(response, 422, field="timezone")
    person = person_by_email(run, "mentor@example.org")
    assert person.display_name == "Mina Mentor"
    assert person.timezone is None


def test_patch_me_with_empty_name_is_422_naming_display_name(client, run, as_mentor):
    response = client.patch(f"{API}/me", json={"display_name": ""}, headers=as_mentor)
    assert_problem(response, 422, field="display_name")
    assert person_by_email(run, "mentor@example.org").display_name == "Mina Mentor"


def test_malformed_json_body_is_400_problem(client, run, as_mentor):
    response = client.patch(
        f"{API}/me", data='{"region": "Palermo"', content_type="application/json", headers=as_mentor
    )
    body = assert_problem(response, 400)
    assert body["detail"] == "Invalid JSON body."


def test_write_with_a_body_that_is_not_json_is_415_and_writes_nothing(client, run, as_mentor):
    response = client.patch(f"{API}/me", data={"region": "Palermo"}, headers=as_mentor)
    body = assert_problem(response, 415)
    assert "application/json" in body["detail"]
    assert person_by_email(run, "mentor@example.org").region == ""


# -- networks, members, agreement ------------------------------------------------------------------------


def test_networks_lists_the_callers_memberships(client, world, as_mentor):
    response = client.get(f"{API}/networks", headers=as_mentor)
    assert response.status_code == 200
    [entry] = response.get_json()
    assert entry["network"]["slug"] == world.slug
    assert entry["network"]["organisation"]["name"] == "Test Org"
    assert (entry["role"], entry["status"]) == ("mentor", "active")


def test_network_detail_for_a_member(client, world, as_mentor):
    response = client.get(f"{API}/networks/{world.slug}", headers=as_mentor)
    assert response.status_code == 200
    assert response.get_json()["name"] == "Test Network"


def test_mentor_sees_active_members_only(client, run, world, as_mentor):
    invite_by_system(run, world, "newcomer@example.org")
    response = client.get(f"{API}/networks/{world.slug}/members", headers=as_mentor)
    assert response.status_code == 200
    page = response.get_json()
    members = page["items"]
    assert {m["status"] for m in members} == {"active"} and page["next_cursor"] is None
    assert sorted(m["role"] for m in members) == ["coordinator", "mentor", "meta_mentor"]
    # the invitees are for those who may invite
    response = client.get(f"{API}/networks/{world.slug}/members?status=invited", headers=as_mentor)
    assert response.status_code == 403


def test_the_members_list_comes_a_page_at_a_time(client, run, world, as_mentor):
    for number in range(5):
        invite_by_system(run, world, f"page{number}@example.org")  # invitees do not count among the active
    first = client.get(f"{API}/networks/{world.slug}/members?limit=2", headers=as_mentor).get_json()
    assert len(first["items"]) == 2 and first["next_cursor"] is not None
    rest = client.get(
        f"{API}/networks/{world.slug}/members?limit=2&after={first['next_cursor']}", headers=as_mentor
    ).get_json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    ids = [m["person"]["id"] for m in first["items"] + rest["items"]]
    assert len(set(ids)) == 3
    for bad in ("limit=0", "limit=201", "status=suspended", f"after={2**40}"):
        response = client.get(f"{API}/networks/{world.slug}/members?{bad}", headers=as_mentor)
        assert response.status_code == 422, bad


def test_coordinator_also_sees_invited_members(client, run, world, as_coordinator):
    invite_by_system(run, world, "newcomer@example.org")
    newcomer = person_by_email(run, "newcomer@example.org")
    page = client.get(
        f"{API}/networks/{world.slug}/members?status=invited", headers=as_coordinator
    ).get_json()
    assert [(m["person"]["id"], m["status"]) for m in page["items"]] == [(newcomer.id, "invited")]
    active = client.get(f"{API}/networks/{world.slug}/members", headers=as_coordinator).get_json()["items"]
    assert len(active) == 3 and newcomer.id not in {m["person"]["id"] for m in active}


def test_agreement_for_a_member(client, world, as_mentor):
    response = client.get(f"{API}/networks/{world.slug}/agreement", headers=as_mentor)
    assert response.status_code == 200
    agreement = response.get_json()
    assert agreement["version"] == 1
    assert "respect" in agreement["body"]


@pytest.mark.parametrize("suffix", ["", "/members", "/agreement"])
def test_non_member_is_forbidden(client, run, world, suffix):
    outsider = bearer(token_for(run, "outsider@example.org"))
    response = client.get(f"{API}/networks/{world.slug}{suffix}", headers=outsider)
    assert_problem(response, 403)


@pytest.mark.parametrize("suffix", ["", "/members", "/agreement"])
def test_unknown_network_is_404(client, world, as_coordinator, suffix):
    response = client.get(f"{API}/networks/no-such-net{suffix}", headers=as_coordinator)
    assert_problem(response, 404)


# -- invitations -----------------------------------------------------------------------------------------


def test_coordinator_invites_by_email_and_one_mail_is_queued(client, run, world, as_coordinator):
    response = client.post(
        f"{API}/networks/{world.slug}/invitations",
        json={"email": "Newcomer@Example.org", "display_name": "Nora Newcomer"},
        headers=as_coordinator,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    invitation = response.get_json()
    assert (invitation["email"], invitation["network"]) == ("newcomer@example.org", world.slug)
    [mail] = run(lambda: mails(to="newcomer@example.org"))
    assert mail.kind == "invitation"
    assert "/invitations/" in mail.body_text
    assert membership_of(run, world, "newcomer@example.org").status == MembershipStatus.invited


def test_mentor_cannot_invite(client, run, world, as_mentor):
    response = client.post(
        f"{API}/networks/{world.slug}/invitations", json={"email": "friend@example.org"}, headers=as_mentor
    )
    assert_problem(response, 403)
    assert run(lambda: mails(to="friend@example.org")) == []
    assert person_by_email(run, "friend@example.org") is None


def test_invitation_with_invalid_email_is_422_naming_email(client, run, world, as_coordinator):
    response = client.post(
        f"{API}/networks/{world.slug}/invitations", json={"email": "not an address"}, headers=as_coordinator
    )
    assert_problem(response, 422, field="email")
    assert run(lambda: mails(kind="invitation")) == []


def test_inviting_an_active_member_is_409(client, run, world, as_coordinator):
    response = client.post(
        f"{API}/networks/{world.slug}/invitations",
        json={"email": "mentor@example.org"},
        headers=as_coordinator,
    )
    assert_problem(response, 409, field="email")
    assert run(lambda: mails(to="mentor@example.org")) == []


# -- appointing ------------------------------------------------------------------------------------------


def test_coordinator_appoints_a_meta_mentor(client, run, world, as_coordinator):
    response = client.patch(
        f"{API}/networks/{world.slug}/members/{world.mentor_id}",
        json={"role": "meta_mentor", "level": "experienced"},
        headers=as_coordinator,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert (response.get_json()["role"], response.get_json()["level"]) == ("meta_mentor", "experienced")
    assert membership_of(run, world, "mentor@example.org").role == Role.meta_mentor


def test_meta_mentor_cannot_appoint(client, run, world, as_meta_mentor):
    response = client.patch(
        f"{API}/networks/{world.slug}/members/{world.mentor_id}",
        json={"role": "office"},
        headers=as_meta_mentor,
    )
    assert_problem(response, 403)
    assert membership_of(run, world, "mentor@example.org").role == Role.mentor


def test_demoting_the_last_coordinator_is_409(client, run, world, as_coordinator):
    response = client.patch(
        f"{API}/networks/{world.slug}/members/{world.coordinator_id}",
        json={"role": "mentor"},
        headers=as_coordinator,
    )
    assert_problem(response, 409, field="role")
    assert membership_of(run, world, "coord@example.org").role == Role.coordinator


def test_appointing_an_unknown_role_is_422(client, world, as_coordinator):
    response = client.patch(
        f"{API}/networks/{world.slug}/members/{world.mentor_id}",
        json={"role": "emperor"},
        headers=as_coordinator,
    )
    assert_problem(response, 422, field="role")


# -- accepting an invitation -----------------------------------------------------------------------------


@pytest.fixture
def invitation_token(client, run, world, as_coordinator):
    response = client.post(
        f"{API}/networks/{world.slug}/invitations",
        json={"email": "newcomer@example.org"},
        headers=as_coordinator,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    [mail] = run(lambda: mails(to="newcomer@example.org", kind="invitation"))
    return link_in(mail.body_text, "/invitations/").rsplit("/", 1)[1]


def accept(client, token, **fields):
    body = {"token": token, "agreement_version": 1, "accept_agreement": True, "display_name": "Nora"}
    body.update(fields)
    return client.post(f"{API}/invitations/accept", json=body)


def test_accepting_an_outdated_agreement_version_is_409(client, run, world, invitation_token):
    response = accept(client, invitation_token, agreement_version=2)
    assert_problem(response, 409, field="agreement_version")
    assert membership_of(run, world, "newcomer@example.org").status == MembershipStatus.invited


def test_accepting_without_saying_yes_is_422(client, run, world, invitation_token):
    response = accept(client, invitation_token, accept_agreement=False)
    assert_problem(response, 422, field="accept_agreement")
    assert membership_of(run, world, "newcomer@example.org").status == MembershipStatus.invited


def test_accepting_makes_the_membership_active_and_the_link_single_use(client, run, world, invitation_token):
    response = accept(client, invitation_token)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "active"
    membership = membership_of(run, world, "newcomer@example.org")
    assert membership.status == MembershipStatus.active
    assert membership.person.display_name == "Nora"

    assert_problem(accept(client, invitation_token), 410)


# -- the browser session -------------------------------------------------------------------------------


def test_signed_in_session_reads_the_api(client, run, world):
    sign_in_as(client, run, "mentor@example.org")
    response = client.get(f"{API}/me")
    assert response.status_code == 200
    assert response.get_json()["email"] == "mentor@example.org"


def test_session_write_without_csrf_token_is_400_problem(client, run, world):
    sign_in_as(client, run, "mentor@example.org")
    response = client.patch(f"{API}/me", json={"region": "Palermo"})
    assert_problem(response, 400)
    assert person_by_email(run, "mentor@example.org").region == ""


def test_session_write_with_csrf_header_succeeds(client, run, world):
    sign_in_as(client, run, "mentor@example.org")
    token = csrf_from(client.get("/profile").get_data(as_text=True))
    response = client.patch(f"{API}/me", json={"region": "Palermo"}, headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert person_by_email(run, "mentor@example.org").region == "Palermo"
