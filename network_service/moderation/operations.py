"""Moderation and safeguarding: reports, the Meta-Mentor's queue, hiding messages, suspending members, blocks.

Every action lands in the audit log in the same transaction.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, lazyload

from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.conversations import operations as conversations
from network_service.conversations import permissions as conversation_permissions
from network_service.conversations.models import Message
from network_service.conversations.permissions import is_moderator
from network_service.db import session, utcnow
from network_service.errors import Conflict, Forbidden, InvalidInput, NotFound
from network_service.federations import access as federation_access
from network_service.moderation.models import Block, Report, ReportReason, ReportStatus
from network_service.networks.models import Membership, MembershipStatus, Network, Role
from network_service.networks.operations import leaves_no_coordinator, people_in_roles
from network_service.networks.permissions import LEADERS, has_role, is_member
from network_service.notifications.operations import notify, register_kind

MAX_NOTE_CHARS = 2000
QUEUE_PAGE_SIZE = 50

register_kind(
    "moderation.forwarded",
    lambda p: _(
        "The moderators of %(network)s passed a report about a member of your network on to you.",
        network=p.get("from_name", ""),
    ),
)


register_kind(
    "moderation.report",
    lambda p: _("A new report awaits the moderators of %(network)s.", network=p.get("network_name", "")),
)


def _clean_note(note: str | None, field: str = "note") -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(_("Keep the note under %(max)s characters.", max=MAX_NOTE_CHARS), field=field)
    return note


def _reason(reason) -> ReportReason:
    try:
        return ReportReason(reason)
    except ValueError:
        raise InvalidInput(_("Choose a reason for the report."), field="reason") from None


def _membership(network: Network, person: Person) -> Membership | None:
    return session.scalar(
        sa.select(Membership).where(Membership.network_id == network.id, Membership.person_id == person.id)
    )


# -- who handles a report ---------------------------------------------------------------------------------
#
# A report goes to the network's moderators (coordinators and Meta-Mentors), except the person it is about (the
# reported member, or the author of the reported message): they do not see it, its reporter or its badge, and
# cannot close it (404, as for no report). When nobody else moderates the network (a single coordinator is
# reported, say), site administrators see and close it instead: only such reports, never the network's others.


def is_about(person: Person | None, report: Report) -> bool:
    """Whether ``report`` is about ``person``: the reported member, or the author of the reported message."""
    if person is None:
        return False
    if report.person_id == person.id:
        return True
    return report.message is not None and report.message.author_id == person.id


def _not_about(viewer: Person) -> sa.ColumnElement[bool]:
    return sa.or_(Report.person_id.is_(None), Report.person_id != viewer.id)


def _another_moderator() -> sa.ColumnElement[bool]:
    """(Correlated to ``Report``.) The report's network has an active coordinator or Meta-Mentor who is not the
    report's person."""
    return sa.exists().where(
        Membership.network_id == Report.network_id,
        Membership.status == MembershipStatus.active,
        Membership.role.in_(list(LEADERS)),
        sa.or_(Report.person_id.is_(None), Membership.person_id != Report.person_id),
    )


def _reports_for(viewer: Person | None, network: Network) -> sa.ColumnElement[bool] | None:
    """Which of ``network``'s reports ``viewer`` handles, as a WHERE clause; None: no report at all."""
    if viewer is None:
        return None
    if is_moderator(viewer, network):
        return _not_about(viewer)
    if viewer.is_site_admin:
        return sa.and_(_not_about(viewer), ~_another_moderator())
    return None


def may_handle(viewer: Person | None, report: Report) -> bool:
    """Whether ``viewer`` sees and handles ``report`` (see above)."""
    if viewer is None or is_about(viewer, report):
        return False
    if is_moderator(viewer, report.network):
        return True
    return viewer.is_site_admin and not session.scalar(
        sa.select(_another_moderator()).select_from(Report).where(Report.id == report.id)
    )


def _recipients_of(report: Report, actor: Person) -> list[Person]:
    """Who is told of a new report: the network's coordinators and Meta-Mentors but the person it is about and
    the reporter; when no moderator but the reported person exists, the site administrators."""
    network = report.network or session.get(Network, report.network_id)
    leaders = people_in_roles(network, LEADERS)
    if not [p for p in leaders if not is_about(p, report)]:
        leaders = list(
            session.scalars(
                sa.select(Person).where(Person.is_site_admin.is_(True)).options(lazyload(Person.memberships))
            )
        )
    return [p for p in leaders if not is_about(p, report) and p.id != actor.id]


