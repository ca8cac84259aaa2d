"""Peer help: a mentor asks the network for help; members answer; the request is resolved or closed."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network_service.accounts.models import Person
from network_service.db import Base, utcnow
from network_service.networks.models import Network
from network_service.types import JSONType, StrEnumType


class Urgency(enum.StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class HelpStatus(enum.StrEnum):
    open = "open"
    resolved = "resolved"
    closed = "closed"  # ended without a solution (withdrawn, no longer needed)


class HelpRequest(Base):
    __tablename__ = "help_request"
    __table_args__ = (sa.Index("ix_help_request_network_status", "network_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"), index=True)
    topic: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    languages: Mapped[list[str]] = mapped_column(JSONType, default=list)  # as written, for display
    region: Mapped[str] = mapped_column(sa.String(120), default="")
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    urgency: Mapped[Urgency] = mapped_column(StrEnumType(Urgency, "help_urgency"), default=Urgency.normal)
    status: Mapped[HelpStatus] = mapped_column(
        StrEnumType(HelpStatus, "help_status"), default=HelpStatus.open
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime | None]
    first_response_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]  # when it was resolved or closed
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    masked: Mapped[bool] = mapped_column(default=False)  # personal data was found and masked
    response_count: Mapped[int] = mapped_column(default=0)

    network: Mapped[Network] = relationship()
    author: Mapped[Person | None] = relationship(foreign_keys=[author_id])
    resolved_by: Mapped[Person | None] = relationship(foreign_keys=[resolved_by_id])
    responses: Mapped[list[HelpResponse]] = relationship(
        back_populates="request",
        order_by="HelpResponse.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    language_keys: Mapped[list[HelpRequestLanguage]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def is_open(self) -> bool:
        return self.status == HelpStatus.open


class HelpRequestLanguage(Base):
    """The request's languages by ``network_service.languages.language_key`` (an ISO 639 code, else the text
    case-folded), one row each: lets lists and badges filter by language in SQL."""

    __tablename__ = "help_request_language"

    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("help_request.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(sa.String(60), primary_key=True, index=True)


class HelpResponse(Base):
    __tablename__ = "help_response"
    __table_args__ = (sa.Index("ix_help_response_author_created", "author_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("help_request.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    masked: Mapped[bool] = mapped_column(default=False)

    request: Mapped[HelpRequest] = relationship(back_populates="responses")
    author: Mapped[Person | None] = relationship()


class HelpSuggestion(Base):
    """A member the matching suggested for a request: score, the reasons (machine codes and values, worded at
    display), and when they were notified (None: suggested, not yet notified)."""

    __tablename__ = "help_suggestion"
    __table_args__ = (
        sa.UniqueConstraint("request_id", "person_id"),
        sa.Index("ix_help_suggestion_notified_person", "notified_at", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("help_request.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    score: Mapped[float]
    reasons: Mapped[list[dict]] = mapped_column(JSONType, default=list)
    notified_at: Mapped[dt.datetime | None]

    request: Mapped[HelpRequest] = relationship()
    person: Mapped[Person] = relationship()
