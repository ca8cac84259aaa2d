"""Consent to share one's profile is opt-in (asked when joining, a reminder until answered); e-mails are part of the
service until the member objects. Over HTTP, as a member does it (docs/privacy.md, "Consent and objection")."""

from __future__ import annotations

import json
import secrets

import pytest
import sqlalchemy as sa

from network_service import migrations
from network_service.accounts.models import Person
from network_service.app import create_app
from network_service.db import db, session
from network_service.networks import operations as networks
from network_service.networks.models import Level, Network, Role
from network_service.privacy import operations
from network_service.privacy.models import ConsentRecord
from tests.helpers import add_member, csrf_from, link_in, mails, path_of, share_profile, sign_in_as


def _person(email: str) -> Person:
    return session.scalar(sa.select(Person).where(Person.email == email))


def _records(email: str) -> list[tuple]:
    return [
        (c.purpose, c.given, c.via, c.text_version)
        for c in session.scalars(
            sa.select(ConsentRecord)
            .join(Person, Person.id == ConsentRecord.person_id)
            .where(Person.email == email)
            .order_by(ConsentRecord.id)
        )
    ]


def _add_speaker(world, email="sara@example.org", name="Sara Speaker"):
    network = session.get(Network, world.network_id)
    person = add_member(network, email, name, Role.mentor, Level.experienced)
    person.languages, person.expertise, person.region = ["Farsi"], ["tenancy law"], "Leipzig"
    session.flush()
    return person.id


def _consents(client) -> dict:
    return {item["purpose"]: item for item in client.get("/api/v1/privacy/consents").json["items"]}


def _invite_and_open(client, run, world, email: str):
    def invite():
        network = session.get(Network, world.network_id)
        networks.invite_person(
            network, email, actor=session.get(Person, world.coordinator_id), display_name="New"
        )

    run(invite)
    link = run(lambda: link_in(mails(to=email, kind="invitation")[-1].body_text, "/invitations/"))
    page = client.get(path_of(link))
    assert page.status_code == 200
    return path_of(link), page.get_data(as_text=True)


def _join_form(html: str, **extra) -> dict:
    version = html.split('name="agreement_version" type="hidden" value="', 1)[1].split('"', 1)[0]
    return {
        "csrf_token": csrf_from(html),
        "agreement_version": version,
        "display_name": "Nadia New",
        "accept_agreement": "y",
        **extra,
    }


def test_by_default_nothing_is_shared_and_the_api_says_not_chosen(world, client, run):
    run(_add_speaker, world)
    sign_in_as(client, run, "sara@example.org")
    items = _consents(client)
    assert items["profile_sharing"] == {
        "purpose": "profile_sharing",
        "given": False,
        "state": "not_chosen",
        "basis": "consent",
        "text_version": operations.PURPOSES["profile_sharing"].version,
        "recorded_at": None,
    }
    # e-mails are part of the service, not consent: sent until objected to, and said so
    assert items["email_notifications"]["state"] == "not_chosen"
    assert items["email_notifications"]["given"] is True
    assert items["email_notifications"]["basis"] == "legitimate_interest"
    # the person sees their own fields; the privacy page says nothing is shared yet
    assert "Farsi" in client.get(f"/networks/{world.slug}/members").get_data(as_text=True)
    privacy = client.get("/profile/privacy").get_data(as_text=True)
    assert "You have not chosen yet, so your profile is not shared" in privacy
    assert (
        'type="radio"' in privacy
        and " checked" not in privacy.split('id="profile-sharing"', 1)[1].split("</fieldset>", 1)[0]
    )

    client.post("/sign-out", data={"csrf_token": csrf_from(client.get("/profile").get_data(as_text=True))})
    sign_in_as(client, run, "mentor@example.org")
    cards = client.get(f"/networks/{world.slug}/members").get_data(as_text=True)
    assert "Sara Speaker" in cards and "Farsi" not in cards and "Leipzig" not in cards
    overview = client.get(f"/networks/{world.slug}").get_data(as_text=True)
    assert "Farsi" not in overview
    api = client.get(f"/api/v1/networks/{world.slug}/members").json["items"]
    sara = next(m["person"] for m in api if m["person"]["display_name"] == "Sara Speaker")
    assert sara["languages"] == [] and sara["expertise"] == [] and sara["region"] == ""
    assert "Italian" in cards  # the mentor shares (and sees their own fields anyway)


