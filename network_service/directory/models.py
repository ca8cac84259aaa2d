from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network_service.db import Base, utcnow
from network_service.networks.models import Network
from network_service.types import JSONType, StrEnumType


class EntryKind(enum.StrEnum):
    organisation = "organisation"
    network = "network"


class Service(enum.StrEnum):
    legal = "legal"
    housing = "housing"
    employment = "employment"
    language_courses = "language_courses"
    health = "health"
    education = "education"
    psychosocial = "psychosocial"
    other = "other"


# The full-text index lives outside the metadata (an FTS5 table on SQLite, an expression GIN index on
# PostgreSQL); both are created by the migration y0001. Everything named so is left out of model comparisons.
FTS_PREFIX = "directory_entry_fts"
FTS_PG_INDEX = "ix_directory_entry_fts"


class DirectoryEntry(Base):
    """An organisation or network supporting migrants, shown in the public directory once published.

    ``name_key`` (the name folded to lower case, spaces collapsed) with ``country`` is unique: the same
    organisation is listed once per country. Languages (ISO 639 codes) and services are kept twice: as JSON
    lists for display, and as facet rows for indexed filtering and counting."""

    __tablename__ = "directory_entry"
    __table_args__ = (
        sa.UniqueConstraint("name_key", "country"),
        sa.Index("ix_directory_entry_published_name_key_id", "published", "name_key", "id"),
        sa.Index("ix_directory_entry_published_country", "published", "country"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[EntryKind] = mapped_column(StrEnumType(EntryKind, "directory_entry_kind"))
    name: Mapped[str] = mapped_column(sa.String(200))
    name_key: Mapped[str] = mapped_column(sa.String(200))
    country: Mapped[str] = mapped_column(sa.String(2))
    city: Mapped[str] = mapped_column(sa.String(120), default="")
    languages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    services: Mapped[list[str]] = mapped_column(JSONType, default=list)
    website: Mapped[str] = mapped_column(sa.String(300), default="")
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(40), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    network_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("network.id", ondelete="CASCADE"), unique=True
    )
    published: Mapped[bool] = mapped_column(default=False)
    suggested: Mapped[bool] = mapped_column(default=False)  # came from the public form, awaits review
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    network: Mapped[Network | None] = relationship()
    language_rows: Mapped[list[EntryLanguage]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )
    service_rows: Mapped[list[EntryService]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class EntryLanguage(Base):
    __tablename__ = "directory_entry_language"
    __table_args__ = (sa.Index("ix_directory_entry_language_language_entry_id", "language", "entry_id"),)

    entry_id: Mapped[int] = mapped_column(
        sa.ForeignKey("directory_entry.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(sa.String(12), primary_key=True)


class EntryService(Base):
    __tablename__ = "directory_entry_service"
    __table_args__ = (sa.Index("ix_directory_entry_service_service_entry_id", "service", "entry_id"),)

    entry_id: Mapped[int] = mapped_column(
        sa.ForeignKey("directory_entry.id", ondelete="CASCADE"), primary_key=True
    )
    service: Mapped[str] = mapped_column(sa.String(20), primary_key=True)


class NetworkPublicPage(Base):
    """A network's opt-in public page at /n/<slug>: off until its coordinator turns it on."""

    __tablename__ = "network_public_page"

    network_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"), primary_key=True)
    public: Mapped[bool] = mapped_column(default=False)
    country: Mapped[str] = mapped_column(sa.String(2), default="")
    how_to_join: Mapped[str] = mapped_column(sa.Text, default="")
    services: Mapped[list[str]] = mapped_column(JSONType, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    network: Mapped[Network] = relationship()
