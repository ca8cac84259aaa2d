"""Network settings and the office's public contact; the members page; appointing; leaving."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from network_service.accounts.models import Person
from network_service.accounts.operations import update_profile
from network_service.audit.models import AuditLog
from network_service.db import db, session
from network_service.errors import Conflict, Forbidden, InvalidInput
from network_service.markup import MAX_MARKDOWN_CHARS
from network_service.networks import operations, organise
from network_service.networks.models import Level, Membership, MembershipStatus, Network, Role
from network_service.notifications.models import Notification
from tests import organise_helpers
from tests.helpers import add_member, csrf_from

roles = organise_helpers.roles
client_as = organise_helpers.client_as
bearer_as = organise_helpers.bearer_as

VALID = {
    "name": "Berlin Mentors",
    "description": "We help **newcomers** in Berlin.",
    "languages": "German, Arabic, german, English",
    "region": "Berlin",
    "contact_email": "Office@Example.org",
    "contact_phone": "+49 30 1234567",
    "contact_hours": "Monday to Thursday, 10:00 to 14:00",
}


def network_of(roles_world) -> Network:
    return session.get(Network, roles_world.network_id)


def person(roles_world, label) -> Person:
    return session.get(Person, roles_world.ids[label])


def settings_of(run, roles_world) -> dict:
    return run(lambda: {key: getattr(network_of(roles_world), key) for key in organise.SETTINGS_FIELDS})


def post_settings(client, slug, **data):
    html = client.get(f"/networks/{slug}/settings").get_data(as_text=True)
    return client.post(f"/networks/{slug}/settings", data={"csrf_token": csrf_from(html), **data})


# -- settings ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["coordinator", "site_admin"])
def test_coordinators_and_site_admins_change_the_settings(client_as, roles, run, label):
    client = client_as(label)
    page = client.get(f"/networks/{roles.slug}/settings")
    assert page.status_code == 200 and 'value="Test Network"' in page.get_data(as_text=True)
    response = post_settings(client, roles.slug, **VALID)
    assert response.status_code == 303, response.get_data(as_text=True)
    saved = settings_of(run, roles)
    assert saved["name"] == "Berlin Mentors"
    assert saved["languages"] == ["German", "Arabic", "English"]  # duplicates dropped, first spelling kept
    assert saved["contact_email"] == "office@example.org"
    audit = run(
        lambda: session.scalar(sa.select(AuditLog).where(AuditLog.action == "network.settings")).detail
    )
    assert "contact_email" in audit["fields"] and "name" in audit["fields"]


def test_members_see_the_office_contact_and_the_description_as_markdown(client_as, roles, run):
    post_settings(client_as("coordinator"), roles.slug, **VALID)
    html = client_as("novice").get(f"/networks/{roles.slug}").get_data(as_text=True)
    assert "Contact the network office" in html
    assert 'href="mailto:office@example.org"' in html and 'href="tel:+49301234567"' in html
    assert "Monday to Thursday" in html and "<strong>newcomers</strong>" in html
    assert "Languages: German, Arabic, English" in html


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", ""),
        ("name", "n" * 201),
        ("contact_email", "not-an-address"),
        ("contact_phone", "call me maybe"),
        ("contact_hours", "h" * 201),
        ("region", "r" * 121),
        ("description", "d" * (MAX_MARKDOWN_CHARS + 1)),
        ("languages", ", ".join(f"Language {i}" for i in range(21))),
        ("languages", "x" * 61),
    ],
)
def test_bad_settings_are_refused_next_to_the_field_and_nothing_is_saved(client_as, roles, run, field, value):
    before = settings_of(run, roles)
    response = post_settings(client_as("coordinator"), roles.slug, **{**VALID, field: value})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and "Please correct the marked fields" in html
    assert settings_of(run, roles) == before


def test_script_in_the_description_is_not_executed(client_as, roles, run):
    before = settings_of(run, roles)
    refused = post_settings(
        client_as("coordinator"), roles.slug, **{**VALID, "description": "Hello <script>alert(1)</script>"}
    )
    assert refused.status_code == 422 and 'id="description-error"' in refused.get_data(as_text=True)
    assert settings_of(run, roles) == before
    post_settings(
        client_as("coordinator"),
        roles.slug,
        **{**VALID, "description": "`<script>alert(1)</script>` [x](javascript:alert(1))"},
    )
    html = client_as("novice").get(f"/networks/{roles.slug}").get_data(as_text=True)
    assert "<script>alert" not in html and 'href="javascript' not in html and "&lt;script&gt;" in html


def test_empty_contact_hides_the_office_box(client_as, roles):
    post_settings(
        client_as("coordinator"),
        roles.slug,
        **{**VALID, "contact_email": "", "contact_phone": "", "contact_hours": ""},
    )
    assert "Contact the network office" not in client_as("novice").get(f"/networks/{roles.slug}").get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    "label", ["novice", "experienced", "office", "meta_mentor", "outsider", "suspended", "invited"]
)
def test_only_coordinators_open_or_post_the_settings(client_as, roles, run, label):
    client = client_as(label)
    assert client.get(f"/networks/{roles.slug}/settings").status_code == 403
    token = csrf_from(client.get("/profile").get_data(as_text=True))
    response = client.post(f"/networks/{roles.slug}/settings", data={"csrf_token": token, **VALID})
    assert response.status_code == 403
    assert settings_of(run, roles)["name"] == "Test Network"


def test_anonymous_is_sent_to_sign_in(client, roles):
    response = client.get(f"/networks/{roles.slug}/settings")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_settings_operation_rejects_wrong_types(roles, ctx):
    coordinator = person(roles, "coordinator")
    with pytest.raises(InvalidInput) as error:
        organise.update_settings(network_of(roles), coordinator, languages=[1, 2])
    assert error.value.field == "languages"
    with pytest.raises(InvalidInput) as error:
        organise.update_settings(network_of(roles), coordinator, name=5)
    assert error.value.field == "name"
    with pytest.raises(InvalidInput):
        organise.update_settings(network_of(roles), coordinator, slug="new")
    with pytest.raises(Forbidden):
        organise.update_settings(network_of(roles), person(roles, "meta_mentor"), name="Mine")


@pytest.mark.parametrize(
    "label, status",
    [
        ("coordinator", 200),
        ("site_admin", 200),
        ("meta_mentor", 403),
        ("office", 403),
        ("experienced", 403),
        ("novice", 403),
        ("outsider", 403),
        ("suspended", 403),
        ("anonymous", 401),
    ],
)
def test_api_settings(client, bearer_as, roles, run, label, status):
    url = f"/api/v1/networks/{roles.slug}/settings"
    assert client.get(url, headers=bearer_as(label)).status_code == status
    response = client.patch(
        url, json={"contact_phone": "+39 06 123456", "languages": ["Italian"]}, headers=bearer_as(label)
    )
    assert response.status_code == status, response.get_data(as_text=True)
    saved = settings_of(run, roles)
    if status == 200:
        assert response.get_json()["contact_phone"] == "+39 06 123456"
        assert saved["languages"] == ["Italian"] and saved["name"] == "Test Network"
    else:
        assert saved["contact_phone"] == ""


def test_api_settings_bad_input(client, bearer_as, roles):
    url = f"/api/v1/networks/{roles.slug}/settings"
    headers = bearer_as("coordinator")
    assert client.patch(url, json={"contact_email": "nope"}, headers=headers).status_code == 422
    assert client.patch(url, json={"languages": "German"}, headers=headers).status_code == 422
    assert client.patch(url, json={"name": ""}, headers=headers).status_code == 422
    assert client.patch(url, json={"slug": "x"}, headers=headers).status_code == 422
    form = "application/x-www-form-urlencoded"
    assert client.patch(url, data="name=x", content_type=form, headers=headers).status_code == 415


# -- members page ----------------------------------------------------------------------------------------------


def test_members_page_filters_by_role_level_and_language(client_as, roles, run):
    client = client_as("novice")
    html = client.get(f"/networks/{roles.slug}/members").get_data(as_text=True)
    for name in ("Carla Coordinator", "Marco Meta", "Mina Mentor", "Olga Office", "Ebo Experienced"):
        assert name in html
    assert "Sven Suspended" not in html and "Ines Invited" not in html and "Oscar Outsider" not in html
    html = client.get(f"/networks/{roles.slug}/members?role=office").get_data(as_text=True)
    assert "Olga Office" in html and "Mina Mentor" not in html
    html = client.get(f"/networks/{roles.slug}/members?role=mentor&level=experienced").get_data(as_text=True)
    assert "Ebo Experienced" in html and "Mina Mentor" not in html and "Carla Coordinator" not in html
    html = client.get(f"/networks/{roles.slug}/members?language=arabic").get_data(as_text=True)
    assert "Mina Mentor" in html and "Ebo Experienced" not in html
    html = client.get(f"/networks/{roles.slug}/members?language=%25").get_data(as_text=True)
    assert "No active member matches" in html  # a wildcard is searched as text
    html = client.get(f"/networks/{roles.slug}/members?role=bogus&level=").get_data(as_text=True)
    assert "Olga Office" in html  # an unknown role filters nothing


def test_language_filter_finds_non_ascii_names(roles, run):
    def setup():
        mentor = person(roles, "novice")
        update_profile(mentor, mentor, languages=["Français", "Türkçe"])

    run(setup)
    rows, _next = run(
        lambda: organise.members_page(network_of(roles), person(roles, "novice"), language="Türkçe")
    )
    assert [m.person_id for m in rows] == [roles.ids["novice"]]


def test_members_page_pages_by_name(roles, run):
    def add():
        for i in range(7):
            add_member(network_of(roles), f"page{i}@example.org", f"Page {i}")

    run(add)
    seen: list[int] = []
    after = None
    while True:
        rows, after = run(
            lambda after=after: organise.members_page(
                network_of(roles), person(roles, "novice"), after=after, limit=4
            )
        )
        seen.extend(m.id for m in rows)
        if after is None:
            break
    assert len(seen) == len(set(seen)) == 12  # 5 in the world + 7


def _card_links(html: str, kind: str) -> set[str]:
    """The people a members page offers ``kind`` ("report" or "suspend") for, by the links' person ids."""
    import re

    return set(re.findall(rf"/members/(\d+)/{kind}\"", html))


