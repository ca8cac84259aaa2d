"""Deep Linking 2.0: an instructor picks what to place in the course; we answer with signed ``ltiResourceLink``
items. Nothing here needs the instructor to have a mentorNET account: the platform vouched for the request
(a checked launch) and gets back links only to pages that check their own visitors."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
import sqlalchemy as sa
from flask_babel import gettext as _

from lti_bridge.lti import keys
from lti_bridge.lti.contexts import course_key_of  # noqa: F401 - re-exported for the views
from lti_bridge.lti.gated import COURSE_PARAMETER, GATE_PARAMETER
from lti_bridge.lti.launch import CLAIM, DEEP_LINKING_SETTINGS, Launch
from lti_bridge.lti.models import LtiPlatform
from network_service.courses.models import CourseLink
from network_service.db import session
from network_service.urls import public_url

RESPONSE_LIFETIME = 300  # seconds the signed answer is valid: it goes straight back through the browser


@dataclass(frozen=True)
class Target:
    key: str
    title: str
    text: str
    url: str
    custom: dict[str, str]


def targets_for(course_key: str | None) -> list[Target]:
    """What an instructor can place: the network of the course (when the course is linked), mentorNET's home,
    and the completion gate for learners who passed."""
    launch_url = public_url("/lti/launch")
    link = (
        session.scalar(sa.select(CourseLink).where(CourseLink.course_key == course_key))
        if course_key
        else None
    )
    targets = []
    if link is not None:
        network = link.network
        targets.append(
            Target(
                "network",
                network.name,
                _(
                    "The mentor network of %(organisation)s: members, conversations, help and meetings.",
                    organisation=network.organisation.name,
                ),  # fmt: skip
                public_url(f"/networks/{network.slug}"),
                {},
            )
        )
    targets.append(
        Target(
            "panel",
            _("Mentor network panel (inside the course page)"),
            _(
                "A small panel for an iframe: the learner's status, the call to join, new messages, help requests and the next meeting."
            ),
            public_url("/embed/panel"),
            {},
        )
    )
    targets.append(
        Target(
            "home",
            _("My mentor networks"),
            _("The learner's networks and invitations in mentorNET."),
            public_url("/"),
            {},
        )
    )
    gate = {GATE_PARAMETER: "passed"}
    if course_key:
        gate[COURSE_PARAMETER] = course_key
    targets.append(
        Target(
            "completion_gate",
            _("Join the mentor network (for learners who passed)"),
            _(
                "Restrict this link in the course to learners who passed: opening it invites them into the "
                "network."
            ),
            launch_url,
            gate,
        )
    )
    return targets


def response_token(platform: LtiPlatform, deployment_id: str, chosen: list[Target], data: str | None) -> str:
    """The LtiDeepLinkingResponse, signed with the tool's current key."""
    now = int(time.time())
    items: list[dict[str, Any]] = []
    for target in chosen:
        item: dict[str, Any] = {
            "type": "ltiResourceLink",
            "title": target.title,
            "text": target.text,
            "url": target.url,
        }
        if target.custom:
            item["custom"] = dict(target.custom)
        items.append(item)
    claims: dict[str, Any] = {
        "iss": platform.client_id,
        "aud": platform.issuer,
        "iat": now,
        "exp": now + RESPONSE_LIFETIME,
        "nonce": secrets.token_urlsafe(24),
        CLAIM + "deployment_id": deployment_id,
        CLAIM + "message_type": "LtiDeepLinkingResponse",
        CLAIM + "version": "1.3.0",
        "https://purl.imsglobal.org/spec/lti-dl/claim/content_items": items,
    }
    if data is not None:
        claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] = data
    key = keys.current_key()
    return jwt.encode(claims, keys.private_pem(key), algorithm="RS256", headers={"kid": key.kid})


def settings_of(launch: Launch) -> dict[str, Any]:
    settings = launch.claims.get(DEEP_LINKING_SETTINGS)
    return settings if isinstance(settings, dict) else {}