def test_joining_with_the_box_ticked_records_consent(world, client, run):
    path, html = _invite_and_open(client, run, world, "nadia@example.org")
    assert 'name="share_profile"' in html and "checked" not in html.split('name="share_profile"', 1)[1][:80]
    assert "Share your profile with the members? (optional)" in html
    response = client.post(path, data=_join_form(html, share_profile="y"))
    assert response.status_code == 302
    version = operations.PURPOSES["profile_sharing"].version
    assert run(_records, "nadia@example.org") == [("profile_sharing", True, "join", version)]
    assert _consents(client)["profile_sharing"]["state"] == "given"
    # no reminder once answered
    assert "Share your profile with your networks?" not in client.get("/profile").get_data(as_text=True)


def test_joining_with_the_box_unticked_records_nothing_and_reminds(world, client, run):
    path, html = _invite_and_open(client, run, world, "nadia@example.org")
    response = client.post(path, data=_join_form(html))
    assert response.status_code == 302  # joining does not depend on the answer
    assert run(_records, "nadia@example.org") == []
    assert _consents(client)["profile_sharing"]["state"] == "not_chosen"

    profile = client.get("/profile").get_data(as_text=True)
    assert "Share your profile with your networks?" in profile
    home = client.get("/").get_data(as_text=True)
    assert "Your profile is not shared with your networks: you have not chosen yet." in home
    assert 'href="/profile/privacy#profile-sharing"' in home

    # the reminder's "no" is an answer too: recorded, the reminder goes, nothing is shared
    answer = client.post(
        "/profile/privacy/profile-sharing",
        data={"csrf_token": csrf_from(profile), "share": "no", "back": "profile"},
    )
    assert answer.status_code == 303 and answer.location.endswith("/profile")
    assert run(_records, "nadia@example.org") == [
        ("profile_sharing", False, "reminder", operations.PURPOSES["profile_sharing"].version)
    ]
    assert "Share your profile with your networks?" not in client.get("/profile").get_data(as_text=True)
    assert "you have not chosen yet" not in client.get("/").get_data(as_text=True)
    # and can be changed at any time on the privacy page
    page = client.get("/profile/privacy").get_data(as_text=True)
    assert "You said no on" in page
    client.post(
        "/profile/privacy/consents",
        data={"csrf_token": csrf_from(page), "email_notifications": "y", "profile_sharing": "yes"},
    )
    assert _consents(client)["profile_sharing"]["state"] == "given"


def test_the_reminder_answer_is_checked(world, client, run):
    sign_in_as(client, run, "meta@example.org")
    token = csrf_from(client.get("/profile").get_data(as_text=True))
    assert (
        client.post(
            "/profile/privacy/profile-sharing", data={"csrf_token": token, "share": "maybe"}
        ).status_code
        == 400
    )
    assert (
        client.post("/profile/privacy/profile-sharing", data={"share": "yes"}).status_code == 400
    )  # no token
    assert run(_records, "meta@example.org") == []
    yes = client.post(
        "/profile/privacy/profile-sharing", data={"csrf_token": token, "share": "yes", "back": "home"}
    )
    assert yes.status_code == 303 and yes.location.endswith("/")
    assert [r[:3] for r in run(_records, "meta@example.org")] == [("profile_sharing", True, "reminder")]


def test_the_privacy_form_left_unanswered_records_no_sharing_choice(world, client, run):
    sign_in_as(client, run, "meta@example.org")
    page = client.get("/profile/privacy").get_data(as_text=True)
    client.post("/profile/privacy/consents", data={"csrf_token": csrf_from(page), "email_notifications": "y"})
    assert [r[0] for r in run(_records, "meta@example.org")] == ["email_notifications"]
    assert _consents(client)["profile_sharing"]["state"] == "not_chosen"


def test_accepting_over_the_api_asks_the_same_question(world, client, run):
    def token_for(email):
        def invite():
            network = session.get(Network, world.network_id)
            networks.invite_person(
                network, email, actor=session.get(Person, world.coordinator_id), display_name="A"
            )

        run(invite)
        return run(lambda: link_in(mails(to=email, kind="invitation")[-1].body_text, "/invitations/")).rsplit(
            "/", 1
        )[1]

    version = run(lambda: networks.current_agreement(session.get(Network, world.network_id)).version)
    for email, share, expected in (
        ("yes@example.org", True, [True]),
        ("no@example.org", False, [False]),
        ("silent@example.org", None, []),
    ):
        body = {"token": token_for(email), "agreement_version": version, "accept_agreement": True}
        if share is not None:
            body["share_profile"] = share
        response = client.post("/api/v1/invitations/accept", json=body)
        assert response.status_code == 200, response.json
        assert [r[1] for r in run(_records, email)] == expected
    spec = client.get("/api/v1/openapi.json").json
    consent = spec["components"]["schemas"]["Consent"]["properties"]
    assert "not_chosen" in consent["state"]["enum"] and consent["state"]["readOnly"]
    assert "share_profile" in spec["components"]["schemas"]["AcceptInvitation"]["properties"]


