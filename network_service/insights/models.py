from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network_service.accounts.models import Person
from network_service.db import Base, utcnow
from network_service.types import JSONType


class InsightNudge(Base):
    """A friendly nudge a leader sent to a member who went quiet. At most one per member and network every
    ``NUDGE_DAYS`` days (checked in ``operations.nudge``)."""

    __tablename__ = "insight_nudge"
    __table_args__ = (sa.Index("ix_insight_nudge_network_person_sent", "network_id", "person_id", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    sent_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])


class InsightCache(Base):
    """A network's computed insights (plain JSON) and when they were computed; younger than the TTL is served."""

    __tablename__ = "insight_cache"

    network_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"), primary_key=True)
    computed_at: Mapped[dt.datetime]
    data: Mapped[dict] = mapped_column(JSONType)
