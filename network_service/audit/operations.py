from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from network_service.accounts.models import Person
from network_service.audit.models import AuditLog
from network_service.db import session
from network_service.networks.models import Membership, MembershipStatus, Network, Role


def record(action: str, *, actor=None, target=None, network=None, **detail: Any) -> AuditLog:
    """Write an audit entry in the caller's transaction: it lands exactly when the action lands."""
    entry = AuditLog(
        action=action,
        actor_id=getattr(actor, "id", None),
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=getattr(target, "id", None),
        network_id=getattr(network, "id", None),
        detail=detail,
    )
    session.add(entry)
    return entry


# -- reading the log (docs/permissions.md, "Audit log") -----------------------------------------------------------

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
CSV_MAX_ROWS = 10_000


@dataclasses.dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    actor: str = ""  # an e-mail address (exact, any case) or a person's id
    network: str = ""  # a network's slug
    since: dt.date | None = None  # from this day on (UTC), inclusive
    until: dt.date | None = None  # up to this day (UTC), inclusive


@dataclasses.dataclass
class AuditPage:
    entries: list[AuditLog]
    next_before: int | None  # the keyset cursor of the next (older) page; None on the last page
    networks: list[Network]  # the networks the viewer may filter by (site admins: all)
    everything: bool  # the viewer sees the whole log (a site administrator)


def audit_scope(viewer: Person | None) -> list[int] | None:
    """The networks whose entries the viewer may read: None means the whole log (site administrators); a
    coordinator reads the entries of the networks they actively coordinate. Anyone else: Forbidden."""
    from network_service.errors import Forbidden

    if viewer is None:
        raise Forbidden()
    if viewer.is_site_admin:
        return None
    network_ids = list(
        session.scalars(
            sa.select(Membership.network_id).where(
                Membership.person_id == viewer.id,
                Membership.role == Role.coordinator,
                Membership.status == MembershipStatus.active,
            )
        )
    )
    if not network_ids:
        raise Forbidden()
    return network_ids


def can_read_audit(viewer: Person | None) -> bool:
    from network_service.errors import Forbidden

    try:
        audit_scope(viewer)
    except Forbidden:
        return False
    return True


# A member's block of another is not told to the person blocked (docs/conversations.md): nor is its entry.
_NOT_TOLD_TO_TARGET = ("moderation.block", "moderation.unblock")


def _not_hidden_from(viewer: Person) -> sa.ColumnElement[bool]:
    """Leaves out what the log must not tell the viewer.

    - The entries about a report on the viewer (as the reported member or the author of the reported message):
      made, closed, passed on. The moderation queue keeps such reports from the person they are about, and who
      reported them; the log must not tell either (docs/permissions.md, footnote ³).
    - Someone's block or unblock of the viewer: the person blocked is not told, nor who blocked them."""
    from network_service.conversations.models import Message  # noqa: PLC0415 - audit is imported by everyone
    from network_service.moderation.models import Report  # noqa: PLC0415

    about_viewer = sa.select(Report.id).where(
        sa.or_(
            Report.person_id == viewer.id,
            Report.message_id.in_(sa.select(Message.id).where(Message.author_id == viewer.id)),
        )
    )
    not_about_a_report = sa.or_(
        AuditLog.target_type != "report",
        AuditLog.target_id.is_(None),
        AuditLog.target_id.not_in(about_viewer),
    )
    not_a_block_of_the_viewer = sa.or_(
        AuditLog.action.not_in(_NOT_TOLD_TO_TARGET),
        AuditLog.target_type != "person",
        AuditLog.target_id.is_(None),
        AuditLog.target_id != viewer.id,
    )
    return sa.and_(not_about_a_report, not_a_block_of_the_viewer)


def _query(viewer: Person, filters: AuditFilter) -> tuple[sa.Select, list[int] | None]:
    from network_service.errors import InvalidInput

    scope = audit_scope(viewer)
    query = sa.select(AuditLog).where(_not_hidden_from(viewer))
    if scope is not None:
        query = query.where(AuditLog.network_id.in_(scope))
    if filters.action:
        query = query.where(AuditLog.action == filters.action)
    if filters.actor:
        actor = filters.actor.strip()
        if actor.isdigit():
            query = query.where(AuditLog.actor_id == int(actor))
        else:
            ids = sa.select(Person.id).where(sa.func.lower(Person.email) == actor.lower())
            query = query.where(AuditLog.actor_id.in_(ids))
    if filters.network:
        query = query.where(
            AuditLog.network_id.in_(sa.select(Network.id).where(Network.slug == filters.network))
        )
    if filters.since and filters.until and filters.since > filters.until:
        raise InvalidInput(_("The start date must not be after the end date."), field="since")
    if filters.since:
        query = query.where(AuditLog.at >= dt.datetime.combine(filters.since, dt.time.min, tzinfo=dt.UTC))
    if filters.until:
        query = query.where(
            AuditLog.at
            < dt.datetime.combine(filters.until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
        )
    return query, scope


def search(
    viewer: Person, filters: AuditFilter, *, before: int | None = None, limit: int = PAGE_SIZE
) -> AuditPage:
    """One page of the log, newest first. Keyset paging: ``before`` is the id the previous page ended at."""
    query, scope = _query(viewer, filters)
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    if before is not None:
        query = query.where(AuditLog.id < before)
    rows = list(session.scalars(query.order_by(AuditLog.id.desc()).limit(limit + 1)))
    next_before = rows[limit - 1].id if len(rows) > limit else None
    networks_query = sa.select(Network).order_by(Network.name)
    if scope is not None:
        networks_query = networks_query.where(Network.id.in_(scope))
    return AuditPage(rows[:limit], next_before, list(session.scalars(networks_query)), scope is None)


def export_rows(viewer: Person, filters: AuditFilter) -> list[AuditLog]:
    """Every matching entry (newest first, at most CSV_MAX_ROWS) for the CSV export."""
    query, _scope = _query(viewer, filters)
    return list(session.scalars(query.order_by(AuditLog.id.desc()).limit(CSV_MAX_ROWS)))


def known_actions(viewer: Person) -> list[str]:
    """The actions the viewer's part of the log holds (for the filter's choices)."""
    query, _scope = _query(viewer, AuditFilter())
    subquery = query.subquery()
    return list(session.scalars(sa.select(subquery.c.action).distinct().order_by(subquery.c.action)))


def people_by_id(entries: list[AuditLog]) -> dict[int, Person]:
    ids = {entry.actor_id for entry in entries if entry.actor_id is not None}
    if not ids:
        return {}
    return {person.id: person for person in session.scalars(sa.select(Person).where(Person.id.in_(ids)))}


def networks_by_id(entries: list[AuditLog]) -> dict[int, Network]:
    ids = {entry.network_id for entry in entries if entry.network_id is not None}
    if not ids:
        return {}
    return {network.id: network for network in session.scalars(sa.select(Network).where(Network.id.in_(ids)))}
