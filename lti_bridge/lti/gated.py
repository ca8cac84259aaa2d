"""Completion-gated launch: a resource link the LMS shows only to learners who passed (its own access
restriction: Moodle's "Restrict access", Canvas requirements, Open edX prerequisites) carries the custom
parameter ``mentornet_completion=passed``; its launch provisions the learner through the same operation as every
other completion source.

The course is the custom parameter ``mentornet_course`` when the link has one (set it to the key the course is
linked under), else the launch's context id: an Open edX course key (``course-v1:...``) as it is, any other
platform's context id prefixed with the platform's issuer (``<issuer>#<context id>``), because a Moodle course id
such as ``42`` means nothing outside its Moodle.
"""

from __future__ import annotations

from typing import Any

from lti_bridge.lti.contexts import course_key_of
from lti_bridge.lti.launch import CLAIM, Launch
from lti_bridge.lti.models import LtiIdentity
from network_service.courses.operations import ProvisionResult, provision_graduate

CUSTOM = CLAIM + "custom"
GATE_PARAMETER = "mentornet_completion"
COURSE_PARAMETER = "mentornet_course"
SOURCE = "lti_launch"


def _custom(launch: Launch) -> dict[str, Any]:
    custom = launch.claims.get(CUSTOM)
    return custom if isinstance(custom, dict) else {}


def gated_course(launch: Launch) -> str | None:
    """The course this launch certifies a pass of, or None when the link is not a completion gate."""
    custom = _custom(launch)
    if str(custom.get(GATE_PARAMETER, "")).strip().lower() != "passed":
        return None
    course = str(custom.get(COURSE_PARAMETER) or "").strip()
    if course and not course.startswith("$"):  # an unsubstituted LMS variable is no course
        return course[:255]
    return course_key_of(launch)


def event_id_for(launch: Launch, course_key: str) -> str:
    # One event per learner and course: every later launch of the gate is the same event, acted on once.
    return f"lti:{launch.platform.id}:{launch.sub}:{course_key}"[:255]


def provision_from_launch(
    launch: Launch, identity: LtiIdentity, course_key: str, email: str | None = None
) -> ProvisionResult:
    """Store the pass (once) and invite the learner when their e-mail is known; without one the event waits as
    ``unknown_identity`` until the learner confirms an address (``email`` on that second call)."""
    person = identity.person
    known_email = email or (person.email if person is not None else None)
    learner = {"lti_platform": launch.platform.id, "lti_sub": launch.sub}
    if known_email:
        learner["email"] = known_email
    if launch.name:
        learner["name"] = launch.name[:120]
    locale = launch.claims.get("locale")
    if isinstance(locale, str):
        learner["locale"] = locale[:16]
    return provision_graduate(
        course_key,
        learner,
        event_id_for(launch, course_key),
        SOURCE,
        payload={"message_type": "LtiResourceLinkRequest", "custom": {GATE_PARAMETER: "passed"}},
    )


def complete_pending(course_key: str, event_id: str, identity: LtiIdentity) -> ProvisionResult | None:
    """The learner of a gated launch confirmed their e-mail: the stored pass learns it and is acted on."""
    person = identity.person
    if person is None or not person.email:
        return None
    learner = {"lti_platform": identity.platform_id, "lti_sub": identity.sub, "email": person.email}
    return provision_graduate(course_key, learner, event_id, SOURCE)
