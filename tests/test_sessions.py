"""Revocable sessions: every signed-in browser has a record (accounts/sessions.py) that the member sees and ends;
sign-out, erasure and a site administrator end them on the server, whatever copy of the cookie is left."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from network_service.accounts.models import DeviceSession, Person
from network_service.accounts.operations import add_site_admin
from network_service.accounts.sessions import describe_user_agent, prune_sessions, start_session
from network_service.audit.models import AuditLog
from network_service.db import db, session, utcnow
from network_service.privacy.operations import export_data
from tests.helpers import csrf_from, session_data, sign_in_as

pytest_plugins = ("tests.lti_platform",)  # the stand-in platform, for the LTI launch

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Mobile Safari/537.36"
)
MENTOR = "mentor@example.org"
COORDINATOR = "coord@example.org"


def _client(app, run, email: str, user_agent: str = FIREFOX):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    sign_in_as(client, run, email)
    return client


def _signed_in(client) -> bool:
    return client.get("/profile").status_code == 200


def _devices(run, email: str = MENTOR) -> list[DeviceSession]:
    return run(
        lambda: list(
            session.scalars(
                sa.select(DeviceSession)
                .join(Person, Person.id == DeviceSession.person_id)
                .where(Person.email == email)
                .order_by(DeviceSession.created_at)
            )
        )
    )


def _sid(client) -> str:
    with client.session_transaction() as flask_session:
        return flask_session["sid"]


def _csrf(client, path: str = "/profile/sessions") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def test_each_sign_in_is_a_device_the_member_sees(app, run, world):
    laptop = _client(app, run, MENTOR)
    _client(app, run, MENTOR, PHONE)
    devices = _devices(run)
    assert [(d.browser, d.system, d.via) for d in devices] == [
        ("Firefox", "Linux", "link"),
        ("Chrome", "Android", "link"),
    ]
    assert {d.id for d in devices} >= {_sid(laptop)}
    page = laptop.get("/profile/sessions")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Firefox on Linux" in html and "Chrome on Android" in html
    assert html.count("This device") == 1
    assert "Last active: in the last few minutes" in html
    assert "/profile/sessions" in laptop.get("/profile").get_data(as_text=True)


def test_signing_in_again_in_the_same_browser_ends_its_earlier_session(app, run, world):
    client = _client(app, run, MENTOR)
    first = _sid(client)
    sign_in_as(client, run, MENTOR)
    assert first not in {d.id for d in _devices(run)} and len(_devices(run)) == 1


def test_signing_in_as_someone_else_in_the_same_browser_ends_the_first_persons_session(app, run, world):
    client = _client(app, run, MENTOR)
    first, first_cookie = _sid(client), client.get_cookie("mentornet_session").value
    sign_in_as(client, run, COORDINATOR)  # the earlier session's row becomes the new one (start_session)
    assert _devices(run) == []
    [device] = _devices(run, COORDINATOR)
    assert device.id == _sid(client) != first and device.via == "link" and device.browser == "Firefox"
    copy = app.test_client()
    copy.set_cookie("mentornet_session", first_cookie)
    assert copy.get("/api/v1/me").status_code == 401  # the mentor's old cookie is worth nothing


def test_a_sign_in_whose_earlier_session_is_gone_or_someone_elses_inserts_a_record(app, run, world):
    laptop = _client(app, run, MENTOR)

    def sign_in_replacing(old_sid):
        person = session.scalar(sa.select(Person).where(Person.email == MENTOR))
        return start_session(person, FIREFOX, "link", replacing=old_sid).id

    gone = run(lambda: sign_in_replacing("revoked-or-pruned"))  # no row to reuse: a new one
    fresh = run(lambda: sign_in_replacing(None))
    assert {d.id for d in _devices(run)} == {_sid(laptop), gone, fresh}
    replaced = run(lambda: sign_in_replacing(gone))  # its row, with a new id
    assert {d.id for d in _devices(run)} == {_sid(laptop), fresh, replaced}
    assert _signed_in(laptop)


def test_sign_out_revokes_the_session_on_the_server_even_for_a_copied_cookie(app, run, world):
    client = _client(app, run, MENTOR)
    stolen = client.get_cookie("mentornet_session").value
    assert client.post("/sign-out", data={"csrf_token": _csrf(client)}).status_code == 302
    assert _devices(run) == []
    thief = app.test_client()
    thief.set_cookie("mentornet_session", stolen)
    assert thief.get("/profile").status_code == 302  # to sign-in: the copy is worthless
    assert thief.get("/api/v1/me").status_code == 401


def test_a_member_signs_out_one_other_device(app, run, world):
    laptop = _client(app, run, MENTOR)
    phone = _client(app, run, MENTOR, PHONE)
    response = laptop.post(f"/profile/sessions/{_sid(phone)}/sign-out", data={"csrf_token": _csrf(laptop)})
    assert response.status_code == 302 and response.headers["Location"] == "/profile/sessions"
    assert not _signed_in(phone)
    assert _signed_in(laptop)
    # the phone's browser forgets its session: a later sign-in there starts afresh
    with phone.session_transaction() as flask_session:
        assert "person_id" not in flask_session


def test_signing_out_one_device_is_audited_like_the_others_without_its_id(app, run, world):
    from network_service.audit.labels import action_label

    laptop = _client(app, run, MENTOR)
    phone = _client(app, run, MENTOR, PHONE)
    phone_sid = _sid(phone)
    laptop.post(f"/profile/sessions/{phone_sid}/sign-out", data={"csrf_token": _csrf(laptop)})
    [entry] = run(
        lambda: list(session.scalars(sa.select(AuditLog).where(AuditLog.action == "sessions.revoke_one")))
    )
    assert (entry.actor_id, entry.target_id) == (world.mentor_id, world.mentor_id)
    assert entry.detail == {"browser": "Chrome", "system": "Android"}
    assert phone_sid not in str(entry.detail)  # the id is the cookie's secret: never in the log
    assert action_label("sessions.revoke_one") == "One device signed out"
    # a refused attempt (already signed out) writes nothing more
    again = laptop.post(f"/profile/sessions/{phone_sid}/sign-out", data={"csrf_token": _csrf(laptop)})
    assert again.status_code == 404
    assert (
        run(
            lambda: session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditLog)
                .where(AuditLog.action == "sessions.revoke_one")
            )
        )
        == 1
    )


def test_someone_elses_session_cannot_be_signed_out(app, run, world):
    mentor = _client(app, run, MENTOR)
    coordinator = _client(app, run, "coord@example.org")
    response = mentor.post(
        f"/profile/sessions/{_sid(coordinator)}/sign-out", data={"csrf_token": _csrf(mentor)}
    )
    assert response.status_code == 404
    assert _signed_in(coordinator)


def test_sign_out_all_other_devices_keeps_this_one(app, run, world):
    laptop = _client(app, run, MENTOR)
    others = [_client(app, run, MENTOR, PHONE), _client(app, run, MENTOR)]
    other_person = _client(app, run, "coord@example.org")
    response = laptop.post("/profile/sessions/sign-out-others", data={"csrf_token": _csrf(laptop)})
    assert response.status_code == 302
    assert [_signed_in(c) for c in others] == [False, False]
    assert _signed_in(laptop) and _signed_in(other_person)
    assert [d.id for d in _devices(run)] == [_sid(laptop)]
    entry = run(
        lambda: session.scalar(sa.select(AuditLog).where(AuditLog.action == "sessions.revoke_others"))
    )
    assert entry.detail["count"] == 2 and entry.target_id == world.mentor_id


def test_sign_out_everywhere_ends_this_session_too(app, run, world):
    laptop = _client(app, run, MENTOR)
    phone = _client(app, run, MENTOR, PHONE)
    response = laptop.post("/profile/sessions/sign-out-all", data={"csrf_token": _csrf(laptop)})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert not _signed_in(laptop) and not _signed_in(phone)
    assert _devices(run) == []


def test_erasure_ends_every_session(app, run, world):
    laptop = _client(app, run, MENTOR)
    phone = _client(app, run, MENTOR, PHONE)
    token = _csrf(laptop, "/profile/erase")
    response = laptop.post("/profile/erase", data={"csrf_token": token, "confirm": MENTOR})
    assert response.status_code == 302
    assert not _signed_in(phone) and not _signed_in(laptop)
    assert run(lambda: session.scalar(sa.select(sa.func.count()).select_from(DeviceSession))) == 0


def test_a_site_admin_signs_someone_out_everywhere(app, run, world):
    run(lambda: add_site_admin("admin@example.org"))
    admin = _client(app, run, "admin@example.org")
    phone = _client(app, run, MENTOR, PHONE)
    laptop = _client(app, run, MENTOR)
    token = _csrf(admin, "/admin/sessions")
    response = admin.post(
        "/admin/sessions", data={"csrf_token": token, "email": "Mentor@Example.org", "reason": "phone stolen"}
    )
    assert response.status_code == 302
    assert not _signed_in(phone) and not _signed_in(laptop) and _signed_in(admin)
    entry = run(lambda: session.scalar(sa.select(AuditLog).where(AuditLog.action == "sessions.revoke_all")))
    assert (entry.actor_id, entry.target_id) == (run(lambda: admin_id()), world.mentor_id)
    assert entry.detail == {"count": 2, "reason": "phone stolen"}
    # only site administrators
    mentor = _client(app, run, MENTOR)
    assert mentor.get("/admin/sessions").status_code == 403
    answer = mentor.post(
        "/admin/sessions", data={"csrf_token": _csrf(mentor), "email": "admin@example.org", "reason": "x"}
    )
    assert answer.status_code == 403 and _signed_in(admin)


def admin_id() -> int:
    return session.scalar(sa.select(Person.id).where(Person.email == "admin@example.org"))


def test_admin_sign_out_needs_a_known_address_and_a_reason(app, run, world):
    run(lambda: add_site_admin("admin@example.org"))
    admin = _client(app, run, "admin@example.org")
    token = _csrf(admin, "/admin/sessions")
    unknown = admin.post(
        "/admin/sessions", data={"csrf_token": token, "email": "nobody@example.org", "reason": "x"}
    )
    assert unknown.status_code == 422 and "There is no account with this address." in unknown.get_data(
        as_text=True
    )
    assert admin.post("/admin/sessions", data={"csrf_token": token, "email": MENTOR}).status_code == 422


def test_a_cookie_without_a_session_record_is_anonymous(app, client, run, world):
    """A cookie signed before sessions had records (or made with the key but not by a sign-in) opens nothing."""
    with client.session_transaction() as flask_session:
        flask_session["person_id"] = world.mentor_id
    assert client.get("/profile").status_code == 302
    with client.session_transaction() as flask_session:
        assert "person_id" not in flask_session  # forgotten
    with client.session_transaction() as flask_session:  # another person's session id is no key either
        other = session_data(app, world.coordinator_id)
        flask_session.update(other, person_id=world.mentor_id)
    assert client.get("/profile").status_code == 302


def test_a_session_idle_longer_than_a_cookie_lives_is_over(app, client, run, world):
    client.set_cookie("mentornet_session", "")
    with client.session_transaction() as flask_session:
        flask_session.update(session_data(app, world.mentor_id))
    sid = _sid(client)
    hours = app.config["SESSION_HOURS"]
    run(lambda: _age(sid, dt.timedelta(hours=hours - 1)))
    assert client.get("/profile").status_code == 200
    run(lambda: _age(sid, dt.timedelta(hours=hours, minutes=6)))
    assert client.get("/profile").status_code == 302
    assert _devices(run) == []


def _age(sid: str, by: dt.timedelta) -> None:
    device = session.get(DeviceSession, sid)
    device.last_seen_at = utcnow() - by
    device.created_at = device.last_seen_at


def test_one_statement_loads_the_person_and_last_seen_is_written_at_most_every_five_minutes(
    app, client, run, world
):
    with client.session_transaction() as flask_session:
        flask_session.update(session_data(app, world.mentor_id))
    sid = _sid(client)
    client.get("/profile")
    statements: list[str] = []

    def before(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        target = db.engine
    event.listen(target, "before_cursor_execute", before)
    try:
        statements.clear()
        assert client.get("/profile").status_code == 200
        touching = [s for s in statements if "device_session" in s]
        assert len(touching) == 1 and touching[0].lstrip().upper().startswith("SELECT")
        assert "JOIN device_session" in touching[0] and "FROM person" in touching[0]

        run(lambda: _age(sid, dt.timedelta(minutes=6)))
        statements.clear()
        assert client.get("/profile").status_code == 200
        touching = [s for s in statements if "device_session" in s]
        assert [s.lstrip().split()[0].upper() for s in touching] == ["SELECT", "UPDATE"]
        seen = run(lambda: session.get(DeviceSession, sid).last_seen_at)
        assert utcnow() - seen < dt.timedelta(minutes=1)

        statements.clear()
        client.get("/profile")
        assert [s.lstrip().split()[0].upper() for s in statements if "device_session" in s] == ["SELECT"]
    finally:
        event.remove(target, "before_cursor_execute", before)


def test_export_lists_the_sessions_without_their_ids(app, run, world):
    client = _client(app, run, MENTOR)
    sid = _sid(client)

    def exported():
        return export_data(session.get(Person, world.mentor_id))["sections"]["accounts"]["sessions"]

    [entry] = run(exported)
    assert entry["browser"] == "Firefox" and entry["system"] == "Linux" and entry["via"] == "link"
    assert "id" not in entry and sid not in str(entry)
    assert set(entry) == {"person_id", "created_at", "last_seen_at", "browser", "system", "via"}


def test_the_daily_privacy_job_deletes_expired_sessions(app, run, world):
    fresh = _client(app, run, MENTOR)
    stale = _client(app, run, MENTOR, PHONE)
    run(lambda: _age(_sid(stale), dt.timedelta(hours=app.config["SESSION_HOURS"] + 1)))
    assert run(prune_sessions) == 1
    assert [d.id for d in _devices(run)] == [_sid(fresh)]


def test_an_lti_launch_starts_a_session_record(client, platform, run):
    run(lambda: platform.register(trust_email=True))
    query = platform.begin_login(client)
    token = platform.id_token(query["nonce"], email="learner@example.org", name="Lea Learner")
    response = client.post("/lti/launch", data={"id_token": token, "state": query["state"]})
    assert response.status_code == 303
    [device] = _devices(run, "learner@example.org")
    assert device.via == "lti" and _sid(client) == device.id
    assert client.get("/profile").status_code == 200


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (FIREFOX, ("Firefox", "Linux")),
        (PHONE, ("Chrome", "Android")),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            ("Edge", "Windows"),
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.5 Mobile/15E148 Safari/604.1",
            ("Safari", "iOS"),
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/18.1 Safari/605.1.15",
            ("Safari", "macOS"),
        ),
        ("curl/8.5.0", ("", "")),
        (None, ("", "")),
    ],
)
def test_only_a_browser_and_system_name_are_kept(user_agent, expected):
    assert describe_user_agent(user_agent) == expected


def test_a_frame_session_from_an_lti_launch_is_a_device_and_is_revoked_like_any(app, client, platform, run):
    """The check reads the session id from the session data, whichever cookie carried it (the frame cookie of a
    launch inside a course page's frame, network_service/sessions.py)."""
    from tests.test_lti_frame_session import IN_FRAME, framed_launch

    run(lambda: platform.register(trust_email=True))
    response = framed_launch(client, platform, email="framed@example.org")
    assert response.status_code == 303
    client.get(response.headers["Location"], headers=IN_FRAME)
    assert client.get("/profile", headers=IN_FRAME).status_code == 200
    [device] = _devices(run, "framed@example.org")
    assert device.via == "lti"
    window = _client(app, run, "framed@example.org")  # the same learner in a window of their own
    token = _csrf(window)
    assert (
        window.post(f"/profile/sessions/{device.id}/sign-out", data={"csrf_token": token}).status_code == 302
    )
    assert client.get("/profile", headers=IN_FRAME).status_code == 302  # the frame is signed out
    assert _signed_in(window)
