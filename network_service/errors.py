"""Domain errors, raised by operations, mapped to HTTP in one place.

API clients (paths under /api/, /bridge/, or ``Accept: application/json``) get an RFC 9457 problem body;
people get a page that says what happened and what to do next.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30  # what a 503 asks clients (and completion sources) to wait before trying again


class MentorNetError(Exception):
    status = 400
    title = _l("The request cannot be completed")

    def __init__(self, detail: str | None = None, *, field: str | None = None):
        super().__init__(detail or str(self.title))
        self.detail = detail or str(self.title)
        self.field = field


class InvalidInput(MentorNetError):
    status = 422
    title = _l("Some input is not valid")


class NotFound(MentorNetError):
    status = 404
    title = _l("Not found")


class Forbidden(MentorNetError):
    status = 403
    title = _l("You are not allowed to do this")


class Conflict(MentorNetError):
    status = 409
    title = _l("This conflicts with the current state")


class LinkInvalid(MentorNetError):
    """A sign-in or invitation link that is unknown, expired or already used."""

    status = 410
    title = _l("This link can no longer be used")


def wants_json() -> bool:
    if request.path.startswith(("/api/", "/bridge/")):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def problem(status: int, title: str, detail: str | None = None, errors: dict | None = None, **extra):
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def database_unavailable(exc: BaseException | None) -> bool:
    """The database cannot be reached or broke off (a restart, a network cut, a full pool), as opposed to a
    programming error: the request may succeed if tried again later."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.TimeoutError):
        # SQLite reports a missing table as an OperationalError too: that one is a bug, not an outage.
        return not str(getattr(exc, "orig", exc)).startswith("no such ")
    return isinstance(exc, sa.exc.DisconnectionError)


def unavailable_response():
    """503 with Retry-After: problem JSON for machines (completion sources retry on it), a page for people.

    Built without touching the database: the page does not extend the base layout (whose navigation reads the
    signed-in person and their notifications).
    """
    import contextlib

    session = g.pop("_mentornet_db_session", None)  # network_service.db._SESSION_KEY; nothing is committed
    if session is not None:
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            session.rollback()
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            session.close()
    g.current_person = None  # the locale selector and templates must not look the person up
    title = str(_l("mentorNET is briefly unavailable"))
    detail = str(
        _l("The database cannot be reached. Nothing was saved. Please try again in a minute or two.")
    )
    if wants_json():
        response = problem(503, title, detail)
    else:
        from flask_babel import get_locale

        from network_service.i18n import RTL_LANGUAGES

        locale = get_locale()
        language = locale.language if locale else "en"
        html = current_app.jinja_env.get_template("errors/unavailable.html").render(
            title=title,
            detail=detail,
            page_language=language,
            page_direction="rtl" if language in RTL_LANGUAGES else "ltr",
        )
        response = current_app.response_class(html, status=503, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    # headers a protocol requires on every answer of an endpoint (the xAPI version), set by its blueprint
    for name, value in g.get("protocol_headers", {}).items():
        response.headers[name] = value
    return response


def _error_page(template: str, *, status: int, **context):
    """The error page in the site's layout; the layout reads the signed-in person, so with the database gone
    the answer becomes the 503 page (a 404 during an outage must not turn into a 500)."""
    try:
        return render_template(template, status=status, **context), status
    except sa.exc.SQLAlchemyError as exc:
        if not database_unavailable(exc):
            raise
        log.warning("database unavailable while rendering a %s page: %s", status, exc)
        return unavailable_response()


MAX_KEPT_FIELD_CHARS = 50_000  # a form field longer than any form accepts is not shown again


def _retry_after_seconds() -> int:
    """How long until the limit that refused this request lets the next one through (Flask-Limiter's own
    reckoning, which also sets Retry-After); a minute when it cannot tell."""
    import time

    limiter = current_app.extensions.get("mentornet.limiter")
    current = limiter.current_limit if limiter is not None else None
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()) + 1)


def _too_many_writes_page():
    """A form refused by a rate limit (429): what was typed is kept, ready to send again, and the page says when.
    Only the form's text fields come back (never a file, never the old CSRF token: the page has a fresh one);
    the limit is checked after the CSRF check, so the text is the person's own. For the endpoints listed with
    security.keep_form_when_limited only."""
    seconds = _retry_after_seconds()
    fields = [
        (name, value)
        for name, value in request.form.items(multi=True)
        if name != "csrf_token" and len(value) <= MAX_KEPT_FIELD_CHARS
    ]
    texts = [value for _name, value in fields if len(value.strip()) > 40 or "\n" in value]
    response = _error_page(
        "errors/too_many_writes.html",
        status=429,
        minutes=max(1, -(-seconds // 60)),
        fields=fields,
        texts=texts,
        action=request.script_root + request.path,  # behind a path prefix too (ProxyFix x_prefix)
    )
    if isinstance(response, tuple):
        response = current_app.make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(sa.exc.SQLAlchemyError)
    def _database_error(exc: sa.exc.SQLAlchemyError):
        if not database_unavailable(exc):
            raise exc
        log.warning("database unavailable during %s %s: %s", request.method, request.path, exc)
        return unavailable_response()

    @app.errorhandler(MentorNetError)
    def _domain_error(exc: MentorNetError):
        if wants_json():
            errors = {exc.field: [exc.detail]} if exc.field else None
            return problem(exc.status, str(exc.title), exc.detail, errors)
        template = "errors/link_invalid.html" if isinstance(exc, LinkInvalid) else "errors/error.html"
        return _error_page(template, status=exc.status, title=exc.title, detail=exc.detail)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if wants_json():
            data = getattr(exc, "data", None) or {}
            # flask-smorest / webargs put messages under data["messages"], by location: a mapping of field
            # messages, or a plain list when the body as a whole is unusable ({"json": ["Invalid JSON body."]}).
            errors: dict = {}
            general: list[str] = []
            for location_messages in (data.get("messages") or {}).values():
                if isinstance(location_messages, dict):
                    errors.update(location_messages)
                else:
                    general.extend(str(message) for message in location_messages)
            detail = data.get("message") or " ".join(general) or exc.description
            response = problem(exc.code or 500, exc.name, detail, errors)
            headers = list(exc.get_headers()) + list((data.get("headers") or {}).items())
            for name, value in headers:
                if name.lower() not in {"content-type", "content-length"}:
                    response.headers[name] = value
            return response
        kept = current_app.extensions.get("mentornet.kept_form_endpoints", ())
        if exc.code == 429 and request.method == "POST" and request.endpoint in kept:
            return _too_many_writes_page()
        return _error_page("errors/error.html", status=exc.code, title=exc.name, detail=exc.description)
