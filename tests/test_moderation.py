"""Moderation and safeguarding over real HTTP: reports, the queue, hiding, suspension, blocks, the audit log."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.accounts.operations import get_or_create_person
from network_service.audit.models import AuditLog
from network_service.conversations import operations as conversations
from network_service.conversations.models import Channel, ChannelKind, Message
from network_service.db import session
from network_service.errors import Forbidden
from network_service.moderation import operations
from network_service.moderation.models import Block, Report, ReportStatus
from network_service.networks.models import Membership, MembershipStatus
from network_service.networks.operations import create_network, create_organisation
from network_service.notifications.models import Notification
from tests.conv_helpers import EMAILS, bearer_for, build_cast, network, person
from tests.helpers import assert_problem, csrf_from, sign_in_as

API = "/api/v1"
ROLES = ["coordinator", "meta_mentor", "office", "experienced", "novice", "outsider", "admin"]
MODERATORS = {"coordinator", "meta_mentor"}


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


def post_as(run, cast, label: str, body: str, channel_slug: str | None = None) -> int:
    def write():
        channel = session.scalar(
            sa.select(Channel).where(
                Channel.network_id == cast.network_id, Channel.slug == (channel_slug or cast.general)
            )
        )
        return conversations.post_message(channel, actor=person(label), body=body).id

    return run(write)


def audit_actions(run) -> list[str]:
    return run(lambda: list(session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id))))


def membership_status(run, person_id: int) -> MembershipStatus:
    return run(lambda: session.scalar(sa.select(Membership.status).where(Membership.person_id == person_id)))


def form_post(client, page: str, action: str, data: dict):
    html = client.get(page).get_data(as_text=True)
    return client.post(action, data={**data, "csrf_token": csrf_from(html)})


def test_a_member_reports_a_message_and_the_meta_mentor_handles_it(client, run, cast):
    message_id = post_as(run, cast, "experienced", "Call Mr X at 0176 1234567, he lives at ...")
    conv = f"/networks/{cast.slug}/conversations"
    sign_in_as(client, run, EMAILS["novice"])
    report_url = f"{conv}/messages/{message_id}/report"
    assert "Report" in client.get(f"{conv}/c/{cast.general}").get_data(as_text=True)
    assert form_post(client, report_url, report_url, {"reason": "", "note": ""}).status_code == 422
    assert form_post(client, report_url, report_url, {"reason": "nonsense"}).status_code == 422
    assert (
        form_post(client, report_url, report_url, {"reason": "personal_data", "note": "x" * 2001}).status_code
        == 422
    )
    response = form_post(client, report_url, report_url, {"reason": "personal_data", "note": "Phone number"})
    assert response.status_code == 303
    assert client.get(f"/networks/{cast.slug}/moderation").status_code == 403

    meta = client.application.test_client()
    sign_in_as(meta, run, EMAILS["meta_mentor"])
    queue = meta.get(f"/networks/{cast.slug}/moderation").get_data(as_text=True)
    assert "Personal data of someone else" in queue and "0176 1234567" in queue and "Phone number" in queue
    assert '<span class="badge badge-count">1<span class="visually-hidden"> new' in queue  # the section badge

    hide = form_post(
        meta,
        f"/networks/{cast.slug}/moderation",
        f"{conv}/messages/{message_id}/hide",
        {"hidden": "1", "next": "queue"},
    )
    assert hide.status_code == 303
    report_id = run(lambda: session.scalar(sa.select(Report.id)))
    handled = form_post(
        meta,
        f"/networks/{cast.slug}/moderation",
        f"/networks/{cast.slug}/moderation/reports/{report_id}",
        {"status": "resolved", "resolution": "Hidden; spoke with Eva"},
    )
    assert handled.status_code == 303
    report = run(lambda: session.get(Report, report_id))
    assert report.status == ReportStatus.resolved and report.handled_by_id == cast.ids["meta_mentor"]
    assert "No reports here." in meta.get(f"/networks/{cast.slug}/moderation").get_data(as_text=True)
    assert audit_actions(run)[-3:] == ["moderation.report", "moderation.hide", "moderation.report_resolved"]

    # everyone else sees the placeholder; the author and the moderators still see the text
    others = client.get(f"{conv}/c/{cast.general}").get_data(as_text=True)
    assert "Hidden by a moderator." in others and "0176" not in others
    eva = client.application.test_client()
    sign_in_as(eva, run, EMAILS["experienced"])
    assert "0176 1234567" in eva.get(f"{conv}/c/{cast.general}").get_data(as_text=True)
    found = client.get(f"{conv}/search?q=0176").get_data(as_text=True)
    assert "No message you can read contains these words." in found and "1234567" not in found


def test_the_moderator_sees_a_reported_private_message_but_not_the_channel(client, run, cast):
    group = run(
        lambda: (
            conversations.create_channel(
                network(cast),
                actor=person("novice"),
                name="Two of us",
                kind=ChannelKind.private,
                member_ids=[cast.ids["experienced"]],
            ).slug
        )
    )
    message_id = post_as(run, cast, "experienced", "Rude words in private", channel_slug=group)
    other_id = post_as(run, cast, "experienced", "Another private message", channel_slug=group)
    # Before anyone reports it, a private message is not the moderators' to reach: hiding it would have answered
    # its text through the API.
    hide_api = f"{API}/networks/{cast.slug}/messages/{message_id}/hidden"
    refused = client.put(hide_api, json={"hidden": True}, headers=bearer_for(run, "coordinator"))
    assert refused.status_code == 404 and "Rude words" not in refused.get_data(as_text=True)
    run(
        lambda: operations.report_message(
            session.get(Message, message_id), actor=person("novice"), reason="harassment"
        )
    )

    sign_in_as(client, run, EMAILS["coordinator"])
    unreported = form_post(
        client,
        f"/networks/{cast.slug}/moderation",
        f"/networks/{cast.slug}/conversations/messages/{other_id}/hide",
        {"hidden": "1", "next": "queue"},
    )
    assert unreported.status_code == 404
    assert run(lambda: session.get(Message, other_id).hidden_at) is None
    queue = client.get(f"/networks/{cast.slug}/moderation").get_data(as_text=True)
    assert "Rude words in private" in queue and "Another private message" not in queue
    assert "a private conversation" in queue and "Two of us" not in queue
    assert client.get(f"/networks/{cast.slug}/conversations/c/{group}").status_code == 404
    hide = form_post(
        client,
        f"/networks/{cast.slug}/moderation",
        f"/networks/{cast.slug}/conversations/messages/{message_id}/hide",
        {"hidden": "1", "next": "queue"},
    )
    assert hide.status_code == 303
    assert run(lambda: session.get(Message, message_id).hidden_at) is not None


def test_an_outsider_cannot_report_a_message_they_cannot_read(run, cast, ctx):
    group = conversations.create_channel(
        network(cast), actor=person("novice"), name="G", kind=ChannelKind.private
    )
    message = conversations.post_message(group, actor=person("novice"), body="secret")
    with pytest.raises(Forbidden):
        operations.report_message(message, actor=person("outsider"), reason="spam")
    with pytest.raises(Exception) as refused:
        operations.report_message(message, actor=person("experienced"), reason="spam")
    assert refused.value.status == 404


@pytest.mark.parametrize("label", ROLES)
def test_who_may_hide_and_see_the_queue(client, run, cast, label):
    message_id = post_as(run, cast, "novice", "hello")
    sign_in_as(client, run, EMAILS[label])
    queue = client.get(f"/networks/{cast.slug}/moderation")
    assert queue.status_code == (200 if label in MODERATORS else 403)
    page = client.get("/profile").get_data(as_text=True)
    response = client.post(
        f"/networks/{cast.slug}/conversations/messages/{message_id}/hide",
        data={"hidden": "1", "csrf_token": csrf_from(page)},
    )
    assert response.status_code == (303 if label in MODERATORS else 403)
    hidden = run(lambda: session.get(Message, message_id).hidden_at)
    assert (hidden is not None) == (label in MODERATORS)


def test_suspension_rules_and_effect(client, run, cast):
    sign_in_as(client, run, EMAILS["meta_mentor"])
    page = f"/networks/{cast.slug}/members/{cast.ids['novice']}/suspend"
    assert form_post(client, page, page, {"reason": ""}).status_code == 422
    assert form_post(client, page, page, {"reason": "Shared a client's address twice"}).status_code == 303
    assert membership_status(run, cast.ids["novice"]) == MembershipStatus.suspended
    assert audit_actions(run)[-1] == "moderation.suspend"
    again = form_post(client, page, page, {"reason": "again"})
    assert again.status_code == 422 and "Only active members can be suspended." in again.get_data(
        as_text=True
    )

    mina = client.application.test_client()
    sign_in_as(mina, run, EMAILS["novice"])
    assert mina.get(f"/networks/{cast.slug}/conversations").status_code == 403

    coordinator_page = f"/networks/{cast.slug}/members/{cast.ids['coordinator']}/suspend"
    assert form_post(client, coordinator_page, coordinator_page, {"reason": "x"}).status_code == 403
    self_page = f"/networks/{cast.slug}/members/{cast.ids['meta_mentor']}/suspend"
    assert form_post(client, self_page, self_page, {"reason": "x"}).status_code == 422

    queue = client.get(f"/networks/{cast.slug}/moderation").get_data(as_text=True)
    assert "Mina Mentor" in queue
    reinstate = client.post(
        f"/networks/{cast.slug}/members/{cast.ids['novice']}/reinstate", data={"csrf_token": csrf_from(queue)}
    )
    assert reinstate.status_code == 303
    assert membership_status(run, cast.ids["novice"]) == MembershipStatus.active
    assert mina.get(f"/networks/{cast.slug}/conversations").status_code == 200

    office = client.application.test_client()
    sign_in_as(office, run, EMAILS["office"])
    assert office.get(page).status_code == 403


def test_a_coordinator_may_suspend_a_coordinator(run, cast, ctx):
    from network_service.networks.models import Level, Role
    from tests.helpers import add_member

    second = add_member(
        network(cast), "coord2@example.org", "Second Coordinator", Role.coordinator, Level.experienced
    )
    with pytest.raises(Forbidden):
        operations.suspend_member(network(cast), second, actor=person("meta_mentor"), reason="x")
    membership = operations.suspend_member(
        network(cast), second, actor=person("coordinator"), reason="left the org"
    )
    assert membership.status == MembershipStatus.suspended
    with pytest.raises(Forbidden):
        operations.suspend_member(network(cast), person("novice"), actor=person("admin"), reason="x")


def test_a_site_admin_suspends_only_as_a_member_of_the_network(client, run, cast):
    """Site administrators do not moderate (docs/permissions.md): 403, never a 500, for a member and a
    coordinator alike. Made a coordinator of the network, the same admin suspends both."""
    from network_service.networks.models import Level, Role
    from tests.helpers import add_member

    second = run(
        lambda: (
            add_member(
                network(cast), "coord2@example.org", "Second Coordinator", Role.coordinator, Level.experienced
            ).id
        )
    )
    sign_in_as(client, run, EMAILS["admin"])
    targets = (cast.ids["novice"], second)
    for person_id in targets:
        page = f"/networks/{cast.slug}/members/{person_id}/suspend"
        assert client.get(page).status_code == 403
        token = csrf_from(client.get("/profile").get_data(as_text=True))
        assert client.post(page, data={"csrf_token": token, "reason": "x"}).status_code == 403
        assert membership_status(run, person_id) == MembershipStatus.active

    run(lambda: add_member(network(cast), EMAILS["admin"], "Root Admin", Role.coordinator, Level.experienced))
    for person_id in targets:
        response = form_post(
            client,
            f"/networks/{cast.slug}/members/{person_id}/suspend",
            f"/networks/{cast.slug}/members/{person_id}/suspend",
            {"reason": "asked by the organisation"},
        )
        assert response.status_code == 303, response.get_data(as_text=True)
        assert membership_status(run, person_id) == MembershipStatus.suspended


def test_blocking_stops_direct_messages_and_mentions_and_collapses_messages(client, run, cast):
    sign_in_as(client, run, EMAILS["novice"])
    blocks = f"/networks/{cast.slug}/blocks"
    response = form_post(
        client, blocks, f"/networks/{cast.slug}/members/{cast.ids['experienced']}/block", {"blocked": "1"}
    )
    assert response.status_code == 303
    assert "Unblock Eva Experienced" in client.get(blocks).get_data(as_text=True)
    assert audit_actions(run)[-1] == "moderation.block"

    post_as(run, cast, "experienced", "Hey @[Mina Mentor], look at this")
    mentions = run(
        lambda: session.scalars(
            sa.select(Notification).where(Notification.person_id == cast.ids["novice"])
        ).all()
    )
    assert mentions == []
    page = client.get(f"/networks/{cast.slug}/conversations/c/{cast.general}").get_data(as_text=True)
    assert "Message from someone you blocked" in page and "<details" in page

    eva = client.application.test_client()
    sign_in_as(eva, run, EMAILS["experienced"])
    new = f"/networks/{cast.slug}/conversations/direct/new"
    refused = form_post(eva, new, new, {"members": str(cast.ids["novice"]), "body": "please answer"})
    assert refused.status_code == 403
    assert "You cannot write directly to someone who blocked you" in refused.get_data(as_text=True)
    offered = re.findall(r'name="add" value="(\d+)"', eva.get(new).get_data(as_text=True))
    assert str(cast.ids["office"]) in offered and str(cast.ids["novice"]) not in offered
    # chosen through the address anyway: left out, with a word why
    forged = eva.get(f"{new}?to={cast.ids['novice']}").get_data(as_text=True)
    assert 'name="to" value=' not in forged and "cannot be chosen here" in forged
    with pytest.raises(Forbidden):
        run(
            lambda: conversations.open_direct(
                network(cast), actor=person("novice"), person_ids=[cast.ids["experienced"]]
            )
        )

    response = form_post(
        client, blocks, f"/networks/{cast.slug}/members/{cast.ids['experienced']}/block", {"blocked": "0"}
    )
    assert response.status_code == 303
    assert run(lambda: session.scalar(sa.select(sa.func.count(Block.id)))) == 0
    assert audit_actions(run)[-1] == "moderation.unblock"
    assert (
        form_post(eva, new, new, {"members": str(cast.ids["novice"]), "body": "please answer"}).status_code
        == 303
    )


def test_blocking_oneself_or_strangers_is_refused(client, run, cast):
    sign_in_as(client, run, EMAILS["novice"])
    blocks = f"/networks/{cast.slug}/blocks"
    assert (
        form_post(client, blocks, f"/networks/{cast.slug}/members/{cast.ids['novice']}/block", {}).status_code
        == 422
    )
    assert (
        form_post(
            client, blocks, f"/networks/{cast.slug}/members/{cast.ids['outsider']}/block", {}
        ).status_code
        == 404
    )
    outsider = client.application.test_client()
    sign_in_as(outsider, run, EMAILS["outsider"])
    assert outsider.get(blocks).status_code == 403


def test_reporting_a_member(client, run, cast):
    sign_in_as(client, run, EMAILS["novice"])
    page = f"/networks/{cast.slug}/members/{cast.ids['experienced']}/report"
    assert (
        form_post(client, page, page, {"reason": "harassment", "note": "Keeps messaging me"}).status_code
        == 303
    )
    mine = f"/networks/{cast.slug}/members/{cast.ids['novice']}/report"
    assert form_post(client, mine, mine, {"reason": "spam"}).status_code == 422
    stranger = f"/networks/{cast.slug}/members/{cast.ids['outsider']}/report"
    assert form_post(client, stranger, stranger, {"reason": "spam"}).status_code == 422
    report = run(lambda: session.scalar(sa.select(Report)))
    assert report.person_id == cast.ids["experienced"] and report.message_id is None


def test_anonymous_visitors_are_sent_to_sign_in(client, cast):
    for path in (
        "/moderation",
        "/blocks",
        f"/members/{cast.ids['novice']}/suspend",
        "/conversations/messages/1/report",
    ):
        response = client.get(f"/networks/{cast.slug}{path}")
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"], path


# -- the JSON API ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", ROLES)
def test_api_authorisation_for_every_role(client, run, cast, label):
    headers = bearer_for(run, label)
    member = label not in ("outsider", "admin")
    moderator = label in MODERATORS
    message_id = post_as(run, cast, "experienced" if label != "experienced" else "novice", "something")
    target = "novice" if label != "novice" else "office"

    report = client.post(
        f"{API}/networks/{cast.slug}/reports",
        json={"message_id": message_id, "reason": "spam"},
        headers=headers,
    )
    assert report.status_code == (201 if member else 403 if label == "admin" else 404)
    queue = client.get(f"{API}/networks/{cast.slug}/reports", headers=headers)
    assert queue.status_code == (200 if moderator else 403)
    if report.status_code == 201:
        handle = client.patch(
            f"{API}/networks/{cast.slug}/reports/{report.get_json()['id']}",
            json={"status": "dismissed"},
            headers=headers,
        )
        assert handle.status_code == (200 if moderator else 403)
    hide = client.put(
        f"{API}/networks/{cast.slug}/messages/{message_id}/hidden", json={"hidden": True}, headers=headers
    )
    assert hide.status_code == (200 if moderator else 403)
    suspend = client.put(
        f"{API}/networks/{cast.slug}/members/{cast.ids[target]}/suspension",
        json={"suspended": True, "reason": "test"},
        headers=headers,
    )
    assert suspend.status_code == (200 if moderator else 403)
    block = client.post(
        f"{API}/networks/{cast.slug}/blocks", json={"person_id": cast.ids[target]}, headers=headers
    )
    assert block.status_code == (201 if member else 403)
    listed = client.get(f"{API}/networks/{cast.slug}/blocks", headers=headers)
    assert listed.status_code == 200 and len(listed.get_json()) == (1 if member else 0)
    unblock = client.delete(f"{API}/networks/{cast.slug}/blocks/{cast.ids[target]}", headers=headers)
    assert unblock.status_code == 204


def test_api_lists_suspended_members_for_moderators(client, run, cast):
    url = f"{API}/networks/{cast.slug}/suspensions"
    meta = bearer_for(run, "meta_mentor")
    assert client.get(url, headers=meta).get_json() == []

    def suspend_in_the_other_network():
        session.scalar(
            sa.select(Membership).where(Membership.person_id == cast.ids["outsider"])
        ).status = MembershipStatus.suspended

    run(suspend_in_the_other_network)  # not this network's business
    suspension = f"{API}/networks/{cast.slug}/members/{cast.ids['novice']}/suspension"
    assert client.put(suspension, json={"suspended": True, "reason": "spam"}, headers=meta).status_code == 200

    for label in MODERATORS:
        response = client.get(url, headers=bearer_for(run, label))
        assert response.status_code == 200, response.get_data(as_text=True)
        [member] = response.get_json()
        assert member["person"]["id"] == cast.ids["novice"]
        assert member["person"]["display_name"] == "Mina Mentor"
        assert member["status"] == "suspended" and member["role"] == "mentor"
    for label in ("office", "experienced", "admin", "outsider"):  # site administrators do not moderate
        body = assert_problem(client.get(url, headers=bearer_for(run, label)), 403)
        assert "Mina" not in str(body)
    assert_problem(client.get(url), 401)
    assert_problem(client.get(f"{API}/networks/no-such-net/suspensions", headers=meta), 404)

    assert client.put(suspension, json={"suspended": False}, headers=meta).status_code == 200
    assert client.get(url, headers=meta).get_json() == []


def test_api_reports_validate_their_input(client, run, cast):
    headers = bearer_for(run, "novice")
    url = f"{API}/networks/{cast.slug}/reports"
    assert client.post(url, json={"reason": "spam"}, headers=headers).status_code == 422
    both = {"reason": "spam", "message_id": 1, "person_id": 1}
    assert client.post(url, json=both, headers=headers).status_code == 422
    assert (
        client.post(url, json={"reason": "bad", "person_id": cast.ids["office"]}, headers=headers).status_code
        == 422
    )
    assert client.post(url, json={"reason": "spam", "person_id": 99999}, headers=headers).status_code == 404
    created = client.post(
        url, json={"reason": "other", "person_id": cast.ids["office"], "note": "n"}, headers=headers
    )
    assert created.status_code == 201 and created.get_json()["status"] == "open"
    meta = bearer_for(run, "meta_mentor")
    queue = client.get(url, headers=meta).get_json()
    assert [r["person"]["display_name"] for r in queue["reports"]] == ["Olga Office"]
    assert client.get(url + "?status=weird", headers=meta).status_code == 422
    assert (
        client.put(
            f"{API}/networks/{cast.slug}/members/{cast.ids['novice']}/suspension",
            json={"suspended": True, "reason": ""},
            headers=meta,
        ).status_code
        == 422
    )
    assert client.get(url).status_code == 401


def test_lifting_a_block_through_another_networks_address_writes_nothing_into_its_audit_log(
    client, run, cast
):
    """Blocks are a person's own; the slug in the address does not make the entry another network's."""

    def other_network():
        coordinator, _created = get_or_create_person("uma@example.org", display_name="Uma Unrelated")
        return create_network(
            "unrelated-net",
            "Unrelated Network",
            create_organisation("Unrelated Org", "IT"),
            coordinator=coordinator,
        ).id

    other_id = run(other_network)
    novice = bearer_for(run, "novice")
    blocked = cast.ids["experienced"]
    created = client.post(f"/api/v1/networks/{cast.slug}/blocks", json={"person_id": blocked}, headers=novice)
    assert created.status_code == 201
    assert (
        client.delete(f"/api/v1/networks/unrelated-net/blocks/{blocked}", headers=novice).status_code == 204
    )
    assert run(lambda: session.scalar(sa.select(sa.func.count(Block.id)))) == 0
    entry = run(lambda: session.scalars(sa.select(AuditLog).order_by(AuditLog.id.desc())).first())
    assert entry.action == "moderation.unblock" and entry.network_id is None
    in_other = sa.select(AuditLog.action).where(AuditLog.network_id == other_id)
    assert not [
        action for action in run(lambda: list(session.scalars(in_other))) if action.startswith("moderation.")
    ]

    # through the member's own network, the entry is that network's
    assert (
        client.post(
            f"/api/v1/networks/{cast.slug}/blocks", json={"person_id": blocked}, headers=novice
        ).status_code
        == 201
    )
    assert client.delete(f"/api/v1/networks/{cast.slug}/blocks/{blocked}", headers=novice).status_code == 204
    entry = run(lambda: session.scalars(sa.select(AuditLog).order_by(AuditLog.id.desc())).first())
    assert entry.action == "moderation.unblock" and entry.network_id == cast.network_id


def test_the_last_active_coordinator_cannot_be_suspended(run, cast, monkeypatch):
    """An LMS instructor acts as the coordinator without a membership (a role grant): suspending the network's
    only active coordinator would leave it with none, as leaving or a change of role would."""
    from network_service.errors import Conflict
    from network_service.networks import permissions
    from network_service.networks.models import Role

    instructor_id = cast.ids["outsider"]
    monkeypatch.setattr(
        permissions,
        "ROLE_GRANTS",
        [lambda who, _net: frozenset({Role.coordinator}) if who.id == instructor_id else frozenset()],
    )

    def suspend_the_coordinator():
        return operations.suspend_member(
            network(cast), person("coordinator"), actor=person("outsider"), reason="test"
        )

    with pytest.raises(Conflict, match="only active coordinator"):
        run(suspend_the_coordinator)
    assert membership_status(run, cast.ids["coordinator"]) == MembershipStatus.active

    def second_coordinator():
        membership = session.scalar(
            sa.select(Membership).where(
                Membership.network_id == cast.network_id, Membership.person_id == cast.ids["office"]
            )
        )
        membership.role = Role.coordinator

    run(second_coordinator)
    run(suspend_the_coordinator)  # another coordinator stays
    assert membership_status(run, cast.ids["coordinator"]) == MembershipStatus.suspended


def test_only_a_coordinator_reinstates_a_coordinator(client, run, cast):
    """Reinstating follows the rule of suspending: a Meta-Mentor cannot undo a coordinator's suspension of
    another coordinator, neither through the page nor the API; the queue offers them no button for it."""
    from network_service.networks.models import Level, Role
    from tests.helpers import add_member

    second = run(
        lambda: (
            add_member(
                network(cast), "coord2@example.org", "Second Coordinator", Role.coordinator, Level.experienced
            ).id
        )
    )
    run(
        lambda: operations.suspend_member(
            network(cast), session.get(Person, second), actor=person("coordinator"), reason="left the org"
        )
    )
    with pytest.raises(Forbidden):
        run(
            lambda: operations.reinstate_member(
                network(cast), session.get(Person, second), actor=person("meta_mentor")
            )
        )
    api = f"{API}/networks/{cast.slug}/members/{second}/suspension"
    refused = client.put(api, json={"suspended": False}, headers=bearer_for(run, "meta_mentor"))
    assert_problem(refused, 403)
    sign_in_as(client, run, EMAILS["meta_mentor"])
    queue = client.get(f"/networks/{cast.slug}/moderation").get_data(as_text=True)
    assert "Second Coordinator" in queue and "Reinstate Second Coordinator" not in queue
    web = client.post(
        f"/networks/{cast.slug}/members/{second}/reinstate", data={"csrf_token": csrf_from(queue)}
    )
    assert web.status_code == 403
    assert membership_status(run, second) == MembershipStatus.suspended
    assert "moderation.reinstate" not in audit_actions(run)

    allowed = client.put(api, json={"suspended": False}, headers=bearer_for(run, "coordinator"))
    assert allowed.status_code == 200
    assert membership_status(run, second) == MembershipStatus.active
    assert audit_actions(run)[-1] == "moderation.reinstate"


def test_hiding_and_deleting_check_themselves_that_a_private_message_was_reported(run, cast, ctx):
    """The operations, not only their callers, keep moderators away from an unreported message of a private
    group or direct conversation (any future way in gets the same answer)."""
    from network_service.errors import NotFound

    group = conversations.create_channel(
        network(cast),
        actor=person("novice"),
        name="Two of us",
        kind=ChannelKind.private,
        member_ids=[cast.ids["experienced"]],
    )
    message = conversations.post_message(group, actor=person("experienced"), body="Private words")
    for label in MODERATORS:
        with pytest.raises(NotFound):
            operations.hide_message(message, actor=person(label), reason="x")
        with pytest.raises(NotFound):
            conversations.delete_message(message, actor=person(label))
    assert message.hidden_at is None and message.deleted_at is None and message.body == "Private words"

    operations.report_message(message, actor=person("novice"), reason="harassment")
    operations.hide_message(message, actor=person("meta_mentor"), reason="insults")
    assert message.hidden_at is not None
    conversations.delete_message(message, actor=person("coordinator"))
    assert message.deleted_at is not None
    # the author still deletes their own message in their group
    own = conversations.post_message(group, actor=person("novice"), body="mine")
    conversations.delete_message(own, actor=person("novice"))
    assert own.deleted_at is not None


def test_the_hide_form_records_its_reason_in_the_audit_log(client, run, cast):
    message_id = post_as(run, cast, "experienced", "Buy cheap watches")
    run(
        lambda: operations.report_message(
            session.get(Message, message_id), actor=person("novice"), reason="spam"
        )
    )
    sign_in_as(client, run, EMAILS["meta_mentor"])
    queue_url = f"/networks/{cast.slug}/moderation"
    queue = client.get(queue_url).get_data(as_text=True)
    assert 'name="reason" maxlength="2000"' in queue and "Reason (optional, kept in the audit log)" in queue
    hide_url = f"/networks/{cast.slug}/conversations/messages/{message_id}/hide"
    too_long = form_post(
        client, queue_url, hide_url, {"hidden": "1", "next": "queue", "reason": "Advertising " + "x" * 2000}
    )
    assert (
        too_long.status_code == 422
    )  # the page again, with the reason as typed: nothing lost, nothing hidden
    page = too_long.get_data(as_text=True)
    assert "Hide this message?" in page and "Buy cheap watches" in page
    assert "Advertising " + "x" * 2000 + "</textarea>" in page
    assert 'name="next" value="queue"' in page  # sent again, it goes back to the queue
    assert run(lambda: session.get(Message, message_id).hidden_at) is None
    assert "moderation.hide" not in audit_actions(run)

    hidden = form_post(
        client, queue_url, hide_url, {"hidden": "1", "next": "queue", "reason": "Advertising, twice"}
    )
    assert hidden.status_code == 303
    assert run(lambda: session.get(Message, message_id).hidden_at) is not None
    entry = run(lambda: session.scalars(sa.select(AuditLog).order_by(AuditLog.id.desc())).first())
    assert entry.action == "moderation.hide" and entry.detail["reason"] == "Advertising, twice"


# -- the blocks page chooses among the members with a search by name --------------------------------------


def test_the_blocks_page_shows_a_page_of_members_and_finds_them_by_name(http_client, run, cast):
    from network_service.conversations.operations import PICK_PAGE_SIZE
    from tests.helpers import add_member

    many = run(
        lambda: [add_member(network(cast), f"m{i}@example.org", f"Member {i:02d}").id for i in range(60)]
    )
    mina = http_client()
    sign_in_as(mina, run, EMAILS["novice"])
    blocks = f"/networks/{cast.slug}/blocks"

    def offered(html: str) -> list[int]:
        results = html.split('id="picker-results"', 1)[-1]  # not the list of the people blocked already
        return [int(pid) for pid in re.findall(r"/members/(\d+)/block", results)]

    first = mina.get(blocks).get_data(as_text=True)
    assert len(offered(first)) == PICK_PAGE_SIZE and "20 members shown." in first
    more = re.search(r'<a href="([^"]+)">Show the next members</a>', first).group(1).replace("&amp;", "&")
    assert not set(offered(first)) & set(offered(mina.get(more).get_data(as_text=True)))
    found = mina.get(blocks, query_string={"q": "MBER 3"}).get_data(as_text=True)
    assert sorted(offered(found)) == many[30:40]

    response = form_post(mina, blocks, f"/networks/{cast.slug}/members/{many[33]}/block", {"blocked": "1"})
    assert response.status_code == 303
    again = mina.get(blocks, query_string={"q": "member 3"}).get_data(as_text=True)
    assert many[33] not in offered(again) and "Unblock Member 33" in again  # listed once, among the blocked
    assert cast.ids["novice"] not in offered(
        mina.get(blocks, query_string={"q": "mina"}).get_data(as_text=True)
    )
    short = mina.get(blocks, query_string={"q": "m"})
    assert short.status_code == 422 and "Search for 2 to 80 characters" in short.get_data(as_text=True)
    # a forged block of someone outside the network is still refused, and nothing is kept
    assert (
        form_post(mina, blocks, f"/networks/{cast.slug}/members/{cast.ids['outsider']}/block", {}).status_code
        == 404
    )
    assert run(lambda: session.scalar(sa.select(sa.func.count(Block.id)))) == 1


def test_hide_on_a_channel_asks_first_with_a_reason_and_show_again_too(client, run, cast):
    message_id = post_as(run, cast, "experienced", "Buy cheap watches")
    sign_in_as(client, run, EMAILS["meta_mentor"])
    thread_url = f"/networks/{cast.slug}/conversations/threads/{message_id}"
    hide_url = f"/networks/{cast.slug}/conversations/messages/{message_id}/hide"
    channel = client.get(f"/networks/{cast.slug}/conversations/c/{cast.general}").get_data(as_text=True)
    assert (
        f'<a href="{hide_url}">Hide</a>' in channel
    )  # a link to the page that asks, no button that hides at once
    asked = client.get(hide_url)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Hide this message?" in page and "Buy cheap watches" in page
    assert run(lambda: session.get(Message, message_id).hidden_at) is None  # asking changes nothing
    done = form_post(client, hide_url, hide_url, {"hidden": "1", "reason": "Advertising"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"#m{message_id}")
    assert run(lambda: session.get(Message, message_id).hidden_at) is not None
    entry = run(lambda: session.scalars(sa.select(AuditLog).order_by(AuditLog.id.desc())).first())
    assert entry.action == "moderation.hide" and entry.detail["reason"] == "Advertising"

    again = client.get(hide_url).get_data(as_text=True)
    assert "Show this message again?" in again and 'name="hidden" value="0"' in again
    shown = form_post(client, hide_url, hide_url, {"hidden": "0", "reason": ""})
    assert shown.status_code == 303
    assert run(lambda: session.get(Message, message_id).hidden_at) is None
    assert client.get(thread_url).status_code == 200

    sign_in_as(client, run, EMAILS["novice"])
    assert client.get(hide_url).status_code == 403