def _tell_moderators(report: Report, actor: Person) -> None:
    """A notification (no text of the report: the e-mail carries only a link to the queue), under each
    recipient's e-mail choice."""
    network = report.network or session.get(Network, report.network_id)
    notify(
        _recipients_of(report, actor),
        "moderation.report",
        url=f"/networks/{network.slug}/moderation#r{report.id}",
        network=network,
        network_name=network.name,
    )


@dataclasses.dataclass
class Evidence:
    """The reported text as it was when reported, and what became of the message since."""

    body: str
    taken_at: object
    edited_since: bool
    deleted_since: bool


def evidence(report: Report) -> Evidence | None:
    """For those who handle ``report`` only (callers have checked ``may_handle``); None for a report of a
    member, or one made before reports kept the text."""
    if report.snapshot_body is None or report.snapshot_at is None:
        return None
    message = report.message
    return Evidence(
        body=report.snapshot_body,
        taken_at=report.snapshot_at,
        edited_since=message is not None
        and message.edited_at is not None
        and message.edited_at > report.snapshot_at,
        deleted_since=message is None or message.deleted_at is not None,
    )


# -- reports ----------------------------------------------------------------------------------------------


def report_message(message: Message, *, actor: Person, reason, note: str = "") -> Report:
    """Anyone who can read a message as a member can report it (and with it its author) to the moderators of
    the message's network: its active members, and the readers of an open channel shared with a federation
    (the channel's network moderates it, docs/federations.md)."""
    network = message.channel.network
    if not is_member(actor, network) and not federation_access.can_read_shared_channel(
        actor, message.channel
    ):
        raise Forbidden(_("Only active members of this network can report messages."))
    conversations.get_message(message.id, actor)  # NotFound unless the reporter may read it
    if message.author_id == actor.id:
        raise InvalidInput(
            _("You cannot report your own message; edit or delete it instead."), field="message"
        )
    _refuse_a_second_open_report(network, actor, message_id=message.id)
    report = Report(
        network_id=network.id,
        reporter_id=actor.id,
        message_id=message.id,
        person_id=message.author_id,
        reason=_reason(reason),
        note=_clean_note(note),
        snapshot_body=message.body,  # the evidence, should the author edit or delete the message
        snapshot_at=utcnow(),
    )
    session.add(report)
    session.flush()
    record("moderation.report", actor=actor, target=report, network=network, message_id=message.id)
    _tell_moderators(report, actor)
    return report


def _refuse_a_second_open_report(network: Network, actor: Person, **about) -> None:
    """One open report per reporter and message (or member): the moderators have it already, and each report
    notifies them all."""
    known = session.scalar(
        sa.select(Report.id).where(
            Report.network_id == network.id,
            Report.reporter_id == actor.id,
            Report.status == ReportStatus.open,
            *(getattr(Report, column) == value for column, value in about.items()),
        )
    )
    if known is not None:
        raise Conflict(_("You have reported this already: the moderators have your report."))


def report_member(network: Network, person: Person, *, actor: Person, reason, note: str = "") -> Report:
    if not is_member(actor, network):
        raise Forbidden(_("Only active members of this network can report members."))
    membership = _membership(network, person)
    if membership is None or membership.status not in (MembershipStatus.active, MembershipStatus.suspended):
        raise NotFound(_("This person is not a member of this network."), field="person_id")
    if person.id == actor.id:
        raise InvalidInput(_("You cannot report yourself."), field="person_id")
    _refuse_a_second_open_report(network, actor, person_id=person.id)
    report = Report(
        network_id=network.id,
        reporter_id=actor.id,
        person_id=person.id,
        reason=_reason(reason),
        note=_clean_note(note),
    )
    session.add(report)
    session.flush()
    record("moderation.report", actor=actor, target=report, network=network, person_id=person.id)
    _tell_moderators(report, actor)
    return report


