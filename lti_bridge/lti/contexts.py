"""Courses mentorNET is launched from, and their rosters from the platform (LTI Names and Role Provisioning).

A coordinator sees a linked course's roster against the network: who passed, who is invited, who joined. The
roster is fetched on demand (a button) and by the nightly job ``lti.roster``, and replaced whole each time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import sqlalchemy as sa
from flask_babel import gettext as _

from lti_bridge.lti.launch import CLAIM, Launch
from lti_bridge.lti.models import LtiContext, LtiIdentity, LtiRosterEntry
from lti_bridge.lti.services import ServiceError, fetch_memberships
from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.courses.models import CompletionEvent, CourseLink
from network_service.courses.operations import PASSED_STATUSES
from network_service.db import session, utcnow
from network_service.errors import Forbidden, NotFound
from network_service.networks import permissions
from network_service.networks.models import Membership, Network

log = logging.getLogger(__name__)

CONTEXT = CLAIM + "context"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
ROSTER_MAX_AGE = dt.timedelta(hours=20)
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


def course_key_of(launch: Launch) -> str | None:
    """The key a CourseLink uses for the launch's context: an Open edX course key as it is, any other
    platform's context id prefixed with its issuer (a Moodle course id means nothing outside its Moodle)."""
    context = launch.claims.get(CONTEXT)
    context_id = str(context.get("id") or "").strip() if isinstance(context, dict) else ""
    if not context_id:
        return None
    if context_id.startswith("course-v1:"):
        return context_id[:255]
    return f"{launch.platform.issuer}#{context_id}"[:255]


def remember_context(launch: Launch) -> LtiContext | None:
    """Keep the launch's context and its roster service address (each launch may bring a newer one)."""
    context = launch.claims.get(CONTEXT)
    course_key = course_key_of(launch)
    if course_key is None or not isinstance(context, dict):
        return None
    context_id = str(context["id"]).strip()[:255]
    nrps = launch.claims.get(NRPS)
    memberships_url = nrps.get("context_memberships_url") if isinstance(nrps, dict) else None
    if not (isinstance(memberships_url, str) and memberships_url.startswith(("https://", "http://"))):
        memberships_url = None
    title = str(context.get("title") or context.get("label") or "")[:255]
    row = session.scalar(
        sa.select(LtiContext).where(
            LtiContext.platform_id == launch.platform.id, LtiContext.context_id == context_id
        )
    )
    if row is None:
        row = LtiContext(platform=launch.platform, context_id=context_id, course_key=course_key, title=title)
        session.add(row)
    if memberships_url and memberships_url != row.memberships_url:
        row.memberships_url = memberships_url[:500]
        row.updated_at = utcnow()
    if title and title != row.title:
        row.title = title
    session.flush()
    return row


def refresh_roster(context: LtiContext) -> int:
    """Fetch the whole roster and replace the stored one. On failure the old roster stays, with the error."""
    if not context.memberships_url:
        context.roster_error = _(
            "The platform has not offered its roster service in a launch of this course yet."
        )
        return 0
    try:
        members, _context = fetch_memberships(context.platform, context.memberships_url)
    except ServiceError as exc:
        context.roster_error = exc.message
        log.warning("roster of LTI context %s: %s", context.id, exc.message)
        return 0
    session.execute(sa.delete(LtiRosterEntry).where(LtiRosterEntry.context_id == context.id))
    entries = {}
    for member in members:
        sub = str(member["user_id"])[:255]
        roles = [r for r in member.get("roles") or [] if isinstance(r, str)][:20]
        email = member.get("email") if isinstance(member.get("email"), str) else None
        entries[sub] = LtiRosterEntry(
            context_id=context.id,
            sub=sub,
            name=str(member.get("name") or "")[:200],
            email=email[:254].strip().lower() if email else None,
            roles=roles,
            status=str(member.get("status") or "Active")[:20],
        )
    session.add_all(entries.values())
    context.roster_fetched_at, context.roster_error = utcnow(), ""
    session.flush()
    return len(entries)


def refresh_due_rosters(now: dt.datetime | None = None) -> int:
    """The nightly job: every context with a roster service whose roster is older than ``ROSTER_MAX_AGE``."""
    now = now or utcnow()
    due = session.scalars(
        sa.select(LtiContext).where(
            LtiContext.memberships_url.is_not(None),
            sa.or_(
                LtiContext.roster_fetched_at.is_(None), LtiContext.roster_fetched_at < now - ROSTER_MAX_AGE
            ),
        )
    ).all()
    for context in due:
        refresh_roster(context)
    return len(due)


