"""The frame session: after a launch inside a course page's frame on another site, the whole site works in the
frame (its own SameSite=None; Partitioned cookie, bound to the launch), while the first-party session stays Lax
and is never replaced by it. The browser side (Chromium, a platform on another site) is in
tests/browser/test_lti_storage.py."""

from __future__ import annotations

import time

import pytest
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

from network_service.sessions import FRAME_COOKIE, MentorNetSessionInterface
from tests.helpers import csrf_from

pytest_plugins = ("tests.lti_platform",)

COURSE_ORIGIN = (
    "https://course.example.test"  # the page that posts the launch form (Canvas: not the OIDC host)
)
IN_FRAME = {"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}
IN_WINDOW = {"Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"}


def _set_cookies(response) -> dict[str, str]:
    """name -> the whole Set-Cookie header."""
    found = {}
    for header in response.headers.getlist("Set-Cookie"):
        found[header.split("=", 1)[0]] = header
    return found


def _attributes(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


def framed_launch(client, platform, sub="framed-1", email="framed@example.org", site="cross-site"):
    query = platform.begin_login(client)
    token = platform.id_token(query["nonce"], sub=sub, email=email)
    return client.post(
        "/lti/launch",
        data={"id_token": token, "state": query["state"]},
        headers={
            "Origin": COURSE_ORIGIN,
            "Sec-Fetch-Dest": "iframe",
            "Sec-Fetch-Site": site,
            "Sec-Fetch-Mode": "navigate",
        },
    )


@pytest.fixture
def trusted(platform, run):
    run(lambda: platform.register(trust_email=True))
    return platform


def test_a_launch_in_a_frame_on_another_site_starts_a_frame_session_only(client, trusted):
    response = framed_launch(client, trusted)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].startswith("/lti/frame?t=")
    cookies = _set_cookies(response)
    assert "mentornet_session" not in cookies  # a Lax cookie set from a third-party frame: browsers drop it
    assert {"secure", "httponly", "samesite=none", "partitioned", "path=/"} <= _attributes(
        cookies[FRAME_COOKIE]
    )
    assert any(a.startswith("expires=") for a in _attributes(cookies[FRAME_COOKIE]))  # the session's hours

    # the check: the cookie came back in the frame, so on to the page the link was made for
    check = client.get(response.headers["Location"], headers=IN_FRAME)
    assert check.status_code == 303 and check.headers["Location"] == "/"
    home = client.get("/", headers=IN_FRAME)
    assert home.status_code == 200 and "Sign out" in home.get_data(as_text=True)
    # its pages may be framed by the page that posted the launch and by the platform, by nobody else
    policy = home.headers["Content-Security-Policy"]
    assert f"frame-ancestors {COURSE_ORIGIN} {trusted.base_url}" in policy
    assert "X-Frame-Options" not in home.headers
    assert home.headers["Cache-Control"] == "no-store"


def test_the_frame_session_is_not_used_outside_a_frame(client, trusted):
    framed_launch(client, trusted)
    for headers in (IN_WINDOW, {}):  # a window of mentorNET, or a request that says nothing
        response = client.get("/", headers=headers)
        assert "Sign out" not in response.get_data(as_text=True)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"


def test_a_first_party_session_wins_over_the_frame_session(client, trusted, run, world):
    framed_launch(client, trusted)  # framed@example.org in the frame
    query = trusted.begin_login(client)
    client.post(  # mentor@example.org in a window: the Lax session
        "/lti/launch",
        data={
            "id_token": trusted.id_token(query["nonce"], sub="m", email="mentor@example.org"),
            "state": query["state"],
        },
    )
    with client.session_transaction() as first_party:
        assert first_party["person_id"] == world.mentor_id
    page = client.get("/", headers=IN_FRAME)  # a frame on the same site gets the Lax cookie too
    assert (
        "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    )  # the first-party session's page


def test_a_frame_on_the_same_site_keeps_the_first_party_session(client, trusted):
    response = framed_launch(client, trusted, site="same-site")
    assert response.headers["Location"] == "/"
    assert "mentornet_session" in _set_cookies(response) and FRAME_COOKIE not in _set_cookies(response)


def test_csrf_is_enforced_in_the_frame_and_signing_out_there_ends_the_frame_session(client, trusted):
    framed_launch(client, trusted)
    assert client.post("/sign-out", headers=IN_FRAME).status_code == 400  # no token
    token = csrf_from(client.get("/", headers=IN_FRAME).get_data(as_text=True))
    response = client.post("/sign-out", data={"csrf_token": token}, headers=IN_FRAME)
    assert response.status_code in (302, 303)
    deleted = _set_cookies(response)[FRAME_COOKIE]
    assert deleted.startswith(f"{FRAME_COOKIE}=;") and "partitioned" in _attributes(deleted)
    assert "Sign out" not in client.get("/", headers=IN_FRAME).get_data(as_text=True)


def test_each_launch_in_the_frame_rotates_the_frame_session(client, trusted):
    framed_launch(client, trusted)
    first = client.get_cookie(FRAME_COOKIE).value
    token = csrf_from(client.get("/", headers=IN_FRAME).get_data(as_text=True))
    framed_launch(client, trusted)
    second = client.get_cookie(FRAME_COOKIE).value
    assert first != second
    # a new session: the CSRF token of the earlier one is no longer accepted
    assert client.post("/sign-out", data={"csrf_token": token}, headers=IN_FRAME).status_code == 400


def test_forged_expired_or_unbound_frame_cookies_are_ignored(app, client, trusted, run, world):
    framed_launch(client, trusted)
    value = client.get_cookie(FRAME_COOKIE).value
    interface = MentorNetSessionInterface()
    # the first-party session's signature does not pass for a frame session (nor the other way round)
    first_party = SecureCookieSessionInterface().get_signing_serializer(app)
    with app.app_context():
        data = interface.get_frame_serializer(app).loads(value)
        forged = first_party.dumps({**data, "person_id": world.mentor_id})
        unbound = interface.get_frame_serializer(app).dumps({k: v for k, v in data.items() if k != "_frame"})
    for cookie in (forged, unbound, value[:-2] + "xx"):
        client.set_cookie(FRAME_COOKIE, cookie)
        assert "Sign out" not in client.get("/", headers=IN_FRAME).get_data(as_text=True)
    client.set_cookie(FRAME_COOKIE, value)
    assert "Sign out" in client.get("/", headers=IN_FRAME).get_data(as_text=True)
    # the same expiry as the first-party session
    hours = app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    with app.app_context():
        serializer = interface.get_frame_serializer(app)
        real_time = time.time
        try:
            time.time = lambda: real_time() - hours - 60
            old = serializer.dumps(data)
        finally:
            time.time = real_time
    client.set_cookie(FRAME_COOKIE, old)
    assert "Sign out" not in client.get("/", headers=IN_FRAME).get_data(as_text=True)


def test_when_the_frame_cookie_does_not_come_back_the_same_launch_is_offered_in_a_new_window(client, trusted):
    response = framed_launch(client, trusted)
    client.delete_cookie(FRAME_COOKIE)  # the browser blocked even the partitioned cookie
    check = client.get(response.headers["Location"], headers=IN_FRAME)
    assert check.status_code == 200
    body = check.get_data(as_text=True)
    assert "Open mentorNET in a new window" in body and "/lti/login?iss=" in body
    assert "frame-ancestors *" in check.headers["Content-Security-Policy"]
    assert client.get("/lti/frame?t=forged", headers=IN_FRAME).status_code == 400


def test_the_kept_session_serializers_follow_a_change_of_the_secret_key(app, client, trusted):
    """The session interface keeps its serializers; a new SECRET_KEY (the old one a fallback) must be used at
    once for new cookies, while cookies signed with the old key still open."""
    framed_launch(client, trusted)
    old_value = client.get_cookie(FRAME_COOKIE).value
    old_key, old_fallbacks = app.secret_key, app.config.get("SECRET_KEY_FALLBACKS")
    app.secret_key, app.config["SECRET_KEY_FALLBACKS"] = "a-new-key-" + "x" * 40, [old_key]
    try:
        page = client.get("/", headers=IN_FRAME)  # opened with the fallback key, saved again with the new one
        assert "Sign out" in page.get_data(as_text=True)
        app.config["SECRET_KEY_FALLBACKS"] = []
        only_new = MentorNetSessionInterface().get_frame_serializer(app)
        assert only_new.loads(client.get_cookie(FRAME_COOKIE).value)["_frame"]
        with pytest.raises(BadSignature):
            only_new.loads(old_value)
    finally:
        app.secret_key, app.config["SECRET_KEY_FALLBACKS"] = old_key, old_fallbacks
