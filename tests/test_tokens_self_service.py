"""Members make their own API tokens on the devices page (/profile/sessions), and list and revoke them through the
API (GET /api/v1/me/tokens, DELETE /api/v1/me/tokens/<id>). The secret is shown once, in the answer to the form
and nowhere else; making one needs a recent sign-in on that browser and is capped per person; the API cannot
make tokens. Over real requests to the suite's app, on both databases."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
import sqlalchemy as sa

from network_service.accounts.models import ApiToken, DeviceSession, Person
from network_service.accounts.operations import MAX_API_TOKENS, create_api_token
from network_service.audit.models import AuditLog
from network_service.db import session, utcnow
from network_service.errors import Conflict
from network_service.mail.models import OutboundEmail
from tests.helpers import csrf_from, sign_in_as, token_form_once

MENTOR = "mentor@example.org"
COORDINATOR = "coord@example.org"
_SECRET_FIELD = re.compile(r'<input id="new-token-secret"[^>]*\bvalue="([^"]+)"')


def _signed_in(app, run, email: str = MENTOR):
    browser = app.test_client()
    sign_in_as(browser, run, email)
    return browser


def _make_on_page(browser, name: str = "Calendar script", page: str | None = None):
    """Send the devices page's form (``page``: a page shown earlier, as in another tab; else a fresh one)."""
    if page is None:
        page = browser.get("/profile/sessions").get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "name": name, "once": token_form_once(page)}
    return browser.post("/profile/tokens/new", data=data)


def _secret_in(response) -> str:
    match = _SECRET_FIELD.search(response.get_data(as_text=True))
    assert match, "the answer shows no new token"
    return match.group(1)


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _operator_token(run, email: str = MENTOR, name: str = "operator's") -> tuple[int, str]:
    def create():
        person = session.scalar(sa.select(Person).where(Person.email == email))
        api_token, secret = create_api_token(person, name)
        return api_token.id, secret

    return run(create)


def _live_tokens(run, email: str = MENTOR) -> list[str]:
    return run(
        lambda: list(
            session.scalars(
                sa.select(ApiToken.name)
                .join(Person, Person.id == ApiToken.person_id)
                .where(Person.email == email, ApiToken.revoked_at.is_(None))
                .order_by(ApiToken.id)
            )
        )
    )


@pytest.fixture
def audit(run, world):
    """The audit entries of one action written during this test (tests that commit for real, outside the test
    transaction, may have left older ones in the database)."""
    before = run(lambda: session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditLog.id), 0))))

    def entries(action: str) -> list[AuditLog]:
        return run(
            lambda: list(
                session.scalars(
                    sa.select(AuditLog)
                    .where(AuditLog.action == action, AuditLog.id > before)
                    .order_by(AuditLog.id)
                )
            )
        )

    return entries


# -- making a token on the devices page ------------------------------------------------------------------------


def test_the_devices_page_offers_a_labelled_form_for_a_new_token(app, run, world):
    page = _signed_in(app, run).get("/profile/sessions").get_data(as_text=True)
    form = page.split('action="/profile/tokens/new"', 1)[1].split("</form>", 1)[0]
    assert 'name="csrf_token"' in form
    assert '<label for="name">Name of the new token</label>' in form
    assert 'id="name-help">What will use it, so that you recognise it later.' in form
    assert re.search(r'<input[^>]*aria-describedby="name-help"[^>]*id="name"[^>]*maxlength="100"', form)
    assert "You have no API tokens." in page


def test_a_new_token_is_shown_once_and_works_as_a_bearer(app, client, run, world, caplog, audit):
    caplog.set_level(logging.DEBUG)
    browser = _signed_in(app, run)
    response = _make_on_page(browser, "Calendar script")
    # the answer itself, not a redirect: no URL or flash message carries the secret
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    secret = _secret_in(response)
    with browser.session_transaction() as cookie_session:  # the signed cookie's contents, flashes included
        assert secret not in repr(dict(cookie_session))
    html = response.get_data(as_text=True)
    assert "Your new API token “Calendar script” is made. Copy it now: it will not be shown again." in html
    assert '<label for="new-token-secret">Your new API token</label>' in html
    field = re.search(r'<input id="new-token-secret"[^>]*>', html).group(0)
    assert "readonly" in field and 'aria-describedby="new-token-secret-help"' in field
    assert 'id="new-token-secret-help">This is the only time it is shown' in html

    me = client.get("/api/v1/me", headers=_bearer(secret))
    assert me.status_code == 200 and me.json["email"] == MENTOR

    again = browser.get("/profile/sessions")
    listed = again.get_data(as_text=True)
    assert secret not in listed and "new-token-secret" not in listed  # not shown again
    assert "<strong>Calendar script</strong>" in listed and "Created: " in listed
    assert not any(secret in record.getMessage() for record in caplog.records)

    token_id = run(lambda: session.scalar(sa.select(ApiToken.id).where(ApiToken.name == "Calendar script")))
    [entry] = audit("api_token.create")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (world.mentor_id, "apitoken", token_id)
    assert entry.detail == {"name": "Calendar script", "person_id": world.mentor_id}


