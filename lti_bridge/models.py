"""Completion sources the bridge accepts, each with its own secret."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from network_service.db import Base, TimestampMixin, utcnow
from network_service.types import StrEnumType


class SourceKind(enum.StrEnum):
    openedx_webhooks = "openedx_webhooks"  # openedx-webhooks posts unsigned JSON to a URL with this token
    xapi = "xapi"  # an LRS forwarder (event-routing-backends, Moodle logstore_xapi) with HTTP Basic


class CompletionSource(TimestampMixin, Base):
    """One sender of completion events. Only hashes of its secrets are stored."""

    __tablename__ = "bridge_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    kind: Mapped[SourceKind] = mapped_column(StrEnumType(SourceKind, "bridge_source_kind"))
    # xAPI: the HTTP Basic user name; openedx-webhooks: none (the token alone identifies the source).
    username: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class ReconcileCursor(Base):
    """Where an interrupted reconciliation of a course goes on: the LMS's next page of grades (its cursor).

    Written after each committed page, removed when a run reaches the last page.
    """

    __tablename__ = "bridge_reconcile_cursor"

    course_key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    next_url: Mapped[str] = mapped_column(sa.Text)
    pages_done: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
