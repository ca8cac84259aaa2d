"""Privacy: export, erasure (with a scan of every column of every table), consent, retention."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.audit.models import AuditLog
from network_service.courses.models import CompletionEvent
from network_service.db import Base, session, utcnow
from network_service.notifications.operations import notify
from network_service.privacy import operations
from network_service.privacy.pseudonyms import learner_pseudonym
from tests import privacy_support as ps
from tests.helpers import csrf_from, mails, sign_in_as

NEEDLES = [ps.EMAIL, ps.NAME, ps.LTI_SUB, ps.LMS_USERNAME, ps.XAPI_ACCOUNT]


@pytest.fixture
def everything(run, world, app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield run(ps.build_everything, world, tmp_path / "uploads")
    app.config["UPLOAD_DIR"] = None


def _scan(connection) -> list[str]:
    """Every (table, column) whose value contains one of the person's identifiers, by reflection."""
    metadata = sa.MetaData()
    metadata.reflect(bind=connection)
    found = []
    for table in metadata.sorted_tables:
        for row in connection.execute(sa.select(table)).mappings():
            for column, value in row.items():
                if value is None:
                    continue
                text = (
                    json.dumps(value, default=str, ensure_ascii=False)
                    if not isinstance(value, str)
                    else value
                ).lower()
                for needle in NEEDLES:
                    if needle.lower() in text:
                        found.append(f"{table.name}.{column} contains {needle!r}: {str(value)[:120]}")
    return found


def test_the_fixture_touches_every_table_that_points_at_a_person(everything, db_connection):
    counts = ps.rows_pointing_at(db_connection, Base.metadata, everything.person_id)
    assert [name for name, count in counts.items() if count == 0] == []
    assert _scan(db_connection)  # the scan finds the person before the erasure


@pytest.mark.parametrize("delete_contributions", [False, True])
def test_erasure_leaves_no_trace_in_any_column_of_any_table(
    everything, db_connection, client, run, delete_contributions
):
    sign_in_as(client, run, ps.EMAIL)
    page = client.get("/profile/erase")
    assert page.status_code == 200
    wrong = client.post(
        "/profile/erase", data={"csrf_token": csrf_from(page.get_data(as_text=True)), "confirm": "x"}
    )
    assert wrong.status_code == 422
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "confirm": ps.EMAIL.upper()}
    if delete_contributions:
        data["delete_contributions"] = "y"
    response = client.post("/profile/erase", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)

    assert _scan(db_connection) == [], "\n".join(_scan(db_connection))
    assert ps.rows_pointing_at(db_connection, Base.metadata, everything.person_id) == dict.fromkeys(
        ps.person_tables(Base.metadata), 0
    )

    bodies = [r[0] for r in db_connection.execute(sa.text("SELECT body FROM message")).all()]
    if delete_contributions:
        assert ps.DM_BODY not in bodies and "Hello from the new mentor" not in bodies
        assert not Path(everything.resource_path).exists()
    else:
        assert ps.DM_BODY in bodies  # kept, "former member"
        assert Path(everything.resource_path).exists()
    assert "Thanks, former member!" in bodies  # someone else's message keeps its words, not the name
    # growth: their own applications and guided start go; the network they started, the partner and
    # course-link requests stay (the organisations'), others' texts keep their words without the name
    one = lambda sql: db_connection.execute(sa.text(sql)).all()  # noqa: E731
    assert one("SELECT description FROM network WHERE slug = 'quixote-mentors'") == [
        ("Started by former member",)
    ]
    assert [r[0] for r in one("SELECT motivation FROM network_application")] == [
        "former member told me to apply"
    ]
    assert one("SELECT count(*) FROM network_start")[0][0] == 0
    partners = one("SELECT requested_by_id, decided_by_id, message FROM network_partner ORDER BY id")
    assert len(partners) == 2 and partners[0][0] is None and partners[1][1] is None
    assert one("SELECT count(*) FROM course_link_request WHERE requested_by_id IS NULL")[0][0] == 1
    assert one("SELECT count(*) FROM federation_link WHERE asked_by_id IS NULL")[0][0] == 1
    keys = [r[0] for r in db_connection.execute(sa.text("SELECT direct_key FROM channel")).all()]
    assert not [k for k in keys if k and str(everything.person_id) in k.split("-")]

    entries = run(
        lambda: [
            (e.action, e.actor_id, e.detail)
            for e in session.scalars(sa.select(AuditLog).order_by(AuditLog.id))
        ]
    )
    erase = [e for e in entries if e[0] == "privacy.erase"]
    assert len(erase) == 1 and erase[0][2]["by"] == "self"
    pseudonym = erase[0][2]["subject"]
    assert pseudonym.startswith("erased-")
    kept = [e for e in entries if e[0] == "profile.update"]
    assert kept and kept[0][1] is None and kept[0][2]["actor"] == pseudonym  # kept, pseudonymised

    # the session is gone: the profile asks to sign in
    assert client.get("/profile").status_code == 302
    # a repeated delivery of the erased person's completion is recognised when acted on: kept as ignored,
    # without what it brought, and nobody is invited
    from network_service.courses.models import CompletionEvent, CompletionStatus
    from network_service.courses.operations import process_received, record_completion

    def again():
        return record_completion(
            event_id="xapi-stmt-0001",
            source="xapi",
            course_key="course-v1:X+Y+Z",
            identity={"email": ps.EMAIL},
            payload={"actor": {"mbox": f"mailto:{ps.EMAIL}"}},
        )[0].id

    event_id = run(again)
    run(process_received, 20)
    event = run(lambda: session.get(CompletionEvent, event_id))
    assert (event.status, event.identity, event.payload) == (CompletionStatus.ignored, {}, None)
    assert run(lambda: mails(to=ps.EMAIL, kind="invitation")) == []
    assert _scan(db_connection) == []