def test_a_token_the_operator_makes_is_audited_as_the_operators(run, world, audit):
    token_id, _secret = _operator_token(run, name="made by the operator")
    [entry] = audit("api_token.create")
    assert (entry.actor_id, entry.target_id) == (None, token_id)
    assert entry.detail == {"name": "made by the operator", "person_id": world.mentor_id}


def test_a_token_needs_a_name(app, run, world):
    browser = _signed_in(app, run)
    response = _make_on_page(browser, "   ")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Give the token a name." in html and 'aria-invalid="true"' in html
    assert "new-token-secret" not in html and _live_tokens(run) == []


def test_making_a_token_needs_the_pages_csrf_token(app, run, world, audit):
    browser = _signed_in(app, run)
    browser.get("/profile/sessions")
    assert browser.post("/profile/tokens/new", data={"name": "Script"}).status_code == 400
    assert (
        browser.post("/profile/tokens/new", data={"name": "Script", "csrf_token": "forged"}).status_code
        == 400
    )
    anonymous = app.test_client().post("/profile/tokens/new", data={"name": "Script"})
    assert anonymous.status_code in (302, 400)
    assert _live_tokens(run) == [] and audit("api_token.create") == []


def test_live_tokens_are_capped_per_person(app, run, world):
    for number in range(MAX_API_TOKENS - 1):
        _operator_token(run, name=f"script {number}")
    _operator_token(run, email=COORDINATOR)  # someone else's count nothing
    browser = _signed_in(app, run)
    other_tab = browser.get("/profile/sessions").get_data(as_text=True)  # the form, shown in another tab
    third_tab = browser.get("/profile/sessions").get_data(as_text=True)
    assert _make_on_page(browser, "the tenth").status_code == 200

    page = browser.get("/profile/sessions").get_data(as_text=True)
    assert "You have 10 API tokens, the most you can have." in page
    assert 'action="/profile/tokens/new"' not in page  # no form to fill in for nothing
    refused = _make_on_page(browser, "the eleventh", page=other_tab)
    assert refused.status_code == 409
    assert "the most you can have. Revoke one you no longer use" in refused.get_data(as_text=True)
    assert len(_live_tokens(run)) == MAX_API_TOKENS and "the eleventh" not in _live_tokens(run)

    first_id = run(
        lambda: session.scalar(sa.select(sa.func.min(ApiToken.id)).where(ApiToken.name == "script 0"))
    )
    assert (
        browser.post(f"/profile/tokens/{first_id}/revoke", data={"csrf_token": csrf_from(page)}).status_code
        == 302
    )
    assert _make_on_page(browser, "the eleventh").status_code == 200  # a revoked token frees its place
    _operator_token(run, name="the operator is not capped")
    assert len(_live_tokens(run)) == MAX_API_TOKENS + 1
    # the page and the refusal say how many there are, not the cap
    assert "You have 11 API tokens, the most you can have." in browser.get("/profile/sessions").get_data(
        as_text=True
    )
    refused = _make_on_page(browser, "the twelfth", page=third_tab)
    assert refused.status_code == 409 and "You have 11 API tokens" in refused.get_data(as_text=True)

    def refusal() -> str:  # the operation's own message (a form shown before the last token was made)
        person = session.scalar(sa.select(Person).where(Person.email == MENTOR))
        with pytest.raises(Conflict) as refused:
            create_api_token(person, "the thirteenth", actor=person)
        return refused.value.detail

    assert run(refusal).startswith("You have 11 API tokens, the most you can have.")


def test_making_a_token_needs_a_recent_sign_in_on_this_browser(app, run, world):
    browser = _signed_in(app, run)
    page = browser.get("/profile/sessions").get_data(as_text=True)
    assert 'action="/profile/tokens/new"' in page

    def age_the_session():
        session.execute(
            sa.update(DeviceSession)
            .where(DeviceSession.person_id == world.mentor_id)
            .values(created_at=utcnow() - dt.timedelta(hours=1, minutes=1))
        )

    run(age_the_session)
    old = browser.get("/profile/sessions").get_data(as_text=True)
    assert 'action="/profile/tokens/new"' not in old
    assert "a new API token can only be made within an hour of signing in on this device" in old
    assert 'href="/sign-in?next=/profile/sessions">Sign in again to make a token</a>' in old
    refused = _make_on_page(browser, "Script", page=page)
    assert refused.status_code == 403 and "new-token-secret" not in refused.get_data(as_text=True)
    assert _live_tokens(run) == []

    sign_in_as(browser, run, MENTOR)  # a fresh sign-in: a new session record
    assert _make_on_page(browser, "Script").status_code == 200