def list_reports(
    network: Network,
    viewer: Person | None,
    *,
    status: ReportStatus = ReportStatus.open,
    before: int | None = None,
) -> tuple[list[Report], int | None]:
    """The moderation queue (coordinators and Meta-Mentors): newest first, with each reported message. Reports
    about the viewer are left out. A site administrator sees the reports nobody else can handle (see
    ``may_handle``), and gets 403 while the network has none."""
    visible = _reports_for(viewer, network)
    if visible is None or (
        not is_moderator(viewer, network)
        and not session.scalar(sa.select(sa.exists().where(Report.network_id == network.id, visible)))
    ):
        raise Forbidden(_("Only the coordinator and the Meta-Mentor see the moderation queue."))
    query = (
        sa.select(Report)
        .where(Report.network_id == network.id, Report.status == ReportStatus(status), visible)
        .options(
            joinedload(Report.reporter).lazyload(Person.memberships),
            joinedload(Report.person).lazyload(Person.memberships),
            joinedload(Report.handled_by).lazyload(Person.memberships),
            joinedload(Report.message).joinedload(Message.channel),
            lazyload(Report.network),
        )
        .order_by(Report.id.desc())
    )
    if before is not None:
        query = query.where(Report.id < before)
    rows = list(session.scalars(query.limit(QUEUE_PAGE_SIZE + 1)))
    older = rows[QUEUE_PAGE_SIZE - 1].id if len(rows) > QUEUE_PAGE_SIZE else None
    return rows[:QUEUE_PAGE_SIZE], older


def open_report_count(viewer: Person, network: Network) -> int:
    query = open_report_query(viewer, network)
    return query if isinstance(query, int) else session.scalar(*query)


def open_report_query(viewer: Person, network: Network) -> tuple[sa.Select, dict] | int:
    """The moderation badge (open reports, for a moderator) as (statement, parameters), or 0 for anyone else."""
    if not is_moderator(viewer, network):
        return 0
    return _OPEN_REPORTS, {"network_id": network.id, "viewer_id": viewer.id}


_OPEN_REPORTS = sa.select(sa.func.count(Report.id)).where(  # built once: asked on every moderator's page
    Report.network_id == sa.bindparam("network_id", type_=sa.Integer),
    Report.status == ReportStatus.open,
    sa.or_(Report.person_id.is_(None), Report.person_id != sa.bindparam("viewer_id", type_=sa.Integer)),
)


def _require_handler(viewer: Person | None, report: Report) -> None:
    """404, as for no report, for a report about ``viewer``; 403 for anyone else who may not handle it (a site
    administrator while someone else moderates the network)."""
    if is_about(viewer, report):
        raise NotFound(_("There is no such report."))
    if not may_handle(viewer, report):
        raise Forbidden(_("Only the coordinator and the Meta-Mentor handle reports."))


def get_report(network: Network, report_id: int, viewer: Person | None) -> Report:
    if not is_moderator(viewer, network) and not (viewer is not None and viewer.is_site_admin):
        raise Forbidden(_("Only the coordinator and the Meta-Mentor handle reports."))
    report = session.get(Report, report_id)
    if report is None or report.network_id != network.id:
        raise NotFound(_("There is no such report."))
    _require_handler(viewer, report)
    return report


def handle_report(report: Report, *, actor: Person, status, resolution: str = "") -> Report:
    network = report.network
    _require_handler(actor, report)
    try:
        status = ReportStatus(status)
    except ValueError:
        raise InvalidInput(_("Choose resolved, dismissed or open."), field="status") from None
    report.status = status
    report.resolution = _clean_note(resolution, "resolution")
    report.handled_by_id = actor.id if status != ReportStatus.open else None
    report.handled_at = utcnow() if status != ReportStatus.open else None
    session.flush()
    if status != ReportStatus.open and report.message_id is not None:
        # an open report held the text of a message its author deleted (docs/privacy.md, "Deleted messages")
        conversations.drop_withdrawn_texts(report.message_id)
    record("moderation.report_" + status.value, actor=actor, target=report, network=network)
    return report


# -- passing a report on to the person's own network -----------------------------------------------------------
#
# A reader from a federation (docs/federations.md) is reported to the channel's network, whose moderators can hide
# the message but not suspend someone who is not their member. They pass the report on to a network of the person's
# that reads the channel through the share: its moderators get an open report about the same message and person.


def network_named(slug: str | None) -> Network:
    """The network a report is passed on to, named in the request's body."""
    slug = (slug or "").strip().lower()
    network = session.scalar(sa.select(Network).where(Network.slug == slug)) if slug else None
    if network is None:
        raise InvalidInput(_("There is no network at this address."), field="network")
    return network


