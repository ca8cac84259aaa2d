"""The session cookies: the first-party session, and the frame session of a launch inside a learning platform.

The first-party session is Flask's signed cookie ``mentornet_session`` (``SameSite=Lax``, ``HttpOnly``, ``Secure``
when BASE_URL is https). Inside a course page's frame, mentorNET is a third-party site: browsers do not send a
Lax cookie there, so after an LTI launch in a frame every page but the embedded panel would ask to sign in.

A launch made inside a frame starts a **frame session** instead (``start_frame_session``): the same signed
session (same contents, same expiry, the CSRF token in it), kept in a cookie of its own, ``mentornet_frame``
(``__Host-mentornet_frame`` when BASE_URL is https): ``SameSite=None; Secure; HttpOnly; Partitioned; Path=/``.
``Partitioned`` (CHIPS) keeps it in the partition of the course page's site, so it is never sent to mentorNET
opened first-party or framed by another site. It is signed with its own salt (neither cookie can stand in for the
other) and carries the launch it belongs to (``frame_binding``: the origins that may frame its pages).

The frame session is read only for a request the browser marks as made inside a frame
(``Sec-Fetch-Dest: iframe`` or ``frame``) that carries no first-party session: a window of mentorNET, a request
without Fetch Metadata, or a frame on the same site (where the Lax cookie travels) always uses the first-party
session. So the first-party session stays what it was, and the frame session does not leak into windows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, Request, Response, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature

FRAME_COOKIE = "mentornet_frame"
FRAME_SALT = "mentornet-frame-session"
BINDING_KEY = "_frame"  # the launch the frame session belongs to (kept across nothing: sign_in clears it)
FRAMED_DESTINATIONS = frozenset({"iframe", "frame"})


# A permanent session's cookie is signed again (and its expiry moved on) when the request changed the session, or
# when the cookie is older than this: signing it for every request cost about a tenth of a page's CPU, and its
# expiry needs no more precision than the server's record of the session (accounts.sessions.LAST_SEEN_PRECISION).
COOKIE_REFRESH = dt.timedelta(minutes=5)


class MentorNetSession(SecureCookieSession):
    frame = False  # True: this session lives in the frame cookie
    issued_at: dt.datetime | None = None  # when the cookie it came from was signed (None: no cookie)


def framed_request(request: Request) -> bool:
    """The browser says this request navigates a frame (Fetch Metadata; no page can set the header)."""
    return request.headers.get("Sec-Fetch-Dest") in FRAMED_DESTINATIONS


def frame_cookie_name(app: Flask) -> str:
    # __Host-: only from a secure origin, host-only, path / (no subdomain can plant or shadow it)
    return (
        "__Host-" if (app.config.get("BASE_URL") or "").lower().startswith("https:") else ""
    ) + FRAME_COOKIE


class _KeptSigning(SecureCookieSessionInterface):
    """Flask builds the session's serializer anew for each request, though it depends only on the keys: it is
    kept, and built again when SECRET_KEY or SECRET_KEY_FALLBACKS change."""

    _kept: tuple | None = None

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        kept = self._kept
        if kept is not None and kept[0] == keys:
            return kept[1]
        serializer = super().get_signing_serializer(app)
        self._kept = (keys, serializer)
        return serializer


class _FrameSigning(_KeptSigning):
    salt = FRAME_SALT


class MentorNetSessionInterface(_KeptSigning):
    session_class = MentorNetSession

    def __init__(self) -> None:
        self._frame_signing = _FrameSigning()

    def get_frame_serializer(self, app: Flask):
        """Flask's own signing (its key and key fallbacks, its digest), under the frame session's salt."""
        return self._frame_signing.get_signing_serializer(app)

    def open_session(self, app: Flask, request: Request) -> MentorNetSession | None:
        frame_value = request.cookies.get(frame_cookie_name(app))
        if frame_value and not request.cookies.get(self.get_cookie_name(app)) and framed_request(request):
            frame_session = self._open_frame(app, frame_value)
            if frame_session is not None:
                return frame_session
        # Flask's own, keeping when the cookie was signed (``should_set_cookie``)
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, issued_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        opened = self.session_class(data)
        opened.issued_at = issued_at
        return opened

    def should_set_cookie(self, app: Flask, session: SecureCookieSession) -> bool:
        """Flask's rule, but an unchanged permanent session's cookie is signed again only once it is older than
        ``COOKIE_REFRESH``."""
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        issued_at = getattr(session, "issued_at", None)
        return issued_at is None or dt.datetime.now(dt.UTC) - issued_at >= COOKIE_REFRESH

    def _open_frame(self, app: Flask, value: str) -> MentorNetSession | None:
        serializer = self.get_frame_serializer(app)
        if serializer is None:
            return None
        max_age = int(app.permanent_session_lifetime.total_seconds())  # the first-party session's expiry
        try:
            data, issued_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get(BINDING_KEY), dict):
            return None  # a frame session belongs to a launch
        frame_session = self.session_class(data)
        frame_session.frame = True
        frame_session.issued_at = issued_at
        return frame_session

    def save_session(self, app: Flask, session: SecureCookieSession, response: Response) -> None:
        if not getattr(session, "frame", False):
            super().save_session(app, session, response)
            return
        name = frame_cookie_name(app)
        if session.accessed:
            response.vary.add("Cookie")
        if not session or BINDING_KEY not in session:  # signed out (or never bound): forget the frame session
            if session.modified:
                response.delete_cookie(
                    name, path="/", secure=True, httponly=True, samesite="None", partitioned=True
                )
                response.vary.add("Cookie")
            return
        if not self.should_set_cookie(app, session):
            return
        response.set_cookie(
            name,
            self.get_frame_serializer(app).dumps(dict(session)),
            expires=self.get_expiration_time(app, session),
            path="/",
            secure=True,  # SameSite=None needs it; browsers take it from localhost over http too
            httponly=True,
            samesite="None",
            partitioned=True,
        )
        response.vary.add("Cookie")


def start_frame_session(binding: dict[str, Any]) -> None:
    """Keep the session this request just signed in (``security.sign_in``) in the frame cookie, bound to a launch.

    Call it after ``sign_in``, inside a request made in a frame (``framed_request``)."""
    session.frame = True
    session[BINDING_KEY] = binding


def frame_binding() -> dict[str, Any] | None:
    """The launch of this request's frame session, or None for the first-party session."""
    if not getattr(session, "frame", False):
        return None
    binding = session.get(BINDING_KEY)
    return binding if isinstance(binding, dict) else None


def init_app(app: Flask) -> None:
    app.session_interface = MentorNetSessionInterface()