def test_members_page_offers_report_to_members_and_suspend_to_moderators(client_as, roles, run):
    """Found by the session-10 audit: suspending was reachable only from a report in the queue."""
    ids = {
        label: str(roles.ids[label])
        for label in ("novice", "experienced", "office", "meta_mentor", "coordinator")
    }
    page = f"/networks/{roles.slug}/members"
    novice = client_as("novice").get(page).get_data(as_text=True)
    assert _card_links(novice, "report") == set(ids.values()) - {ids["novice"]}  # everyone but oneself
    assert _card_links(novice, "suspend") == set()
    meta = client_as("meta_mentor").get(page).get_data(as_text=True)
    # a Meta-Mentor suspends mentors and the office, never a coordinator nor themself (suspend_member's rule)
    assert _card_links(meta, "suspend") == {ids["novice"], ids["experienced"], ids["office"]}
    coordinator = client_as("coordinator").get(page).get_data(as_text=True)
    assert _card_links(coordinator, "suspend") == set(ids.values()) - {ids["coordinator"]}
    # each link leads to the form the moderation module already has
    link = f"/networks/{roles.slug}/members/{ids['office']}/suspend"
    assert client_as("meta_mentor").get(link).status_code == 200


@pytest.mark.parametrize("label", ["outsider", "suspended", "invited"])
def test_members_page_is_for_members(client_as, roles, label):
    assert client_as(label).get(f"/networks/{roles.slug}/members").status_code == 403


