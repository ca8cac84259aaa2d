"""Capstone tools the bridge launches as a platform, the learners it launched, and spent one-time values."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network_service.accounts.models import Person
from network_service.db import Base, TimestampMixin
from network_service.types import JSONType


class CapstoneTool(TimestampMixin, Base):
    """A graded LTI 1.3 tool registered at the bridge's platform side, for one course."""

    __tablename__ = "lti_capstone_tool"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    course_key: Mapped[str] = mapped_column(sa.String(255))
    client_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    deployment_id: Mapped[str] = mapped_column(sa.String(64))
    login_url: Mapped[str] = mapped_column(sa.String(500))
    launch_url: Mapped[str] = mapped_column(sa.String(500))
    jwks_url: Mapped[str] = mapped_column(sa.String(500))
    redirect_uris: Mapped[list[str]] = mapped_column(JSONType, default=list)
    pass_mark: Mapped[float] = mapped_column(default=0.7)


class CapstoneLaunch(TimestampMixin, Base):
    """A person as the tool knows them: an opaque ``sub`` per (tool, person)."""

    __tablename__ = "lti_capstone_launch"
    __table_args__ = (sa.UniqueConstraint("tool_id", "sub"), sa.UniqueConstraint("tool_id", "person_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tool_id: Mapped[int] = mapped_column(sa.ForeignKey("lti_capstone_tool.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    sub: Mapped[str] = mapped_column(sa.String(64))

    tool: Mapped[CapstoneTool] = relationship()
    person: Mapped[Person] = relationship()


class SpentValue(Base):
    """A client assertion's jti or an authorisation nonce, spent once (kept until it could no longer be used)."""

    __tablename__ = "lti_platform_spent"

    value: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
