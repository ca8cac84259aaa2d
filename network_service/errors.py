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


# The input types a kept field keeps from its form's widget (a phone shows the keyboard that fits); others: text.
_KEPT_INPUT_TYPES = frozenset({"text", "email", "url", "number", "date", "time", "tel", "search"})
SHORT_KEPT_CHARS = 40  # a longer value (or one with a line break) is shown in a text area, readable whole


def _declared_form():
    """(the form class, the names posted as hidden inputs outside it) that the refused endpoint's view declared
    with security.keeps_form; (None, empty) when it declared none."""
    view = current_app.view_functions.get(request.endpoint)
    form, hidden = getattr(view, "mentornet_kept_form", (None, frozenset()))
    if form is not None and not isinstance(form, type):
        form = form(**(request.view_args or {}))  # a form that depends on the view's arguments (a step)
    return form, hidden


def _own_label(form_class, field) -> str | None:
    """The label the form class gives ``field`` (lazily translated), or None when it gives none: WTForms would
    then make one from the field's name, in English."""
    unbound = getattr(form_class, field.short_name, None)
    if unbound is None:
        return None
    args = getattr(unbound, "args", ())
    label = args[0] if args else getattr(unbound, "kwargs", {}).get("label")
    return str(label) if label else None


def _text_field(field_id: str, name: str, label: str | None, value: str, *, input_type="text") -> dict:
    area = len(value.strip()) > SHORT_KEPT_CHARS or "\n" in value or "\r" in value
    kind = "textarea" if area else "input"
    return {"kind": kind, "id": field_id, "name": name, "label": label, "value": value, "type": input_type}


def _kept_fields() -> list[dict]:
    """What the refused form posted, as the page shows it again: each field of the declared form class that was
    posted, in the form's order, with the form's label, editable (text, a choice, a ticked box); then whatever
    else was posted, with a generic label. Only the form's hidden fields and the names the view declared hidden
    go back unseen. Never the CSRF token, never a file, never a value over MAX_KEPT_FIELD_CHARS."""
    from wtforms import BooleanField, FileField, HiddenField, SubmitField
    from wtforms.fields import SelectFieldBase

    posted: dict[str, list[str]] = {}
    for name, value in request.form.items(multi=True):
        if name != "csrf_token" and len(value) <= MAX_KEPT_FIELD_CHARS:
            posted.setdefault(name, []).append(value)
    form_class, hidden = _declared_form()
    fields: list[dict] = []
    if form_class is not None:
        form = form_class(formdata=None, meta={"csrf": False})
        for field in form:
            values = posted.pop(field.name, [])
            if isinstance(field, FileField | SubmitField) or field.name == "csrf_token":
                continue
            if isinstance(field, HiddenField) or field.name in hidden:
                fields += [{"kind": "hidden", "name": field.name, "value": value} for value in values]
                continue
            if not values:
                continue  # not on the page that was sent (or a box left unticked): nothing to keep
            label = _own_label(form_class, field)
            field_id = f"kept-{field.id}"
            if isinstance(field, BooleanField):
                fields.append(
                    {"kind": "check", "id": field_id, "name": field.name, "label": label, "value": values[0]}
                )
            elif isinstance(field, SelectFieldBase):
                choice = _choice_field(field, field_id, label, values)
                fields += [choice] if choice is not None else []
            else:
                input_type = getattr(field.widget, "input_type", "text")
                input_type = input_type if input_type in _KEPT_INPUT_TYPES else "text"
                for number, value in enumerate(values):
                    one_id = field_id if number == 0 else f"{field_id}-{number + 1}"
                    fields.append(_text_field(one_id, field.name, label, value, input_type=input_type))
    for name in list(posted):
        if name in hidden:
            fields += [{"kind": "hidden", "name": name, "value": value} for value in posted.pop(name)]
    others = [(name, value) for name, values in posted.items() for value in values]
    for number, (name, value) in enumerate(others, start=1):
        label = str(_l("What you wrote"))
        if len(others) > 1:
            label = f"{label} ({number})"  # a number tells them apart in any language
        fields.append(_text_field(f"kept-other-{number}", name, label, value))
    for field in fields:
        if field.get("label") is None and field["kind"] != "hidden":
            field["label"] = str(_l("What you wrote"))
    return fields


def _choice_field(field, field_id: str, label: str | None, values: list[str]) -> dict | None:
    """A select, radio or checkbox field: the form's own choices (translated labels) with the kept values chosen,
    as a list to choose from again. Choices the view fills in (members, organisations) are not on the class:
    a kept value then shows as itself (a language), unless it is a number (someone's id, which the page cannot
    name without the view's checks): such a choice is not sent again, and the page says so."""
    from wtforms.fields import SelectMultipleField

    choices = [(str(value), str(choice_label)) for value, choice_label, *_rest in _class_choices(field)]
    known = {value for value, _choice_label in choices}
    extra = [value for value in dict.fromkeys(values) if value not in known and value.strip()]
    if not choices and not extra:
        return None  # only an empty choice ("none") of a list the view fills in: nothing to show or send
    if any(value.strip().isdigit() or getattr(field, "coerce", str) is int for value in extra):
        return {"kind": "dropped", "name": field.name, "label": label}
    choices += [(value, value) for value in extra]
    chosen = set(values)
    options = [
        {"id": f"{field_id}-{number}", "value": value, "label": choice_label, "chosen": value in chosen}
        for number, (value, choice_label) in enumerate(choices)
    ]
    multiple = isinstance(field, SelectMultipleField)
    return {
        "kind": "checks" if multiple else "select",
        "id": field_id,
        "name": field.name,
        "label": label,
        "options": options,
    }


def _class_choices(field) -> list:
    """The choices the form class gives ``field`` (none when the view sets them)."""
    choices = field.choices
    if callable(choices):
        choices = choices()
    if isinstance(choices, dict):  # optgroups
        return [choice for group in choices.values() for choice in group]
    return list(choices or [])


def _too_many_writes_page():
    """A form refused by a rate limit (429): what was typed is kept, ready to check, change and send again, and the
    page says when (errors/too_many_writes.html). Each field is shown with its form's label (_kept_fields); the
    limit is checked after the CSRF check, so the text is the person's own, and the form has a fresh token. For
    the endpoints listed with security.keep_form_when_limited only."""
    seconds = _retry_after_seconds()
    response = _error_page(
        "errors/too_many_writes.html",
        status=429,
        minutes=max(1, -(-seconds // 60)),
        fields=_kept_fields(),
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
