from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network_service.accounts.models import Person
from network_service.db import Base, utcnow
from network_service.networks.models import Network
from network_service.types import JSONType, StrEnumType


class EmailFrequency(enum.StrEnum):
    immediately = "immediately"
    daily = "daily"
    weekly = "weekly"
    never = "never"


class Notification(Base):
    """Something a member should know about. The text is rendered when shown (in the reader's language) from
    ``kind`` and ``params``; ``mailed_at`` is set once it went out by e-mail, alone or in a digest, so that no
    digest repeats it."""

    __tablename__ = "notification"
    __table_args__ = (
        sa.Index("ix_notification_person_created", "person_id", "created_at"),
        sa.Index("ix_notification_unmailed", "mailed_at", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    network_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("network.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    params: Mapped[dict] = mapped_column(JSONType, default=dict)
    url: Mapped[str] = mapped_column(sa.String(500))  # path on this service, e.g. /networks/x/help/3
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None]
    mailed_at: Mapped[dt.datetime | None]

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    actor: Mapped[Person | None] = relationship(foreign_keys=[actor_id])
    network: Mapped[Network | None] = relationship()


class NotificationSetting(Base):
    """A member's choice of e-mail. No row means the default (``DEFAULT_FREQUENCY``)."""

    __tablename__ = "notification_setting"

    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    email_frequency: Mapped[EmailFrequency] = mapped_column(
        StrEnumType(EmailFrequency, "email_frequency"), default=EmailFrequency.daily
    )
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # When the last digest went out: a digest run claims a person by moving this forward with a conditional
    # UPDATE, so two runs at the same moment send one digest.
    last_digest_at: Mapped[dt.datetime | None]


DEFAULT_FREQUENCY = EmailFrequency.daily
