"""Organising a network: agreement versions and who accepted them, reminders, members by role, settings, leaving.

Plain functions like ``operations``: they check permissions, validate, flush, and leave the commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import json
import re

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.db import session, utcnow
from network_service.errors import Conflict, Forbidden, InvalidInput, NotFound
from network_service.languages import spellings_of
from network_service.markup import MAX_MARKDOWN_CHARS, refuse_html_in_markdown
from network_service.networks import permissions, roadmap
from network_service.networks.models import (
    Agreement,
    AgreementAcceptance,
    AgreementReminder,
    Level,
    Membership,
    MembershipStatus,
    Network,
    Role,
)
from network_service.networks.operations import (
    accept_agreement,
    current_agreement,
    leaves_no_coordinator,
    require_current_agreement,
)
from network_service.notifications.models import Notification
from network_service.notifications.operations import notify
from network_service.text import split_list

# ---------------------------------------------------------------------------------------------------------------
# Agreement versions


def agreement_url(network: Network) -> str:
    return f"/networks/{network.slug}/agreement"


def agreement_versions(network: Network, viewer: Person | None) -> list[Agreement]:
    """Every version, newest first, with who published it (one query)."""
    if not permissions.can_view_members(viewer, network):
        raise Forbidden(_("Only members of this network can read its agreement."))
    return list(
        session.scalars(
            sa.select(Agreement)
            .options(sa.orm.joinedload(Agreement.published_by))
            .where(Agreement.network_id == network.id)
            .order_by(Agreement.version.desc())
        )
    )


def get_version(network: Network, version: int, viewer: Person | None) -> Agreement:
    if not permissions.can_view_members(viewer, network):
        raise Forbidden(_("Only members of this network can read its agreement."))
    agreement = session.scalar(
        sa.select(Agreement).where(Agreement.network_id == network.id, Agreement.version == version)
    )
    if agreement is None:
        raise NotFound(_("This network has no agreement version %(version)s.", version=version))
    return agreement


def previous_version(agreement: Agreement) -> Agreement | None:
    return session.scalar(
        sa.select(Agreement)
        .where(Agreement.network_id == agreement.network_id, Agreement.version < agreement.version)
        .order_by(Agreement.version.desc())
        .limit(1)
    )


_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def paragraphs(text: str) -> list[str]:
    """The text cut into paragraphs (blank-line separated); list items count as paragraphs of their own, so a
    changed rule in a numbered list shows as that one rule."""
    result: list[str] = []
    for block in re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n")):
        lines = [line.rstrip() for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        if all(_LIST_ITEM.match(line) or line.startswith((" ", "\t")) for line in lines) and _LIST_ITEM.match(
            lines[0]
        ):
            item: list[str] = []
            for line in lines:
                if _LIST_ITEM.match(line) and item:
                    result.append(" ".join(item))
                    item = []
                item.append(line.strip())
            result.append(" ".join(item))
        else:
            result.append(" ".join(line.strip() for line in lines))
    return result


@dataclasses.dataclass(frozen=True)
class Change:
    kind: str  # "added" | "removed"
    text: str


def changes_between(previous: Agreement | None, current: Agreement) -> list[Change]:
    """The paragraphs removed from and added to ``previous`` to make ``current``, in reading order."""
    if previous is None:
        return []
    old = paragraphs(previous.body)
    new = paragraphs(current.body)
    if previous.title != current.title:
        old, new = [previous.title, *old], [current.title, *new]
    changes: list[Change] = []
    # Matched without their list numbers: inserting rule 2 renumbers every later rule, which is no change to them.
    matcher = difflib.SequenceMatcher(
        a=[_LIST_ITEM.sub("", text) for text in old],
        b=[_LIST_ITEM.sub("", text) for text in new],
        autojunk=False,
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            changes.extend(Change("removed", text) for text in old[i1:i2])
        if tag in ("replace", "insert"):
            changes.extend(Change("added", text) for text in new[j1:j2])
    return changes


def accepted_at(person: Person | None, agreement: Agreement) -> dt.datetime | None:
    if person is None:
        return None
    return session.scalar(
        sa.select(AgreementAcceptance.accepted_at).where(
            AgreementAcceptance.agreement_id == agreement.id, AgreementAcceptance.person_id == person.id
        )
    )


def accept_current(person: Person | None, network: Network, *, version: int | None, accept: bool):
    """An active member accepts the current version; ``version`` is the one they were shown (it must still be
    current) and ``accept`` their explicit yes. Accepting twice is harmless."""
    if not permissions.is_member(person, network):
        raise Forbidden(_("Only active members of this network accept its agreement."))
    if not accept:
        raise InvalidInput(_("Tick the box to accept the agreement."), field="accept_agreement")
    agreement = current_agreement(network)
    if version != agreement.version:
        raise Conflict(
            _("The agreement changed while you were reading it. Please read the new version and accept it."),
            field="agreement_version",
        )
    already = accepted_at(person, agreement)
    acceptance = accept_agreement(person, agreement)
    if already is None:
        record("agreement.accept", actor=person, target=agreement, network=network, version=agreement.version)
    return acceptance


@dataclasses.dataclass(frozen=True)
class Pending:
    membership: Membership
    days: int  # whole days since the version was published
    reminders: int  # automatic reminders sent so far


def not_accepted(network: Network, viewer: Person | None, *, now: dt.datetime | None = None) -> list[Pending]:
    """Active members who have not accepted the current version (leaders and the office), in name order.
    One query for the version and one for the members, whatever their number."""
    if not permissions.can_follow_acceptance(viewer, network):
        raise Forbidden(
            _("Only the coordinator, the Meta-Mentor and the network office see who has accepted.")
        )
    agreement = current_agreement(network)
    now = now or utcnow()
    reminders = (
        sa.select(sa.func.coalesce(sa.func.max(AgreementReminder.sequence), 0))
        .where(
            AgreementReminder.agreement_id == agreement.id,
            AgreementReminder.person_id == Membership.person_id,
        )
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(Membership, reminders)
        .join(Person, Person.id == Membership.person_id)
        .outerjoin(
            AgreementAcceptance,
            sa.and_(
                AgreementAcceptance.agreement_id == agreement.id,
                AgreementAcceptance.person_id == Membership.person_id,
            ),
        )
        .where(
            Membership.network_id == network.id,
            Membership.status == MembershipStatus.active,
            AgreementAcceptance.id.is_(None),
        )
        .order_by(sa.func.lower(Person.display_name), Person.id)
    ).all()
    days = max(0, (now - agreement.created_at).days)
    return [Pending(membership, days, count) for membership, count in rows]


def acceptance_counts(network: Network) -> tuple[int, int]:
    """(accepted, active members) for the current version, one query."""
    agreement = current_agreement(network)
    row = session.execute(
        sa.select(sa.func.count(Membership.id), sa.func.count(AgreementAcceptance.id))
        .select_from(Membership)
        .outerjoin(
            AgreementAcceptance,
            sa.and_(
                AgreementAcceptance.agreement_id == agreement.id,
                AgreementAcceptance.person_id == Membership.person_id,
            ),
        )
        .where(Membership.network_id == network.id, Membership.status == MembershipStatus.active)
    ).one()
    return row[1], row[0]


REMIND_AGAIN_AFTER = dt.timedelta(hours=24)


def remind_now(network: Network, actor: Person, *, now: dt.datetime | None = None) -> tuple[int, int]:
    """Remind now everyone who has not accepted the current version, except people reminded in the last 24
    hours (automatically or by hand). Returns (reminded, skipped)."""
    if not permissions.can_follow_acceptance(actor, network):
        raise Forbidden(_("Only the coordinator, the Meta-Mentor and the network office can send reminders."))
    require_current_agreement(actor, network)
    now = now or utcnow()
    agreement = current_agreement(network)
    pending = [p.membership.person for p in not_accepted(network, actor, now=now)]
    recent = set(
        session.scalars(
            sa.select(Notification.person_id).where(
                Notification.kind == "agreement.reminder",
                Notification.network_id == network.id,
                Notification.created_at > now - REMIND_AGAIN_AFTER,
                Notification.person_id.in_([p.id for p in pending] or [-1]),
            )
        )
    )
    due = [p for p in pending if p.id not in recent and p.id != actor.id]
    notify(
        due,
        "agreement.reminder",
        url=agreement_url(network),
        network=network,
        actor=actor,
        network_name=network.name,
        version=agreement.version,
    )
    if due:
        record(
            "agreement.remind",
            actor=actor,
            target=agreement,
            network=network,
            version=agreement.version,
            people=len(due),
        )
    return len(due), len(pending) - len(due)


def send_agreement_reminders(now: dt.datetime | None = None) -> int:
    """Remind active members who have not accepted their network's current agreement ``AGREEMENT_REMINDER_DAYS``
    after it was published (3 and 10 by default). Each reminder is sent once, even when several processes run
    this (the row (agreement, person, sequence) is unique)."""
    now = now or utcnow()
    schedule = sorted(current_app.config["AGREEMENT_REMINDER_DAYS"])
    if not schedule:
        return 0
    latest = (
        sa.select(Agreement.network_id, sa.func.max(Agreement.version).label("version"))
        .group_by(Agreement.network_id)
        .subquery()
    )
    # The highest reminder sent so far; a reminder that was missed (the job did not run) is not caught up with
    # a burst: only the latest one due goes out.
    sent_so_far = (
        sa.select(sa.func.coalesce(sa.func.max(AgreementReminder.sequence), 0))
        .where(
            AgreementReminder.agreement_id == Agreement.id,
            AgreementReminder.person_id == Membership.person_id,
        )
        .scalar_subquery()
    )
    candidates = session.execute(
        sa.select(Agreement, Membership, sent_so_far)
        .join(
            latest,
            sa.and_(latest.c.network_id == Agreement.network_id, latest.c.version == Agreement.version),
        )
        .join(Membership, Membership.network_id == Agreement.network_id)
        .outerjoin(
            AgreementAcceptance,
            sa.and_(
                AgreementAcceptance.agreement_id == Agreement.id,
                AgreementAcceptance.person_id == Membership.person_id,
            ),
        )
        .where(
            Membership.status == MembershipStatus.active,
            AgreementAcceptance.id.is_(None),
            Agreement.created_at <= now - dt.timedelta(days=schedule[0]),
            sent_so_far < len(schedule),
        )
        .order_by(Agreement.id, Membership.id)
    ).all()
    sent = 0
    for agreement, membership, count in candidates:
        due = [days for days in schedule if agreement.created_at + dt.timedelta(days=days) <= now]
        if len(due) <= count:
            continue
        sequence = len(due)
        try:
            with session.begin_nested():
                session.add(
                    AgreementReminder(
                        agreement_id=agreement.id,
                        person_id=membership.person_id,
                        sequence=sequence,
                        sent_at=now,
                    )
                )
                session.flush()
        except sa.exc.IntegrityError:
            continue  # another process sent this reminder a moment ago
        network = membership.network
        notify(
            [membership.person],
            "agreement.reminder",
            url=agreement_url(network),
            network=network,
            network_name=network.name,
            version=agreement.version,
        )
        record(
            "agreement.remind",
            target=agreement,
            network=network,
            version=agreement.version,
            person_id=membership.person_id,
            sequence=sequence,
        )
        sent += 1
    return sent


# ---------------------------------------------------------------------------------------------------------------
# Members by role, level and language

MEMBERS_PAGE_SIZE = 50


def _language_match(language: str):
    """Person.languages is a JSON list; match one entry, case-insensitively, on SQLite and PostgreSQL alike
    (the JSON text holds the name as typed on PostgreSQL, \\u-escaped for non-ASCII letters on SQLite). A known
    language matches however the interface's languages write it ("Arabic" finds "Arabisch" and "العربية":
    ``languages.spellings_of``), as the help matching compares languages."""
    text = sa.cast(Person.languages, sa.String)
    # SQLite's JSON text writes "Українська" as \\u0423..., and an escape keeps the letter's case, which lower()
    # cannot undo: the escaped form is looked for as written, in lower case and with a capital first letter.
    written = {
        variant
        for name in spellings_of(language)
        for variant in (name, name.lower(), name[:1].upper() + name[1:].lower())
    }
    forms = {form for name in written for form in (f'"{name}"', json.dumps(name))}
    return sa.or_(*(text.icontains(form, autoescape=True) for form in sorted(forms)))


def members_page(
    network: Network,
    viewer: Person | None,
    *,
    role: Role | None = None,
    level: Level | None = None,
    language: str = "",
    after: int | None = None,
    limit: int = MEMBERS_PAGE_SIZE,
    status: MembershipStatus = MembershipStatus.active,
) -> tuple[list[Membership], int | None]:
    """Members matching the filters, by name, ``limit`` at a time: the active ones, or (``status``) the invited
    ones, whom only those who may invite see. ``after`` is the id of the last membership of the previous page
    (keyset pagination). Returns the members and the cursor of the next page."""
    if not permissions.can_view_members(viewer, network):
        raise Forbidden(_("Only members of this network can see who belongs to it."))
    if status not in (MembershipStatus.active, MembershipStatus.invited):
        raise InvalidInput(_("List the active or the invited members."), field="status")
    if status == MembershipStatus.invited and not permissions.can_invite(viewer, network):
        raise Forbidden(_("Only those who may invite see who is invited."))
    query = (
        sa.select(Membership)
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.network_id == network.id, Membership.status == status)
    )
    if role is not None:
        query = query.where(Membership.role == role)
    if level is not None:
        query = query.where(Membership.level == level)
    language = (language or "").strip()[:60]
    if language:
        from network_service.privacy.operations import PROFILE_SHARING, given_flag

        # only among members who share their languages: the filter must not reveal what the others keep private
        # (each candidate's latest record by the index, not everyone's latest record)
        query = query.where(_language_match(language), given_flag(Person.id, PROFILE_SHARING).is_(True))
    name_key = sa.func.lower(Person.display_name)
    if after is not None:
        cursor = (
            sa.select(sa.func.lower(Person.display_name))
            .join(Membership, Membership.person_id == Person.id)
            .where(Membership.id == after, Membership.network_id == network.id)
            .scalar_subquery()
        )
        query = query.where(sa.or_(name_key > cursor, sa.and_(name_key == cursor, Membership.id > after)))
    rows = list(session.scalars(query.order_by(name_key, Membership.id).limit(limit + 1)))
    next_after = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_after


# ---------------------------------------------------------------------------------------------------------------
# Settings

MAX_LANGUAGES = 20
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+?[0-9 ()/.\-]{5,40}$")
SETTINGS_FIELDS = (
    "name",
    "description",
    "languages",
    "region",
    "contact_email",
    "contact_phone",
    "contact_hours",
)


def _clean_languages(value) -> list[str]:
    if isinstance(value, str):
        value = split_list(value)
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise InvalidInput(_("List the languages as names separated by commas."), field="languages")
    languages: list[str] = []
    for item in value:
        item = " ".join(item.split())
        if not item:
            continue
        if len(item) > 60:
            raise InvalidInput(_("A language name has at most 60 characters."), field="languages")
        if item.lower() not in {known.lower() for known in languages}:
            languages.append(item)
    if len(languages) > MAX_LANGUAGES:
        raise InvalidInput(_("List at most %(max)s languages.", max=MAX_LANGUAGES), field="languages")
    return languages


def update_settings(network: Network, actor: Person | None, **changes) -> Network:
    """Change the network's name, description (Markdown), languages, region and the office's public contact.
    Only the fields given change; every value is checked before any is applied."""
    if not permissions.can_manage_settings(actor, network):
        raise Forbidden(_("Only the coordinator can change the network's settings."))
    require_current_agreement(actor, network)
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise InvalidInput(_("Unknown setting."), field=sorted(unknown)[0])
    clean: dict = {}
    for key, value in changes.items():
        if key == "languages":
            clean[key] = _clean_languages(value)
            continue
        if not isinstance(value, str):
            raise InvalidInput(_("Enter text."), field=key)
        value = value.strip()
        if key == "name":
            if not value:
                raise InvalidInput(_("Give the network a name."), field="name")
            if len(value) > 200:
                raise InvalidInput(_("Keep the name to %(max)s characters or fewer.", max=200), field="name")
        elif key == "description":
            if len(value) > MAX_MARKDOWN_CHARS:
                raise InvalidInput(
                    _("The text is too long: at most %(max)s characters.", max=MAX_MARKDOWN_CHARS),
                    field="description",
                )
            refuse_html_in_markdown(value, "description", stored=network.description)
        elif key == "region":
            if len(value) > 120:
                raise InvalidInput(
                    _("Keep the region to %(max)s characters or fewer.", max=120), field="region"
                )
        elif key == "contact_email":
            value = value.lower()
            if value and (len(value) > 254 or not _EMAIL.match(value)):
                raise InvalidInput(
                    _("Enter an e-mail address like office@example.org, or leave it empty."),
                    field="contact_email",
                )
        elif key == "contact_phone":
            if value and not _PHONE.match(value):
                raise InvalidInput(
                    _(
                        "Enter a phone number with digits, spaces and an optional leading +, like +49 30 1234567."
                    ),
                    field="contact_phone",
                )
        elif key == "contact_hours" and len(value) > 200:
            raise InvalidInput(
                _("Keep the office hours to %(max)s characters or fewer.", max=200), field="contact_hours"
            )
        clean[key] = value
    changed = sorted(key for key, value in clean.items() if getattr(network, key) != value)
    for key in changed:
        setattr(network, key, clean[key])
    session.flush()
    if changed:
        record("network.settings", actor=actor, target=network, network=network, fields=changed)
    return network


# ---------------------------------------------------------------------------------------------------------------
# Leaving


def is_last_coordinator(person: Person | None, network: Network) -> bool:
    membership = permissions.active_membership(person, network)
    return membership is not None and leaves_no_coordinator(membership, network)


def leave(person: Person | None, network: Network) -> Membership:
    """An active member leaves the network (status ``left``). The last active coordinator cannot leave."""
    membership = permissions.active_membership(person, network)
    if membership is None:
        raise Forbidden(_("You are not an active member of this network."))
    if leaves_no_coordinator(membership, network):
        raise Conflict(
            _("You are the network's only coordinator. Appoint another coordinator before you leave."),
            field="role",
        )
    membership.status = MembershipStatus.left
    session.flush()
    record("membership.leave", actor=person, target=membership, network=network, role=membership.role.value)
    return membership


# ---------------------------------------------------------------------------------------------------------------
# The roadmap's checkpoints of the "organise" phase


# The organise phase's other checkpoints (a Meta-Mentor appointed, the office staffed, the agreement accepted,
# the rules revised) are registered with the roadmap page in network_service/goals/roadmap.py.
roadmap.register_checkpoint(
    roadmap.Checkpoint(
        key="organise.office_contact",
        phase=roadmap.Phase.organise,
        order=20,
        label=lambda: _("The network office has a public contact"),
        reached=lambda network: bool(network.contact_email or network.contact_phone),
        hint=lambda: _("The coordinator adds the office's e-mail address or phone number in the settings."),
    )
)
