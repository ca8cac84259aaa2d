"""Reports of messages and members, and blocks between members."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network_service.accounts.models import Person
from network_service.conversations.models import Message
from network_service.db import Base, TimestampMixin
from network_service.networks.models import Network
from network_service.types import StrEnumType


class ReportReason(enum.StrEnum):
    harassment = "harassment"
    personal_data = "personal_data"  # personal data of a third party (e.g. someone being mentored)
    spam = "spam"
    other = "other"


class ReportStatus(enum.StrEnum):
    open = "open"
    resolved = "resolved"
    dismissed = "dismissed"


class Report(TimestampMixin, Base):
    __tablename__ = "report"
    __table_args__ = (sa.Index("ix_report_network_status", "network_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"))
    reporter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    reason: Mapped[ReportReason] = mapped_column(StrEnumType(ReportReason, "report_reason"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[ReportStatus] = mapped_column(
        StrEnumType(ReportStatus, "report_status"), default=ReportStatus.open
    )
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    handled_at: Mapped[dt.datetime | None]
    resolution: Mapped[str] = mapped_column(sa.Text, default="")
    # Evidence: the reported message's text when the report was made (its author may edit or delete it later).
    # Shown only to those who handle the report; blanked when the reported person is erased.
    snapshot_body: Mapped[str | None] = mapped_column(sa.Text)
    snapshot_at: Mapped[dt.datetime | None]

    network: Mapped[Network] = relationship()
    reporter: Mapped[Person | None] = relationship(foreign_keys=[reporter_id])
    person: Mapped[Person | None] = relationship(foreign_keys=[person_id])
    handled_by: Mapped[Person | None] = relationship(foreign_keys=[handled_by_id])
    message: Mapped[Message | None] = relationship()


class Block(TimestampMixin, Base):
    """``blocker`` does not want to hear from ``blocked``: no direct messages, no mentions, messages collapsed."""

    __tablename__ = "block"
    __table_args__ = (sa.UniqueConstraint("blocker_id", "blocked_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    blocker_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    blocked_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)

    blocked: Mapped[Person] = relationship(foreign_keys=[blocked_id])
