"""API tokens can be revoked: by the operator (``mentornet token list`` / ``revoke``), by their owner on the
devices page (/profile/sessions), and all at once when a site administrator signs someone out everywhere
(/admin/sessions). A revoked token stops working at its next request; each revocation is audited."""

from __future__ import annotations

import sqlalchemy as sa

from network_service.accounts.models import ApiToken, Person
from network_service.accounts.operations import add_site_admin, create_api_token
from network_service.audit.labels import action_label
from network_service.audit.models import AuditLog
from network_service.db import session
from tests.helpers import assert_ok, csrf_from, sign_in_as

MENTOR = "mentor@example.org"


def _token(run, email: str = MENTOR, name: str = "laptop script") -> tuple[int, str]:
    def create():
        person = session.scalar(sa.select(Person).where(Person.email == email))
        api_token, secret = create_api_token(person, name)
        session.flush()
        return api_token.id, secret

    return run(create)


def _works(client, secret: str) -> bool:
    status = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code
    assert status in (200, 401), status
    return status == 200


def _audit(run, action: str) -> list[AuditLog]:
    return run(lambda: list(session.scalars(sa.select(AuditLog).where(AuditLog.action == action))))


def _signed_in(app, run, email: str = MENTOR):
    client = app.test_client()
    sign_in_as(client, run, email)
    return client


# -- the operator ----------------------------------------------------------------------------------------------


def test_token_list_shows_names_and_dates_never_the_secret(mentornet, client, run, world):
    first_id, first = _token(run, name="laptop script")
    _second_id, second = _token(run, name="calendar sync")
    assert _works(client, first)  # used: "last used" is written
    output = assert_ok(mentornet("token", "list", MENTOR))
    lines = output.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{first_id}\tlaptop script\tcreated ")
    assert "last used 20" in lines[0] and "last used never" in lines[1]
    assert first not in output and second not in output
    assert assert_ok(mentornet("token", "list", "coord@example.org")).strip() == "No API tokens."


def test_token_revoke_by_id_and_all_of_a_person(mentornet, client, run, world):
    first_id, first = _token(run, name="laptop script")
    _second_id, second = _token(run, name="calendar sync")
    other_id, other = _token(run, email="coord@example.org", name="coordinator's")
    output = assert_ok(mentornet("token", "revoke", str(first_id)))
    assert f"API token {first_id} (laptop script) revoked." in output
    assert not _works(client, first) and _works(client, second) and _works(client, other)
    [entry] = _audit(run, "api_token.revoke")
    assert entry.actor_id is None and entry.target_id == first_id  # the operator
    assert entry.detail == {"name": "laptop script", "person_id": world.mentor_id}
    assert action_label("api_token.revoke") == "API token revoked"

    again = mentornet("token", "revoke", str(first_id))  # revoked already: a clear message
    assert again.exit_code == 1 and "revoked already" in again.output and "Traceback" not in again.output
    listed = assert_ok(mentornet("token", "list", MENTOR, "--revoked"))
    assert "\trevoked 20" in listed.splitlines()[0] and "revoked" not in listed.splitlines()[1]

    assert "1 API token(s) revoked." in assert_ok(mentornet("token", "revoke", "--all", MENTOR))
    assert not _works(client, second) and _works(client, other)
    [everything] = _audit(run, "api_token.revoke_all")
    assert everything.target_id == world.mentor_id and everything.detail["count"] == 1
    assert "0 API token(s) revoked." in assert_ok(mentornet("token", "revoke", "--all", MENTOR))
    assert len(_audit(run, "api_token.revoke_all")) == 1  # nothing revoked, nothing recorded
    assert run(lambda: session.get(ApiToken, other_id).revoked_at) is None


def test_token_revoke_needs_one_target(mentornet, world):
    for args in ((), ("1", "--all", MENTOR)):
        result = mentornet("token", "revoke", *args)
        assert result.exit_code == 2 and "Give either a TOKEN_ID or --all EMAIL." in result.output
    unknown = mentornet("token", "revoke", "999999")
    assert unknown.exit_code == 1 and "There is no API token 999999." in unknown.output