# -- the API: list and revoke -----------------------------------------------------------------------------------


def test_the_api_lists_the_callers_own_live_tokens_without_secrets(app, client, run, world):
    first_id, first = _operator_token(run, name="laptop script")
    second_id, second = _operator_token(run, name="calendar sync")
    revoked_id, _revoked = _operator_token(run, name="old one")
    _theirs_id, theirs = _operator_token(run, email=COORDINATOR, name="coordinator's")
    run(
        lambda: session.execute(
            sa.update(ApiToken).where(ApiToken.id == revoked_id).values(revoked_at=utcnow())
        )
    )

    response = client.get("/api/v1/me/tokens", headers=_bearer(first))
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert [item["id"] for item in response.json] == [first_id, second_id]
    assert [item["name"] for item in response.json] == ["laptop script", "calendar sync"]
    assert set(response.json[0]) == {"id", "name", "created_at", "last_used_at"}
    assert response.json[0]["last_used_at"] is not None and response.json[1]["last_used_at"] is None
    body = response.get_data(as_text=True)
    hashes = run(lambda: list(session.scalars(sa.select(ApiToken.token_hash))))
    assert first not in body and second not in body and theirs not in body
    assert not any(token_hash in body for token_hash in hashes)

    browser = _signed_in(app, run)  # the browser session works too
    assert [item["id"] for item in browser.get("/api/v1/me/tokens").json] == [first_id, second_id]
    assert client.get("/api/v1/me/tokens").status_code == 401


def test_the_api_revokes_one_of_the_callers_tokens(app, client, run, world, audit):
    keep_id, kept = _operator_token(run, name="kept")
    gone_id, gone = _operator_token(run, name="leaked")
    assert client.get("/api/v1/me", headers=_bearer(gone)).status_code == 200

    response = client.delete(f"/api/v1/me/tokens/{gone_id}", headers=_bearer(kept))
    assert response.status_code == 204 and response.get_data() == b""
    assert client.get("/api/v1/me", headers=_bearer(gone)).status_code == 401  # it stops at once
    assert client.get("/api/v1/me", headers=_bearer(kept)).status_code == 200
    assert [item["id"] for item in client.get("/api/v1/me/tokens", headers=_bearer(kept)).json] == [keep_id]
    [entry] = audit("api_token.revoke")
    assert (entry.actor_id, entry.target_id) == (world.mentor_id, gone_id)
    assert entry.detail == {"name": "leaked", "person_id": world.mentor_id}

    again = client.delete(f"/api/v1/me/tokens/{gone_id}", headers=_bearer(kept))
    assert again.status_code == 404 and again.mimetype == "application/problem+json"
    assert again.json["status"] == 404

    myself = client.delete(f"/api/v1/me/tokens/{keep_id}", headers=_bearer(kept))  # a token may revoke itself
    assert myself.status_code == 204 and client.get("/api/v1/me", headers=_bearer(kept)).status_code == 401


def test_someone_elses_token_or_an_unknown_one_is_not_found(app, client, run, world, audit):
    _mine_id, mine = _operator_token(run)
    theirs_id, theirs = _operator_token(run, email=COORDINATOR, name="coordinator's")
    for token_id in (theirs_id, 2**31 - 1):
        response = client.delete(f"/api/v1/me/tokens/{token_id}", headers=_bearer(mine))
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
        assert response.json["detail"] == "This API token does not exist or is revoked already."
    assert client.get("/api/v1/me", headers=_bearer(theirs)).status_code == 200
    assert audit("api_token.revoke") == []


def test_a_browser_revoking_through_the_api_needs_the_csrf_header(app, client, run, world):
    token_id, secret = _operator_token(run)
    browser = _signed_in(app, run)
    csrf = csrf_from(browser.get("/profile/sessions").get_data(as_text=True))
    assert browser.delete(f"/api/v1/me/tokens/{token_id}").status_code == 400
    assert client.get("/api/v1/me", headers=_bearer(secret)).status_code == 200
    assert browser.delete(f"/api/v1/me/tokens/{token_id}", headers={"X-CSRFToken": csrf}).status_code == 204
    assert client.get("/api/v1/me", headers=_bearer(secret)).status_code == 401


def test_the_api_cannot_make_tokens(client, run, world):
    _token_id, secret = _operator_token(run)
    response = client.post("/api/v1/me/tokens", json={"name": "more"}, headers=_bearer(secret))
    assert response.status_code == 405
    assert _live_tokens(run) == ["operator's"]
    spec = client.get("/api/v1/openapi.json").json
    assert set(spec["paths"]["/api/v1/me/tokens"]) == {"get"}
    assert set(spec["paths"]["/api/v1/me/tokens/{token_id}"]) - {"parameters"} == {"delete"}
    assert spec["info"]["version"] == "v1 (revision 2026-11-30)"


