"""Passing a report on to the reported person's own network over HTTP: a reader from a federation writes in a
shared channel of test-net, is reported there, test-net's moderators cannot suspend them (not their member) and
pass the report on to fed-net, whose moderators see it and suspend them. Refusals for every wrong caller, target
and state; the audit log on both networks; the JSON API (docs/federations.md)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from network_service.audit.models import AuditLog
from network_service.conversations.models import Message
from network_service.db import session
from network_service.federations.models import SharedChannel
from network_service.moderation.models import Report, ReportStatus
from network_service.networks.models import Membership, MembershipStatus
from network_service.networks.operations import get_network
from network_service.notifications.models import Notification
from tests.helpers import csrf_from
from tests.test_federations import (
    API,
    _join,
    _open_message_id,
    _other_joins,
    _report_from_the_page,
    _share,
    act_as,
    bearer,
    build_fed,
)

QUEUE = "/networks/test-net/moderation"


@pytest.fixture
def fed(run, world):
    return run(build_fed, world)


def _setup(client, run, fed) -> tuple[int, int]:
    """fed-net joins and shares-with-posting; Fanny (fed-net only) writes in test-net's shared channel and Max
    (test-net's mentor) reports it. Returns (message id, report id)."""
    _join(run, fed)
    _share(client, fed, run)
    token = act_as(client, fed, "fed_mentor")
    url = f"/networks/test-net/conversations/c/{fed.open_channel}"
    assert client.post(url, data={"body": "You people are useless", "csrf_token": token}).status_code == 303
    message_id = run(
        lambda: session.scalar(sa.select(Message.id).where(Message.body == "You people are useless"))
    )
    assert _report_from_the_page(client, fed, "member_mentor", message_id).status_code == 303
    return message_id, run(lambda: session.scalar(sa.select(Report.id).order_by(Report.id.desc())))


def _forward(client, fed, label: str, report_id: int, network: str, note: str = "", slug: str = "test-net"):
    token = act_as(client, fed, label)
    return client.post(f"/networks/{slug}/moderation/reports/{report_id}/forward",
                       data={"network": network, "note": note, "csrf_token": token})  # fmt: skip


def _rows(run) -> list[tuple]:
    return run(lambda: session.execute(
        sa.select(Report.id, Report.network_id, Report.status, Report.reporter_id, Report.person_id,
                  Report.message_id).order_by(Report.id)).all())  # fmt: skip


def _forward_audit(run) -> list[tuple]:
    return run(lambda: session.execute(
        sa.select(AuditLog.network_id, AuditLog.actor_id, AuditLog.target_type, AuditLog.target_id)
        .where(AuditLog.action == "moderation.forward").order_by(AuditLog.id)).all())  # fmt: skip


def _suspend_href(person_id: int, slug: str = "test-net") -> str:
    return f'href="/networks/{slug}/members/{person_id}/suspend"'


def test_a_report_is_passed_on_and_the_persons_own_network_suspends_them(client, run, fed, world):
    message_id, report_id = _setup(client, run, fed)
    fanny = fed.ids["fed_mentor"]
    test_id, fed_id = run(lambda: (get_network("test-net").id, get_network("fed-net").id))

    # test-net's queue: no failing "Suspend" for Fanny, but the form to pass the report on to fed-net
    act_as(client, fed, "member_meta")
    queue = client.get(QUEUE).get_data(as_text=True)
    assert "You people are useless" in queue
    assert _suspend_href(fanny) not in queue and "Suspend Fanny Mentor" not in queue
    assert f'action="/networks/test-net/moderation/reports/{report_id}/forward"' in queue
    assert 'name="network" value="fed-net"' in queue and "Pass on to Fed Network" in queue
    # test-net's own members reported in the same queue keep their "Suspend" link
    assert _report_from_the_page(client, fed, "fed_mentor", _open_message_id(run)).status_code == 303
    act_as(client, fed, "member_meta")
    queue = client.get(QUEUE).get_data(as_text=True)
    assert _suspend_href(world.mentor_id) in queue and _suspend_href(fanny) not in queue
    assert queue.count('name="network" value="fed-net"') == 1

    response = _forward(client, fed, "member_meta", report_id, "fed-net", note="She insulted several people.")
    assert response.status_code == 303
    rows = _rows(run)
    original = next(r for r in rows if r.id == report_id)
    forwarded = rows[-1]
    assert original.status == ReportStatus.resolved
    assert (forwarded.network_id, forwarded.status, forwarded.reporter_id, forwarded.person_id,
            forwarded.message_id) == (fed_id, ReportStatus.open, fed.ids["member_meta"], fanny, message_id)  # fmt: skip
    resolution, note, reason = run(lambda: (session.get(Report, report_id).resolution,
                                            session.get(Report, forwarded.id).note,
                                            session.get(Report, forwarded.id).reason.value))  # fmt: skip
    assert resolution == "Passed on to the moderators of Fed Network."
    assert note == "Passed on by the moderators of Test Network.\n\nShe insulted several people."
    assert reason == "harassment"
    assert _forward_audit(run) == [(test_id, fed.ids["member_meta"], "report", report_id),
                                   (fed_id, fed.ids["member_meta"], "report", forwarded.id)]  # fmt: skip
    told = run(lambda: sorted(session.scalars(
        sa.select(Notification.person_id).where(Notification.kind == "moderation.forwarded"))))  # fmt: skip
    assert told == sorted([fed.ids["fed_coordinator"], fed.ids["fed_meta"]])
    resolved = client.get(f"{QUEUE}?status=resolved").get_data(as_text=True)
    assert "Passed on to the moderators of Fed Network." in resolved

    # fed-net's Meta-Mentor: the report with the message; "Suspend" works; no "Hide" for test-net's message
    act_as(client, fed, "fed_meta")
    theirs = client.get("/networks/fed-net/moderation").get_data(as_text=True)
    assert "You people are useless" in theirs and "She insulted several people." in theirs
    assert "Passed on by the moderators of Test Network." in theirs
    assert f"/messages/{message_id}/hide" not in theirs
    assert "This message is in the channel Housing tips of Test Network" in theirs
    assert _suspend_href(fanny, "fed-net") in theirs and "Pass on to" not in theirs
    suspend_url = f"/networks/fed-net/members/{fanny}/suspend"
    page = client.get(suspend_url)
    assert page.status_code == 200
    response = client.post(suspend_url, data={"reason": "Insults in a shared channel",
                                              "csrf_token": csrf_from(page.get_data(as_text=True))})  # fmt: skip
    assert response.status_code == 303
    status = run(lambda: session.scalar(sa.select(Membership.status).where(
        Membership.person_id == fanny, Membership.network_id == fed_id)))  # fmt: skip
    assert status == MembershipStatus.suspended
    # suspended in her only network: she no longer reads the shared channel
    act_as(client, fed, "fed_mentor")
    assert client.get(f"/networks/test-net/conversations/c/{fed.open_channel}").status_code in (403, 404)


def test_who_may_pass_a_report_on_and_where(client, run, fed, world):
    message_id, report_id = _setup(client, run, fed)
    _other_joins(run, fed)  # other-net reads the channel too, but Fanny is not its member
    before = _rows(run)
    # not a moderator of test-net: its mentor, fed-net's coordinator (moderates fed-net), an unrelated network's
    for label, slug, status in (("member_mentor", "test-net", 403), ("fed_coordinator", "test-net", 403),
                                ("other_coordinator", "test-net", 403), ("fed_meta", "fed-net", 404),
                                ("admin", "test-net", 403)):  # fmt: skip
        assert _forward(client, fed, label, report_id, "fed-net", slug=slug).status_code == status, label
        response = client.post(f"{API}/networks/{slug}/reports/{report_id}/forward",
                               headers=bearer(fed, label), json={"network": "fed-net"})  # fmt: skip
        assert response.status_code == status, label
        assert response.headers["Content-Type"].startswith("application/problem+json")
    assert _forward(client, fed, "anonymous", report_id, "fed-net").status_code in (302, 400, 401)
    # no CSRF token
    act_as(client, fed, "member_meta")
    url = f"/networks/test-net/moderation/reports/{report_id}/forward"
    assert client.post(url, data={"network": "fed-net"}).status_code == 400
    # networks Fanny is not in (or that do not exist, or test-net itself)
    for target in ("other-net", "nowhere", "test-net", ""):
        assert _forward(client, fed, "member_meta", report_id, target).status_code == 422, target
    response = client.post(f"{API}/networks/test-net/reports/{report_id}/forward",
                           headers=bearer(fed, "member_coordinator"), json={"network": "other-net"})  # fmt: skip
    assert response.status_code == 422 and list(response.json["errors"]) == ["network"]
    assert "does not read this channel as a member of Other Network" in response.json["detail"]
    assert client.post(f"{API}/networks/test-net/reports/{report_id}/forward",
                       headers=bearer(fed, "member_coordinator"), json={}).status_code == 422  # fmt: skip
    assert client.post(f"{API}/networks/test-net/reports/{report_id}/forward",
                       headers=bearer(fed, "member_coordinator"),
                       json={"network": "fed-net", "note": "x" * 2001}).status_code == 422  # fmt: skip
    # a report about a member of test-net stays with test-net
    assert _report_from_the_page(client, fed, "fed_mentor", _open_message_id(run)).status_code == 303
    member_report = _rows(run)[-1].id
    assert _forward(client, fed, "member_meta", member_report, "fed-net").status_code == 409
    assert [r for r in _rows(run) if r.id != member_report] == before and _forward_audit(run) == []

    # a handled report is not passed on
    token = act_as(client, fed, "member_meta")
    client.post(f"{QUEUE}/reports/{report_id}", data={"status": "dismissed", "csrf_token": token})
    assert _forward(client, fed, "member_meta", report_id, "fed-net").status_code == 409
    assert 'name="network"' not in client.get(f"{QUEUE}?status=dismissed").get_data(as_text=True)
    # reopened, passed on once; a second time (even reopened again) is refused
    token = act_as(client, fed, "member_meta")
    response = client.patch(f"{API}/networks/test-net/reports/{report_id}",
                            headers=bearer(fed, "member_meta"), json={"status": "open"})  # fmt: skip
    assert response.status_code == 200
    assert _forward(client, fed, "member_meta", report_id, "fed-net").status_code == 303
    assert _forward(client, fed, "member_coordinator", report_id, "fed-net").status_code == 409
    client.patch(f"{API}/networks/test-net/reports/{report_id}",
                 headers=bearer(fed, "member_meta"), json={"status": "open"})  # fmt: skip
    response = client.post(f"{API}/networks/test-net/reports/{report_id}/forward",
                           headers=bearer(fed, "member_coordinator"), json={"network": "fed-net"})  # fmt: skip
    assert response.status_code == 409
    assert response.headers["Content-Type"].startswith("application/problem+json")
    fed_id = run(lambda: get_network("fed-net").id)
    assert len([r for r in _rows(run) if r.network_id == fed_id]) == 1
    assert len(_forward_audit(run)) == 2


def test_the_api_passes_a_report_on(client, run, fed, world):
    message_id, report_id = _setup(client, run, fed)
    response = client.post(f"{API}/networks/test-net/reports/{report_id}/forward",
                           headers=bearer(fed, "member_coordinator"),
                           json={"network": "fed-net", "note": "Please talk to her."})  # fmt: skip
    assert response.status_code == 201
    data = response.json
    assert set(data) == {"id", "reason", "note", "status", "created_at", "reporter", "person", "message",
                         "handled_by", "handled_at", "resolution"}  # fmt: skip
    assert data["status"] == "open" and data["reason"] == "harassment"
    assert data["person"] == {"id": fed.ids["fed_mentor"], "display_name": "Fanny Mentor"}
    assert data["reporter"]["id"] == fed.ids["member_coordinator"]
    assert data["message"]["id"] == message_id and data["message"]["body"] == "You people are useless"
    assert data["note"].endswith("Please talk to her.")
    # fed-net's queue over the API has it; test-net's open queue no longer does
    theirs = client.get(f"{API}/networks/fed-net/reports", headers=bearer(fed, "fed_coordinator")).json
    assert [r["id"] for r in theirs["reports"]] == [data["id"]]
    ours = client.get(f"{API}/networks/test-net/reports", headers=bearer(fed, "member_coordinator")).json
    assert report_id not in [r["id"] for r in ours["reports"]]
    # fed-net's moderators suspend Fanny over the API; hiding test-net's message is not theirs to do
    response = client.put(f"{API}/networks/fed-net/members/{fed.ids['fed_mentor']}/suspension",
                          headers=bearer(fed, "fed_coordinator"),
                          json={"suspended": True, "reason": "Insults"})  # fmt: skip
    assert response.status_code == 200 and response.json["status"] == "suspended"
    response = client.put(f"{API}/networks/fed-net/messages/{message_id}/hidden",
                          headers=bearer(fed, "fed_coordinator"), json={"hidden": True})  # fmt: skip
    assert response.status_code == 404
    spec = client.get(f"{API}/openapi.json").json
    assert "post" in spec["paths"]["/api/v1/networks/{slug}/reports/{report_id}/forward"]


def test_no_pass_on_once_the_channel_is_no_longer_shared(client, run, fed):
    _message_id, report_id = _setup(client, run, fed)
    share_id = run(lambda: session.scalar(sa.select(SharedChannel.id)))
    response = client.delete(f"{API}/networks/test-net/federation/shared-channels/{share_id}",
                             headers=bearer(fed, "member_coordinator"))  # fmt: skip
    assert response.status_code == 204
    act_as(client, fed, "member_meta")
    queue = client.get(QUEUE).get_data(as_text=True)
    assert "Pass on to" not in queue and _suspend_href(fed.ids["fed_mentor"]) not in queue
    assert (
        "Fanny Mentor is not a member of Test Network: you can hide the message, but not suspend them."
        in queue
    )
    assert _forward(client, fed, "member_meta", report_id, "fed-net").status_code == 422
