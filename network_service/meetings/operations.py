"""Meetings: plan, change, cancel, answer, remind. Plain functions: they check permissions, flush, never commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload

from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.db import MAX_ID, session, utcnow
from network_service.errors import Forbidden, InvalidInput, NotFound
from network_service.markup import MAX_MARKDOWN_CHARS, refuse_html_in_markdown
from network_service.meetings import permissions
from network_service.meetings.models import Meeting, MeetingReminder, ReminderKind, Rsvp, RsvpAnswer
from network_service.meetings.timezones import to_utc, validate_timezone
from network_service.networks.models import Membership, MembershipStatus, Network
from network_service.networks.operations import require_current_agreement
from network_service.networks.roadmap import Checkpoint, Phase, register_checkpoint
from network_service.notifications.operations import notify, register_kind

MAX_TITLE = 200
MAX_PLACE = 300
MAX_URL = 500
MAX_REASON = 500
MAX_HOURS = 24  # a meeting lasts at most a day
PAGE_SIZE = 50
REMINDERS = {ReminderKind.day: dt.timedelta(hours=24), ReminderKind.hour: dt.timedelta(hours=1)}
ATTENDING = (RsvpAnswer.yes, RsvpAnswer.maybe)

# notify() reserves the name ``network`` for the network itself, so the name travels as ``network_name``.
register_kind(
    "meetings.new",
    lambda p: _(
        "New meeting in %(network)s: %(title)s", network=p.get("network_name", ""), title=p.get("title", "")
    ),
)
register_kind(
    "meetings.changed", lambda p: _("The meeting %(title)s has changed: check the time and place", **p)
)
register_kind("meetings.cancelled", lambda p: _("The meeting %(title)s is cancelled", **p))


def _reminder_title(params: dict) -> str:
    if params.get("reminder") == ReminderKind.hour.value:
        return _("Reminder: %(title)s starts in less than an hour", title=params.get("title", ""))
    return _("Reminder: %(title)s takes place in less than 24 hours", title=params.get("title", ""))


register_kind("meetings.reminder", _reminder_title)


def meeting_path(meeting: Meeting) -> str:
    return f"/networks/{meeting.network.slug}/meetings/{meeting.id}"


# --- validation -----------------------------------------------------------------------------------------------


def _clean_url(url: str | None) -> str:
    url = (url or "").strip()
    if not url:
        return ""
    if len(url) > MAX_URL:
        raise InvalidInput(
            _("The link can have at most %(max)s characters.", max=MAX_URL), field="online_url"
        )
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise InvalidInput(
            _(
                "Enter the full meeting link, starting with https:// (for example https://meet.example.org/abc)."
            ),
            field="online_url",
        )
    return url


@dataclass
class MeetingInput:
    title: str
    description: str
    starts_at: dt.datetime  # wall-clock time in ``timezone`` (naive) or aware
    ends_at: dt.datetime
    timezone: str
    online_url: str = ""
    place: str = ""


def _validate(
    data: MeetingInput, *, now: dt.datetime, new: bool, stored_description: str | None = None
) -> dict:
    title = " ".join((data.title or "").split())
    if not title:
        raise InvalidInput(_("Give the meeting a title."), field="title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(_("The title can have at most %(max)s characters.", max=MAX_TITLE), field="title")
    description = (data.description or "").strip()
    if len(description) > MAX_MARKDOWN_CHARS:
        raise InvalidInput(
            _("The description can have at most %(max)s characters.", max=MAX_MARKDOWN_CHARS),
            field="description",
        )
    refuse_html_in_markdown(description, "description", stored=stored_description)
    tzname = validate_timezone(data.timezone)
    if data.starts_at is None:
        raise InvalidInput(_("Enter when the meeting starts."), field="starts_at")
    if data.ends_at is None:
        raise InvalidInput(_("Enter when the meeting ends."), field="ends_at")
    starts_at = to_utc(data.starts_at, tzname, "starts_at")
    ends_at = to_utc(data.ends_at, tzname, "ends_at")
    if ends_at <= starts_at:
        raise InvalidInput(_("The meeting must end after it starts."), field="ends_at")
    if ends_at - starts_at > dt.timedelta(hours=MAX_HOURS):
        raise InvalidInput(_("A meeting can last at most %(hours)s hours.", hours=MAX_HOURS), field="ends_at")
    if new and starts_at < now:
        raise InvalidInput(_("The start time has passed. Choose a time in the future."), field="starts_at")
    online_url = _clean_url(data.online_url)
    place = " ".join((data.place or "").split())
    if len(place) > MAX_PLACE:
        raise InvalidInput(_("The place can have at most %(max)s characters.", max=MAX_PLACE), field="place")
    if not online_url and not place:
        raise InvalidInput(_("Give a meeting link, a place, or both."), field="place")
    return {
        "title": title,
        "description": description,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "timezone": tzname,
        "online_url": online_url,
        "place": place,
    }


# --- meetings -------------------------------------------------------------------------------------------------


def _active_members(network: Network) -> list[Person]:
    return list(
        session.scalars(
            sa.select(Person)
            .join(Membership, Membership.person_id == Person.id)
            .where(Membership.network_id == network.id, Membership.status == MembershipStatus.active)
        )
    )


def _attending_people(meeting: Meeting) -> list[Person]:
    """People who answered yes or maybe and are still active members."""
    return list(
        session.scalars(
            sa.select(Person)
            .join(Rsvp, Rsvp.person_id == Person.id)
            .join(
                Membership,
                sa.and_(Membership.person_id == Person.id, Membership.network_id == meeting.network_id),
            )
            .where(
                Rsvp.meeting_id == meeting.id,
                Rsvp.answer.in_(ATTENDING),
                Membership.status == MembershipStatus.active,
            )
        )
    )


def create_meeting(
    network: Network, data: MeetingInput, *, actor: Person, now: dt.datetime | None = None
) -> Meeting:
    if not permissions.can_create(actor, network):
        raise Forbidden(
            _(
                "Only the coordinator, the Meta-Mentor, the network office and experienced mentors can plan meetings."
            )
        )
    require_current_agreement(actor, network)
    now = now or utcnow()
    values = _validate(data, now=now, new=True)
    meeting = Meeting(network=network, organiser=actor, sequence=0, created_at=now, updated_at=now, **values)
    session.add(meeting)
    session.flush()
    record(
        "meeting.create",
        actor=actor,
        target=meeting,
        network=network,
        starts_at=values["starts_at"].isoformat(),
    )
    notify(
        _active_members(network),
        "meetings.new",
        url=meeting_path(meeting),
        network=network,
        actor=actor,
        network_name=network.name,
        title=meeting.title,
    )
    return meeting


def get_meeting(network: Network, meeting_id: int, viewer: Person | None) -> Meeting:
    if not permissions.can_view(viewer, network):
        raise Forbidden(_("Only members of this network can see its meetings."))
    meeting = session.scalar(
        sa.select(Meeting)
        .options(joinedload(Meeting.organiser))
        .where(Meeting.id == meeting_id, Meeting.network_id == network.id)
    )
    if meeting is None:
        raise NotFound(_("There is no such meeting in this network."))
    return meeting


def update_meeting(
    meeting: Meeting, data: MeetingInput, *, actor: Person, now: dt.datetime | None = None
) -> Meeting:
    if not permissions.can_edit(actor, meeting):
        raise Forbidden(_("Only the organiser, the coordinator or the Meta-Mentor can change this meeting."))
    if meeting.is_cancelled:
        raise InvalidInput(_("This meeting is cancelled and cannot be changed any more."))
    require_current_agreement(actor, meeting.network)
    now = now or utcnow()
    # A meeting already planned may keep its start even once it has passed (fixing a typo in the title).
    values = _validate(data, now=now, new=False, stored_description=meeting.description)
    if values["starts_at"] != meeting.starts_at and values["starts_at"] < now:
        raise InvalidInput(_("The start time has passed. Choose a time in the future."), field="starts_at")
    before = {
        "starts_at": meeting.starts_at,
        "ends_at": meeting.ends_at,
        "online_url": meeting.online_url,
        "place": meeting.place,
    }
    changed = [key for key, value in values.items() if getattr(meeting, key) != value]
    if not changed:
        return meeting
    for key in changed:
        setattr(meeting, key, values[key])
    meeting.sequence += 1
    meeting.updated_at = now
    session.flush()
    record("meeting.update", actor=actor, target=meeting, network=meeting.network, changed=changed)
    if any(values[key] != value for key, value in before.items()):
        if values["starts_at"] != before["starts_at"]:
            # The reminders follow the new time.
            session.execute(
                sa.delete(MeetingReminder)
                .where(MeetingReminder.meeting_id == meeting.id)
                .execution_options(synchronize_session=False)
            )
        notify(
            _attending_people(meeting),
            "meetings.changed",
            url=meeting_path(meeting),
            network=meeting.network,
            actor=actor,
            title=meeting.title,
        )
    return meeting


def cancel_meeting(
    meeting: Meeting, *, actor: Person, reason: str = "", now: dt.datetime | None = None
) -> Meeting:
    if not permissions.can_edit(actor, meeting):
        raise Forbidden(_("Only the organiser, the coordinator or the Meta-Mentor can cancel this meeting."))
    if meeting.is_cancelled:
        raise InvalidInput(_("This meeting is already cancelled."))
    reason = " ".join((reason or "").split())
    if len(reason) > MAX_REASON:
        raise InvalidInput(
            _("The reason can have at most %(max)s characters.", max=MAX_REASON), field="reason"
        )
    now = now or utcnow()
    meeting.cancelled_at = now
    meeting.cancel_reason = reason
    meeting.sequence += 1
    meeting.updated_at = now
    session.flush()
    record("meeting.cancel", actor=actor, target=meeting, network=meeting.network)
    notify(
        _attending_people(meeting),
        "meetings.cancelled",
        url=meeting_path(meeting),
        network=meeting.network,
        actor=actor,
        title=meeting.title,
    )
    return meeting


def set_rsvp(
    meeting: Meeting, person: Person, answer: RsvpAnswer | str, *, now: dt.datetime | None = None
) -> Rsvp:
    if not permissions.can_rsvp(person, meeting.network):
        raise Forbidden(_("Only members of this network can answer."))
    try:
        answer = RsvpAnswer(answer)
    except ValueError:
        raise InvalidInput(_("Answer yes, maybe or no."), field="answer") from None
    if meeting.is_cancelled:
        raise InvalidInput(_("This meeting is cancelled."), field="answer")
    now = now or utcnow()
    if meeting.ends_at <= now:
        raise InvalidInput(_("This meeting is over."), field="answer")
    rsvp = session.scalar(sa.select(Rsvp).where(Rsvp.meeting_id == meeting.id, Rsvp.person_id == person.id))
    if rsvp is None:
        rsvp = Rsvp(meeting=meeting, person=person, answer=answer, updated_at=now)
        session.add(rsvp)
    else:
        rsvp.answer = answer
        rsvp.updated_at = now
    session.flush()
    return rsvp


def answer_of(meeting: Meeting, person: Person | None) -> RsvpAnswer | None:
    if person is None:
        return None
    return session.scalar(
        sa.select(Rsvp.answer).where(Rsvp.meeting_id == meeting.id, Rsvp.person_id == person.id)
    )


def attendees(meeting: Meeting) -> dict[RsvpAnswer, list[Person]]:
    """Names of who answered yes and maybe (one query; the "no" answers are nobody else's business)."""
    rows = session.execute(
        sa.select(Rsvp.answer, Person)
        .join(Person, Rsvp.person_id == Person.id)
        .where(Rsvp.meeting_id == meeting.id, Rsvp.answer.in_(ATTENDING))
        .order_by(sa.func.lower(Person.display_name), Person.id)
    ).all()
    result: dict[RsvpAnswer, list[Person]] = {RsvpAnswer.yes: [], RsvpAnswer.maybe: []}
    for answer, person in rows:
        result[answer].append(person)
    return result


# --- lists ----------------------------------------------------------------------------------------------------


@dataclass
class MeetingRow:
    meeting: Meeting
    yes: int
    maybe: int
    answer: RsvpAnswer | None


def _counts(answer: RsvpAnswer):
    return (
        sa.select(sa.func.count(Rsvp.id))
        .where(Rsvp.meeting_id == Meeting.id, Rsvp.answer == answer)
        .correlate(Meeting)
        .scalar_subquery()
    )


def _cursor(meeting: Meeting) -> str:
    return f"{int(meeting.starts_at.timestamp())}-{meeting.id}"


def _parse_cursor(cursor: str | None) -> tuple[dt.datetime, int] | None:
    if not cursor:
        return None
    try:
        seconds, meeting_id = cursor.split("-", 1)
        return dt.datetime.fromtimestamp(int(seconds), dt.UTC), min(int(meeting_id), MAX_ID)
    except (ValueError, OverflowError, OSError):
        raise InvalidInput(_("This page link is not valid."), field="cursor") from None


def list_meetings(
    network: Network,
    viewer: Person | None,
    *,
    past: bool = False,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
    now: dt.datetime | None = None,
) -> tuple[list[MeetingRow], str | None]:
    """Upcoming meetings (not yet ended; soonest first) or past ones (latest first), a page at a time, with the
    yes/maybe counts and the viewer's own answer. One statement whatever the number of meetings."""
    if not permissions.can_view(viewer, network):
        raise Forbidden(_("Only members of this network can see its meetings."))
    now = now or utcnow()
    limit = max(1, min(limit, PAGE_SIZE))
    mine = (
        sa.select(Rsvp.answer)
        .where(Rsvp.meeting_id == Meeting.id, Rsvp.person_id == (viewer.id if viewer else -1))
        .correlate(Meeting)
        .scalar_subquery()
    )
    query = (
        sa.select(Meeting, _counts(RsvpAnswer.yes), _counts(RsvpAnswer.maybe), mine)
        .options(joinedload(Meeting.organiser))
        .where(Meeting.network_id == network.id)
        .limit(limit + 1)
    )
    after = _parse_cursor(cursor)
    if past:
        query = query.where(Meeting.ends_at <= now).order_by(Meeting.starts_at.desc(), Meeting.id.desc())
        if after:
            query = query.where(
                sa.or_(
                    Meeting.starts_at < after[0],
                    sa.and_(Meeting.starts_at == after[0], Meeting.id < after[1]),
                )
            )
    else:
        query = query.where(Meeting.ends_at > now).order_by(Meeting.starts_at, Meeting.id)
        if after:
            query = query.where(
                sa.or_(
                    Meeting.starts_at > after[0],
                    sa.and_(Meeting.starts_at == after[0], Meeting.id > after[1]),
                )
            )
    rows = [
        MeetingRow(m, yes or 0, maybe or 0, answer) for m, yes, maybe, answer in session.execute(query).all()
    ]
    next_cursor = _cursor(rows[limit - 1].meeting) if len(rows) > limit else None
    return rows[:limit], next_cursor


def next_meeting(
    network: Network, viewer: Person | None, now: dt.datetime | None = None
) -> MeetingRow | None:
    """The next meeting that is not cancelled and not over, for the network's panel (None when there is none or
    the viewer may not see meetings)."""
    if not permissions.can_view(viewer, network):
        return None
    now = now or utcnow()
    mine = (
        sa.select(Rsvp.answer)
        .where(Rsvp.meeting_id == Meeting.id, Rsvp.person_id == (viewer.id if viewer else -1))
        .correlate(Meeting)
        .scalar_subquery()
    )
    row = session.execute(
        sa.select(Meeting, _counts(RsvpAnswer.yes), _counts(RsvpAnswer.maybe), mine)
        .where(Meeting.network_id == network.id, Meeting.cancelled_at.is_(None), Meeting.ends_at > now)
        .order_by(Meeting.starts_at, Meeting.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    meeting, yes, maybe, answer = row
    return MeetingRow(meeting, yes or 0, maybe or 0, answer)


def unanswered_count(viewer: Person, network: Network, now: dt.datetime | None = None) -> int:
    """Upcoming, not cancelled meetings the viewer has not answered (the section's badge). One query."""
    return session.scalar(*unanswered_query(viewer, network, now))


def unanswered_query(
    viewer: Person, network: Network, now: dt.datetime | None = None
) -> tuple[sa.Select, dict]:
    """``unanswered_count`` as (statement, parameters), for the navigation to ask with the other badges."""
    return _UNANSWERED, {"network_id": network.id, "viewer_id": viewer.id, "meetings_after": now or utcnow()}


# The section badge, asked on every network page: built once, at import.
_UNANSWERED = sa.select(sa.func.count(Meeting.id)).where(
    Meeting.network_id == sa.bindparam("network_id", type_=sa.Integer),
    Meeting.cancelled_at.is_(None),
    Meeting.starts_at > sa.bindparam("meetings_after", type_=Meeting.__table__.c.starts_at.type),
    ~sa.select(Rsvp.id)
    .where(Rsvp.meeting_id == Meeting.id, Rsvp.person_id == sa.bindparam("viewer_id", type_=sa.Integer))
    .exists(),
)


# --- reminders ------------------------------------------------------------------------------------------------


def send_reminders(now: dt.datetime | None = None) -> int:
    """Remind who answered yes or maybe, 24 hours and 1 hour before a meeting. When the job first sees a meeting
    less than an hour ahead, only the 1-hour reminder goes out. Each reminder is sent once, even when several
    processes run this at once (unique row, inserted if absent)."""
    now = now or utcnow()
    sent_already = sa.select(MeetingReminder.id).where(
        MeetingReminder.meeting_id == Meeting.id, MeetingReminder.person_id == Rsvp.person_id
    )
    rows = session.execute(
        sa.select(Meeting, Rsvp.person_id)
        .join(Rsvp, Rsvp.meeting_id == Meeting.id)
        .join(
            Membership,
            sa.and_(Membership.person_id == Rsvp.person_id, Membership.network_id == Meeting.network_id),
        )
        .options(joinedload(Meeting.network))
        .where(
            Meeting.cancelled_at.is_(None),
            Meeting.starts_at > now,
            Meeting.starts_at <= now + REMINDERS[ReminderKind.day],
            Rsvp.answer.in_(ATTENDING),
            Membership.status == MembershipStatus.active,
            ~sent_already.where(
                MeetingReminder.kind
                == sa.case(
                    (Meeting.starts_at <= now + REMINDERS[ReminderKind.hour], ReminderKind.hour.value),
                    else_=ReminderKind.day.value,
                )
            ).exists(),
        )
        .order_by(Meeting.id, Rsvp.person_id)
    ).all()
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    sent = 0
    for meeting, person_id in rows:
        kind = (
            ReminderKind.hour if meeting.starts_at <= now + REMINDERS[ReminderKind.hour] else ReminderKind.day
        )
        claimed = session.execute(
            insert(MeetingReminder)
            .values(meeting_id=meeting.id, person_id=person_id, kind=kind.value, sent_at=now)
            .on_conflict_do_nothing(index_elements=["meeting_id", "person_id", "kind"])
            .returning(MeetingReminder.id)
        ).scalar()
        if claimed is None:
            continue  # another process sent it a moment ago
        notify(
            [session.get(Person, person_id)],
            "meetings.reminder",
            url=meeting_path(meeting),
            network=meeting.network,
            title=meeting.title,
            reminder=kind.value,
        )
        sent += 1
    return sent


# --- roadmap --------------------------------------------------------------------------------------------------


def first_meeting_held(network: Network, now: dt.datetime | None = None) -> bool:
    """A meeting that was not cancelled, has ended, and had at least two yes answers (one aggregate query)."""
    now = now or utcnow()
    held = (
        sa.select(Meeting.id)
        .join(Rsvp, Rsvp.meeting_id == Meeting.id)
        .where(
            Meeting.network_id == network.id,
            Meeting.cancelled_at.is_(None),
            Meeting.ends_at <= now,
            Rsvp.answer == RsvpAnswer.yes,
        )
        .group_by(Meeting.id)
        .having(sa.func.count(Rsvp.id) >= 2)
        .limit(1)
    )
    return session.scalar(held) is not None


register_checkpoint(
    Checkpoint(
        key="meetings.first_held",
        phase=Phase.sustain,
        order=20,
        label=lambda: _("First meeting held"),
        reached=first_meeting_held,
        hint=lambda: _(
            "Plan a meeting; it counts once it has taken place with at least two members who said yes."
        ),
    )
)