def test_members_page_runs_the_same_statements_for_10_and_50_members(app, client_as, roles, run):
    client = client_as("coordinator")

    def add(start, n):
        def inner():
            for i in range(start, start + n):
                add_member(network_of(roles), f"bulk{i}@example.org", f"Bulk {i:03d}")

        run(inner)

    def count() -> int:
        total = 0

        def listener(*_args):
            nonlocal total
            total += 1

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get(f"/networks/{roles.slug}/members").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return total

    add(0, 5)
    client.get(f"/networks/{roles.slug}/members")
    small = count()
    add(5, 45)
    large = count()
    assert small == large


# -- appointing ----------------------------------------------------------------------------------------------------


def test_appointing_a_meta_mentor_notifies_the_person_and_is_audited(client_as, roles, run):
    client = client_as("coordinator")
    html = client.get(f"/networks/{roles.slug}/members").get_data(as_text=True)
    response = client.post(
        f"/networks/{roles.slug}/appoint",
        data={
            "csrf_token": csrf_from(html),
            "person_id": roles.ids["experienced"],
            "role": "meta_mentor",
            "level": "experienced",
            "back": "members",
        },
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/networks/{roles.slug}/members"
    )
    note = run(
        lambda: session.scalar(sa.select(Notification).where(Notification.kind == "networks.appointed"))
    )
    assert note.person_id == roles.ids["experienced"] and note.params["role"] == "meta_mentor"
    from network_service.notifications.operations import title_of

    assert run(lambda: title_of(session.get(Notification, note.id))) == (
        "You are now Meta-Mentor (Experienced mentor) in Test Network."
    )
    entry = run(lambda: session.scalar(sa.select(AuditLog).where(AuditLog.action == "membership.appoint")))
    assert entry.detail["after"]["role"] == "meta_mentor" and entry.actor_id == roles.ids["coordinator"]


