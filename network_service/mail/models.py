from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from network_service.db import Base, TimestampMixin, utcnow
from network_service.types import JSONType, StrEnumType


class MailStatus(enum.StrEnum):
    pending = "pending"
    sending = "sending"  # claimed by one deliverer; returns to pending if that deliverer dies
    sent = "sent"
    failed = "failed"  # gave up after the configured number of attempts


class OutboundEmail(TimestampMixin, Base):
    __tablename__ = "outbound_email"
    __table_args__ = (sa.Index("ix_outbound_email_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    to_address: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str | None] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)  # the HTML alternative, when the mail has one
    headers: Mapped[dict | None] = mapped_column(JSONType)  # extra headers, e.g. List-Unsubscribe (RFC 8058)
    status: Mapped[MailStatus] = mapped_column(
        StrEnumType(MailStatus, "mail_status"), default=MailStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    delivered_to: Mapped[str] = mapped_column(sa.String(20), default="")  # "smtp" or "mailbox"
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
