"""Courses mentorNET is launched from, and their rosters from the platform (LTI Names and Role Provisioning).

A coordinator sees a linked course's roster against the network: who passed, who is invited, who joined. The
roster is fetched on demand (a button) and by the nightly job ``lti.roster``, and replaced whole each time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging

import sqlalchemy as sa
from flask_babel import gettext as _

from lti_bridge.lti.launch import CLAIM, Launch
from lti_bridge.lti.models import (
    LtiContext,
    LtiCoordinatorGrant,
    LtiIdentity,
    LtiRosterEntry,
    LtiScoreReport,
)
from lti_bridge.lti.services import ServiceError, ensure_joined_lineitem, fetch_memberships, post_joined_score
from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.courses.models import CompletionEvent, CourseLink
from network_service.courses.operations import passed_event
from network_service.db import session, utcnow
from network_service.errors import Conflict, Forbidden, NotFound
from network_service.networks import permissions
from network_service.networks.models import Membership, MembershipStatus, Network

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
    return remember_context_of(launch, None)[0]


def remember_context_of(launch: Launch, person: Person | None) -> tuple[LtiContext | None, bool | None]:
    """``remember_context``, and whether ``person`` holds a coordinator grant for the context, read in the same
    statement (None: not asked), so a learner's launch need not try to remove a grant they do not hold."""
    context = launch.claims.get(CONTEXT)
    course_key = course_key_of(launch)
    if course_key is None or not isinstance(context, dict):
        return None, None
    context_id = str(context["id"]).strip()[:255]
    nrps = launch.claims.get(NRPS)
    memberships_url = nrps.get("context_memberships_url") if isinstance(nrps, dict) else None
    if not (isinstance(memberships_url, str) and memberships_url.startswith(("https://", "http://"))):
        memberships_url = None
    title = str(context.get("title") or context.get("label") or "")[:255]
    asks = person is not None and person.id is not None
    found = session.execute(
        _context_statement(with_grant=asks),
        {
            "platform_id": launch.platform.id,
            "context_id": context_id,
            "person_id": person.id if asks else None,
        },
    ).first()
    row, held = (found[0], found[1] if len(found) > 1 else None) if found is not None else (None, None)
    if row is None:
        row = LtiContext(platform=launch.platform, context_id=context_id, course_key=course_key, title=title)
        session.add(row)
        held = False if asks else None  # a new course has no grants
    if memberships_url and memberships_url != row.memberships_url:
        row.memberships_url = memberships_url[:500]
        row.updated_at = utcnow()
    if title and title != row.title:
        row.title = title
    remember_grade_service(row, launch)
    session.flush()
    return row, held


@functools.cache
def _context_statement(*, with_grant: bool) -> sa.Select:
    """Built once per variant (building a statement and its cache key costs more than running it)."""
    query = sa.select(LtiContext).where(
        LtiContext.platform_id == sa.bindparam("platform_id"),
        LtiContext.context_id == sa.bindparam("context_id"),
    )
    if with_grant:
        query = query.add_columns(
            sa.exists().where(
                LtiCoordinatorGrant.person_id == sa.bindparam("person_id"),
                LtiCoordinatorGrant.context_id == LtiContext.id,
            )
        )
    return query


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
                passed_event(),
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


AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"


def remember_grade_service(context: LtiContext, launch: Launch) -> None:
    endpoint = launch.claims.get(AGS)
    url = endpoint.get("lineitems") if isinstance(endpoint, dict) else None
    if isinstance(url, str) and url.startswith(("https://", "http://")) and url != context.lineitems_url:
        context.lineitems_url = url[:500]
        context.updated_at = utcnow()


def set_report_joined(network: Network, context_id: int, enabled: bool, *, viewer: Person) -> LtiContext:
    if not permissions.can_see_courses(viewer, network):
        raise Forbidden(_("Only the network's coordinators can change what is reported to the gradebook."))
    pair = next((p for p in _contexts_of(network) if p[1].id == context_id), None)
    if pair is None:
        raise NotFound(_("This course is not linked to the network."))
    context = pair[1]
    if enabled and not context.lineitems_url:
        raise Conflict(
            _("The platform has not offered its gradebook service in a launch of this course yet.")
        )
    context.report_joined = enabled
    record("lti.grades.report_joined", actor=viewer, target=context, network=network, enabled=enabled)
    session.flush()
    return context


def report_joined(context: LtiContext, network: Network) -> int:
    """Post "joined the network" (1 of 1) for every learner of the course roster who is an active member of
    ``network`` through their linked LMS account and has not been reported yet. Returns how many were posted."""
    if not (context.report_joined and context.lineitems_url):
        return 0
    rows = session.execute(
        sa.select(LtiIdentity.sub, LtiRosterEntry.roles)
        .join(Membership, Membership.person_id == LtiIdentity.person_id)
        .join(
            LtiRosterEntry,
            sa.and_(LtiRosterEntry.sub == LtiIdentity.sub, LtiRosterEntry.context_id == context.id),
        )
        .where(
            LtiIdentity.platform_id == context.platform_id,
            Membership.network_id == network.id,
            Membership.status == MembershipStatus.active,
        )
    ).all()
    # Learners only: the course team's own membership is not a learner's achievement.
    joined_subs = {sub for sub, roles in rows if LEARNER in (roles or [])}
    reported = set(
        session.scalars(sa.select(LtiScoreReport.sub).where(LtiScoreReport.context_id == context.id))
    )
    due = sorted(joined_subs - reported)
    if not due:
        return 0
    posted = 0
    try:
        if not context.joined_lineitem_url:
            context.joined_lineitem_url = ensure_joined_lineitem(
                context.platform, context.lineitems_url, _("Joined the mentor network")
            )[:500]
        for sub in due:
            post_joined_score(context.platform, context.joined_lineitem_url, sub, utcnow().isoformat())
            session.add(LtiScoreReport(context_id=context.id, sub=sub, reported_at=utcnow()))
            posted += 1
        context.grades_error = ""
    except ServiceError as exc:
        context.grades_error = exc.message
        log.warning("gradebook of LTI context %s: %s", context.id, exc.message)
    session.flush()
    return posted


def report_all_joined() -> int:
    """The periodic job: every context that reports joining, for the network its course is linked to."""
    rows = session.execute(
        sa.select(LtiContext, CourseLink)
        .join(CourseLink, CourseLink.course_key == LtiContext.course_key)
        .where(LtiContext.report_joined.is_(True))
    ).all()
    return sum(report_joined(context, link.network) for context, link in rows)