def forward_targets(report: Report) -> list[Network]:
    """Where an open report can be passed on: the networks the reported person is an active member of and through
    which they read the message's channel (shared with a federation), when they are not an active member of the
    report's network. Empty otherwise."""
    person, message = report.person, report.message
    if report.status != ReportStatus.open or person is None or message is None:
        return []
    if is_member(person, report.network):
        return []
    return [
        n for n in federation_access.networks_reading_in(person, message.channel) if n.id != report.network_id
    ]


def forward_report(report: Report, *, actor: Person, to_network: Network, note: str = "") -> Report:
    """A moderator passes an open report about someone who is not a member of the report's network on to a
    network of theirs that reads the message's channel through a federation: a new open report there (same
    message, person and reason; the forwarding moderator reports it), the original resolved, both audited."""
    network = report.network
    if not is_moderator(actor, network):
        raise Forbidden(_("Only the coordinator and the Meta-Mentor pass reports on."))
    _require_handler(actor, report)
    if report.status != ReportStatus.open:
        raise Conflict(_("This report is already handled."), field="report")
    person, message = report.person, report.message
    if person is None or message is None:
        raise Conflict(
            _("Only a report about a message and its author can be passed on to another network."),
            field="report",
        )
    if is_member(person, network):
        raise Conflict(
            _("%(name)s is a member of this network: handle the report here.", name=person.name_or_email),
            field="report",
        )
    if to_network.id not in {n.id for n in forward_targets(report)}:
        raise InvalidInput(
            _(
                "%(name)s does not read this channel as a member of %(network)s.",
                name=person.name_or_email,
                network=to_network.name,
            ),
            field="network",
        )
    note = _clean_note(note)
    already = session.scalar(
        sa.select(Report.id)
        .where(
            Report.network_id == to_network.id,
            Report.message_id == message.id,
            Report.person_id == person.id,
            Report.status == ReportStatus.open,
        )
        .limit(1)
    )
    if already is not None:
        raise Conflict(
            _(
                "The moderators of %(network)s already have an open report about this message.",
                network=to_network.name,
            ),
            field="network",
        )
    # close the original only if it is still open (two moderators passing it on at once: one wins)
    claimed = session.execute(
        sa.update(Report)
        .where(Report.id == report.id, Report.status == ReportStatus.open)
        .values(
            status=ReportStatus.resolved,
            resolution=_("Passed on to the moderators of %(network)s.", network=to_network.name),
            handled_by_id=actor.id,
            handled_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise Conflict(_("This report is already handled."), field="report")
    session.expire(report)
    passed_on = _("Passed on by the moderators of %(network)s.", network=network.name)
    forwarded = Report(
        network_id=to_network.id,
        reporter_id=actor.id,
        message_id=message.id,
        person_id=person.id,
        reason=report.reason,
        note=f"{passed_on}\n\n{note}" if note else passed_on,
        snapshot_body=report.snapshot_body,  # the text as first reported
        snapshot_at=report.snapshot_at,
    )
    session.add(forwarded)
    session.flush()
    record(
        "moderation.forward",
        actor=actor,
        target=report,
        network=network,
        to_network=to_network.slug,
        report_id=forwarded.id,
        person_id=person.id,
    )
    record(
        "moderation.forward",
        actor=actor,
        target=forwarded,
        network=to_network,
        from_network=network.slug,
        from_report_id=report.id,
        person_id=person.id,
        message_id=message.id,
    )
    notify(
        _recipients_of(forwarded, actor),  # not the person reported, even if they moderate there
        "moderation.forwarded",
        url=f"/networks/{to_network.slug}/moderation#r{forwarded.id}",
        network=to_network,
        actor=actor,
        from_name=network.name,
    )
    return forwarded


@dataclasses.dataclass
class QueueActions:
    """What the queue offers for each report: "Suspend" only for active members of the network, "Pass on" to
    the networks of ``forward_targets``, "Hide" only for messages of the network's own channels."""

    members: set[int]
    forward_to: dict[int, list[Network]]


def queue_actions(network: Network, reports: list[Report]) -> QueueActions:
    person_ids = {r.person_id for r in reports if r.person_id is not None}
    members = (
        set(
            session.scalars(
                sa.select(Membership.person_id).where(
                    Membership.network_id == network.id,
                    Membership.status == MembershipStatus.active,
                    Membership.person_id.in_(person_ids),
                )
            )
        )
        if person_ids
        else set()
    )
    forward_to: dict[int, list[Network]] = {}
    for r in reports:
        if r.status == ReportStatus.open and r.message is not None and r.person_id not in members:
            targets = forward_targets(r)
            if targets:
                forward_to[r.id] = targets
    return QueueActions(members, forward_to)


# -- hiding -------------------------------------------------------------------------------------------------


def hide_message(message: Message, *, actor: Person, hidden: bool = True, reason: str = "") -> Message:
    """Moderators hide a message: everyone else sees "hidden by a moderator"; the author and moderators still
    see the text, marked as hidden."""
    network = message.channel.network
    if not is_moderator(actor, network):
        raise Forbidden(_("Only the coordinator and the Meta-Mentor can hide messages."))
    if not conversation_permissions.reaches_for_moderation(actor, message):
        # a private group's or direct conversation's message, not reported in the network
        raise NotFound(_("There is no such message."))
    if not hidden and message.author_id == actor.id and message.hidden_by_id not in (None, actor.id):
        # a reported moderator would show again their own message another moderator hid
        raise Forbidden(_("Another moderator decides whether your own message is hidden."))
    reason = _clean_note(reason, "reason")  # judged before anything changes
    if hidden:
        message.hidden_at = message.hidden_at or utcnow()
        message.hidden_by_id = actor.id
    else:
        message.hidden_at = None
        message.hidden_by_id = None
    session.flush()
    record(
        "moderation.hide" if hidden else "moderation.unhide",
        actor=actor,
        target=message,
        network=network,
        reason=reason,
    )
    return message


# -- suspension ---------------------------------------------------------------------------------------------


def suspend_member(network: Network, person: Person, *, actor: Person, reason: str) -> Membership:
    """A moderator suspends an active member: they lose every access to the network at once (has_role counts
    only active memberships). Only a coordinator suspends a coordinator, never the last active one; nobody
    suspends themselves."""
    if not is_moderator(actor, network):
        raise Forbidden(_("Only the coordinator and the Meta-Mentor can suspend members."))
    if person.id == actor.id:
        raise InvalidInput(_("You cannot suspend yourself."), field="person_id")
    membership = _membership(network, person)
    if membership is None or membership.status != MembershipStatus.active:
        raise Conflict(_("Only active members can be suspended."), field="person_id")
    # a coordinator through their membership or an LMS grant; a site admin moderates only as a member
    if membership.role == Role.coordinator and not has_role(
        actor, network, {Role.coordinator}, site_admin=False
    ):
        raise Forbidden(_("Only a coordinator can suspend a coordinator."))
    if leaves_no_coordinator(membership, network):
        # an LMS instructor acting as coordinator has no membership: the network would be left without one
        raise Conflict(
            _("This is the network's only active coordinator. Appoint another coordinator first."),
            field="person_id",
        )
    reason = _clean_note(reason, "reason")
    if not reason:
        raise InvalidInput(_("Say why, for the record."), field="reason")
    membership.status = MembershipStatus.suspended
    session.flush()
    record("moderation.suspend", actor=actor, target=person, network=network, reason=reason)
    return membership


def may_reinstate(actor: Person | None, network: Network, membership: Membership) -> bool:
    """Whether ``actor`` may reinstate the suspended ``membership``: a moderator, and for a coordinator only a
    coordinator (by membership or an LMS grant; a site admin only as a member), as for suspending."""
    if not is_moderator(actor, network):
        return False
    return membership.role != Role.coordinator or has_role(
        actor, network, {Role.coordinator}, site_admin=False
    )


def may_suspend(actor: Person | None, network: Network, membership: Membership) -> bool:
    """Whether to offer ``actor`` to suspend ``membership`` (the members page): an active member other than
    themself, by the rule of ``suspend_member`` (which decides, and also keeps the last coordinator)."""
    return (
        actor is not None
        and membership.person_id != actor.id
        and membership.status == MembershipStatus.active
        and may_reinstate(actor, network, membership)
    )


def reinstate_member(network: Network, person: Person, *, actor: Person, reason: str = "") -> Membership:
    """Undoing a suspension follows the rule of suspending: only a coordinator reinstates a coordinator (else a
    Meta-Mentor could undo a coordinator's suspension of another coordinator)."""
    if not is_moderator(actor, network):
        raise Forbidden(_("Only the coordinator and the Meta-Mentor can reinstate members."))
    membership = _membership(network, person)
    if membership is None or membership.status != MembershipStatus.suspended:
        raise Conflict(_("This person is not suspended."), field="person_id")
    if not may_reinstate(actor, network, membership):
        raise Forbidden(_("Only a coordinator can reinstate a coordinator."))
    membership.status = MembershipStatus.active
    session.flush()
    record(
        "moderation.reinstate",
        actor=actor,
        target=person,
        network=network,
        reason=_clean_note(reason, "reason"),
    )
    return membership


def suspended_members(network: Network, viewer: Person | None) -> list[Membership]:
    if not is_moderator(viewer, network):
        raise Forbidden(_("Only the coordinator and the Meta-Mentor see suspended members."))
    return list(
        session.scalars(
            sa.select(Membership)
            .where(Membership.network_id == network.id, Membership.status == MembershipStatus.suspended)
            .order_by(Membership.id)
        )
    )


# -- blocks -------------------------------------------------------------------------------------------------


def block(network: Network, person: Person, *, actor: Person) -> Block:
    """``actor`` blocks ``person`` (both of ``network``): no direct messages between them, no mentions from
    them, and their messages collapsed for the actor. Idempotent."""
    if not is_member(actor, network):
        raise Forbidden(_("Only active members of this network can block someone."))
    if person.id == actor.id:
        raise InvalidInput(_("You cannot block yourself."), field="person_id")
    membership = _membership(network, person)
    if membership is None or membership.status == MembershipStatus.invited:
        raise NotFound(_("This person is not a member of this network."), field="person_id")
    existing = session.scalar(
        sa.select(Block).where(Block.blocker_id == actor.id, Block.blocked_id == person.id)
    )
    if existing is not None:
        return existing
    entry = Block(blocker_id=actor.id, blocked_id=person.id)
    session.add(entry)
    session.flush()
    record("moderation.block", actor=actor, target=person, network=network)
    return entry


def unblock(network: Network, person: Person, *, actor: Person) -> None:
    """``actor`` stops blocking ``person``. Blocks are the actor's own, not a network's: anyone may lift theirs
    through any network's address (a member who has left every network too). The audit entry names the network
    only when the actor belongs to it, so that nobody can write into another network's audit log."""
    if actor is None:
        raise Forbidden(_("Sign in first."))
    deleted = session.execute(
        sa.delete(Block).where(Block.blocker_id == actor.id, Block.blocked_id == person.id)
    ).rowcount
    if deleted:
        membership = _membership(network, actor)
        belongs = membership is not None and membership.status != MembershipStatus.invited
        record("moderation.unblock", actor=actor, target=person, network=network if belongs else None)


def blocks_of(actor: Person) -> list[Block]:
    return list(
        session.scalars(
            sa.select(Block)
            .where(Block.blocker_id == actor.id)
            .options(joinedload(Block.blocked).lazyload(Person.memberships))
            .order_by(Block.id)
        )
    )


def block_candidates(
    network: Network,
    actor: Person,
    q: str,
    *,
    after: int | None = None,
    limit: int = conversations.PICK_PAGE_SIZE,
) -> tuple[list[Person], int | None]:
    """A page of the active members of ``network`` whose name contains ``q`` (everyone for an empty ``q``) that
    ``actor`` may block and does not block yet, by name (the blocks page; ``conversations.find_members``)."""
    if not is_member(actor, network):
        raise Forbidden(_("Only active members of this network can block someone."))
    excluded = [
        Person.id == actor.id,
        Person.id.in_(sa.select(Block.blocked_id).where(Block.blocker_id == actor.id)),
    ]
    return conversations.find_members(
        network.id, conversations.search_text(q), excluded=excluded, after=after, limit=limit
    )


def get_person(person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(_("No such person."), field="person_id")
    return person


def get_message_for_moderation(network: Network, message_id: int, viewer: Person) -> Message:
    """A message of ``network`` for a moderator: one they may read, or one reported in ``network`` (they act on a
    reported message without reading the private group or direct conversation around it). Any other message of
    a private group or a direct conversation is not theirs to reach: 404, as for no message at all."""
    message = session.get(Message, message_id)
    if message is None or message.channel.network_id != network.id:
        raise NotFound(_("There is no such message."))
    if not conversation_permissions.reaches_for_moderation(viewer, message):
        raise NotFound(_("There is no such message."))
    return message
