"""iCalendar: secret feed addresses (per member, per network) and the .ics text itself.

Calendar apps cannot sign in, so a feed is reached by a secret address ``/calendar/<token>.ics``; only the
SHA-256 of the token is stored. A network feed belongs to the member who created it and stops working when their
membership ends; a personal feed shows the meetings of every network its owner is active in, with their answer.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import nh3
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.db import session, utcnow
from network_service.errors import Forbidden, LinkInvalid
from network_service.markup import _parser
from network_service.meetings import permissions
from network_service.meetings.models import CalendarFeed, Meeting, Rsvp, RsvpAnswer
from network_service.meetings.operations import meeting_path
from network_service.networks.models import Membership, MembershipStatus, Network
from network_service.tokens import hash_token, new_token
from network_service.urls import public_url

if TYPE_CHECKING:
    import icalendar

FEED_WINDOW = dt.timedelta(days=90)  # feeds carry the meetings of the last 90 days and all future ones
PARTSTAT = {RsvpAnswer.yes: "ACCEPTED", RsvpAnswer.maybe: "TENTATIVE", RsvpAnswer.no: "DECLINED"}
CONTENT_TYPE = "text/calendar; charset=utf-8"
_TAG = re.compile(r"<[^<>]*>")


# --- feed addresses -------------------------------------------------------------------------------------------


def feed_urls(token: str) -> dict[str, str]:
    https = public_url(f"/calendar/{token}.ics")
    return {"https": https, "webcal": re.sub(r"^https?://", "webcal://", https)}


def _open_feeds(person: Person, network: Network | None):
    return (
        CalendarFeed.person_id == person.id,
        CalendarFeed.network_id == network.id if network is not None else CalendarFeed.network_id.is_(None),
        CalendarFeed.revoked_at.is_(None),
    )


def active_feed(person: Person, network: Network | None = None) -> CalendarFeed | None:
    """The person's working feed address (for ``network``, or their personal one)."""
    return session.scalar(sa.select(CalendarFeed).where(*_open_feeds(person, network)))


def _revoke_all(person: Person, network: Network | None, now: dt.datetime) -> int:
    return session.execute(
        sa.update(CalendarFeed)
        .where(*_open_feeds(person, network))
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    ).rowcount


def create_feed(person: Person, network: Network | None = None) -> tuple[CalendarFeed, str]:
    """A new secret address for ``person`` (for ``network``, or their personal one); the previous one stops
    working. Returns the feed and the token, which is shown once and never stored."""
    if network is not None and not permissions.can_subscribe(person, network):
        raise Forbidden(_("Only members of this network can subscribe to its calendar."))
    now = utcnow()
    _revoke_all(person, network, now)
    token, token_hash = new_token()
    feed = CalendarFeed(person=person, network=network, token_hash=token_hash, created_at=now)
    session.add(feed)
    session.flush()
    record("calendar_feed.create", actor=person, target=feed, network=network)
    return feed, token


def revoke_feed(person: Person, network: Network | None = None) -> bool:
    if network is not None and not permissions.can_subscribe(person, network):
        raise Forbidden(_("Only members of this network can subscribe to its calendar."))
    revoked = _revoke_all(person, network, utcnow()) > 0
    if revoked:
        record("calendar_feed.revoke", actor=person, network=network)
    return revoked


def _feed_for(token: str) -> CalendarFeed:
    feed = session.scalar(
        sa.select(CalendarFeed)
        .options(joinedload(CalendarFeed.person), joinedload(CalendarFeed.network))
        .where(CalendarFeed.token_hash == hash_token(token))
    )
    if feed is None or feed.revoked_at is not None:
        raise LinkInvalid(_("This calendar address is not valid any more. Make a new one in mentorNET."))
    if feed.network is not None and not permissions.can_subscribe(feed.person, feed.network):
        raise LinkInvalid(_("This calendar address belonged to a membership that has ended."))
    return feed


def feed_calendar(token: str, now: dt.datetime | None = None) -> bytes:
    """The calendar behind a secret address: a fixed number of statements however many meetings there are."""
    feed = _feed_for(token)
    now = now or utcnow()
    since = now - FEED_WINDOW
    person = feed.person
    if feed.network is not None:
        meetings = session.scalars(
            sa.select(Meeting)
            .options(joinedload(Meeting.network))
            .where(Meeting.network_id == feed.network_id, Meeting.ends_at >= since)
            .order_by(Meeting.starts_at, Meeting.id)
        ).all()
        return render_calendar(
            [(m, None) for m in meetings], name=_("%(network)s meetings", network=feed.network.name)
        )
    rows = session.execute(
        sa.select(Meeting, Rsvp.answer)
        .join(Membership, Membership.network_id == Meeting.network_id)
        .outerjoin(Rsvp, sa.and_(Rsvp.meeting_id == Meeting.id, Rsvp.person_id == person.id))
        .options(joinedload(Meeting.network))
        .where(
            Membership.person_id == person.id,
            Membership.status == MembershipStatus.active,
            Meeting.ends_at >= since,
        )
        .order_by(Meeting.starts_at, Meeting.id)
    ).all()
    return render_calendar(
        [(m, answer or False) for m, answer in rows], name=_("My mentorNET meetings"), attendee=person
    )


