"""Safeguarding in moderation: who is told of a report, reports about a moderator, the site administrators'
fallback, and the reported text kept as evidence."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from network_service.db import session
from network_service.errors import Forbidden, NotFound
from network_service.moderation import operations
from network_service.moderation.models import Report, ReportStatus
from network_service.networks.models import Membership, MembershipStatus, Role
from network_service.notifications.models import EmailFrequency, Notification
from network_service.notifications.operations import set_frequency
from tests.conv_helpers import EMAILS, bearer_for, build_cast, network, person
from tests.helpers import assert_problem, csrf_from, mails, sign_in_as

API = "/api/v1"


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


def notified(run, kind: str = "moderation.report") -> dict[int, Notification]:
    return run(
        lambda: {
            n.person_id: n for n in session.scalars(sa.select(Notification).where(Notification.kind == kind))
        }
    )


def post(run, cast, label: str, body: str) -> int:
    from network_service.conversations import operations as conversations
    from network_service.conversations.models import Channel

    def write():
        channel = session.scalar(
            sa.select(Channel).where(Channel.network_id == cast.network_id, Channel.slug == cast.general)
        )
        return conversations.post_message(channel, actor=person(label), body=body).id

    return run(write)


# -- 1. a new report is notified ---------------------------------------------------------------------------


def test_a_new_report_notifies_the_moderators_but_not_the_reported_person_nor_the_reporter(client, run, cast):
    run(lambda: set_frequency(person("coordinator"), EmailFrequency.immediately, actor=person("coordinator")))
    run(lambda: set_frequency(person("meta_mentor"), EmailFrequency.never, actor=person("meta_mentor")))
    message_id = post(run, cast, "experienced", "Call Mr X at 0176 1234567")
    response = client.post(
        f"{API}/networks/{cast.slug}/reports",
        json={"message_id": message_id, "reason": "personal_data", "note": "his phone"},
        headers=bearer_for(run, "novice"),
    )
    assert response.status_code == 201
    report_id = response.get_json()["id"]
    found = notified(run)
    assert set(found) == {cast.ids["coordinator"], cast.ids["meta_mentor"]}
    for n in found.values():
        assert n.url == f"/networks/{cast.slug}/moderation#r{report_id}"
        assert "0176" not in str(n.params) and "phone" not in str(n.params) and n.actor_id is None
    # the e-mail choice applies: "immediately" is mailed now, "never" is not; no text of the report in it
    [mail] = run(lambda: mails(to=EMAILS["coordinator"], kind="notification.moderation.report"))
    assert "0176" not in (mail.body_text or "") + (mail.body_html or "") + mail.subject
    assert "Mina" not in (mail.body_text or "")  # nor who reported
    assert "/moderation" in mail.body_text
    assert run(lambda: mails(to=EMAILS["meta_mentor"])) == []

    # a member reported by the Meta-Mentor: the coordinator is told, the Meta-Mentor (reporter) is not
    run(lambda: session.execute(sa.delete(Notification)))
    sign_in_as(client, run, EMAILS["meta_mentor"])
    page = f"/networks/{cast.slug}/members/{cast.ids['office']}/report"
    html = client.get(page).get_data(as_text=True)
    assert client.post(page, data={"csrf_token": csrf_from(html), "reason": "other"}).status_code == 303
    assert set(notified(run)) == {cast.ids["coordinator"]}

    # a report about the coordinator: the Meta-Mentor is told, never the coordinator
    run(lambda: session.execute(sa.delete(Notification)))
    run(
        lambda: operations.report_member(
            network(cast), person("coordinator"), actor=person("novice"), reason="harassment"
        )
    )
    assert set(notified(run)) == {cast.ids["meta_mentor"]}


# -- 2. a report about a moderator -------------------------------------------------------------------------


def _report_about(run, cast, label: str, by: str = "novice") -> int:
    return run(
        lambda: (
            operations.report_member(
                network(cast), person(label), actor=person(by), reason="harassment", note="shouted at me"
            ).id
        )
    )


def test_a_reported_moderator_neither_sees_nor_handles_the_report(client, run, cast):
    report_id = _report_about(run, cast, "meta_mentor")
    other_id = _report_about(run, cast, "experienced")
    # the operations
    with pytest.raises(NotFound):
        run(lambda: operations.get_report(network(cast), report_id, person("meta_mentor")))
    with pytest.raises(NotFound):
        run(
            lambda: operations.handle_report(
                session.get(Report, report_id), actor=person("meta_mentor"), status="dismissed"
            )
        )
    reports, _older = run(lambda: operations.list_reports(network(cast), person("meta_mentor")))
    assert [r.id for r in reports] == [other_id]
    assert run(lambda: operations.open_report_count(person("meta_mentor"), network(cast))) == 1
    assert run(lambda: operations.open_report_count(person("coordinator"), network(cast))) == 2

    # the page: no report, no reporter, a badge of 1; closing it is 404
    sign_in_as(client, run, EMAILS["meta_mentor"])
    queue = client.get(f"/networks/{cast.slug}/moderation").get_data(as_text=True)
    assert f'id="r{report_id}"' not in queue and f'id="r{other_id}"' in queue
    assert "Report about the member Marco Meta" not in queue
    assert '<span class="badge badge-count">1<span class="visually-hidden"> new' in queue
    closed = client.post(
        f"/networks/{cast.slug}/moderation/reports/{report_id}",
        data={"csrf_token": csrf_from(queue), "status": "dismissed"},
    )
    assert closed.status_code == 404
    # the API
    meta = bearer_for(run, "meta_mentor")
    listed = client.get(f"{API}/networks/{cast.slug}/reports", headers=meta).get_json()
    assert [r["id"] for r in listed["reports"]] == [other_id]
    assert_problem(
        client.patch(
            f"{API}/networks/{cast.slug}/reports/{report_id}", json={"status": "dismissed"}, headers=meta
        ),
        404,
    )
    assert run(lambda: session.get(Report, report_id).status) == ReportStatus.open

    # the coordinator handles it
    handled = client.patch(
        f"{API}/networks/{cast.slug}/reports/{report_id}",
        json={"status": "resolved", "resolution": "talked to Marco"},
        headers=bearer_for(run, "coordinator"),
    )
    assert handled.status_code == 200
    # the author of a reported message likewise does not see the report of it
    message_id = post(run, cast, "coordinator", "Do it my way")
    reported = client.post(
        f"{API}/networks/{cast.slug}/reports",
        json={"message_id": message_id, "reason": "harassment"},
        headers=bearer_for(run, "novice"),
    ).get_json()["id"]
    coordinator = bearer_for(run, "coordinator")
    listed = client.get(f"{API}/networks/{cast.slug}/reports", headers=coordinator).get_json()
    assert reported not in [r["id"] for r in listed["reports"]]
    assert_problem(
        client.patch(
            f"{API}/networks/{cast.slug}/reports/{reported}",
            json={"status": "dismissed"},
            headers=coordinator,
        ),
        404,
    )


def _only_the_coordinator_moderates(run, cast) -> None:
    def demote():
        membership = session.scalar(
            sa.select(Membership).where(
                Membership.network_id == cast.network_id, Membership.person_id == cast.ids["meta_mentor"]
            )
        )
        membership.role = Role.mentor

    run(demote)


def test_a_report_about_the_only_moderator_reaches_the_site_administrators(client, run, cast):
    _only_the_coordinator_moderates(run, cast)
    admin = bearer_for(run, "admin")
    # no such report yet: site administrators do not moderate the network
    assert_problem(client.get(f"{API}/networks/{cast.slug}/reports", headers=admin), 403)
    ordinary = _report_about(run, cast, "experienced")
    assert_problem(client.get(f"{API}/networks/{cast.slug}/reports", headers=admin), 403)
    assert_problem(
        client.patch(
            f"{API}/networks/{cast.slug}/reports/{ordinary}", json={"status": "dismissed"}, headers=admin
        ),
        403,
    )
    run(lambda: session.execute(sa.delete(Notification)))

    report_id = _report_about(run, cast, "coordinator")
    assert set(notified(run)) == {cast.ids["admin"]}  # the coordinator is not told
    with pytest.raises(NotFound):
        run(lambda: operations.get_report(network(cast), report_id, person("coordinator")))

    listed = client.get(f"{API}/networks/{cast.slug}/reports", headers=admin)
    assert listed.status_code == 200
    assert [r["id"] for r in listed.get_json()["reports"]] == [
        report_id
    ]  # only the report nobody else handles
    sign_in_as(client, run, EMAILS["admin"])
    queue = client.get(f"/networks/{cast.slug}/moderation")
    assert queue.status_code == 200
    html = queue.get_data(as_text=True)
    assert f'id="r{report_id}"' in html and f'id="r{ordinary}"' not in html
    assert "Suspend Carla" not in html and "Suspended members" not in html
    closed = client.post(
        f"/networks/{cast.slug}/moderation/reports/{report_id}",
        data={
            "csrf_token": csrf_from(html),
            "status": "resolved",
            "resolution": "spoke with the organisation",
        },
    )
    assert closed.status_code == 303
    report = run(lambda: session.get(Report, report_id))
    assert report.status == ReportStatus.resolved and report.handled_by_id == cast.ids["admin"]
    # once another coordinator is appointed, the report is theirs, not the site administrators'
    run(
        lambda: session.scalar(
            sa.select(Membership).where(
                Membership.network_id == cast.network_id, Membership.person_id == cast.ids["meta_mentor"]
            )
        ).__setattr__("role", Role.meta_mentor)
    )
    assert_problem(client.get(f"{API}/networks/{cast.slug}/reports", headers=admin), 403)
    with pytest.raises(Forbidden):
        run(lambda: operations.get_report(network(cast), report_id, person("admin")))
    assert run(lambda: session.scalar(sa.select(Membership.status).where(
        Membership.person_id == cast.ids["coordinator"], Membership.network_id == cast.network_id
    ))) == MembershipStatus.active  # fmt: skip


def test_a_moderator_does_not_show_again_their_own_message_another_moderator_hid(client, run, cast):
    message_id = post(run, cast, "meta_mentor", "Hurry up, all of you")
    run(
        lambda: operations.report_message(
            operations.get_message_for_moderation(network(cast), message_id, person("novice")),
            actor=person("novice"),
            reason="harassment",
        )
    )
    url = f"{API}/networks/{cast.slug}/messages/{message_id}/hidden"
    assert client.put(url, json={"hidden": True}, headers=bearer_for(run, "coordinator")).status_code == 200
    assert_problem(client.put(url, json={"hidden": False}, headers=bearer_for(run, "meta_mentor")), 403)
    from network_service.conversations.models import Message

    assert run(lambda: session.get(Message, message_id).hidden_at) is not None
    sign_in_as(client, run, EMAILS["meta_mentor"])
    page = client.get(f"/networks/{cast.slug}/conversations/c/{cast.general}").get_data(as_text=True)
    assert f"messages/{message_id}/hide" not in page


# -- 5. the reported text is kept as evidence --------------------------------------------------------------


def test_the_reported_text_survives_an_edit_and_a_deletion_by_its_author(client, run, cast):
    from network_service.conversations import operations as conversations
    from network_service.conversations.models import Message

    message_id = post(run, cast, "experienced", "You are all idiots")
    created = client.post(
        f"{API}/networks/{cast.slug}/reports",
        json={"message_id": message_id, "reason": "harassment"},
        headers=bearer_for(run, "novice"),
    )
    assert created.status_code == 201 and created.get_json()["message"] is None  # the reporter learns nothing
    report_id = created.get_json()["id"]
    report = run(lambda: session.get(Report, report_id))
    assert report.snapshot_body == "You are all idiots" and report.snapshot_at is not None

    run(
        lambda: conversations.edit_message(
            session.get(Message, message_id), actor=person("experienced"), body="Have a nice day"
        )
    )
    meta = bearer_for(run, "meta_mentor")
    [listed] = client.get(f"{API}/networks/{cast.slug}/reports", headers=meta).get_json()["reports"]
    assert listed["message"]["reported_body"] == "You are all idiots"
    assert listed["message"]["body"] == "Have a nice day" and listed["message"]["edited_since"] is True
    assert listed["message"]["reported_at"]
    sign_in_as(client, run, EMAILS["meta_mentor"])
    queue = client.get(f"/networks/{cast.slug}/moderation").get_data(as_text=True)
    assert "Text at the time of the report" in queue and "You are all idiots" in queue
    assert "edited since the report" in queue and "Have a nice day" in queue

    run(lambda: conversations.delete_message(session.get(Message, message_id), actor=person("experienced")))
    [listed] = client.get(f"{API}/networks/{cast.slug}/reports", headers=meta).get_json()["reports"]
    assert listed["message"]["body"] is None and listed["message"]["deleted"] is True
    assert listed["message"]["reported_body"] == "You are all idiots"
    queue = client.get(f"/networks/{cast.slug}/moderation").get_data(as_text=True)
    assert "You are all idiots" in queue and "deleted since the report" in queue

    # a report about a member keeps no text
    member_report = _report_about(run, cast, "office")
    assert run(lambda: session.get(Report, member_report).snapshot_body) is None
    # nobody else sees it: the author, the reporter, the office (no queue), the reported moderator (no report)
    for label in ("experienced", "novice", "office"):
        assert (
            client.get(f"{API}/networks/{cast.slug}/reports", headers=bearer_for(run, label)).status_code
            == 403
        )


def test_the_audit_log_keeps_a_report_from_the_coordinator_it_is_about(client, run, cast):
    """Found by the second audit of session 10: the queue hid a report from the coordinator it was about, but the
    audit log (page, CSV, API) still showed "Report made" with the reporter's name. Entries about a report on
    the viewer (as the member reported or the author of the reported message) are left out for them."""
    from network_service.audit import operations as audit
    from network_service.audit.models import AuditLog
    from network_service.conversations.models import Message

    about_coordinator = _report_about(run, cast, "coordinator")
    message_id = post(run, cast, "coordinator", "A message someone will report")
    about_message = run(
        lambda: (
            operations.report_message(
                session.get(Message, message_id), actor=person("novice"), reason="harassment"
            ).id
        )
    )
    about_other = _report_about(run, cast, "experienced")

    def report_targets(viewer) -> set[int]:
        entries = audit.export_rows(person(viewer), audit.AuditFilter())
        return {e.target_id for e in entries if e.target_type == "report"}

    assert run(lambda: report_targets("coordinator")) == {about_other}
    assert run(lambda: report_targets("admin")) == {about_coordinator, about_message, about_other}
    assert run(lambda: session.scalar(sa.select(sa.func.count(AuditLog.id)).where(AuditLog.action == "moderation.report"))) == 3  # fmt: skip
    page = client.get(f"{API}/audit?network={cast.slug}", headers=bearer_for(run, "coordinator")).get_json()
    assert {e["target_id"] for e in page["entries"] if e["target_type"] == "report"} == {about_other}


def test_a_second_open_report_of_the_same_message_or_member_is_refused(run, cast):
    """Each report notifies every moderator: one open report per reporter and message (or member)."""
    from network_service.conversations.models import Message
    from network_service.errors import Conflict

    message_id = post(run, cast, "experienced", "Something someone will report")

    def report_message():
        return operations.report_message(
            session.get(Message, message_id), actor=person("novice"), reason="spam"
        ).id

    first = run(report_message)
    with pytest.raises(Conflict):
        run(report_message)
    second_member = _report_about(run, cast, "office")
    with pytest.raises(Conflict):
        _report_about(run, cast, "office")
    # once the moderators closed it, the same member may report again
    run(
        lambda: operations.handle_report(
            session.get(Report, first), actor=person("coordinator"), status="dismissed"
        )
    )
    assert run(report_message) != first
    assert run(lambda: session.scalar(sa.select(sa.func.count(Report.id)))) == 3 and second_member


def test_reporting_is_rate_limited_per_person_on_the_pages_and_in_the_api(app):
    """Found by the second audit of session 10: reports had no limit, and each one mails the moderators."""
    from flask_limiter.util import get_qualified_name

    from network_service.app import create_app
    from network_service.db import db as database
    from network_service.moderation.views import REPORT_ENDPOINTS
    from tests.databases import app_config

    limited = create_app(app_config(app.config["DATABASE_URL"], RATELIMIT_ENABLED=True))
    try:
        known = limited.extensions["mentornet.limited_endpoints"]
        assert {endpoint: known.get(endpoint) for endpoint in REPORT_ENDPOINTS} == dict.fromkeys(
            REPORT_ENDPOINTS, frozenset({"POST"})
        )
        limiter = limited.extensions["mentornet.limiter"]
        for endpoint in REPORT_ENDPOINTS:
            name = get_qualified_name(limited.view_functions[endpoint])
            limits = {
                (each.limit.amount, each.limit.get_expiry(), each.methods)
                for each in limiter.limit_manager.decorated_limits(name)
            }
            assert {(10, 3600, ("post",)), (30, 86400, ("post",))} <= limits, (endpoint, limits)
    finally:
        database.dispose(limited)


def test_the_audit_log_does_not_tell_a_coordinator_who_blocked_them(client, run, cast):
    """Found by the audit of session 12: a blocked member is not told (docs/conversations.md), but a blocked
    coordinator read "Member blocked", by whom, in the audit log. Entries of a block or unblock of the viewer are
    left out for them (page, CSV, API); other coordinators and the site administrators still see them."""
    from network_service.audit import operations as audit

    def blocks_seen_by(viewer) -> list[tuple[str, int]]:
        return [
            (e.action, e.target_id)
            for e in audit.export_rows(person(viewer), audit.AuditFilter())
            if e.action.startswith("moderation.") and "block" in e.action
        ]

    run(lambda: operations.block(network(cast), person("coordinator"), actor=person("novice")))
    run(lambda: operations.block(network(cast), person("experienced"), actor=person("novice")))
    run(lambda: operations.unblock(network(cast), person("coordinator"), actor=person("novice")))
    coordinator, experienced = run(lambda: (person("coordinator").id, person("experienced").id))

    assert run(lambda: blocks_seen_by("coordinator")) == [("moderation.block", experienced)]
    assert sorted(run(lambda: blocks_seen_by("admin"))) == sorted(
        [
            ("moderation.block", coordinator),
            ("moderation.block", experienced),
            ("moderation.unblock", coordinator),
        ]
    )
    listed = client.get(f"{API}/audit?network={cast.slug}", headers=bearer_for(run, "coordinator")).get_json()
    assert [e["target_id"] for e in listed["entries"] if "block" in e["action"]] == [experienced]