# -- the owner, on the devices page ----------------------------------------------------------------------------


def test_the_devices_page_lists_the_persons_tokens_and_revokes_one(app, client, run, world):
    token_id, secret = _token(run, name="laptop script")
    _kept_id, kept = _token(run, name="calendar sync")
    _theirs_id, theirs = _token(run, email="coord@example.org", name="coordinator's token")
    browser = _signed_in(app, run)
    page = browser.get("/profile/sessions").get_data(as_text=True)
    assert "Your API tokens" in page and "laptop script" in page and "calendar sync" in page
    assert "Never used" in page and secret not in page and kept not in page
    assert "coordinator&#39;s token" not in page and "coordinator's token" not in page  # only one's own
    assert "your API tokens below keep working until you revoke them" in page
    # each "Revoke this token" button is described by its token's name (a screen reader hears which one)
    assert f'<p id="api-token-{token_id}"><strong>laptop script</strong>' in page
    assert f'aria-describedby="api-token-{token_id}">Revoke this token</button>' in page

    response = browser.post(f"/profile/tokens/{token_id}/revoke", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/profile/sessions"
    assert "is revoked: it no longer works" in browser.get("/profile/sessions").get_data(as_text=True)
    assert not _works(client, secret) and _works(client, kept)
    [entry] = _audit(run, "api_token.revoke")
    assert (entry.actor_id, entry.target_id) == (world.mentor_id, token_id)
    assert "laptop script" not in browser.get("/profile/sessions").get_data(as_text=True)


def test_a_token_is_revoked_only_by_its_owner_with_a_csrf_token(app, client, run, world):
    theirs_id, theirs = _token(run, email="coord@example.org")
    mine_id, mine = _token(run)
    browser = _signed_in(app, run)
    csrf = csrf_from(browser.get("/profile/sessions").get_data(as_text=True))
    assert browser.post(f"/profile/tokens/{theirs_id}/revoke", data={"csrf_token": csrf}).status_code == 404
    assert browser.post(f"/profile/tokens/{mine_id}/revoke").status_code == 400  # no CSRF token
    assert app.test_client().post(f"/profile/tokens/{mine_id}/revoke").status_code in (302, 400)
    assert _works(client, theirs) and _works(client, mine)
    assert _audit(run, "api_token.revoke") == []


def test_a_members_own_sign_out_everywhere_leaves_their_tokens(app, client, run, world):
    """The choice documented in docs/security.md: "sign out everywhere" is about browsers (the page says so
    next to the button); a script's token is revoked on its own, on the same page."""
    _token_id, secret = _token(run)
    browser = _signed_in(app, run)
    csrf = csrf_from(browser.get("/profile/sessions").get_data(as_text=True))
    assert browser.post("/profile/sessions/sign-out-all", data={"csrf_token": csrf}).status_code == 302
    assert _works(client, secret)


# -- a site administrator's emergency sign-out ---------------------------------------------------------------


def test_a_site_admin_signing_someone_out_everywhere_revokes_their_tokens(app, client, run, world):
    run(lambda: add_site_admin("admin@example.org"))
    _first_id, first = _token(run)
    _second_id, second = _token(run, name="calendar sync")
    _theirs_id, theirs = _token(run, email="coord@example.org")
    admin = _signed_in(app, run, "admin@example.org")
    page = admin.get("/admin/sessions").get_data(as_text=True)
    assert "Every API token of the account is revoked too" in page
    response = admin.post(
        "/admin/sessions", data={"csrf_token": csrf_from(page), "email": MENTOR, "reason": "token leaked"}
    )
    assert response.status_code == 302
    assert not _works(client, first) and not _works(client, second) and _works(client, theirs)
    assert "2 API tokens of theirs are revoked." in admin.get("/admin/sessions").get_data(as_text=True)
    [entry] = _audit(run, "api_token.revoke_all")
    admin_id = run(lambda: session.scalar(sa.select(Person.id).where(Person.email == "admin@example.org")))
    assert (entry.actor_id, entry.target_id) == (admin_id, world.mentor_id)
    assert entry.detail == {"count": 2, "reason": "token leaked"}
