from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network_service.accounts.models import Person
from network_service.db import Base, utcnow
from network_service.networks.models import Network
from network_service.types import StrEnumType


class ResourceKind(enum.StrEnum):
    link = "link"
    file = "file"
    note = "note"


class Resource(Base):
    """One entry of a network's library: a link, an uploaded file, or a Markdown note.

    A file lives under ``UPLOAD_DIR`` as ``stored_name`` (random hex, never derived from what the uploader
    sent); ``original_filename`` is only used, cleaned, as the name offered on download."""

    __tablename__ = "resource"
    __table_args__ = (sa.Index("ix_resource_network_id_id", "network_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"))
    kind: Mapped[ResourceKind] = mapped_column(StrEnumType(ResourceKind, "resource_kind"))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")  # description (link, file) or the note itself
    url: Mapped[str | None] = mapped_column(sa.String(2000))
    stored_name: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    original_filename: Mapped[str | None] = mapped_column(sa.String(255))
    content_type: Mapped[str | None] = mapped_column(sa.String(120))
    size: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    language: Mapped[str] = mapped_column(sa.String(40), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    network: Mapped[Network] = relationship()
    created_by: Mapped[Person | None] = relationship()
    tag_rows: Mapped[list[ResourceTag]] = relationship(
        back_populates="resource", cascade="all, delete-orphan", order_by="ResourceTag.tag"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class ResourceTag(Base):
    """A tag of a resource, lower-case (so filtering by tag is one indexed lookup on both databases)."""

    __tablename__ = "resource_tag"
    __table_args__ = (sa.UniqueConstraint("resource_id", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(sa.ForeignKey("resource.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(sa.String(40), index=True)

    resource: Mapped[Resource] = relationship(back_populates="tag_rows")