def test_the_last_coordinator_cannot_erase_their_account(world, client, run):
    sign_in_as(client, run, "coord@example.org")
    page = client.get("/profile/erase").get_data(as_text=True)
    assert "only coordinator" in page
    response = client.post(
        "/profile/erase", data={"csrf_token": csrf_from(page), "confirm": "coord@example.org"}
    )
    assert response.status_code == 422
    assert (
        run(lambda: session.scalar(sa.select(Person).where(Person.email == "coord@example.org"))) is not None
    )


def test_a_site_admin_erases_on_request_and_others_may_not(world, client, run):
    from network_service.accounts.operations import add_site_admin

    run(add_site_admin, "admin@example.org")
    sign_in_as(client, run, "meta@example.org")
    assert client.get("/admin/privacy/erase").status_code == 403
    client.post("/sign-out", data={"csrf_token": csrf_from(client.get("/profile").get_data(as_text=True))})
    sign_in_as(client, run, "admin@example.org")
    page = client.get("/admin/privacy/erase").get_data(as_text=True)
    response = client.post(
        "/admin/privacy/erase",
        data={"csrf_token": csrf_from(page), "email": "mentor@example.org", "confirm": "mentor@example.org"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert run(lambda: session.get(Person, world.mentor_id)) is None
    entry = run(lambda: session.scalar(sa.select(AuditLog).where(AuditLog.action == "privacy.erase")))
    assert entry.detail["by"] == "site_admin" and entry.actor_id is not None


def test_export_zip_has_every_section_and_the_files(everything, client, run, app):
    sign_in_as(client, run, ps.EMAIL)
    page = client.get("/profile/privacy").get_data(as_text=True)
    response = client.post("/profile/privacy/export", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    data = json.loads(archive.read("data.json"))
    sections = data["sections"]
    assert data["format"] == "mentornet-export"
    assert sections["accounts"]["profile"]["email"] == ps.EMAIL
    written = [m["body"] for m in sections["conversations"]["messages_written"]]
    assert ps.DM_BODY in written and ps.GROUP_BODY in written
    assert sections["networks"]["memberships"][0]["network"]["slug"] == "test-net"
    assert sections["networks"]["agreement_acceptances"]
    assert sections["help"]["requests_written"] and sections["help"]["responses_written"]
    assert sections["goals"]["progress_updates_written"]
    assert sections["meetings"]["rsvps"] and sections["notifications"]["settings"]
    assert sections["privacy"]["consent_records"] and sections["courses"]["completion_events"]
    assert sections["audit"]["entries"] and sections["lti"]["identities"][0]["sub"] == ps.LTI_SUB
    assert "token_hash" not in json.dumps(sections)
    growth = sections["growth"]
    assert [a["motivation"] for a in growth["applications"]] == [ps.APPLICATION_TEXT]
    assert len(growth["applications_decided"]) == 1
    assert [p["message"] for p in growth["partner_requests"]] == [ps.APPLICATION_TEXT]
    [decided] = growth["partner_requests_decided"]
    assert decided["decision_message"] == f"Yes. {ps.NAME}" and "message" not in decided
    assert growth["networks_started"][0]["data"]["slug"] == ps.STARTED_SLUG
    assert growth["course_link_requests"][0]["course_key"] == "course-v1:Q+Mentors+2026"
    federations = sections["federations"]
    assert federations["links_asked_or_accepted"][0]["status"] == "active"
    assert federations["channels_shared"] and federations["resources_shared"]
    assert sections["lti"]["coordinator_grants"][0]["course_key"] == "https://lms#ctx1"
    assert sections["lti"]["capstone_launches"][0]["tool"]["name"] == "quixote-capstone"
    [sign_in_mail] = [m for m in sections["mail"]["emails_to_you"] if m["kind"] == "sign_in"][:1]
    assert "body_text" not in sign_in_mail  # its link is a secret
    [name] = [n for n in archive.namelist() if n.startswith("files/")]
    assert archive.read(name) == b"my notes\n"
    # someone else's direct message is not in the export
    assert "Thanks, Zelda" not in json.dumps(
        sections["conversations"]["messages_written"], ensure_ascii=False
    )
    audit = run(lambda: session.scalar(sa.select(AuditLog).where(AuditLog.action == "privacy.export")))
    assert audit.target_id == everything.person_id


def test_export_over_the_api_and_its_daily_limit(world, client, run, app):
    sign_in_as(client, run, "mentor@example.org")
    limit = app.config["PRIVACY_EXPORTS_PER_DAY"]
    for _ in range(limit):
        response = client.get("/api/v1/privacy/export")
        assert response.status_code == 200
        assert response.json["sections"]["accounts"]["profile"]["email"] == "mentor@example.org"
    refused = client.get("/api/v1/privacy/export")
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert client.get("/api/v1/privacy/export", headers={"Cookie": ""}).status_code in (200, 429)


def test_export_needs_a_signed_in_person(client, world):
    assert client.get("/api/v1/privacy/export").status_code == 401
    assert client.get("/profile/privacy").status_code == 302


def test_withdrawing_email_consent_stops_notification_mail(world, client, run):
    sign_in_as(client, run, "mentor@example.org")
    page = client.get("/profile/privacy").get_data(as_text=True)
    assert "E-mails about activity in my networks" in page
    response = client.post(
        "/profile/privacy/consents", data={"csrf_token": csrf_from(page), "profile_sharing": "yes"}
    )
    assert response.status_code == 302
    assert "You stopped them on" in client.get("/profile/privacy").get_data(as_text=True)

    def send():
        mentor = session.get(Person, world.mentor_id)
        from network_service.notifications.models import EmailFrequency
        from network_service.notifications.operations import set_frequency

        set_frequency(mentor, EmailFrequency.immediately, actor=mentor)  # even so: consent wins
        notify([mentor], "help.matched", url="/", author="Someone", topic="Housing")
        return len(mails(to="mentor@example.org", kind="notification.help.matched"))

    assert run(send) == 0
    api = client.get("/api/v1/privacy/consents").json["items"]
    assert {i["purpose"]: i["given"] for i in api} == {"email_notifications": False, "profile_sharing": True}
    token = csrf_from(client.get("/profile/privacy").get_data(as_text=True))
    again = client.put(
        "/api/v1/privacy/consents",
        json={"purpose": "email_notifications", "given": True},
        headers={"X-CSRFToken": token},
    )
    assert again.status_code == 200
    records = run(
        lambda: [
            (c.purpose, c.given, c.text_version)
            for c in session.scalars(
                sa.select(operations.ConsentRecord).order_by(operations.ConsentRecord.id)
            )
        ]
    )
    assert ("email_notifications", False, "2026-11-29") in records and records[-1][:2] == (
        "email_notifications",
        True,
    )


def test_retention_purges_old_payloads_and_sent_mail_and_keeps_the_event_ids(world, run, app):
    from network_service.courses.operations import record_completion
    from network_service.jobs import run_job

    def store():
        old, _new = record_completion(
            event_id="evt-old",
            source="xapi",
            course_key="course-v1:X+Y+Z",
            identity={
                "platform": "openedx",
                "username": "u1",
                "email": "old@example.org",
                "name": "Old Learner",
            },
            payload={"actor": {"mbox": "mailto:old@example.org"}},
        )
        old.received_at = utcnow() - dt.timedelta(days=91)
        old.status = "invited"
        waiting, _new = record_completion(
            event_id="evt-waiting",
            source="xapi",
            course_key="course-v1:Nope",
            identity={"email": "wait@example.org"},
            payload={"x": 1},
        )
        waiting.received_at = utcnow() - dt.timedelta(days=91)
        waiting.status = "unknown_course"
        record_completion(
            event_id="evt-new",
            source="xapi",
            course_key="course-v1:X+Y+Z",
            identity={"email": "new@example.org"},
            payload={"x": 2},
        )

    run(store)

    def mail_out():
        from network_service.mail.models import MailStatus, OutboundEmail
        from network_service.mail.operations import queue_mail

        for address, status, days in [
            ("old@example.org", "sent", 31),
            ("recent@example.org", "sent", 2),
            ("failed@example.org", "failed", 60),
        ]:
            mail = queue_mail(
                "sign_in", address, "sign_in", person=None, link="http://x/sign-in/t", minutes=30
            )
            mail.status, mail.sent_at = MailStatus(status), utcnow() - dt.timedelta(days=days)
        session.flush()
        return session.scalar(sa.select(sa.func.count(OutboundEmail.id)))

    assert run(mail_out) == 3
    with app.test_request_context():
        assert run_job(app, "privacy.retention", force=True)
    assert {m.to_address for m in run(mails)} == {"recent@example.org", "failed@example.org"}

    def state():
        return {
            e.event_id: (e.identity, e.payload)
            for e in session.scalars(sa.select(CompletionEvent).order_by(CompletionEvent.id))
        }

    events = run(state)
    pseudonym = run(lambda: learner_pseudonym("openedx", "u1"))
    assert events["evt-old"] == ({"platform": "openedx", "pseudonym": pseudonym}, None)
    assert events["evt-waiting"] == ({}, None)  # expired: see the next test
    assert events["evt-new"] == ({"email": "new@example.org"}, {"x": 2})
    assert (
        run(lambda: record_completion(event_id="evt-old", source="xapi", course_key="c", identity={})[1])
        is False
    )


def _completion(event_id, identity, *, days_old, status, course="course-v1:X+Y+Z", person_id=None):
    from network_service.courses.operations import record_completion

    event, _new = record_completion(
        event_id=event_id,
        source="test",
        course_key=course,
        identity=identity,
        payload={"identity": identity, "event": event_id},
    )
    event.received_at = utcnow() - dt.timedelta(days=days_old)
    event.status, event.person_id = status, person_id
    session.flush()
    return event.id


def _events(run) -> dict[int, CompletionEvent]:
    return run(lambda: {e.id: e for e in session.scalars(sa.select(CompletionEvent))})


WAITING = ["received", "unknown_course", "unknown_identity", "failed"]


def test_old_waiting_events_expire_and_lose_the_learner_and_recent_ones_wait(world, run, app):
    from network_service.courses.operations import replay_completions

    def store():
        old = {
            status: _completion(
                f"old-{status}",
                {"platform": "openedx", "username": f"learner-{status}", "email": f"{status}@example.org"},
                days_old=91,
                status=status,
            )
            for status in WAITING
        }
        recent = _completion(
            "recent-waiting",
            {"platform": "openedx", "username": "patient", "name": "Pat Ient"},
            days_old=89,
            status="unknown_identity",
        )
        return old, recent

    old, recent = run(store)
    assert run(operations.purge_completion_payloads) == 4
    events = _events(run)
    for status, event_id in old.items():
        event = events[event_id]
        assert event.status.value == "expired"
        assert event.outcome_detail.startswith(f"expired: still {status} 90 days after it was received")
        assert event.processed_at is not None and event.payload is None
        pseudonym = run(lambda status=status: learner_pseudonym("openedx", f"learner-{status}"))
        assert event.identity == {"platform": "openedx", "pseudonym": pseudonym}
    waiting = events[recent]
    assert (waiting.status.value, waiting.identity, waiting.payload["event"]) == (
        "unknown_identity",
        {"platform": "openedx", "username": "patient", "name": "Pat Ient"},
        "recent-waiting",
    )
    # expired events are no longer acted on: a replay (linking the course) leaves them
    assert run(replay_completions) == {"unknown_course": 1}  # only the recent one (its course is unlinked)
    assert _events(run)[old["unknown_course"]].status.value == "expired"
    entries = run(
        lambda: [
            e.detail
            for e in session.scalars(sa.select(AuditLog).where(AuditLog.action == "privacy.retention"))
        ]
    )
    assert entries == [
        {
            "purged": 4,
            "expired": 4,
            "expired_by_status": dict.fromkeys(WAITING, 1),
            "event_ids_replaced": 0,
            "days": 90,
        }
    ]
    assert run(operations.purge_completion_payloads) == 0  # nothing left to do the next day


def test_after_the_retention_period_no_completion_event_names_the_learner(world, run, app, db_connection):
    from lti_bridge.reconcile import _event_id

    username, email, name, sub, account = (
        "dulcinea42",
        "dulcinea@example.org",
        "Dulcinea Toboso",
        "sub-7f3e",
        "acct-dt",
    )
    needles = [username, email, name, sub, account]

    def store():
        return [
            # reconciliation (before sp9001 its ids held the username), an Open edX push, a manual provision, a
            # gated LTI launch waiting for an address, an xAPI statement with an account
            _completion(
                f"openedx-reconcile:course-v1:X+Y+Z:{username}",
                {"platform": "openedx", "username": username, "email": email},
                days_old=120,
                status="invited",
            ),
            _completion(
                "6f1c2a9e-0b7d-4c55-9a41-2f8e0d3b7c11",
                {"platform": "openedx", "user_id": 4242, "username": username, "email": email, "name": name},
                days_old=95,
                status="already_member",
            ),
            _completion(
                f"manual:course-v1:X+Y+Z:{email}",
                {"email": email, "name": name},
                days_old=200,
                status="invited",
            ),
            _completion(
                f"lti:1:{sub}:course-v1:X+Y+Z",
                {"lti_platform": 1, "lti_sub": sub, "name": name},
                days_old=91,
                status="unknown_identity",
            ),
            _completion(
                "xapi-0001",
                {"platform": "xapi", "account": {"homePage": "https://lms", "name": account}},
                days_old=91,
                status="not_passing",
            ),
            # purged by an earlier version: kept the username in clear, and an e-mail in its id
            _completion(f"manual:course-v1:A+B+C:{email}", {}, days_old=400, status="invited"),
        ]

    ids = run(store)
    assert _completion_rows_naming(db_connection, needles)  # the scan sees them before
    assert run(operations.purge_completion_payloads) == 6
    assert _completion_rows_naming(db_connection, needles) == []
    events = _events(run)
    pseudonym = run(lambda: learner_pseudonym("openedx", username))
    assert (
        events[ids[0]].identity == events[ids[1]].identity == {"platform": "openedx", "pseudonym": pseudonym}
    )
    # reconciliation's old id gave way; the source's own id (a UUID) stays, so a redelivery is still recognised
    assert events[ids[0]].event_id.startswith("retained:")
    assert events[ids[1]].event_id == "6f1c2a9e-0b7d-4c55-9a41-2f8e0d3b7c11"
    assert events[ids[2]].event_id.startswith("retained:") and events[ids[5]].event_id.startswith("retained:")
    assert events[ids[3]].identity == {} and events[ids[3]].status.value == "expired"
    assert events[ids[4]].identity == {"platform": "xapi"}
    assert len({e.event_id for e in events.values()}) == len(events)
    # reconciliation's new ids name the learner by pseudonym only, and stay
    assert (
        run(lambda: _event_id("course-v1:X+Y+Z", username))
        == f"openedx-reconcile:course-v1:X+Y+Z:{pseudonym}"
    )


def _completion_rows_naming(connection, needles) -> list[str]:
    """Every completion_event row whose text (every column) holds one of the needles, any case."""
    found = []
    for row in connection.execute(sa.select(CompletionEvent.__table__)).mappings():
        text = json.dumps(dict(row), default=str, ensure_ascii=False).lower()
        found += [f"{row['event_id']}: {needle}" for needle in needles if needle.lower() in text]
    return found


def test_the_learner_pseudonym_is_keyed_by_a_stored_key_not_the_secret_key(world, run, app):
    import hashlib
    import hmac

    from network_service.privacy.models import PrivacyKey

    before = run(lambda: learner_pseudonym("openedx", "grace"))
    stored = run(lambda: session.get(PrivacyKey, "completion_pseudonym").secret)
    assert before == hmac.new(bytes.fromhex(stored), b"openedx\ngrace", hashlib.sha256).hexdigest()
    assert before != run(lambda: learner_pseudonym("openedx", "grace2"))
    assert before != run(lambda: learner_pseudonym("xapi", "grace"))
    secret = app.config["SECRET_KEY"]
    try:
        app.config["SECRET_KEY"] = "rotated-" + secret
        assert run(lambda: learner_pseudonym("openedx", "grace")) == before
    finally:
        app.config["SECRET_KEY"] = secret
    app.extensions.pop("mentornet.privacy.keys", None)  # read again from the database: the same key
    assert run(lambda: learner_pseudonym("openedx", "grace")) == before


def test_an_erasure_finds_the_persons_events_kept_under_their_pseudonym(world, run, app, db_connection):
    from network_service.accounts.operations import create_person

    def store():
        person = create_person("sancho@example.org", "Sancho Panza")
        session.flush()
        identity = {"platform": "openedx", "username": "sancho9", "email": "sancho@example.org"}
        invited = _completion("p-1", identity, days_old=10, status="invited", person_id=person.id)
        # the same learner's pass in another course, older than the retention period, not acted on for them
        expired = _completion(
            "p-2", identity, days_old=100, status="unknown_course", course="course-v1:O+T+H"
        )
        return person.id, invited, expired

    person_id, invited, expired = run(store)
    run(operations.purge_completion_payloads)
    assert _events(run)[expired].identity["pseudonym"] == run(lambda: learner_pseudonym("openedx", "sancho9"))
    run(lambda: operations.erase_person(session.get(Person, person_id), None, confirm="sancho@example.org"))
    events = _events(run)
    for event_id in (invited, expired):
        assert events[event_id].identity == {} and events[event_id].event_id.startswith("erased:")


def test_withdrawing_profile_sharing_hides_the_profile_from_others(world, client, run):
    def match():
        from network_service.help.matching import rank
        from network_service.help.models import HelpRequest

        request = HelpRequest(
            network_id=world.network_id, author_id=world.coordinator_id, topic="t", languages=["Arabic"]
        )
        session.add(request)
        session.flush()
        return [(s.person_id, s.reasons) for s in rank(request)]

    before = dict(run(match))
    assert "Arabic" in json.dumps(before[world.mentor_id])  # matched on the language, while shared

    sign_in_as(client, run, "mentor@example.org")
    page = client.get("/profile/privacy").get_data(as_text=True)
    client.post(
        "/profile/privacy/consents",
        data={"csrf_token": csrf_from(page), "email_notifications": "y", "profile_sharing": "no"},
    )
    # the mentor still sees their own languages
    assert "Arabic" in client.get(f"/networks/{world.slug}/members").get_data(as_text=True)
    client.post("/sign-out", data={"csrf_token": csrf_from(client.get("/profile").get_data(as_text=True))})

    sign_in_as(client, run, "coord@example.org")
    members = client.get(f"/networks/{world.slug}/members").get_data(as_text=True)
    assert "Mina Mentor" in members and "Arabic" not in members
    api = client.get(f"/api/v1/networks/{world.slug}/members").json["items"]
    mina = [m["person"] for m in api if m["person"]["display_name"] == "Mina Mentor"][0]
    assert mina["languages"] == [] and mina["region"] == ""

    after = dict(run(match))
    assert "Arabic" not in json.dumps(after.get(world.mentor_id, []))


def test_erasure_over_the_api(world, client, run):
    from network_service.accounts.operations import create_api_token

    def token(person_id):
        return create_api_token(session.get(Person, person_id), "t")[1]

    coordinator = {"Authorization": f"Bearer {run(token, world.coordinator_id)}"}
    refused = client.post("/api/v1/privacy/erase", json={"confirm": "coord@example.org"}, headers=coordinator)
    assert refused.status_code == 409
    mentor = {"Authorization": f"Bearer {run(token, world.mentor_id)}"}
    wrong = client.post("/api/v1/privacy/erase", json={"confirm": "someone@example.org"}, headers=mentor)
    assert wrong.status_code == 422
    assert run(lambda: session.get(Person, world.mentor_id)) is not None
    done = client.post("/api/v1/privacy/erase", json={"confirm": "mentor@example.org"}, headers=mentor)
    assert done.status_code == 200 and done.json == {"erased": True}
    assert run(lambda: session.get(Person, world.mentor_id)) is None
    assert client.get("/api/v1/privacy/export", headers=mentor).status_code == 401  # its token went with it


def test_the_export_endpoint_is_rate_limited_per_client(database_url):
    from network_service.app import create_app
    from network_service.db import db
    from tests.databases import app_config

    limited = create_app(app_config(database_url, RATELIMIT_ENABLED=True))
    client = limited.test_client()
    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    statuses = [
        client.post("/profile/privacy/export", data={"csrf_token": token}).status_code for _i in range(7)
    ]
    db.dispose(limited)
    assert statuses == [302] * 5 + [429, 429]  # counted before signing in is checked


def test_a_stale_session_never_opens_a_later_account_with_the_same_id(world, client, run):
    from network_service.accounts.operations import create_person

    run(create_person, "last@example.org", "Last One")
    sign_in_as(client, run, "last@example.org")
    person_id = run(lambda: session.scalar(sa.select(Person.id).where(Person.email == "last@example.org")))
    run(lambda: operations.erase_person(session.get(Person, person_id), None, confirm="last@example.org"))
    newcomer = run(lambda: create_person("newcomer@example.org", "Newcomer").id)  # SQLite may reuse the id
    assert newcomer >= person_id
    response = client.get("/profile")
    assert response.status_code == 302 and "newcomer" not in response.get_data(as_text=True)


def test_withdrawn_email_consent_also_stops_digests(world, run):
    from network_service.notifications import operations as notifications
    from network_service.notifications.models import EmailFrequency, Notification

    monday = dt.datetime(2026, 11, 30, 2, tzinfo=dt.UTC)

    def pending(person_id):
        person = session.get(Person, person_id)
        [created] = notify([person], "help.matched", url="/", author="Someone", topic="Housing")
        created.created_at = monday
        notifications.set_frequency(person, EmailFrequency.daily, actor=person)

    def withdraw(person_id):
        person = session.get(Person, person_id)
        operations.set_consent(person, operations.EMAIL_NOTIFICATIONS, False, actor=person)
        notifications.set_frequency(person, EmailFrequency.daily, actor=person)  # chosen again afterwards

    run(pending, world.mentor_id)
    run(pending, world.meta_mentor_id)
    run(withdraw, world.mentor_id)
    assert run(notifications.send_due_digests, monday.replace(hour=8)) == 1  # the Meta-Mentor's only
    assert run(lambda: mails(to="mentor@example.org", kind="notification.digest")) == []
    assert run(lambda: len(mails(to="meta@example.org", kind="notification.digest"))) == 1
    assert run(lambda: session.scalar(sa.select(sa.func.count(Notification.id)))) >= 2


def test_the_operator_exports_and_erases_from_the_command_line(world, mentornet, run, tmp_path):
    from tests.helpers import assert_ok

    target = tmp_path / "export.zip"
    assert_ok(mentornet("privacy", "export", "mentor@example.org", "-o", str(target)))
    data = json.loads(zipfile.ZipFile(target).read("data.json"))
    assert data["sections"]["accounts"]["profile"]["email"] == "mentor@example.org"

    refused = mentornet("privacy", "erase", "coord@example.org", "--yes")
    assert refused.exit_code != 0 and "coordinator" in refused.output
    assert mentornet("privacy", "erase", "nobody@example.org", "--yes").exit_code != 0
    output = assert_ok(mentornet("privacy", "erase", "mentor@example.org", "--yes"))
    assert "erased-" in output
    assert run(lambda: session.get(Person, world.mentor_id)) is None
    entry = run(lambda: session.scalar(sa.select(AuditLog).where(AuditLog.action == "privacy.erase")))
    assert entry.detail["by"] == "operator" and entry.actor_id is None
