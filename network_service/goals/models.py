from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network_service.accounts.models import Person
from network_service.db import Base, utcnow
from network_service.networks.models import Network
from network_service.types import StrEnumType


class GoalStatus(enum.StrEnum):
    open = "open"
    achieved = "achieved"
    dropped = "dropped"


class Goal(Base):
    """A goal the network sets itself: a number to reach (``target_value`` of ``unit``), by an owner."""

    __tablename__ = "goal"
    __table_args__ = (
        sa.CheckConstraint("target_value > 0", name="target_positive"),
        sa.CheckConstraint("current_value >= 0", name="current_not_negative"),
        sa.Index("ix_goal_network_status", "network_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"), index=True)
    target_value: Mapped[int]
    unit: Mapped[str] = mapped_column(sa.String(60))
    current_value: Mapped[int] = mapped_column(default=0)
    due_date: Mapped[dt.date | None]
    status: Mapped[GoalStatus] = mapped_column(
        StrEnumType(GoalStatus, "goal_status"), default=GoalStatus.open
    )
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    network: Mapped[Network] = relationship()
    owner: Mapped[Person | None] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[Person | None] = relationship(foreign_keys=[created_by_id])

    @property
    def percent(self) -> int:
        """Progress towards the target, 0 to 100 (beyond the target still shows 100)."""
        if self.target_value <= 0:
            return 0
        return max(0, min(100, (self.current_value * 100) // self.target_value))

    def is_overdue(self, today: dt.date) -> bool:
        return self.status == GoalStatus.open and self.due_date is not None and self.due_date < today


class GoalUpdate(Base):
    """A progress report: where the goal stands now (``value``) and what happened."""

    __tablename__ = "goal_update"
    __table_args__ = (sa.Index("ix_goal_update_goal_created", "goal_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(sa.ForeignKey("goal.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    value: Mapped[int]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    goal: Mapped[Goal] = relationship()
    author: Mapped[Person | None] = relationship()
