"""The web UI for people: sign-in, invitations, network home, profile, invitations by coordinators."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person, SignInToken
from network_service.app import create_app
from network_service.db import db, session, utcnow
from network_service.networks.models import Membership, MembershipStatus
from tests.databases import app_config
from tests.helpers import csrf_from, link_in, mails, path_of, sign_in_as


def _request_link(client, email, next_url=None):
    page = client.get("/sign-in" + (f"?next={next_url}" if next_url else "")).get_data(as_text=True)
    data = {"email": email, "csrf_token": csrf_from(page)}
    if next_url:
        data["next"] = next_url
    return client.post("/sign-in", data=data)


def test_sign_in_by_e_mail_link(client, run, world):
    response = _request_link(client, "Mentor@example.org")
    assert "Check your e-mail" in response.get_data(as_text=True)
    mail = run(lambda: mails(to="mentor@example.org", kind="sign_in")[-1])
    link = path_of(link_in(mail.body_text, "/sign-in/"))
    confirm = client.get(link)
    # Following the link does not use it up: mail scanners open links too.
    assert confirm.status_code == 200 and "Sign in as Mina Mentor" in confirm.get_data(as_text=True)
    response = client.post(link, data={"csrf_token": csrf_from(confirm.get_data(as_text=True))})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Test Network" in home and "Hello, Mina Mentor" in home


def test_sign_in_link_works_once(client, run, world):
    _request_link(client, "mentor@example.org")
    link = path_of(link_in(run(lambda: mails(kind="sign_in")[-1]).body_text, "/sign-in/"))
    token = csrf_from(client.get(link).get_data(as_text=True))
    assert client.post(link, data={"csrf_token": token}).status_code == 302
    again = client.get(link)
    assert again.status_code == 410
    body = again.get_data(as_text=True)
    assert "already been used" in body and 'action="/sign-in"' in body  # offers a new link


def test_expired_sign_in_link_offers_a_new_one(client, run, world):
    _request_link(client, "mentor@example.org")
    link = path_of(link_in(run(lambda: mails(kind="sign_in")[-1]).body_text, "/sign-in/"))

    def expire():
        for sign_in in session.scalars(sa.select(SignInToken)):
            sign_in.expires_at = utcnow() - dt.timedelta(seconds=1)

    run(expire)
    response = client.get(link)
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)


def test_unknown_sign_in_link_gives_a_helpful_page(client, world):
    response = client.get("/sign-in/nonsense-token")
    assert response.status_code == 410
    assert "not known" in response.get_data(as_text=True)


def test_unknown_address_gets_the_same_answer_and_no_mail(client, run, world):
    response = _request_link(client, "stranger@example.org")
    assert response.status_code == 200 and "Check your e-mail" in response.get_data(as_text=True)
    assert run(lambda: mails(to="stranger@example.org")) == []


def test_sign_in_returns_to_a_local_page_only(client, run, world):
    _request_link(client, "mentor@example.org", next_url="/profile")
    _request_link(client, "meta@example.org", next_url="//evil.example/steal")
    for email, expected in (("mentor@example.org", "/profile"), ("meta@example.org", "/")):
        link = path_of(link_in(run(lambda e=email: mails(to=e, kind="sign_in")[-1]).body_text, "/sign-in/"))
        fresh = client.application.test_client()
        token = csrf_from(fresh.get(link).get_data(as_text=True))
        assert fresh.post(link, data={"csrf_token": token}).headers["Location"] == expected


def test_sign_in_starts_a_new_session(client, run, world):
    client.get("/sign-in")
    before = client.get_cookie("mentornet_session").value
    sign_in_as(client, run, "mentor@example.org")
    after = client.get_cookie("mentornet_session").value
    assert before != after
    with client.session_transaction() as flask_session:
        assert flask_session["person_id"] == world.mentor_id


def test_sign_out(client, run, world):
    sign_in_as(client, run, "mentor@example.org")
    page = client.get("/").get_data(as_text=True)
    assert client.post("/sign-out", data={"csrf_token": csrf_from(page)}).status_code == 302
    assert client.get("/networks/test-net").status_code == 302  # back to sign-in


def test_sign_in_links_per_address_are_throttled(client, run, world):
    for _attempt in range(7):
        _request_link(client, "mentor@example.org")
    assert len(run(lambda: mails(to="mentor@example.org", kind="sign_in"))) == 5


def test_sign_in_requests_per_client_are_rate_limited(database_url):
    limited = create_app(app_config(database_url, RATELIMIT_ENABLED=True))
    client = limited.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    statuses = [
        client.post(
            "/sign-in", data={"email": f"n{i}@example.org", "csrf_token": csrf_from(page)}
        ).status_code
        for i in range(7)
    ]
    db.dispose(limited)
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]


def test_forms_without_csrf_token_are_refused(client, world):
    response = client.post("/sign-in", data={"email": "mentor@example.org"})
    assert response.status_code == 400


def test_invalid_email_on_sign_in_is_explained(client, world):
    page = client.get("/sign-in").get_data(as_text=True)
    response = client.post("/sign-in", data={"email": "not-an-address", "csrf_token": csrf_from(page)})
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.get_data(as_text=True)


def test_network_page_lists_members_with_roles(client, run, world):
    sign_in_as(client, run, "mentor@example.org")
    page = client.get("/networks/test-net").get_data(as_text=True)
    for text in ("Carla Coordinator", "Marco Meta", "Mina Mentor", "Meta-Mentor", "Coordinator"):
        assert text in page
    assert "Invite people" not in page


def test_outsiders_cannot_see_a_network(client, run, world):
    run(
        lambda: __import__("network_service.accounts.operations", fromlist=["x"]).get_or_create_person(
            "outsider@example.org", display_name="Out"
        )
    )
    sign_in_as(client, run, "outsider@example.org")
    assert client.get("/networks/test-net").status_code == 403
    assert client.get("/networks/no-such-net").status_code == 404


def test_coordinator_invites_and_the_invitee_joins(client, run, world):
    sign_in_as(client, run, "coord@example.org")
    form = client.get("/networks/test-net/invite").get_data(as_text=True)
    response = client.post(
        "/networks/test-net/invite",
        data={
            "email": "newbie@example.org",
            "display_name": "Nico",
            "role": "mentor",
            "level": "novice",
            "csrf_token": csrf_from(form),
        },
    )
    assert response.status_code == 302
    [mail] = run(lambda: mails(to="newbie@example.org"))
    link = path_of(link_in(mail.body_text, "/invitations/"))

    invitee = client.application.test_client()
    page = invitee.get(link)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Network agreement" in body and "Version 1" in body
    # Not ticking the box explains what is missing and changes nothing.
    refused = invitee.post(
        link, data={"display_name": "Nico", "agreement_version": "1", "csrf_token": csrf_from(body)}
    )
    assert refused.status_code == 422 and "tick the box" in refused.get_data(as_text=True)
    joined = invitee.post(
        link,
        data={
            "display_name": "Nico N.",
            "accept_agreement": "y",
            "agreement_version": "1",
            "csrf_token": csrf_from(body),
        },
    )
    assert joined.status_code == 302 and joined.headers["Location"] == "/profile"
    assert "Welcome to Test Network" in invitee.get("/profile").get_data(as_text=True)

    def membership():
        person = session.scalar(sa.select(Person).where(Person.email == "newbie@example.org"))
        return session.scalar(
            sa.select(Membership).where(Membership.person_id == person.id)
        ), person.display_name

    member, name = run(membership)
    assert member.status == MembershipStatus.active and name == "Nico N."
    assert invitee.get(link).status_code == 410


def test_mentor_cannot_open_the_invite_page(client, run, world):
    sign_in_as(client, run, "mentor@example.org")
    assert client.get("/networks/test-net/invite").status_code == 403


def test_profile_is_saved_and_bad_input_changes_nothing(client, run, world):
    sign_in_as(client, run, "mentor@example.org")
    page = client.get("/profile").get_data(as_text=True)
    token = csrf_from(page)
    good = {
        "display_name": "Mina M.",
        "languages": "Arabic, English, arabic",
        "expertise": "housing",
        "region": "Milano",
        "bio": "Mentor since 2024.",
        "locale": "de",
        "timezone": "Europe/Rome",
        "csrf_token": token,
    }
    assert client.post("/profile", data=good).status_code == 302
    # the confirmation is in the language just chosen, not the one the form was sent in
    assert "Ihr Profil ist gespeichert." in client.get("/profile").get_data(as_text=True)
    bad = dict(good, display_name="Changed", timezone="Mars/Olympus")
    response = client.post("/profile", data=bad)
    assert response.status_code == 422
    person = run(lambda: session.get(Person, world.mentor_id))
    assert person.display_name == "Mina M."
    assert person.languages == ["Arabic", "English"]
    assert (person.locale, person.timezone, person.region) == ("de", "Europe/Rome", "Milano")


def test_pages_carry_security_headers(client, world):
    response = client.get("/sign-in")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_not_found_is_a_page_for_people_and_a_problem_for_machines(client):
    page = client.get("/nowhere")
    assert page.status_code == 404 and page.mimetype == "text/html"
    problem = client.get("/nowhere", headers={"Accept": "application/json"})
    assert problem.status_code == 404 and problem.mimetype == "application/problem+json"


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_demo_mailbox_shows_mail_only_when_enabled(client, run, world, app):
    _request_link(client, "mentor@example.org")
    from network_service.mail.operations import deliver_due

    run(deliver_due)
    page = client.get("/mailbox").get_data(as_text=True)
    assert "Your sign-in link" in page and '<a href="http://localhost/sign-in/' in page
    app.config["DEMO_MAILBOX"] = False
    try:
        assert client.get("/mailbox").status_code == 404
    finally:
        app.config["DEMO_MAILBOX"] = True


@pytest.mark.parametrize("path", ["/", "/sign-in", "/invitations/unknown"])
def test_every_page_has_skip_link_landmarks_and_one_h1(client, path):
    body = client.get(path).get_data(as_text=True)
    assert 'class="skip-link" href="#main"' in body
    assert '<main id="main"' in body and "<header" in body and "<nav" in body
    assert body.count("<h1") == 1