@pytest.mark.parametrize("label", ["meta_mentor", "office", "experienced", "novice", "outsider", "suspended"])
def test_only_coordinators_appoint(client_as, roles, run, label):
    client = client_as(label)
    token = csrf_from(client.get("/profile").get_data(as_text=True))
    response = client.post(
        f"/networks/{roles.slug}/appoint",
        data={
            "csrf_token": token,
            "person_id": roles.ids["novice"],
            "role": "meta_mentor",
            "level": "novice",
        },
    )
    assert response.status_code == 403
    role = run(
        lambda: session.scalar(
            sa.select(Membership.role).where(
                Membership.network_id == roles.network_id, Membership.person_id == roles.ids["novice"]
            )
        )
    )
    assert role == Role.mentor
    assert not run(
        lambda: session.scalar(sa.select(Notification.id).where(Notification.kind == "networks.appointed"))
    )


def test_the_last_coordinator_cannot_be_demoted(roles, ctx):
    coordinator = person(roles, "coordinator")
    with pytest.raises(Conflict):
        operations.appoint(
            network_of(roles), coordinator, actor=person(roles, "site_admin"), role=Role.mentor
        )


def test_appointing_needs_the_current_agreement(roles, run):
    run(
        lambda: operations.publish_agreement(
            network_of(roles), "Rules", "New rules", actor=person(roles, "meta_mentor"), change_note="New."
        )
    )
    with pytest.raises(Forbidden):
        run(
            lambda: operations.appoint(
                network_of(roles),
                person(roles, "novice"),
                actor=person(roles, "coordinator"),
                level=Level.experienced,
            )
        )


# -- leaving --------------------------------------------------------------------------------------------------------