def meeting_calendar(meeting: Meeting, viewer: Person) -> bytes:
    """One meeting as an .ics file (for "add to my calendar")."""
    if not permissions.can_view(viewer, meeting.network):
        raise Forbidden(_("Only members of this network can see its meetings."))
    answer = session.scalar(
        sa.select(Rsvp.answer).where(Rsvp.meeting_id == meeting.id, Rsvp.person_id == viewer.id)
    )
    return render_calendar([(meeting, answer or False)], name=meeting.title, attendee=viewer)


# --- rendering ------------------------------------------------------------------------------------------------


def _host() -> str:
    return urlsplit(current_app.config["BASE_URL"]).hostname or "mentornet"


def uid_of(meeting: Meeting) -> str:
    return f"meeting-{meeting.id}@{_host()}"


def plain_description(source: str) -> str:
    """Markdown as plain text with its paragraphs (calendar apps show DESCRIPTION as text)."""
    if not source:
        return ""
    text = html.unescape(nh3.clean(_parser.render(source), tags=set()))
    # Some calendar apps (Google's) read HTML in DESCRIPTION: no tag-like text survives, typed or not.
    while (stripped := _TAG.sub("", text)) != text:
        text = stripped
    return re.sub(r"\n{3,}", "\n\n", text.replace("<", "‹").replace(">", "›")).strip()


def _event(meeting: Meeting, answer, attendee: Person | None) -> icalendar.Event:
    import icalendar  # noqa: PLC0415 - see render_calendar

    event = icalendar.Event()
    event.add("uid", uid_of(meeting))
    event.add("dtstamp", meeting.updated_at.astimezone(dt.UTC))
    event.add("created", meeting.created_at.astimezone(dt.UTC))
    event.add("last-modified", meeting.updated_at.astimezone(dt.UTC))
    event.add("dtstart", meeting.starts_at.astimezone(dt.UTC))
    event.add("dtend", meeting.ends_at.astimezone(dt.UTC))
    event.add("sequence", meeting.sequence)
    event.add("summary", meeting.title)
    event.add("status", "CANCELLED" if meeting.is_cancelled else "CONFIRMED")
    page = public_url(meeting_path(meeting))
    location = meeting.place or meeting.online_url
    if location:
        event.add("location", location)
    event.add("url", meeting.online_url or page)
    parts = []
    if meeting.is_cancelled:
        parts.append(
            _("Cancelled: %(reason)s", reason=meeting.cancel_reason)
            if meeting.cancel_reason
            else _("Cancelled")
        )
    text = plain_description(meeting.description)
    if text:
        parts.append(text)
    if meeting.online_url:
        parts.append(_("Meeting link: %(url)s", url=meeting.online_url))
    parts.append(_("Network: %(network)s", network=meeting.network.name))
    parts.append(_("Details and your answer: %(url)s", url=page))
    event.add("description", "\n\n".join(parts))
    if answer is not None:  # False: personal calendar, no answer yet
        event.add("x-mentornet-rsvp", answer.value if answer else "none")
        if attendee is not None and attendee.email:
            event.add(
                "attendee",
                f"mailto:{attendee.email}",
                parameters={
                    "CN": attendee.name_or_email,
                    "PARTSTAT": PARTSTAT[answer] if answer else "NEEDS-ACTION",
                    "ROLE": "REQ-PARTICIPANT",
                },
            )
    return event


def render_calendar(items, *, name: str, attendee: Person | None = None) -> bytes:
    """``items``: (meeting, answer) pairs; answer None leaves out the answer (network feeds)."""
    # Imported here: icalendar (with dateutil and six) costs every web worker about 2 MB of memory, for the
    # few requests that ask for a calendar (docs/performance.md, session 12).
    import icalendar  # noqa: PLC0415

    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//mentorNET//Meetings//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "UTC")
    calendar.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for meeting, answer in items:
        calendar.add_component(_event(meeting, answer, attendee))
    return calendar.to_ical()