def test_matching_uses_a_profile_only_after_a_yes(world, run):
    sara_id = run(_add_speaker, world)

    def match():
        from network_service.help.matching import rank
        from network_service.help.models import HelpRequest

        request = HelpRequest(
            network_id=world.network_id,
            author_id=world.coordinator_id,
            topic="Tenancy law",
            languages=["Farsi"],
        )
        session.add(request)
        session.flush()
        return {s.person_id: json.dumps(s.reasons) for s in rank(request)}

    before = run(match)
    assert "Farsi" not in before.get(sara_id, "") and "Leipzig" not in before.get(sara_id, "")
    run(lambda: share_profile(session.get(Person, sara_id)))
    assert "Farsi" in run(match)[sara_id]
    run(lambda: operations.set_consent(p := session.get(Person, sara_id), "profile_sharing", False, actor=p))
    assert "Farsi" not in run(match).get(sara_id, "")


def test_the_members_filter_by_language_finds_only_who_shares_it(world, client, run):
    run(_add_speaker, world)
    sign_in_as(client, run, "coord@example.org")
    found = client.get(f"/networks/{world.slug}/members?language=Farsi").get_data(as_text=True)
    assert "Sara Speaker" not in found
    run(lambda: share_profile(_person("sara@example.org")))
    found = client.get(f"/networks/{world.slug}/members?language=Farsi").get_data(as_text=True)
    assert "Sara Speaker" in found


def test_a_yes_to_the_pre_ticked_text_of_2026_11_is_no_consent(world, client, run):
    def old_yes():
        person = add_member(session.get(Network, world.network_id), "old@example.org", "Olaf Old")
        session.add(
            ConsentRecord(person_id=person.id, purpose="profile_sharing", given=True, text_version="2026-11")
        )
        session.flush()

    run(old_yes)
    sign_in_as(client, run, "old@example.org")
    assert _consents(client)["profile_sharing"]["state"] == "not_chosen"
    assert "Share your profile with your networks?" in client.get("/profile").get_data(as_text=True)


@pytest.fixture
def migration_database(tmp_path):
    from tests.conftest import TEST_DATABASE_URL
    from tests.databases import drop_schema, reset_schema, with_private_schema

    if TEST_DATABASE_URL:
        url = with_private_schema(TEST_DATABASE_URL, f"mentornet_consent_{secrets.token_hex(3)}")
        reset_schema(url)
        yield url
        drop_schema(url)
    else:
        yield f"sqlite:///{tmp_path / 'consent.sqlite'}"


def test_upgrading_invents_no_consent(migration_database):
    """People of a database from before this change: no record stays "not chosen", a yes to the old pre-ticked
    text becomes "not chosen", a no stays a no, and e-mail objections stay."""
    from tests.databases import app_config

    app = create_app(app_config(migration_database))
    try:
        with app.app_context():
            migrations.upgrade(app, "p0001")
            people = {"quiet": None, "ticked": True, "refused": False}
            with db.engine.begin() as connection:
                for number, (name, given) in enumerate(people.items(), start=1):
                    connection.execute(
                        sa.text(
                            "INSERT INTO person (id, email, display_name, languages, expertise, region, bio,"
                            " is_site_admin, created_at) VALUES (:id, :email, :name, '[\"Farsi\"]', '[]', '', '',"
                            " false, CURRENT_TIMESTAMP)"
                        ),
                        {"id": number, "email": f"{name}@example.org", "name": name},
                    )
                    if given is not None:
                        connection.execute(
                            sa.text(
                                "INSERT INTO consent_record (person_id, purpose, given, text_version, via,"
                                " recorded_at) VALUES (:id, 'profile_sharing', :given, '2026-11', 'profile',"
                                " CURRENT_TIMESTAMP)"
                            ),
                            {"id": number, "given": given},
                        )
                connection.execute(
                    sa.text(
                        "INSERT INTO consent_record (person_id, purpose, given, text_version, via, recorded_at)"
                        " VALUES (3, 'email_notifications', false, '2026-11', 'profile', CURRENT_TIMESTAMP)"
                    )
                )
            migrations.upgrade(app)
            with app.test_request_context():
                states = {
                    name: operations.consent_state(_person(f"{name}@example.org"), "profile_sharing")
                    for name in people
                }
                assert states == {"quiet": "not_chosen", "ticked": "not_chosen", "refused": "withdrawn"}
                assert operations.profile_shared_ids() == set()
                assert (
                    operations.consent_given(_person("refused@example.org"), "email_notifications") is False
                )
                assert operations.consent_given(_person("quiet@example.org"), "email_notifications") is True
                assert session.scalar(sa.select(sa.func.count(ConsentRecord.id))) == 3  # nothing added
    finally:
        db.dispose(app)
