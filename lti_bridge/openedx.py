"""Open edX completion events in openedx-webhooks' JSON shape (our forwarder posts the same shape, signed).

``{"openedx_events.learning.data.CoursePassingStatusData": {...}, "event_metadata": {"id": ..., ...}}``
"""

from __future__ import annotations

from typing import Any

from lti_bridge.completions import Completion, Ignored, PayloadError, as_bool, as_grade

PASSING_STATUS = "openedx_events.learning.data.CoursePassingStatusData"
CERTIFICATE = "openedx_events.learning.data.CertificateData"
PASSING_STATUS_TYPE = "org.openedx.learning.course.passing.status.updated.v1"
CERTIFICATE_CREATED_TYPE = "org.openedx.learning.certificate.created.v1"


def _object(container: dict, key: str, path: str) -> dict:
    value = container.get(key)
    if not isinstance(value, dict):
        raise PayloadError(f"{path}/{key} must be an object", f"{path}/{key}")
    return value


def parse_event(payload: Any) -> Completion | Ignored:
    if not isinstance(payload, dict):
        raise PayloadError("the body must be a JSON object", "")
    metadata = _object(payload, "event_metadata", "")
    event_id = str(metadata.get("id") or "").strip()
    if not event_id:
        raise PayloadError("event_metadata/id is missing", "/event_metadata/id")
    event_type = str(metadata.get("event_type") or "")

    data_keys = [key for key in payload if key != "event_metadata"]
    if PASSING_STATUS in payload and event_type in ("", PASSING_STATUS_TYPE):
        return _passing_status(_object(payload, PASSING_STATUS, ""), event_id)
    if CERTIFICATE in payload and event_type in ("", CERTIFICATE_CREATED_TYPE):
        return _certificate(_object(payload, CERTIFICATE, ""), event_id)
    return Ignored(event_id, f"event type {event_type or '?'} with data {', '.join(data_keys) or 'none'}")


def _learner(data: dict, path: str) -> dict[str, Any]:
    user = _object(data, "user", path)
    pii = user.get("pii") if isinstance(user.get("pii"), dict) else {}
    identity = {
        "platform": "openedx",
        "user_id": user.get("id"),
        "username": pii.get("username"),
        "email": pii.get("email"),
        "name": pii.get("name"),
    }
    return {key: value for key, value in identity.items() if value not in (None, "")}


def _course_key(data: dict, path: str) -> str:
    course = _object(data, "course", path)
    course_key = str(course.get("course_key") or "").strip()
    if not course_key:
        raise PayloadError(f"{path}/course/course_key is missing", f"{path}/course/course_key")
    return course_key


def _passing_status(data: dict, event_id: str) -> Completion:
    path = "/" + PASSING_STATUS
    return Completion(
        event_id=event_id,
        course_key=_course_key(data, path),
        identity=_learner(data, path),
        kind="passed",
        is_passing=as_bool(data.get("is_passing")),
    )


def _certificate(data: dict, event_id: str) -> Completion:
    path = "/" + CERTIFICATE
    # CERTIFICATE_CREATED is only sent for passing certificate statuses (openedx-events' docstring).
    status = str(data.get("current_status") or "downloadable").lower()
    return Completion(
        event_id=event_id,
        course_key=_course_key(data, path),
        identity=_learner(data, path),
        kind="certificate",
        is_passing=status not in {"notpassing", "unavailable", "error", "deleted", "audit_notpassing"},
        grade=as_grade(data.get("grade")),
    )
