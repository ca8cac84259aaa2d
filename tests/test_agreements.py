"""Agreement versions: publishing, what changed, accepting, the banner, reminders, and who has not accepted."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from network_service.accounts.models import Person
from network_service.audit.models import AuditLog
from network_service.db import db, session
from network_service.errors import Forbidden
from network_service.jobs import jobs_of
from network_service.markup import MAX_MARKDOWN_CHARS
from network_service.networks import operations, organise
from network_service.networks.models import Agreement, AgreementAcceptance, AgreementReminder, Network
from network_service.notifications.models import Notification
from tests import organise_helpers
from tests.helpers import add_member, assert_problem, csrf_from
from tests.organise_helpers import MEMBERS, build_roles_world

roles = organise_helpers.roles
client_as = organise_helpers.client_as
bearer_as = organise_helpers.bearer_as

NEW_BODY = (
    "1. We support each other in our mentoring and answer help requests when we can.\n"
    "2. We keep the personal data of the people we mentor out of the network.\n"
    "3. We answer messages in the network within a week.\n"
)
ACTIVE = ("novice", "experienced", "office", "meta_mentor", "coordinator")


def network_of(roles_world) -> Network:
    return session.get(Network, roles_world.network_id)


def person(roles_world, label) -> Person:
    return session.get(Person, roles_world.ids[label])


def publish(
    run, roles_world, label="coordinator", body=NEW_BODY, note="Rule 3 is new: answer within a week."
):
    return run(
        lambda: (
            operations.publish_agreement(
                network_of(roles_world),
                "Agreement and communication rules",
                body,
                actor=person(roles_world, label),
                change_note=note,
            ).version
        )
    )


def notifications(run, kind: str) -> list[tuple[int, dict]]:
    return run(
        lambda: [
            (n.person_id, dict(n.params))
            for n in session.scalars(
                sa.select(Notification).where(Notification.kind == kind).order_by(Notification.id)
            )
        ]
    )


# -- publishing -------------------------------------------------------------------------------------------------


def test_publishing_through_the_page_notifies_every_active_member_and_keeps_the_change_note(
    client_as, roles, run
):
    client = client_as("meta_mentor")
    page = client.get(f"/networks/{roles.slug}/agreement/publish")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert (
        "Publish version 2" in html and "We keep the personal data" in html
    )  # prefilled with the current text
    response = client.post(
        f"/networks/{roles.slug}/agreement/publish",
        data={
            "csrf_token": csrf_from(html),
            "title": "Agreement and communication rules",
            "body": NEW_BODY,
            "change_note": "Rule 3 is new: answer within a week.",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)

    current = run(
        lambda: (lambda a: (a.version, a.change_note, a.published_by_id))(
            operations.current_agreement(network_of(roles))
        )
    )
    assert current == (2, "Rule 3 is new: answer within a week.", roles.ids["meta_mentor"])
    notified = {pid for pid, params in notifications(run, "agreement.new")}
    # every active member but the publisher; never the suspended, the invited or outsiders
    assert notified == {roles.ids[label] for label in ACTIVE if label != "meta_mentor"}
    assert run(lambda: session.scalar(sa.select(AuditLog.id).where(AuditLog.action == "agreement.publish")))
    # the publisher accepted what they published; others have not
    assert run(lambda: operations.has_accepted_current(person(roles, "meta_mentor"), network_of(roles)))
    assert not run(lambda: operations.has_accepted_current(person(roles, "novice"), network_of(roles)))


@pytest.mark.parametrize("label", ["novice", "experienced", "office", "outsider", "suspended", "invited"])
def test_only_leaders_may_publish(client_as, roles, run, label):
    client = client_as(label)
    assert client.get(f"/networks/{roles.slug}/agreement/publish").status_code == 403
    token = csrf_from(client.get("/profile").get_data(as_text=True))
    response = client.post(
        f"/networks/{roles.slug}/agreement/publish",
        data={"csrf_token": token, "title": "Mine", "body": "Other rules", "change_note": ""},
    )
    assert response.status_code == 403
    assert (
        run(
            lambda: session.scalar(
                sa.select(sa.func.max(Agreement.version)).where(Agreement.network_id == roles.network_id)
            )
        )
        == 1
    )
    with pytest.raises(Forbidden):
        publish(run, roles, label=label)


def test_a_site_administrator_may_publish_without_being_asked_to_accept(roles, run):
    assert publish(run, roles, label="site_admin") == 2
    assert not run(lambda: operations.agreement_pending(person(roles, "site_admin"), network_of(roles)))
    run(lambda: operations.require_current_agreement(person(roles, "site_admin"), network_of(roles)))


@pytest.mark.parametrize(
    "data, field",
    [
        ({"title": "", "body": NEW_BODY}, "title"),
        ({"title": "T", "body": ""}, "body"),
        ({"title": "x" * 201, "body": NEW_BODY}, "title"),
        ({"title": "T", "body": "x" * (MAX_MARKDOWN_CHARS + 1)}, "body"),
        ({"title": "T", "body": NEW_BODY, "change_note": "n" * 2001}, "change_note"),
    ],
)
def test_publishing_bad_input_is_refused_next_to_the_field(client_as, roles, run, data, field):
    client = client_as("coordinator")
    html = client.get(f"/networks/{roles.slug}/agreement/publish").get_data(as_text=True)
    response = client.post(
        f"/networks/{roles.slug}/agreement/publish", data={"csrf_token": csrf_from(html), **data}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and 'aria-invalid="true"' in page
    assert not notifications(run, "agreement.new")


def test_publishing_the_same_text_again_is_refused(client_as, roles, run):
    client = client_as("coordinator")
    html = client.get(f"/networks/{roles.slug}/agreement/publish").get_data(as_text=True)
    current = run(lambda: (lambda a: (a.title, a.body))(operations.current_agreement(network_of(roles))))
    response = client.post(
        f"/networks/{roles.slug}/agreement/publish",
        data={
            "csrf_token": csrf_from(html),
            "title": current[0],
            "body": current[1],
            "change_note": "nothing",
        },
    )
    assert response.status_code == 422
    assert "same as the current version" in response.get_data(as_text=True)


def test_markdown_with_script_is_shown_safely(client_as, roles, run):
    publish(
        run,
        roles,
        body="1. Be kind `<script>alert(1)</script>`\n2. [x](javascript:alert(1))",
        note="**bold** `<img src=x onerror=alert(1)>`",
    )
    html = client_as("novice").get(f"/networks/{roles.slug}/agreement").get_data(as_text=True)
    assert "<script>alert" not in html and 'href="javascript' not in html and "<img" not in html
    assert "&lt;script&gt;" in html  # shown as text in the list of changes
    assert "<strong>bold</strong>" in html


# -- what changed -----------------------------------------------------------------------------------------------


def test_changes_are_listed_paragraph_by_paragraph():
    old = Agreement(title="Rules", body="Intro.\n\n1. One\n2. Two\n3. Three", version=1)
    new = Agreement(title="Rules", body="Intro.\n\n1. One\n2. Two, changed\n3. Three\n4. Four", version=2)
    changes = [(c.kind, c.text) for c in organise.changes_between(old, new)]
    assert changes == [("removed", "2. Two"), ("added", "2. Two, changed"), ("added", "4. Four")]
    assert organise.changes_between(None, new) == []
    inserted = Agreement(title="Rules", body="1. One\n2. New\n3. Two\n4. Three", version=2)
    renumbered = [(c.kind, c.text) for c in organise.changes_between(old, inserted)]
    assert renumbered == [("removed", "Intro."), ("added", "2. New")]  # "3. Two" is the old "2. Two"
    assert organise.paragraphs("First line\ncontinues\n\nSecond") == ["First line continues", "Second"]


def test_the_agreement_page_shows_the_change_note_the_changes_and_an_accept_form(client_as, roles, run):
    publish(run, roles)
    page = client_as("novice").get(f"/networks/{roles.slug}/agreement")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "What changed since version 1" in html and "Rule 3 is new" in html
    assert "Added:" in html and "3. We answer messages in the network within a week." in html
    assert "Removed:" in html and "3. We treat each other with respect" in html
    assert "You have not accepted this version yet" in html
    assert 'name="accept_agreement"' in html and 'name="agreement_version" type="hidden" value="2"' in html


# -- accepting, and the banner ----------------------------------------------------------------------------------


def _accept(client, slug, **data):
    html = client.get(f"/networks/{slug}/agreement").get_data(as_text=True)
    return client.post(f"/networks/{slug}/agreement", data={"csrf_token": csrf_from(html), **data})


def test_a_member_sees_the_banner_until_accepting_the_current_version(client_as, roles, run):
    client = client_as("novice")
    assert "The agreement of this network has changed" not in client.get(f"/networks/{roles.slug}").get_data(
        as_text=True
    )
    publish(run, roles)
    html = client.get(f"/networks/{roles.slug}").get_data(as_text=True)
    assert "The agreement of this network has changed" in html
    assert f'href="/networks/{roles.slug}/agreement"' in html
    with pytest.raises(Forbidden) as error:
        run(lambda: operations.require_current_agreement(person(roles, "novice"), network_of(roles)))
    assert "accept the new version" in error.value.detail

    response = _accept(client, roles.slug, accept_agreement="y", agreement_version="2")
    assert response.status_code == 303
    assert "You accepted this version on" in client.get(f"/networks/{roles.slug}/agreement").get_data(
        as_text=True
    )
    assert "The agreement of this network has changed" not in client.get(f"/networks/{roles.slug}").get_data(
        as_text=True
    )
    run(lambda: operations.require_current_agreement(person(roles, "novice"), network_of(roles)))
    assert run(lambda: session.scalar(sa.select(AuditLog.id).where(AuditLog.action == "agreement.accept")))


def test_accepting_needs_the_tick(client_as, roles, run):
    publish(run, roles)
    response = _accept(client_as("novice"), roles.slug, agreement_version="2")
    assert response.status_code == 422
    assert 'id="accept_agreement-error"' in response.get_data(as_text=True)
    assert not run(lambda: operations.has_accepted_current(person(roles, "novice"), network_of(roles)))


def test_accepting_a_version_that_changed_meanwhile_is_a_conflict(client_as, roles, run):
    publish(run, roles)
    client = client_as("novice")
    html = client.get(f"/networks/{roles.slug}/agreement").get_data(as_text=True)
    publish(run, roles, body=NEW_BODY + "4. A fourth rule.\n", note="Rule 4.")
    response = client.post(
        f"/networks/{roles.slug}/agreement",
        data={"csrf_token": csrf_from(html), "accept_agreement": "y", "agreement_version": "2"},
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "changed while you were reading" in page and 'value="3"' in page
    assert (
        run(
            lambda: session.scalar(
                sa.select(sa.func.count(AgreementAcceptance.id)).where(
                    AgreementAcceptance.person_id == roles.ids["novice"]
                )
            )
        )
        == 1
    )


@pytest.mark.parametrize("version", ["", "abc", "1"])
def test_a_missing_or_wrong_version_is_not_accepted(client_as, roles, run, version):
    publish(run, roles)
    response = _accept(client_as("novice"), roles.slug, accept_agreement="y", agreement_version=version)
    assert response.status_code == 409
    assert not run(lambda: operations.has_accepted_current(person(roles, "novice"), network_of(roles)))


@pytest.mark.parametrize("label", ["outsider", "suspended", "invited", "anonymous"])
def test_non_members_cannot_read_or_accept(client_as, roles, run, label):
    client = client_as(label)
    response = client.get(f"/networks/{roles.slug}/agreement")
    assert response.status_code in (302, 403)
    token = csrf_from(client.get("/sign-in" if label == "anonymous" else "/profile").get_data(as_text=True))
    response = client.post(
        f"/networks/{roles.slug}/agreement",
        data={"csrf_token": token, "accept_agreement": "y", "agreement_version": "1"},
    )
    assert response.status_code in (302, 403)
    assert not notifications(run, "agreement.new")


def test_version_history_and_an_old_version(client_as, roles, run):
    publish(run, roles)
    client = client_as("experienced")
    html = client.get(f"/networks/{roles.slug}/agreement/versions").get_data(as_text=True)
    assert "Version 2: Agreement and communication rules" in html and "Version 1:" in html
    assert "current version" in html and "Rule 3 is new" in html
    old = client.get(f"/networks/{roles.slug}/agreement/versions/1")
    assert old.status_code == 200 and "Read the current version (2)" in old.get_data(as_text=True)
    assert client.get(f"/networks/{roles.slug}/agreement/versions/9").status_code == 404


# -- who has not accepted, reminders -----------------------------------------------------------------------------


def test_leaders_and_office_see_who_has_not_accepted_and_remind_now(client_as, roles, run):
    publish(run, roles)
    for label in ("novice", "experienced"):
        assert client_as(label).get(f"/networks/{roles.slug}/agreement/pending").status_code == 403
    client = client_as("office")
    html = client.get(f"/networks/{roles.slug}/agreement/pending").get_data(as_text=True)
    for name in ("Mina Mentor", "Ebo Experienced", "Marco Meta", "Olga Office"):
        assert name in html
    assert "Carla Coordinator" not in html and "Sven Suspended" not in html and "Ines Invited" not in html
    assert "1 of 5 active members have accepted it" in html

    # the office has not accepted version 2 itself: it is asked to first
    response = client.post(f"/networks/{roles.slug}/agreement/remind", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 403 and "accept the new version" in response.get_data(as_text=True)
    assert not notifications(run, "agreement.reminder")
    run(lambda: organise.accept_current(person(roles, "office"), network_of(roles), version=2, accept=True))
    response = client.post(f"/networks/{roles.slug}/agreement/remind", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 303
    reminded = {pid for pid, _ in notifications(run, "agreement.reminder")}
    assert reminded == {roles.ids[label] for label in ("novice", "experienced", "meta_mentor")}  # not oneself
    # a second click within 24 hours reminds nobody again
    client.post(f"/networks/{roles.slug}/agreement/remind", data={"csrf_token": csrf_from(html)})
    assert len(notifications(run, "agreement.reminder")) == 3
    assert (
        run(
            lambda: session.scalar(
                sa.select(sa.func.count(AuditLog.id)).where(AuditLog.action == "agreement.remind")
            )
        )
        == 1
    )


@pytest.mark.parametrize("label", ["novice", "experienced", "outsider", "suspended"])
def test_reminding_now_is_for_leaders_and_office(client_as, roles, run, label):
    publish(run, roles)
    client = client_as(label)
    token = csrf_from(client.get("/profile").get_data(as_text=True))
    assert (
        client.post(f"/networks/{roles.slug}/agreement/remind", data={"csrf_token": token}).status_code == 403
    )
    assert not notifications(run, "agreement.reminder")


def test_automatic_reminders_after_3_and_10_days_once_each(roles, run):
    publish(run, roles)
    published = run(lambda: operations.current_agreement(network_of(roles)).created_at)
    run(
        lambda: organise.accept_current(
            person(roles, "experienced"), network_of(roles), version=2, accept=True
        )
    )
    waiting = {
        roles.ids[label] for label in ("novice", "office", "meta_mentor")
    }  # meta accepted? no: coordinator published

    def remind(days):
        return run(lambda: organise.send_agreement_reminders(now=published + dt.timedelta(days=days)))

    assert remind(2.9) == 0
    assert remind(3) == len(waiting)
    assert remind(3.5) == 0  # the first reminder went out already
    run(lambda: organise.accept_current(person(roles, "office"), network_of(roles), version=2, accept=True))
    assert remind(9) == 0
    assert remind(10) == len(waiting) - 1
    assert remind(30) == 0  # two reminders at most
    reminded = [pid for pid, params in notifications(run, "agreement.reminder")]
    assert sorted(reminded) == sorted([*waiting, *(waiting - {roles.ids["office"]})])
    assert notifications(run, "agreement.reminder")[0][1] == {"network_name": "Test Network", "version": 2}
    sequences = run(lambda: sorted(session.scalars(sa.select(AgreementReminder.sequence)).all()))
    assert sequences == [1, 1, 1, 2, 2]


def test_a_late_job_sends_one_reminder_not_a_burst(roles, run):
    publish(run, roles)
    published = run(lambda: operations.current_agreement(network_of(roles)).created_at)
    sent = run(lambda: organise.send_agreement_reminders(now=published + dt.timedelta(days=12)))
    assert (
        sent == 4
    )  # novice, experienced, office, meta_mentor: one reminder each, the second of the schedule
    assert run(lambda: organise.send_agreement_reminders(now=published + dt.timedelta(days=13))) == 0


def test_reminders_follow_the_configured_days(app, roles, run):
    publish(run, roles)
    published = run(lambda: operations.current_agreement(network_of(roles)).created_at)
    app.config["AGREEMENT_REMINDER_DAYS"] = []
    try:
        assert run(lambda: organise.send_agreement_reminders(now=published + dt.timedelta(days=30))) == 0
    finally:
        app.config["AGREEMENT_REMINDER_DAYS"] = [3, 10]


def test_the_reminder_job_is_registered(app):
    assert "agreements.remind" in jobs_of(app)


# -- API ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label, status",
    [
        ("coordinator", 201),
        ("meta_mentor", 201),
        ("site_admin", 201),
        ("office", 403),
        ("experienced", 403),
        ("novice", 403),
        ("outsider", 403),
        ("suspended", 403),
        ("anonymous", 401),
    ],
)
def test_api_publish(client, bearer_as, roles, run, label, status):
    response = client.post(
        f"/api/v1/networks/{roles.slug}/agreements",
        json={"title": "Rules", "body": NEW_BODY, "change_note": "Rule 3."},
        headers=bearer_as(label),
    )
    assert response.status_code == status, response.get_data(as_text=True)
    if status == 201:
        assert response.get_json()["version"] == 2 and response.get_json()["change_note"] == "Rule 3."
    else:
        assert run(lambda: operations.current_agreement(network_of(roles)).version) == 1


def test_api_publish_bad_input(client, bearer_as, roles):
    headers = bearer_as("coordinator")
    url = f"/api/v1/networks/{roles.slug}/agreements"
    assert client.post(url, json={"title": "", "body": "x"}, headers=headers).status_code == 422
    assert client.post(url, json={"title": "T", "body": 5}, headers=headers).status_code == 422
    assert (
        client.post(
            url, json={"title": "T", "body": "x" * (MAX_MARKDOWN_CHARS + 1)}, headers=headers
        ).status_code
        == 422
    )
    assert client.post(url, json={"title": "T", "body": "x", "extra": 1}, headers=headers).status_code == 422


def test_api_accept_and_pending(client, bearer_as, roles, run):
    publish(run, roles)
    pending = client.get(f"/api/v1/networks/{roles.slug}/agreement/pending", headers=bearer_as("meta_mentor"))
    assert pending.status_code == 200
    rows = {row["person"]["display_name"]: row for row in pending.get_json()}
    assert set(rows) == {"Mina Mentor", "Ebo Experienced", "Marco Meta", "Olga Office"}
    assert rows["Mina Mentor"]["days_since_publication"] == 0 and rows["Mina Mentor"]["role"] == "mentor"
    for label, status in [
        ("novice", 403),
        ("experienced", 403),
        ("outsider", 403),
        ("anonymous", 401),
        ("office", 200),
        ("site_admin", 200),
    ]:
        assert (
            client.get(
                f"/api/v1/networks/{roles.slug}/agreement/pending", headers=bearer_as(label)
            ).status_code
            == status
        )

    url = f"/api/v1/networks/{roles.slug}/agreement/acceptance"
    headers = bearer_as("novice")
    assert client.post(url, json={"version": 1, "accept_agreement": True}, headers=headers).status_code == 409
    assert (
        client.post(url, json={"version": 2, "accept_agreement": False}, headers=headers).status_code == 422
    )
    assert (
        client.post(url, json={"version": "two", "accept_agreement": True}, headers=headers).status_code
        == 422
    )
    accepted = client.post(url, json={"version": 2, "accept_agreement": True}, headers=headers)
    assert accepted.status_code == 200 and accepted.get_json()["version"] == 2
    for label in ("outsider", "suspended", "invited"):
        assert (
            client.post(
                url, json={"version": 2, "accept_agreement": True}, headers=bearer_as(label)
            ).status_code
            == 403
        )
    still = {
        row["person"]["display_name"]
        for row in client.get(
            f"/api/v1/networks/{roles.slug}/agreement/pending", headers=bearer_as("coordinator")
        ).get_json()
    }
    assert "Mina Mentor" not in still


@pytest.mark.parametrize("label", ["experienced", "novice", "office", "site_admin"])
def test_api_version_history_and_one_version(client, bearer_as, roles, run, label):
    first = run(lambda: (lambda v1: (v1.title, v1.body))(operations.current_agreement(network_of(roles))))
    publish(run, roles)
    headers = bearer_as(label)
    url = f"/api/v1/networks/{roles.slug}/agreements"
    listing = client.get(url, headers=headers)
    assert listing.status_code == 200, listing.get_data(as_text=True)
    versions = listing.get_json()
    assert [v["version"] for v in versions] == [2, 1]
    newest, oldest = versions
    assert newest["title"] == "Agreement and communication rules" and newest["current"] is True
    assert newest["change_note"] == "Rule 3 is new: answer within a week."
    assert newest["published_by"]["display_name"] == "Carla Coordinator"
    assert oldest["current"] is False and oldest["title"] == first[0]
    assert "body" not in newest  # as the versions page: the text is on each version's own page

    old = client.get(f"{url}/1", headers=headers)
    assert old.status_code == 200
    old = old.get_json()
    assert old["body"] == first[1] and old["current"] is False and old["current_version"] == 2
    assert old["previous_version"] is None and old["changes"] == []
    new = client.get(f"{url}/2", headers=headers).get_json()
    assert new["body"] == NEW_BODY.strip() and new["current"] is True and new["previous_version"] == 1
    assert {"kind": "added", "text": "3. We answer messages in the network within a week."} in new["changes"]
    assert {change["kind"] for change in new["changes"]} == {"added", "removed"}
    assert "no agreement version 9" in assert_problem(client.get(f"{url}/9", headers=headers), 404)["detail"]


@pytest.mark.parametrize(
    "label, status", [("outsider", 403), ("suspended", 403), ("invited", 403), ("anonymous", 401)]
)
def test_api_version_history_is_for_members(client, bearer_as, roles, run, label, status):
    publish(run, roles)
    url = f"/api/v1/networks/{roles.slug}/agreements"
    for path in (url, f"{url}/1", f"{url}/2"):
        body = assert_problem(client.get(path, headers=bearer_as(label)), status)
        assert "Rule 3" not in str(body) and "Carla" not in str(body)


def reminder_audits(run) -> int:
    return run(
        lambda: session.scalar(
            sa.select(sa.func.count(AuditLog.id)).where(AuditLog.action == "agreement.remind")
        )
    )


def test_api_remind_now(client, bearer_as, roles, run):
    publish(run, roles)
    url = f"/api/v1/networks/{roles.slug}/agreement/reminders"
    # the office has not accepted version 2 itself: it is asked to first, and nobody is reminded
    refused = assert_problem(client.post(url, headers=bearer_as("office")), 403)
    assert "accept the new version" in refused["detail"]
    assert not notifications(run, "agreement.reminder")
    run(lambda: organise.accept_current(person(roles, "office"), network_of(roles), version=2, accept=True))

    response = client.post(url, headers=bearer_as("office"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"version": 2, "reminded": 3, "already_reminded": 0}
    reminded = {pid for pid, _ in notifications(run, "agreement.reminder")}
    assert reminded == {roles.ids[label] for label in ("novice", "experienced", "meta_mentor")}  # not oneself
    assert reminder_audits(run) == 1

    # within 24 hours nobody is reminded again, through the API or the page
    for label in ("coordinator", "site_admin"):
        again = client.post(url, json={}, headers=bearer_as(label))
        assert again.status_code == 200
        assert again.get_json() == {"version": 2, "reminded": 0, "already_reminded": 3}
    assert len(notifications(run, "agreement.reminder")) == 3 and reminder_audits(run) == 1


@pytest.mark.parametrize(
    "label, status",
    [
        ("novice", 403),
        ("experienced", 403),
        ("outsider", 403),
        ("suspended", 403),
        ("invited", 403),
        ("anonymous", 401),
    ],
)
def test_api_remind_now_is_for_leaders_and_office(client, bearer_as, roles, run, label, status):
    publish(run, roles)
    response = client.post(f"/api/v1/networks/{roles.slug}/agreement/reminders", headers=bearer_as(label))
    body = assert_problem(response, status)
    if status == 403:
        assert "reminders" in body["detail"]
    assert not notifications(run, "agreement.reminder")
    assert reminder_audits(run) == 0


# -- performance ----------------------------------------------------------------------------------------------------


def _statements(app, fn) -> int:
    count = 0

    def listener(*_args):
        nonlocal count
        count += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return count


def _add_members(run, roles_world, n, start):
    def add():
        network = network_of(roles_world)
        for i in range(start, start + n):
            add_member(network, f"bulk{i}@example.org", f"Bulk {i:03d}")

    run(add)


def test_the_pending_page_runs_the_same_statements_for_5_and_25_members(app, client_as, roles, run):
    client = client_as("coordinator")
    _add_members(run, roles, 5, 0)
    publish(run, roles, note="New rule")
    client.get(f"/networks/{roles.slug}/agreement/pending")  # warm caches
    small = _statements(app, lambda: client.get(f"/networks/{roles.slug}/agreement/pending"))
    _add_members(run, roles, 20, 5)
    run(
        lambda: session.execute(
            sa.delete(AgreementAcceptance).where(
                AgreementAcceptance.person_id.in_(sa.select(Person.id).where(Person.email.like("bulk%")))
            )
        )
    )
    large_page = client.get(f"/networks/{roles.slug}/agreement/pending")
    assert "Bulk 024" in large_page.get_data(as_text=True)
    large = _statements(app, lambda: client.get(f"/networks/{roles.slug}/agreement/pending"))
    assert small == large


def test_build_roles_world_is_consistent(ctx):
    world = build_roles_world()
    assert set(world.ids) >= set(MEMBERS)


def test_demo_seed_publishes_version_2_accepted_by_all_but_the_novice(roles, run):
    from network_service.networks.demo_organise import seed_demo

    labels = {
        "Coordinator": "coordinator",
        "Meta-Mentor": "meta_mentor",
        "Network office": "office",
        "Experienced mentor": "experienced",
        "Novice mentor": "novice",
    }
    run(lambda: seed_demo(network_of(roles), {label: person(roles, key) for label, key in labels.items()}))
    pending = run(
        lambda: [
            (p.membership.person_id, p.days)
            for p in organise.not_accepted(network_of(roles), person(roles, "office"))
        ]
    )
    assert pending == [(roles.ids["novice"], 4)]
    agreement = run(
        lambda: (lambda a: (a.version, bool(a.change_note)))(operations.current_agreement(network_of(roles)))
    )
    assert agreement == (2, True)
    assert run(lambda: network_of(roles).contact_email) == "office@example.org"
    assert run(organise.send_agreement_reminders) == 1  # the novice's first reminder is due


def test_roadmap_checkpoints_of_the_organise_phase(roles, run):
    from network_service.networks import roadmap

    checks = {c.key: c for c in roadmap.checkpoints()}
    assert not run(lambda: checks["organise.office_contact"].reached(network_of(roles)))
    assert (
        "organise.meta_mentor" not in checks
    )  # one checkpoint per fact: core.meta_mentor (goals/roadmap.py)


def test_a_reminder_another_process_just_sent_is_not_sent_again(roles, run, monkeypatch):
    publish(run, roles)
    published = run(lambda: operations.current_agreement(network_of(roles)).created_at)
    agreement_id = run(lambda: operations.current_agreement(network_of(roles)).id)
    waiting = [roles.ids[label] for label in ("novice", "experienced", "office", "meta_mentor")]

    class RacingSession:
        """The module's session, except that another process stores the same reminders between this one's
        query and its inserts."""

        def __getattr__(self, name):
            return getattr(session, name)

        def begin_nested(self):
            stored = set(session.scalars(sa.select(AgreementReminder.person_id)))
            for person_id in set(waiting) - stored:
                session.execute(
                    sa.insert(AgreementReminder).values(
                        agreement_id=agreement_id, person_id=person_id, sequence=1, sent_at=published
                    )
                )
            return session.begin_nested()

    monkeypatch.setattr(organise, "session", RacingSession())
    assert run(lambda: organise.send_agreement_reminders(now=published + dt.timedelta(days=3))) == 0
    monkeypatch.undo()
    assert notifications(run, "agreement.reminder") == []
    assert run(lambda: session.scalar(sa.select(sa.func.count(AgreementReminder.id)))) == 4