def test_sending_the_form_again_makes_no_second_token(app, run, world):
    """Reloading the page that shows a new secret (or going back and sending again) posts the same form: the
    first sending made the token; a second one, whose secret nobody would see, is not made."""
    browser = _signed_in(app, run)
    page = browser.get("/profile/sessions").get_data(as_text=True)
    assert _make_on_page(browser, "Script", page=page).status_code == 200
    again = _make_on_page(browser, "Script", page=page)
    assert again.status_code == 303 and again.location.endswith("/profile/sessions")
    assert "This form was sent already: its token is made and listed below." in browser.get(
        "/profile/sessions"
    ).get_data(as_text=True)
    assert _live_tokens(run) == ["Script"]
    assert _make_on_page(browser, "Another").status_code == 200  # a form shown afterwards makes one
    assert sorted(_live_tokens(run)) == ["Another", "Script"]


def test_the_course_panel_link_is_not_a_sign_in_strong_enough_for_a_token(app, run, world):
    """The course panel's "open in a new window" link signs the person in with a GET whose token is copied from
    page to page (the panel's iframe address, for hours): a session it starts may not make an API token, which
    would outlive it. An e-mail link, an invitation or an LTI launch may."""
    from network_service.embed.views import _open_url

    link = run(lambda: _open_url(session.scalar(sa.select(Person).where(Person.email == MENTOR)), "/"))
    browser = app.test_client()  # no cookie of its own: the link alone
    assert browser.get(link).status_code == 303
    page = browser.get("/profile/sessions").get_data(as_text=True)
    assert "Signed in from a course" in page  # signed in, all the same
    assert 'action="/profile/tokens/new"' not in page
    assert "a new API token can only be made within an hour of signing in on this device" in page
    refused = browser.post(
        "/profile/tokens/new", data={"csrf_token": csrf_from(page), "name": "via the panel"}
    )
    assert refused.status_code == 403
    assert _live_tokens(run) == []


def _mails_to(run, email: str, kind: str) -> list[OutboundEmail]:
    return run(
        lambda: list(
            session.scalars(
                sa.select(OutboundEmail).where(OutboundEmail.to_address == email, OutboundEmail.kind == kind)
            )
        )
    )


def test_the_owner_is_told_by_mail_when_a_token_is_made_on_the_page(app, run, world):
    """A token outlives every session: made from a browser someone else used, it would go unnoticed. The owner
    gets a mail naming it, with the way to revoke it; never the secret."""
    browser = _signed_in(app, run)
    secret = _secret_in(_make_on_page(browser, "Calendar script"))
    [mail] = _mails_to(run, MENTOR, "api_token_made")
    assert mail.subject == "A new API token for your mentorNET account"
    assert "An API token named “Calendar script” was made on your devices page." in mail.body_text
    assert (
        "http://localhost/profile/sessions" in mail.body_text
        and 'href="http://localhost/profile/sessions"' in (mail.body_html)
    )
    assert secret not in mail.body_text and secret not in mail.body_html
    _operator_token(run, name="the operator's")  # the operator's own business: no mail
    assert len(_mails_to(run, MENTOR, "api_token_made")) == 1


def test_a_form_sent_again_with_an_older_cookie_makes_no_second_token(app, run, world):
    """The check is on the server: a resend carrying the cookie from before the first answer (a double click, a
    browser that restored its session) finds the token the form made. A form shown long ago still works."""
    browser = _signed_in(app, run)
    long_ago = browser.get("/profile/sessions").get_data(as_text=True)
    page = browser.get("/profile/sessions").get_data(as_text=True)
    with browser.session_transaction() as cookie:
        before = dict(cookie)
    assert _make_on_page(browser, "First", page=page).status_code == 200
    with browser.session_transaction() as cookie:
        cookie.clear()
        cookie.update(before)
    assert _make_on_page(browser, "First", page=page).status_code == 303
    assert _live_tokens(run) == ["First"]
    for _ in range(6):
        browser.get("/profile/sessions")
    assert _make_on_page(browser, "Long ago", page=long_ago).status_code == 200
    assert sorted(_live_tokens(run)) == ["First", "Long ago"]

    def twice() -> str:  # the operation itself, as two sendings at once would reach it
        person = session.scalar(sa.select(Person).where(Person.email == MENTOR))
        create_api_token(person, "Twice", actor=person, form="one form")
        with pytest.raises(Conflict) as again:
            create_api_token(person, "Twice", actor=person, form="one form")
        return again.value.detail

    assert run(twice) == "This form was sent already: its token is made and listed below."