def test_a_member_leaves_after_confirming(client_as, roles, run):
    client = client_as("novice")
    page = client.get(f"/networks/{roles.slug}/leave")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    response = client.post(f"/networks/{roles.slug}/leave", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 422  # no tick, no leaving
    response = client.post(
        f"/networks/{roles.slug}/leave", data={"csrf_token": csrf_from(html), "confirm": "y"}
    )
    assert response.status_code == 303
    status = run(
        lambda: session.scalar(
            sa.select(Membership.status).where(
                Membership.network_id == roles.network_id, Membership.person_id == roles.ids["novice"]
            )
        )
    )
    assert status == MembershipStatus.left
    assert run(lambda: session.scalar(sa.select(AuditLog.id).where(AuditLog.action == "membership.leave")))
    assert client.get(f"/networks/{roles.slug}").status_code == 403


def test_the_last_coordinator_cannot_leave(client_as, roles, run):
    client = client_as("coordinator")
    html = client.get(f"/networks/{roles.slug}/leave").get_data(as_text=True)
    assert "only coordinator" in html
    response = client.post(
        f"/networks/{roles.slug}/leave", data={"csrf_token": csrf_from(html), "confirm": "y"}
    )
    assert response.status_code == 409
    assert run(lambda: operations.has_accepted_current(person(roles, "coordinator"), network_of(roles)))
    # with a second coordinator, the first may go
    run(
        lambda: operations.appoint(
            network_of(roles),
            person(roles, "meta_mentor"),
            actor=person(roles, "coordinator"),
            role=Role.coordinator,
        )
    )
    response = client.post(
        f"/networks/{roles.slug}/leave", data={"csrf_token": csrf_from(html), "confirm": "y"}
    )
    assert response.status_code == 303


@pytest.mark.parametrize("label", ["outsider", "suspended", "invited", "site_admin"])
def test_non_members_cannot_leave(client_as, roles, label):
    client = client_as(label)
    assert client.get(f"/networks/{roles.slug}/leave").status_code == 403
    token = csrf_from(client.get("/profile").get_data(as_text=True))
    assert (
        client.post(f"/networks/{roles.slug}/leave", data={"csrf_token": token, "confirm": "y"}).status_code
        == 403
    )


@pytest.mark.parametrize(
    "label, status",
    [
        ("novice", 200),
        ("office", 200),
        ("coordinator", 409),
        ("outsider", 403),
        ("suspended", 403),
        ("anonymous", 401),
    ],
)
def test_api_leave(client, bearer_as, roles, run, label, status):
    response = client.delete(f"/api/v1/networks/{roles.slug}/membership", headers=bearer_as(label))
    assert response.status_code == status, response.get_data(as_text=True)
    if status == 200:
        assert response.get_json()["status"] == "left"
    left = run(
        lambda: session.scalar(
            sa.select(sa.func.count(Membership.id)).where(
                Membership.network_id == roles.network_id, Membership.status == MembershipStatus.left
            )
        )
    )
    assert left == (1 if status == 200 else 0)


def test_inviting_needs_the_current_agreement_but_graduate_provisioning_does_not(roles, run):
    run(
        lambda: operations.publish_agreement(
            network_of(roles), "Rules", "New rules", actor=person(roles, "coordinator"), change_note="New."
        )
    )
    with pytest.raises(Forbidden):
        run(
            lambda: operations.invite_person(
                network_of(roles), "late@example.org", actor=person(roles, "office")
            )
        )
    invitation = run(lambda: operations.invite_person(network_of(roles), "grad@example.org", actor=None).id)
    assert invitation
    run(
        lambda: operations.invite_person(
            network_of(roles), "late@example.org", actor=person(roles, "coordinator")
        )
    )


def test_invitees_see_the_office_contact_on_the_invitation_page(client, roles, run):
    from tests.helpers import link_in, mails, path_of

    run(
        lambda: organise.update_settings(
            network_of(roles), person(roles, "coordinator"), contact_phone="+49 30 555"
        )
    )
    run(
        lambda: operations.invite_person(
            network_of(roles), "newbie@example.org", actor=person(roles, "office")
        )
    )
    link = run(
        lambda: link_in(mails(to="newbie@example.org", kind="invitation")[-1].body_text, "/invitations/")
    )
    html = client.get(path_of(link)).get_data(as_text=True)
    assert "Contact the network office" in html and 'href="tel:+4930555"' in html
