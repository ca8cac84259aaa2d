"""Payloads in the shapes the real senders use (openedx-webhooks, event-routing-backends, logstore_xapi)."""

from __future__ import annotations

import json
import uuid

import requests

from lti_bridge.signing import SIGNATURE_HEADER, sign
from tests.databases import WEBHOOK_SECRET
from tests.helpers import COURSE

OPENEDX_ROOT = "https://lms.example.org"


def passing_status(
    event_id: str | None = None, *, email="grace@example.org", is_passing="True", course=COURSE
):
    """openedx-webhooks serialises values with str(): booleans arrive as "True"/"False"."""
    return {
        "openedx_events.learning.data.CoursePassingStatusData": {
            "is_passing": is_passing,
            "course": {"course_key": course, "display_name": "Mentoring migrants"},
            "user": {
                "id": "42",
                "is_active": "True",
                "pii": {"username": "grace", "email": email, "name": "Grace Graduate"},
            },
        },
        "event_metadata": {
            "id": event_id or str(uuid.uuid4()),
            "event_type": "org.openedx.learning.course.passing.status.updated.v1",
            "minorversion": 0,
            "source": "openedx/lms/web",
            "sourcehost": "lms-1",
            "time": "2026-11-28 10:00:00.000000+00:00",
            "sourcelib": [10, 5, 0],
        },
    }


def certificate_created(event_id: str | None = None, *, email="grace@example.org", grade="0.91"):
    return {
        "openedx_events.learning.data.CertificateData": {
            "user": {
                "id": "42",
                "is_active": "True",
                "pii": {"username": "grace", "email": email, "name": "Grace"},
            },
            "course": {"course_key": COURSE, "display_name": "Mentoring migrants"},
            "mode": "honor",
            "grade": grade,
            "current_status": "downloadable",
            "previous_status": "",
            "download_url": "",
            "name": "",
        },
        "event_metadata": {
            "id": event_id or str(uuid.uuid4()),
            "event_type": "org.openedx.learning.certificate.created.v1",
            "minorversion": 0,
            "source": "openedx/lms/web",
            "sourcehost": "lms-1",
            "time": "2026-11-28 10:00:00",
        },
    }


def enrollment_created():
    return {
        "openedx_events.learning.data.CourseEnrollmentData": {"course": {"course_key": COURSE}},
        "event_metadata": {
            "id": str(uuid.uuid4()),
            "event_type": "org.openedx.learning.course.enrollment.created.v1",
        },
    }


def xapi_passed(statement_id: str | None = None, *, actor=None, verb="passed", course=COURSE, success=True):
    return {
        "id": statement_id or str(uuid.uuid4()),
        "actor": actor or {"objectType": "Agent", "mbox": "mailto:grace@example.org", "name": "Grace"},
        "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}", "display": {"en": verb}},
        "object": {
            "objectType": "Activity",
            "id": f"{OPENEDX_ROOT}/course/{course}",
            "definition": {"type": "http://adlnet.gov/expapi/activities/course", "name": {"en": "Mentoring"}},
        },
        "result": {"success": success, "score": {"scaled": 0.9}},
        "timestamp": "2026-11-28T10:00:00Z",
        "version": "1.0.3",
    }


ANONYMOUS_ACTOR = {"objectType": "Agent", "account": {"homePage": OPENEDX_ROOT, "name": "2f4e0d33-anon"}}


def post_signed(base_url: str, payload: dict) -> requests.Response:
    """POST an Open edX event to a served bridge, signed as the forwarder signs it."""
    body = json.dumps(payload).encode()
    return requests.post(
        f"{base_url}/bridge/openedx/events",
        data=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, WEBHOOK_SECRET)},
        timeout=30,
    )
