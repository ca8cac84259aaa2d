"""Meetings of a network: when and where, who comes, which reminders went out, and calendar feed tokens."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network_service.accounts.models import Person
from network_service.db import Base, TimestampMixin, utcnow
from network_service.networks.models import Network
from network_service.types import StrEnumType


class RsvpAnswer(enum.StrEnum):
    yes = "yes"
    maybe = "maybe"
    no = "no"


class ReminderKind(enum.StrEnum):
    day = "24h"
    hour = "1h"


class Meeting(TimestampMixin, Base):
    """A meeting. Times are stored in UTC; ``timezone`` is the IANA zone the organiser planned in, so the page can
    say "18:00 Berlin time". ``sequence`` grows with every change (iCalendar SEQUENCE: calendars update)."""

    __tablename__ = "meeting"
    __table_args__ = (sa.Index("ix_meeting_network_starts", "network_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    timezone: Mapped[str] = mapped_column(sa.String(64))
    online_url: Mapped[str] = mapped_column(sa.String(500), default="")
    place: Mapped[str] = mapped_column(sa.String(300), default="")
    organiser_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    cancelled_at: Mapped[dt.datetime | None]
    cancel_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    sequence: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    network: Mapped[Network] = relationship()
    organiser: Mapped[Person | None] = relationship()

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


class Rsvp(Base):
    __tablename__ = "rsvp"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    answer: Mapped[RsvpAnswer] = mapped_column(StrEnumType(RsvpAnswer, "rsvp_answer"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    meeting: Mapped[Meeting] = relationship()
    person: Mapped[Person] = relationship()


class MeetingReminder(Base):
    """A reminder sent to one person for one meeting. (meeting, person, kind) is unique, so two processes that
    run the reminder job at once send each reminder once."""

    __tablename__ = "meeting_reminder"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "person_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReminderKind] = mapped_column(StrEnumType(ReminderKind, "meeting_reminder_kind"))
    sent_at: Mapped[dt.datetime]


class CalendarFeed(TimestampMixin, Base):
    """A secret calendar address. ``network_id`` set: that network's meetings; empty: every network the person
    is active in, with their answers. Only the SHA-256 of the token is stored; a new one revokes the old."""

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    network_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("network.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    revoked_at: Mapped[dt.datetime | None]

    person: Mapped[Person] = relationship()
    network: Mapped[Network | None] = relationship()
