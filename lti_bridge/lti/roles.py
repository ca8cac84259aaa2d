"""LMS roles → mentorNET roles: the instructors and administrators of a course linked to a network act as that
network's coordinators.

Each launch that carries a course (LTI context) linked to a network records, renews or removes a grant for
(person, network, context): an Instructor or Administrator of the context (``membership#Instructor``,
``membership#Administrator``) or an administrator of the institution (``institution/person#Administrator``)
gets one for ``GRANT_DAYS``; a teaching assistant (``membership/Instructor#TeachingAssistant``) does not, nor
does a learner; a launch of the same course without such a role removes it. ``networks.permissions.has_role``
asks ``granted_roles`` (registered by the plugin) when the person has no membership that answers, so the grant
counts only while it is unexpired, the course is still linked to that network, and the person is not suspended
there."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from lti_bridge.lti.launch import CLAIM, Launch
from lti_bridge.lti.models import LtiContext, LtiCoordinatorGrant
from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.courses.models import CourseLink
from network_service.db import session, utcnow
from network_service.networks import permissions
from network_service.networks.models import Membership, MembershipStatus, Network, Role

ROLES = CLAIM + "roles"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
INSTRUCTOR = LIS + "membership#Instructor"
CONTEXT_ADMINISTRATOR = LIS + "membership#Administrator"
INSTITUTION_ADMINISTRATOR = LIS + "institution/person#Administrator"
TEACHING_ASSISTANT = LIS + "membership/Instructor#TeachingAssistant"
COORDINATOR_ROLES = frozenset({INSTRUCTOR, CONTEXT_ADMINISTRATOR, INSTITUTION_ADMINISTRATOR})
ADMINISTRATORS = frozenset({CONTEXT_ADMINISTRATOR, INSTITUTION_ADMINISTRATOR})
GRANT_DAYS = 14  # an instructor who stops launching (removed from the course) loses the grant by then
_CACHE_KEY = "mentornet.lti.granted_roles"


def launch_roles(launch: Launch) -> list[str]:
    roles = launch.claims.get(ROLES)
    return [role for role in roles if isinstance(role, str)][:50] if isinstance(roles, list) else []


def acts_as_coordinator(roles: list[str]) -> bool:
    """An instructor or administrator; a teaching assistant is not (unless also an administrator)."""
    held = set(roles)
    if held & ADMINISTRATORS:
        return True
    return INSTRUCTOR in held and TEACHING_ASSISTANT not in held


def apply_launch_roles(
    launch: Launch, person: Person, context: LtiContext | None, *, holds_grant: bool | None = None
) -> LtiCoordinatorGrant | None:
    """Record, renew or remove the person's coordinator grant for the launch's course; the grant, if any.

    ``holds_grant`` is False when the caller read, in this transaction, that the person holds no grant for the
    context (``contexts.remember_context_of``): a learner's launch then needs no statement at all."""
    if context is None or person.id is None:
        return None
    roles = launch_roles(launch)
    if not acts_as_coordinator(roles):  # most launches: one statement, or none
        if holds_grant is not False:
            _remove_grants(person, context)
        return None
    link = session.scalar(sa.select(CourseLink).where(CourseLink.course_key == context.course_key))
    if link is None:
        _remove_grants(person, context)
        return None
    existing = session.scalars(
        sa.select(LtiCoordinatorGrant).where(
            LtiCoordinatorGrant.person_id == person.id, LtiCoordinatorGrant.context_id == context.id
        )
    ).all()
    now, held = utcnow(), [r for r in roles if r in COORDINATOR_ROLES]
    grant = next((g for g in existing if g.network_id == link.network_id), None)
    for stale in existing:  # the course was linked to another network since
        if stale is not grant:
            session.delete(stale)
    if grant is None:
        grant = LtiCoordinatorGrant(
            person_id=person.id,
            network_id=link.network_id,
            context_id=context.id,
            roles=held,
            granted_at=now,
            expires_at=now + dt.timedelta(days=GRANT_DAYS),
        )
        session.add(grant)
        session.flush()
        record(
            "lti.coordinator_grant",
            actor=person,
            target=grant,
            network=link.network,
            course_key=context.course_key,
            roles=held,
        )
    grant.roles = held
    grant.granted_at, grant.expires_at = now, now + dt.timedelta(days=GRANT_DAYS)
    session.flush()
    return grant


def _remove_grants(person: Person, context: LtiContext) -> None:
    grants = LtiCoordinatorGrant.__table__  # a Core statement: most launches have no grant to remove
    removed = session.execute(
        sa.delete(grants)
        .where(grants.c.person_id == person.id, grants.c.context_id == context.id)
        .returning(grants.c.network_id)
    ).all()
    for (network_id,) in removed:
        network = session.get(Network, network_id)
        record("lti.coordinator_grant.remove", actor=person, network=network, course_key=context.course_key)
    if removed:
        session.info.pop(_CACHE_KEY, None)


def granted_roles(person: Person, network: Network) -> frozenset[Role]:
    """The roles the person holds in the network through LMS launches (kept for the request until a flush)."""
    cache = session.info.setdefault(_CACHE_KEY, {})
    key = (person.id, network.id)
    if key not in cache:
        suspended = sa.exists().where(
            Membership.person_id == person.id,
            Membership.network_id == network.id,
            Membership.status == MembershipStatus.suspended,
        )
        found = session.scalar(
            sa.select(LtiCoordinatorGrant.id)
            .join(LtiContext, LtiContext.id == LtiCoordinatorGrant.context_id)
            .join(
                CourseLink,
                sa.and_(CourseLink.course_key == LtiContext.course_key, CourseLink.network_id == network.id),
            )
            .where(
                LtiCoordinatorGrant.person_id == person.id,
                LtiCoordinatorGrant.network_id == network.id,
                LtiCoordinatorGrant.expires_at > utcnow(),
                ~suspended,
            )
            .limit(1)
        )
        cache[key] = frozenset({Role.coordinator}) if found is not None else frozenset()
    return cache[key]


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_rollback")
def _forget_grants(session_: Session, *_args) -> None:
    session_.info.pop(_CACHE_KEY, None)


def register() -> None:
    """Let ``has_role`` count the grants (once per process, whatever the number of apps)."""
    if granted_roles not in permissions.ROLE_GRANTS:
        permissions.ROLE_GRANTS.append(granted_roles)


def grants_of(network: Network) -> list[LtiCoordinatorGrant]:
    """The network's unexpired grants (for its coordinators' overview)."""
    return list(
        session.scalars(
            sa.select(LtiCoordinatorGrant).where(
                LtiCoordinatorGrant.network_id == network.id, LtiCoordinatorGrant.expires_at > utcnow()
            )
        )
    )
