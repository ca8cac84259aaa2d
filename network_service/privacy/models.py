from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from network_service.db import Base, utcnow


class ConsentRecord(Base):
    """One consent given or withdrawn, for one purpose, against one version of its text. Append-only: the
    latest record per person and purpose is the current choice; the older ones are the history."""

    __tablename__ = "consent_record"
    __table_args__ = (sa.Index("ix_consent_record_person_purpose", "person_id", "purpose", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(sa.String(40))  # see privacy.consent.PURPOSES
    given: Mapped[bool] = mapped_column(default=True)
    text_version: Mapped[str] = mapped_column(sa.String(20))
    via: Mapped[str] = mapped_column(sa.String(20), default="profile")  # profile | api | admin
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PrivacyKey(Base):
    """A secret the service makes once (by migration sp9001, or on first use) and keeps: the key of the learners'
    pseudonyms in completion events (``privacy.pseudonyms``). Unlike keys derived from ``SECRET_KEY`` it does not
    change when that is rotated: a pseudonym must stay the same for as long as events carry it."""

    __tablename__ = "privacy_key"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    secret: Mapped[str] = mapped_column(sa.String(128))  # hex
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
