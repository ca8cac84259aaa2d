"""Moderation and safeguarding: reports, the Meta-Mentor's queue, hiding messages, suspending members, blocks.

Every action lands in the audit log in the same transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, lazyload

from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.conversations import operations as conversations
from network_service.conversations.models import Message
from network_service.conversations.permissions import is_moderator
from network_service.db import session, utcnow
from network_service.errors import Conflict, Forbidden, InvalidInput, NotFound
from network_service.federations import access as federation_access
from network_service.moderation.models import Block, Report, ReportReason, ReportStatus
from network_service.networks.models import Membership, MembershipStatus, Network, Role
from network_service.networks.permissions import has_role, is_member

MAX_NOTE_CHARS = 2000
QUEUE_PAGE_SIZE = 50


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
    report = Report(
        network_id=network.id,
        reporter_id=actor.id,
        message_id=message.id,
        person_id=message.author_id,
        reason=_reason(reason),
        note=_clean_note(note),
    )
    session.add(report)
    session.flush()
    record("moderation.report", actor=actor, target=report, network=network, message_id=message.id)
    return report


def report_member(network: Network, person: Person, *, actor: Person, reason, note: str = "") -> Report:
    if not is_member(actor, network):
        raise Forbidden(_("Only active members of this network can report members."))
    membership = _membership(network, person)
    if membership is None or membership.status not in (MembershipStatus.active, MembershipStatus.suspended):
        raise NotFound(_("This person is not a member of this network."), field="person_id")
    if person.id == actor.id:
        raise InvalidInput(_("You cannot report yourself."), field="person_id")
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
    return report


def list_reports(
    network: Network,
    viewer: Person | None,
    *,
    status: ReportStatus = ReportStatus.open,
    before: int | None = None,
) -> tuple[list[Report], int | None]:
    """The moderation queue (coordinators and Meta-Mentors): newest first, with each reported message."""
    if not is_moderator(viewer, network):
        raise Forbidden(_("Only the coordinator and the Meta-Mentor see the moderation queue."))
    query = (
        sa.select(Report)
        .where(Report.network_id == network.id, Report.status == ReportStatus(status))
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
    if not is_moderator(viewer, network):
        return 0
    return session.scalar(
        sa.select(sa.func.count(Report.id)).where(
            Report.network_id == network.id, Report.status == ReportStatus.open
        )
    )


def get_report(network: Network, report_id: int, viewer: Person | None) -> Report:
    if not is_moderator(viewer, network):
        raise Forbidden(_("Only the coordinator and the Meta-Mentor handle reports."))
    report = session.get(Report, report_id)
    if report is None or report.network_id != network.id:
        raise NotFound(_("There is no such report."))
    return report


def handle_report(report: Report, *, actor: Person, status, resolution: str = "") -> Report:
    network = report.network
    if not is_moderator(actor, network):
        raise Forbidden(_("Only the coordinator and the Meta-Mentor handle reports."))
    try:
        status = ReportStatus(status)
    except ValueError:
        raise InvalidInput(_("Choose resolved, dismissed or open."), field="status") from None
    report.status = status
    report.resolution = _clean_note(resolution, "resolution")
    report.handled_by_id = actor.id if status != ReportStatus.open else None
    report.handled_at = utcnow() if status != ReportStatus.open else None
    session.flush()
    record("moderation.report_" + status.value, actor=actor, target=report, network=network)
    return report


# -- hiding -------------------------------------------------------------------------------------------------


def hide_message(message: Message, *, actor: Person, hidden: bool = True, reason: str = "") -> Message:
    """Moderators hide a message: everyone else sees "hidden by a moderator"; the author and moderators still
    see the text, marked as hidden."""
    network = message.channel.network
    if not is_moderator(actor, network):
        raise Forbidden(_("Only the coordinator and the Meta-Mentor can hide messages."))
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
        reason=_clean_note(reason, "reason"),
    )
    return message


# -- suspension ---------------------------------------------------------------------------------------------


def suspend_member(network: Network, person: Person, *, actor: Person, reason: str) -> Membership:
    """A moderator suspends an active member: they lose every access to the network at once (has_role counts
    only active memberships). Only a coordinator suspends a coordinator; nobody suspends themselves."""
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
    reason = _clean_note(reason, "reason")
    if not reason:
        raise InvalidInput(_("Say why, for the record."), field="reason")
    membership.status = MembershipStatus.suspended
    session.flush()
    record("moderation.suspend", actor=actor, target=person, network=network, reason=reason)
    return membership


def reinstate_member(network: Network, person: Person, *, actor: Person, reason: str = "") -> Membership:
    if not is_moderator(actor, network):
        raise Forbidden(_("Only the coordinator and the Meta-Mentor can reinstate members."))
    membership = _membership(network, person)
    if membership is None or membership.status != MembershipStatus.suspended:
        raise Conflict(_("This person is not suspended."), field="person_id")
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
    if actor is None:
        raise Forbidden(_("Sign in first."))
    deleted = session.execute(
        sa.delete(Block).where(Block.blocker_id == actor.id, Block.blocked_id == person.id)
    ).rowcount
    if deleted:
        record("moderation.unblock", actor=actor, target=person, network=network)


def blocks_of(actor: Person) -> list[Block]:
    return list(
        session.scalars(
            sa.select(Block)
            .where(Block.blocker_id == actor.id)
            .options(joinedload(Block.blocked).lazyload(Person.memberships))
            .order_by(Block.id)
        )
    )


def get_person(person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(_("No such person."), field="person_id")
    return person


def get_message_for_moderation(network: Network, message_id: int) -> Message:
    """A message of ``network`` for a moderator, whatever channel it is in (they act on reported messages
    without reading the private channel around them)."""
    message = session.get(Message, message_id)
    if message is None or message.channel.network_id != network.id:
        raise NotFound(_("There is no such message."))
    return message
