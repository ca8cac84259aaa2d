"""POST /bridge/openedx/events: signed by our forwarder, or unsigned from openedx-webhooks with a URL token."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from lti_bridge.models import SourceKind
from lti_bridge.signing import SIGNATURE_HEADER, sign
from lti_bridge.sources import create_source, revoke_source
from network_service.audit.models import AuditLog
from network_service.courses.models import CompletionEvent, CompletionStatus
from network_service.db import db as sa_db
from network_service.db import session
from tests import bridge_payloads as payloads
from tests.databases import WEBHOOK_SECRET
from tests.helpers import act_on_received, mails


def post_signed(client, payload, secret=WEBHOOK_SECRET, body: bytes | None = None):
    body = body if body is not None else json.dumps(payload).encode()
    return client.post(
        "/bridge/openedx/events",
        data=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)},
    )


def events(run):
    return run(lambda: session.scalars(sa.select(CompletionEvent).order_by(CompletionEvent.id)).all())


def test_signed_passing_event_is_stored_and_invites_once(client, run, world):
    payload = payloads.passing_status("3f1e0c1e-0000-4000-8000-000000000001")
    response = post_signed(client, payload)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "received" and body["duplicate"] is False
    assert act_on_received(run) == 1
    again = post_signed(client, payload)
    assert again.status_code == 202 and again.get_json() == {**body, "status": "invited", "duplicate": True}
    assert act_on_received(run) == 0
    [event] = events(run)
    assert event.id == body["id"] and event.source == "openedx" and event.payload == payload
    assert event.identity["username"] == "grace" and event.identity["email"] == "grace@example.org"
    assert len(run(lambda: mails(to="grace@example.org"))) == 1


def test_a_pass_sent_without_email_is_acted_on_when_sent_again_with_one(client, run, world):
    """The endpoint stores a new event with one INSERT (receive_completion); a second delivery of the same
    event id that brings the e-mail address the first lacked is kept and wakes the drain again."""
    event_id = "3f1e0c1e-0000-4000-8000-00000000e3a1"
    first = post_signed(client, payloads.passing_status(event_id, email=""))
    assert first.status_code == 202 and first.get_json()["duplicate"] is False
    assert act_on_received(run) == 1
    assert events(run)[0].status == CompletionStatus.unknown_identity
    again = post_signed(client, payloads.passing_status(event_id))
    assert again.status_code == 202
    assert again.get_json() == {**first.get_json(), "status": "received", "duplicate": True}
    assert act_on_received(run) == 1
    [event] = events(run)
    assert event.status == CompletionStatus.invited and event.identity["email"] == "grace@example.org"
    assert len(run(lambda: mails(to="grace@example.org"))) == 1
    third = post_signed(client, payloads.passing_status(event_id))
    assert third.get_json() == {**first.get_json(), "status": "invited", "duplicate": True}
    assert act_on_received(run) == 0


def test_a_duplicate_costs_one_statement_on_postgresql_and_two_on_sqlite(app, client, run, world):
    """A source retrying an event it sent: the INSERT that finds the event id known also reads what the answer
    needs of the stored event (PostgreSQL: in the same statement), without loading its payload."""
    payload = payloads.passing_status("3f1e0c1e-0000-4000-8000-00000000d0b1")
    first = post_signed(client, payload).get_json()
    statements: list[str] = []

    def listener(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = sa_db.engine
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        again = post_signed(client, payload)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert again.status_code == 202 and again.get_json() == {**first, "duplicate": True}
    touching = [s for s in statements if "completion_event" in s]
    assert len(touching) == (1 if engine.dialect.name == "postgresql" else 2), touching
    assert not any("payload" in s.split("FROM")[0] for s in touching if s.lstrip().startswith("SELECT"))
    assert len(events(run)) == 1


def test_certificate_event_provisions_under_a_certificate_rule(client, run, world):
    from network_service.courses.models import CompletionRule
    from network_service.courses.operations import link_course
    from network_service.networks.models import Network
    from tests.helpers import COURSE

    run(
        lambda: link_course(
            COURSE, session.get(Network, world.network_id), actor=None, rule=CompletionRule.certificate
        )
    )
    post_signed(client, payloads.passing_status())
    post_signed(client, payloads.certificate_created())
    assert act_on_received(run) == 2
    passed, certificate = events(run)
    assert (passed.status, certificate.status) == (CompletionStatus.not_passing, CompletionStatus.invited)
    assert certificate.grade == pytest.approx(0.91)


def test_failing_status_is_stored_and_changes_nothing(client, run, world):
    response = post_signed(client, payloads.passing_status(is_passing="False"))
    assert response.status_code == 202 and response.get_json()["status"] == "received"
    act_on_received(run)
    assert events(run)[0].status == CompletionStatus.not_passing
    assert run(lambda: mails()) == []


def test_unknown_event_type_is_stored_and_ignored(client, run, world):
    response = post_signed(client, payloads.enrollment_created())
    assert response.status_code == 202 and response.get_json()["status"] == "ignored"
    [event] = events(run)
    assert event.status == CompletionStatus.ignored and "enrollment" in event.outcome_detail


@pytest.mark.parametrize(
    "headers",
    [{}, {SIGNATURE_HEADER: "sha256=" + "0" * 64}, {SIGNATURE_HEADER: "md5=abc"}],
    ids=["missing", "wrong", "malformed"],
)
def test_bad_signature_is_401_and_stores_only_an_audit_entry(client, run, world, headers):
    body = json.dumps(payloads.passing_status()).encode()
    response = client.post(
        "/bridge/openedx/events", data=body, headers={"Content-Type": "application/json", **headers}
    )
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert events(run) == []
    audit = run(
        lambda: session.scalars(sa.select(AuditLog).where(AuditLog.action == "bridge.auth_failed")).all()
    )
    assert len(audit) == 1 and audit[0].detail["path"] == "/bridge/openedx/events"
    # no IP address is stored anywhere (docs/privacy.md): not in the audit entry either
    assert set(audit[0].detail) == {"reason", "path"}
    assert "127.0.0.1" not in json.dumps(audit[0].detail)


def test_signature_from_another_secret_is_refused(client, run, world):
    assert post_signed(client, payloads.passing_status(), secret="someone-elses-secret").status_code == 401


def test_audit_entries_for_failures_are_throttled(client, run, world):
    for _attempt in range(5):
        client.post("/bridge/openedx/events", data=b"{}", headers={"Content-Type": "application/json"})
    audit = run(
        lambda: session.scalars(sa.select(AuditLog).where(AuditLog.action == "bridge.auth_failed")).all()
    )
    assert len(audit) == 1


def test_openedx_webhooks_with_a_source_token(client, run, world):
    _source, token = run(lambda: create_source("lms-webhooks", SourceKind.openedx_webhooks))
    payload = payloads.passing_status()
    response = client.post(
        f"/bridge/openedx/events/{token}",
        data=json.dumps(payload),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 202 and act_on_received(run) == 1
    assert events(run)[0].source == "openedx-webhooks:lms-webhooks"
    assert events(run)[0].status == CompletionStatus.invited

    run(lambda: revoke_source("lms-webhooks"))
    refused = client.post(f"/bridge/openedx/events/{token}", json=payloads.passing_status())
    assert refused.status_code == 401
    assert client.post("/bridge/openedx/events/not-a-token", json=payload).status_code == 401


def test_the_same_event_through_both_paths_is_one_event(client, run, world):
    _source, token = run(lambda: create_source("lms-webhooks", SourceKind.openedx_webhooks))
    payload = payloads.passing_status()
    post_signed(client, payload)
    second = client.post(f"/bridge/openedx/events/{token}", json=payload)
    assert second.get_json()["duplicate"] is True
    assert len(events(run)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "/"),
        (b"[]", "/"),
        (json.dumps({"event_metadata": {}}).encode(), "/event_metadata/id"),
        (
            json.dumps(
                {
                    "openedx_events.learning.data.CoursePassingStatusData": {"user": {}},
                    "event_metadata": {"id": "x"},
                }
            ).encode(),
            "/openedx_events.learning.data.CoursePassingStatusData/course",
        ),
    ],
    ids=["not-json", "not-object", "no-id", "no-course"],
)
def test_malformed_events_are_400_naming_the_field(client, run, world, body, field):
    response = post_signed(client, None, body=body)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]
    assert events(run) == []


def test_form_encoded_webhooks_are_told_to_send_json(client, run, world):
    _source, token = run(lambda: create_source("lms-webhooks", SourceKind.openedx_webhooks))
    response = client.post(f"/bridge/openedx/events/{token}", data={"a": "b"})
    assert response.status_code == 415


def test_body_over_one_megabyte_is_413(client, world):
    body = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    assert post_signed(client, None, body=body).status_code == 413


def test_without_a_configured_secret_nothing_is_accepted(app, client, world):
    app.config["WEBHOOK_SECRET"] = None
    try:
        assert post_signed(client, payloads.passing_status(), secret="").status_code == 401
    finally:
        app.config["WEBHOOK_SECRET"] = WEBHOOK_SECRET


def test_overlong_course_key_and_nul_characters_are_refused_not_crashed(client, run, world):
    too_long = post_signed(client, payloads.passing_status(course="course-v1:" + "x" * 300))
    assert too_long.status_code == 422 and "course_key" in too_long.get_json()["errors"]
    nul = payloads.passing_status()
    nul["openedx_events.learning.data.CoursePassingStatusData"]["user"]["pii"]["name"] = "Gr\x00ce"
    response = post_signed(client, nul)
    assert response.status_code == 400 and "NUL" in response.get_json()["detail"]
    assert events(run) == []