@dataclasses.dataclass
class RosterRow:
    name: str
    email: str | None
    is_learner: bool
    passed: bool
    membership: str | None  # "invited", "active", ... or None


@dataclasses.dataclass
class CourseRoster:
    link: CourseLink
    context: LtiContext
    rows: list[RosterRow]

    @property
    def counts(self) -> dict[str, int]:
        learners = [r for r in self.rows if r.is_learner]
        return {
            "learners": len(learners),
            "passed": sum(r.passed for r in learners),
            "invited": sum(r.membership == "invited" for r in learners),
            "joined": sum(r.membership == "active" for r in learners),
        }


def _contexts_of(network: Network) -> list[tuple[CourseLink, LtiContext]]:
    return list(
        session.execute(
            sa.select(CourseLink, LtiContext)
            .join(LtiContext, LtiContext.course_key == CourseLink.course_key)
            .where(CourseLink.network_id == network.id)
            .order_by(CourseLink.course_key, LtiContext.id)
        ).all()
    )


def rosters_for(network: Network, *, viewer: Person) -> list[CourseRoster]:
    """Each linked course's roster against the network, in a fixed number of queries."""
    if not permissions.can_see_courses(viewer, network):
        raise Forbidden(_("Only the network's coordinators can see course rosters."))
    pairs = _contexts_of(network)
    if not pairs:
        return []
    context_ids = [context.id for _link, context in pairs]
    entries = session.scalars(
        sa.select(LtiRosterEntry)
        .where(LtiRosterEntry.context_id.in_(context_ids))
        .order_by(LtiRosterEntry.name)
    ).all()
    platform_of = {context.id: context.platform_id for _link, context in pairs}
    # Who each roster member is here: the LMS account's link first, else the same e-mail address.
    identities = {
        (i.platform_id, i.sub): i.person_id
        for i in session.scalars(
            sa.select(LtiIdentity).where(
                LtiIdentity.platform_id.in_(set(platform_of.values())),
                LtiIdentity.sub.in_({e.sub for e in entries}),
                LtiIdentity.person_id.is_not(None),
            )
        )
    }
    emails = {e.email for e in entries if e.email}
    by_email = dict(session.execute(sa.select(Person.email, Person.id).where(Person.email.in_(emails))).all())
    person_ids = set(identities.values()) | set(by_email.values())
    memberships = dict(
        session.execute(
            sa.select(Membership.person_id, Membership.status).where(
                Membership.network_id == network.id, Membership.person_id.in_(person_ids)
            )
        ).all()
    )
    course_keys = {link.course_key for link, _context in pairs}
    passed = {
        (key, pid)
        for key, pid in session.execute(
            sa.select(CompletionEvent.course_key, CompletionEvent.person_id).where(
                CompletionEvent.course_key.in_(course_keys),
                CompletionEvent.person_id.in_(person_ids),
                CompletionEvent.status.in_(PASSED_STATUSES),
            )
        ).all()
    }
    by_context: dict[int, list[RosterRow]] = {cid: [] for cid in context_ids}
    key_of = {context.id: link.course_key for link, context in pairs}
    for entry in entries:
        person_id = identities.get((platform_of[entry.context_id], entry.sub)) or by_email.get(entry.email)
        status = memberships.get(person_id)
        by_context[entry.context_id].append(
            RosterRow(
                name=entry.name or entry.email or entry.sub,
                email=entry.email,
                is_learner=LEARNER in entry.roles or not entry.roles,
                passed=(key_of[entry.context_id], person_id) in passed,
                membership=status.value if status is not None else None,
            )
        )
    return [CourseRoster(link, context, by_context[context.id]) for link, context in pairs]


def refresh_for(network: Network, context_id: int, *, viewer: Person) -> int:
    if not permissions.can_see_courses(viewer, network):
        raise Forbidden(_("Only the network's coordinators can refresh course rosters."))
    pair = next((p for p in _contexts_of(network) if p[1].id == context_id), None)
    if pair is None:
        raise NotFound(_("This course is not linked to the network."))
    count = refresh_roster(pair[1])
    record("lti.roster.refresh", actor=viewer, target=pair[1], network=network, members=count)
    return count
