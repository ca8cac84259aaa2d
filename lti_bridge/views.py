"""Completion endpoints: Open edX events (signed, or openedx-webhooks with a URL token) and xAPI statements.

Every event is stored and the sender gets its answer before anything acts on it: the commit wakes the background
drain (``courses.operations.process_received``), which invites the graduate. The same event id twice is one event.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from lti_bridge import openedx, xapi
from lti_bridge.completions import Completion, Ignored, PayloadError
from lti_bridge.signing import SIGNATURE_HEADER, verify
from lti_bridge.sources import source_for_basic, source_for_token
from network_service.audit.operations import record
from network_service.courses.operations import receive_completion, record_ignored
from network_service.db import session
from network_service.errors import problem

bp = Blueprint("bridge", __name__, url_prefix="/bridge")

MAX_BODY = 1024 * 1024
AUDIT_FAILURES_EVERY = 60.0  # seconds: at most one audit entry per client address and reason


def _body() -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise RequestEntityTooLarge(f"The body may have at most {MAX_BODY} bytes.")
    body = request.get_data(cache=True)
    if len(body) > MAX_BODY:
        raise RequestEntityTooLarge(f"The body may have at most {MAX_BODY} bytes.")
    return body


def _json(body: bytes) -> Any:
    if b"\\u0000" in body:  # PostgreSQL stores no NUL character in text or JSON
        raise PayloadError("the body contains a NUL character (\\u0000)", "")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"the body is not valid JSON: {exc}", "") from exc


def _payload_problem(exc: PayloadError):
    return problem(400, "The event does not have the expected form", str(exc), {exc.field or "/": [str(exc)]})


def _unauthorized(reason: str, *, challenge: str | None = None):
    """401, nothing stored but an audit entry; entries are throttled so a flood cannot fill the log."""
    throttle = current_app.extensions.setdefault("mentornet.bridge.failures", {})
    key = (request.remote_addr, request.endpoint, reason)
    now = time.monotonic()
    if len(throttle) > 10_000:  # many addresses: forget those outside the window, so memory stays bounded
        for stale in [k for k, at in throttle.items() if now - at >= AUDIT_FAILURES_EVERY]:
            del throttle[stale]
    if now - throttle.get(key, -AUDIT_FAILURES_EVERY) >= AUDIT_FAILURES_EVERY:
        throttle[key] = now
        session.rollback()
        # No client address in the entry: the service stores none (docs/privacy.md); the throttle above keeps it
        # in memory for the throttle's window only.
        record("bridge.auth_failed", reason=reason, path=request.path)
        session.commit()
    response = problem(401, "Unauthorized", f"The request is not authenticated ({reason}).")
    if challenge:
        response.headers["WWW-Authenticate"] = challenge
    return response


def _act(parsed: Completion | Ignored, source: str, payload: dict[str, Any]) -> dict[str, Any]:
    if isinstance(parsed, Ignored):
        event, is_new = record_ignored(
            event_id=parsed.event_id, source=source, reason=parsed.reason, payload=payload
        )
        return {
            "id": event.id,
            "event_id": event.event_id,
            "status": event.status.value,
            "duplicate": not is_new,
        }
    # Store and answer; the invitation follows right after the commit (network_service.background).
    received = receive_completion(
        event_id=parsed.event_id,
        source=source,
        course_key=parsed.course_key,
        identity=parsed.identity,
        payload=payload,
        kind=parsed.kind,
        is_passing=parsed.is_passing,
        grade=parsed.grade,
    )
    return {
        "id": received.id,
        "event_id": received.event_id,
        "status": received.status.value,
        "duplicate": received.duplicate,
    }


@bp.post("/openedx/events")
@bp.post("/openedx/events/<token>")
def openedx_events(token: str | None = None):
    body = _body()
    if token is None:
        if not verify(
            body, current_app.config["WEBHOOK_SECRET"] or "", request.headers.get(SIGNATURE_HEADER)
        ):
            return _unauthorized("missing or wrong signature")
        source = "openedx"
    else:
        found = source_for_token(token)
        if found is None:
            return _unauthorized("unknown or revoked source token")
        source = f"openedx-webhooks:{found.name}"[:40]
    if request.mimetype == "application/x-www-form-urlencoded":
        return problem(415, "Unsupported Media Type", "Configure the webhook to send JSON, not form data.")
    try:
        payload = _json(body)
        parsed = openedx.parse_event(payload)
    except PayloadError as exc:
        return _payload_problem(exc)
    response = jsonify(_act(parsed, source, payload))
    response.status_code = 202
    return response


@bp.before_request
def _protocol_headers():
    """xAPI requires the version header on every answer, also the 503 of a database outage (network_service's
    error pages take it from ``g.protocol_headers``)."""
    if request.endpoint == "bridge.xapi_statements":
        g.protocol_headers = {"X-Experience-API-Version": xapi.VERSION}


@bp.route("/xapi/statements", methods=["POST", "PUT"])
def xapi_statements():
    auth = request.authorization
    found = None
    if auth is not None and auth.type == "basic" and auth.username and auth.password:
        found = source_for_basic(auth.username, auth.password)
    if found is None:
        return _unauthorized("unknown xAPI credentials", challenge='Basic realm="mentorNET xAPI"')
    if not xapi.supported_version(request.headers.get("X-Experience-API-Version")):
        return _xapi(problem(400, "Bad Request", "Send the header X-Experience-API-Version: 1.0.3."))
    body = _body()
    try:
        payload = _json(body)
        if request.method == "PUT":
            statements = [_put_statement(payload)]
        elif isinstance(payload, list):
            statements = [xapi.validate(item, f"/{index}") for index, item in enumerate(payload)]
        else:
            statements = [xapi.validate(payload)]
    except PayloadError as exc:
        return _xapi(_payload_problem(exc))
    source = f"xapi:{found.name}"[:40]
    for statement in statements:
        parsed = xapi.interpret(statement)
        if isinstance(parsed, Completion):  # other statements are accepted and not kept
            _act(parsed, source, statement)
    if request.method == "PUT":
        return _xapi(current_app.response_class(status=204))
    return _xapi(jsonify([statement["id"] for statement in statements]))


def _put_statement(payload: Any) -> dict[str, Any]:
    statement_id = request.args.get("statementId", "")
    try:
        uuid.UUID(statement_id)
    except ValueError as exc:
        raise PayloadError("PUT needs the statementId parameter (a UUID)", "statementId") from exc
    if isinstance(payload, dict) and "id" in payload and str(payload["id"]) != statement_id:
        raise PayloadError("the statement's id differs from statementId", "/id")
    if isinstance(payload, dict):
        payload = {**payload, "id": statement_id}
    return xapi.validate(payload)


def _xapi(response):
    response.headers["X-Experience-API-Version"] = xapi.VERSION
    return response
