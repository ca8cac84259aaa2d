from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network_service.db import Base, TimestampMixin
from network_service.types import JSONType


class Person(TimestampMixin, Base):
    """Someone who has, or is invited to, a place in a network. E-mail is optional (LTI may not share it)."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(120), default="")
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    languages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    expertise: Mapped[list[str]] = mapped_column(JSONType, default=list)
    region: Mapped[str] = mapped_column(sa.String(120), default="")
    bio: Mapped[str] = mapped_column(sa.Text, default="")
    is_site_admin: Mapped[bool] = mapped_column(default=False)
    # indexed: the help matching reads the sign-ins newer than the members it keeps (help/matching.py)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(index=True)

    memberships = relationship("Membership", back_populates="person", lazy="selectin")

    @property
    def name_or_email(self) -> str:
        return self.display_name or (self.email or "").split("@")[0]

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.email}>"


class SignInToken(TimestampMixin, Base):
    """A single-use sign-in link. Only a SHA-256 of the token is stored, so a database leak opens no account."""

    __tablename__ = "sign_in_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    next_url: Mapped[str | None] = mapped_column(sa.String(500))

    person: Mapped[Person] = relationship()


class ApiToken(TimestampMixin, Base):
    """A personal API token (``Authorization: Bearer ...``); stored hashed like sign-in tokens."""

    __tablename__ = "api_token"
    # one token per form of the devices page (migration sp13001)
    __table_args__ = (sa.Index("uq_api_token_person_form", "person_id", "form_hash", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    # SHA-256 of the random value of the form it was made from (None: the operator's)
    form_hash: Mapped[str | None] = mapped_column(sa.String(64))

    person: Mapped[Person] = relationship()


class DeviceSession(Base):
    """A signed-in browser: the server-side half of a session cookie, so that a member can see their devices and
    sign them out. The cookie carries the id (signed, never guessable: 192 random bits); deleting the row ends the
    session. No IP address and no full User-Agent are kept: only a short browser and system name."""

    __tablename__ = "device_session"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime]
    # not indexed: written every few minutes (an index would cost PostgreSQL its HOT updates); pruned daily
    last_seen_at: Mapped[dt.datetime]
    browser: Mapped[str] = mapped_column(sa.String(40), default="")
    system: Mapped[str] = mapped_column(sa.String(40), default="")
    via: Mapped[str] = mapped_column(sa.String(20), default="")
