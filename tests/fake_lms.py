"""A stand-in Open edX LMS over real HTTP on 127.0.0.1, answering in the shapes of the real APIs.

- ``POST /oauth2/access_token``: HTTP Basic client id/secret, form ``grant_type=client_credentials`` and
  ``token_type=jwt``; answers ``{"access_token", "expires_in", "token_type": "JWT", "scope"}``.
- ``GET /api/grades/v1/courses/{course_id}/``: DRF cursor pagination (``next``, ``previous``, ``results``);
  results carry ``username``, ``email``, ``course_id``, ``passed``, ``percent``, ``letter_grade``.
- ``GET /api/certificates/v0/certificates/{username}/courses/{course_id}/``: one certificate, or 404 with
  ``{"error_code": "no_certificate_for_user"}``.

APIs want ``Authorization: JWT <token>`` with a token it issued and that has not expired. Switches make it
expire a token early, answer an error status a number of times (or from a given page on), or hang. Every
request is recorded.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import secrets
import threading
import time
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.serving import make_server


@dataclasses.dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    authorization: str
    form: dict[str, str]
    status: int


@dataclasses.dataclass
class _Fault:
    path_prefix: str
    status: int | None  # None: hang instead
    remaining: int | None  # None: every time
    seconds: float = 0.0
    from_page: int = 0  # grade pages only: applies to this page index and later


def grade(username: str, *, passed: bool, percent: float, course: str, email: str | None = None) -> dict:
    return {
        "username": username,
        "email": email if email is not None else f"{username}@example.org",
        "course_id": course,
        "passed": passed,
        "percent": percent,
        "letter_grade": "Pass" if passed else None,
    }


def certificate(username: str, course: str, *, status: str = "downloadable", grade: str = "0.9") -> dict:
    return {
        "username": username,
        "course_id": course,
        "certificate_type": "honor",
        "created_date": "2026-03-02T14:05:09Z",
        "status": status,
        "is_passing": status == "downloadable",
        "download_url": f"/certificates/{username}",
        "grade": grade,
    }


class FakeLms:
    def __init__(self, client_id: str = "mentornet", client_secret: str = "s3cret-client", *, page_size=2):  # noqa: S107
        self.client_id, self.client_secret = client_id, client_secret
        self.page_size = page_size
        self.expires_in = 30  # seconds: short, as tokens go
        self.link_origin: str | None = None  # pagination links on another origin (an LMS behind a proxy)
        self.grades: dict[str, list[dict]] = {}  # course key -> grade rows, in enrollment order
        self.certificates: dict[tuple[str, str], dict] = {}  # (username, course key) -> certificate
        self.requests: list[Recorded] = []
        self._tokens: dict[str, float] = {}  # token -> expiry (time.monotonic)
        self._expire_next_token_use = False
        self._faults: list[_Fault] = []
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = None
        self.app = self._build_app()

    # -- switches ----------------------------------------------------------------------------------------

    def expire_token_once(self) -> None:
        """The next API call's token is treated as expired (401), as when the LMS's clock is ahead."""
        self._expire_next_token_use = True

    def fail(
        self, status: int = 503, *, times: int | None = 1, path: str = "/api/", from_page: int = 0
    ) -> None:
        """Answer ``status`` to requests under ``path`` (``times=None``: always; ``from_page``: grade pages)."""
        self._faults.append(_Fault(path, status, times, from_page=from_page))

    def hang(self, seconds: float, *, times: int = 1, path: str = "/api/") -> None:
        self._faults.append(_Fault(path, None, times, seconds=seconds))

    def heal(self) -> None:
        self._faults.clear()

    # -- what tests read ---------------------------------------------------------------------------------

    def requests_to(self, path_part: str) -> list[Recorded]:
        return [recorded for recorded in self.requests if path_part in recorded.path]

    @property
    def token_requests(self) -> list[Recorded]:
        return self.requests_to("/oauth2/access_token")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    # -- server --------------------------------------------------------------------------------------------

    def start(self) -> FakeLms:
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._released.set()  # hanging handlers return at once
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeLms:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    # -- the application -----------------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask("fake_lms")

        @app.after_request
        def _record(response):
            with self._lock:
                self.requests.append(
                    Recorded(
                        request.method,
                        request.path,
                        dict(request.args),
                        request.headers.get("Authorization", ""),
                        dict(request.form),
                        response.status_code,
                    )
                )
            return response

        @app.post("/oauth2/access_token")
        def access_token():
            auth = request.authorization
            if auth is None or (auth.username, auth.password) != (self.client_id, self.client_secret):
                return jsonify(error="invalid_client"), 401
            if request.form.get("grant_type") != "client_credentials":
                return jsonify(error="unsupported_grant_type"), 400
            if request.form.get("token_type", "").lower() != "jwt":
                return jsonify(error="invalid_request", error_description="token_type jwt expected"), 400
            fault = self._fault()
            if fault is not None:
                return fault
            token = f"eyJ.fake-{next(self._counter)}-{secrets.token_hex(8)}"
            with self._lock:
                self._tokens[token] = time.monotonic() + self.expires_in
            return jsonify(
                access_token=token,
                expires_in=self.expires_in,
                token_type="JWT",
                scope="read write email profile",
            )

        @app.get("/api/grades/v1/courses/<path:course_id>/")
        def course_grades(course_id: str):
            refused = self._refuse_token()
            if refused is not None:
                return refused
            offset = _decode_cursor(request.args.get("cursor"))
            fault = self._fault(page=offset // self.page_size)
            if fault is not None:
                return fault
            if course_id not in self.grades:
                return jsonify(
                    developer_message=f"Requested grade for unknown course {course_id}",
                    error_code="course_does_not_exist",
                ), 404
            rows = self.grades[course_id]
            size = int(request.args.get("page_size") or self.page_size)
            page = rows[offset : offset + size]
            base = request.base_url
            if self.link_origin:
                base = self.link_origin + request.path
            return jsonify(
                next=f"{base}?cursor={_encode_cursor(offset + size)}" if offset + size < len(rows) else None,
                previous=f"{base}?cursor={_encode_cursor(max(0, offset - size))}" if offset else None,
                results=page,
            )

        @app.get("/api/certificates/v0/certificates/<username>/courses/<path:course_id>/")
        def certificate_detail(username: str, course_id: str):
            refused = self._refuse_token()
            if refused is not None:
                return refused
            fault = self._fault()
            if fault is not None:
                return fault
            found = self.certificates.get((username, course_id))
            if found is None:
                return jsonify(error_code="no_certificate_for_user"), 404
            return jsonify(found)

        return app

    def _refuse_token(self):
        header = request.headers.get("Authorization", "")
        scheme, _sep, token = header.partition(" ")
        with self._lock:
            expiry = self._tokens.get(token)
            if scheme != "JWT" or expiry is None or expiry < time.monotonic():
                return jsonify(detail="Authentication credentials were not provided."), 401
            if self._expire_next_token_use:
                self._expire_next_token_use = False
                del self._tokens[token]
                return jsonify(detail="Signature has expired."), 401
        return None

    def _fault(self, page: int = 0):
        with self._lock:
            for fault in self._faults:
                if not request.path.startswith(fault.path_prefix) or page < fault.from_page:
                    continue
                if fault.remaining is not None:
                    if fault.remaining <= 0:
                        continue
                    fault.remaining -= 1
                break
            else:
                return None
        if fault.status is None:  # hang, then answer as usual (to a client that may have given up)
            self._released.wait(fault.seconds)
            return None
        return jsonify(detail=f"fake LMS answers {fault.status}"), fault.status


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o={offset}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("o="))


def rows_for(course: str, spec: list[tuple[str, bool, float]]) -> list[dict[str, Any]]:
    return [grade(name, passed=passed, percent=percent, course=course) for name, passed, percent in spec]
