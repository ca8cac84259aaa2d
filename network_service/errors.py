"""Domain errors, raised by operations, mapped to HTTP in one place.

API clients (paths under /api/, /bridge/, or ``Accept: application/json``) get an RFC 9457 problem body;
people get a page that says what happened and what to do next.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException


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


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(MentorNetError)
    def _domain_error(exc: MentorNetError):
        if wants_json():
            errors = {exc.field: [exc.detail]} if exc.field else None
            return problem(exc.status, str(exc.title), exc.detail, errors)
        template = "errors/link_invalid.html" if isinstance(exc, LinkInvalid) else "errors/error.html"
        return render_template(template, status=exc.status, title=exc.title, detail=exc.detail), exc.status

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
        return render_template(
            "errors/error.html", status=exc.code, title=exc.name, detail=exc.description
        ), exc.code
