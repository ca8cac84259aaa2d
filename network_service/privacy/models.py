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
