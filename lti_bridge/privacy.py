"""The bridge's part of a member's data export and erasure (registered with network_service.privacy)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from lti_bridge.capstone.models import CapstoneLaunch, CapstoneTool
from lti_bridge.lti.models import (
    LtiContext,
    LtiCoordinatorGrant,
    LtiIdentity,
    LtiNonce,
    LtiPlatform,
    LtiRosterEntry,
    LtiScoreReport,
)
from network_service.db import session
from network_service.privacy.operations import row_dict
from network_service.privacy.registry import register_eraser, register_exporter, register_identifiers


def _identities(person) -> list[LtiIdentity]:
    matches = [LtiIdentity.person_id == person.id]
    if person.email:
        matches.append(sa.func.lower(LtiIdentity.email_claimed) == person.email.lower())
    return list(session.scalars(sa.select(LtiIdentity).where(sa.or_(*matches))))


def _roster_matches(person, subs: list[str]):
    matches = [LtiRosterEntry.sub.in_(subs)] if subs else []
    if person.email:
        matches.append(sa.func.lower(LtiRosterEntry.email) == person.email.lower())
    return sa.or_(*matches) if matches else sa.false()


def export_lti(person) -> dict:
    identities = []
    for identity in _identities(person):
        entry = row_dict(identity)
        platform = session.get(LtiPlatform, identity.platform_id)
        entry["platform"] = {"issuer": platform.issuer} if platform else None
        identities.append(entry)
    subs = [i.sub for i in _identities(person)]
    grants = []
    for grant in session.scalars(
        sa.select(LtiCoordinatorGrant).where(LtiCoordinatorGrant.person_id == person.id)
    ):
        entry = row_dict(grant)
        context = session.get(LtiContext, grant.context_id)
        entry["course_key"] = context.course_key if context else None
        grants.append(entry)
    launches = []
    for launch in session.scalars(sa.select(CapstoneLaunch).where(CapstoneLaunch.person_id == person.id)):
        entry = row_dict(launch)
        tool = session.get(CapstoneTool, launch.tool_id)
        entry["tool"] = {"name": tool.name, "course_key": tool.course_key} if tool else None
        launches.append(entry)
    return {
        "identities": identities,
        "coordinator_grants": grants,
        "capstone_launches": launches,
        "course_rosters": [
            row_dict(entry)
            for entry in session.scalars(sa.select(LtiRosterEntry).where(_roster_matches(person, subs)))
        ],
        "gradebook_reports": [
            row_dict(report)
            for report in session.scalars(sa.select(LtiScoreReport).where(LtiScoreReport.sub.in_(subs)))
        ]
        if subs
        else [],
    }


def lti_identifiers(person) -> dict[str, list[str]]:
    capstone = session.scalars(sa.select(CapstoneLaunch.sub).where(CapstoneLaunch.person_id == person.id))
    return {"lti_sub": [identity.sub for identity in _identities(person)], "capstone_sub": list(capstone)}


def erase_lti(erasure) -> None:
    person = erasure.person
    subs = erasure.identifiers.get("lti_sub", [])
    result = session.execute(
        sa.delete(LtiRosterEntry)
        .where(_roster_matches(person, subs))
        .execution_options(synchronize_session=False)
    )
    erasure.count("lti_roster_entries", result.rowcount)
    if subs:
        session.execute(
            sa.delete(LtiScoreReport)
            .where(LtiScoreReport.sub.in_(subs))
            .execution_options(synchronize_session=False)
        )
    ids = [identity.id for identity in _identities(person)]
    if ids:
        session.execute(
            sa.delete(LtiIdentity).where(LtiIdentity.id.in_(ids)).execution_options(synchronize_session=False)
        )
    erasure.count("lti_identities", len(ids))
    for model in (LtiCoordinatorGrant, CapstoneLaunch):
        result = session.execute(
            sa.delete(model).where(model.person_id == person.id).execution_options(synchronize_session=False)
        )
        erasure.count(model.__tablename__, result.rowcount)
    # a login in progress keeps the LMS's login request (its hints may be the person's sub or address): the
    # few that name the person go (they live minutes; the person must sign in again anyway)
    needles = erasure.needles()
    if needles:
        text = sa.cast(LtiNonce.login_params, sa.Text)
        variants = sorted({v for needle in needles for v in (needle, json.dumps(needle)[1:-1])})
        result = session.execute(
            sa.delete(LtiNonce)
            .where(
                LtiNonce.login_params.is_not(None),
                sa.or_(*[text.ilike(f"%{_like(v)}%", escape="\\") for v in variants]),
            )
            .execution_options(synchronize_session=False)
        )
        erasure.count("lti_logins_in_progress", result.rowcount)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


register_exporter("lti", export_lti)
register_identifiers("lti", lti_identifiers)
register_eraser("lti", erase_lti)
