"""A federation is a network with member networks.

There is no separate Federation entity: a federation needs everything a network already has (coordinators and
Meta-Mentors who run it, an agreement, channels, a library, a public page). A network becomes a federation when
it invites (or accepts) its first member network; its own members are the federation's staff.

``FederationLink`` ties a member network to a federation; both sides consent (one side asks, a coordinator of the
other side accepts). ``SharedChannel`` and ``SharedResource`` are the chosen channels and resources a network
shares with a federation it belongs to (or the federation shares with its members).
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network_service.accounts.models import Person
from network_service.conversations.models import Channel
from network_service.db import Base, utcnow
from network_service.networks.models import Network
from network_service.resources.models import Resource
from network_service.types import StrEnumType


class LinkStatus(enum.StrEnum):
    invited = "invited"  # the federation asked; a coordinator of the member network must accept
    requested = "requested"  # the member network asked; a coordinator of the federation must accept
    active = "active"
    ended = "ended"  # declined, withdrawn, left or removed; the row is reused when they try again


class FederationLink(Base):
    __tablename__ = "federation_link"
    __table_args__ = (
        sa.UniqueConstraint("federation_id", "member_id"),
        sa.CheckConstraint("federation_id <> member_id", name="not_self"),
        sa.Index("ix_federation_link_member", "member_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    federation_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"))
    status: Mapped[LinkStatus] = mapped_column(StrEnumType(LinkStatus, "federation_link_status"))
    asked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    asked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    accepted_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]

    federation: Mapped[Network] = relationship(foreign_keys=[federation_id], lazy="joined")
    member: Mapped[Network] = relationship(foreign_keys=[member_id], lazy="joined")
    asked_by: Mapped[Person | None] = relationship(foreign_keys=[asked_by_id])

    @property
    def pending(self) -> bool:
        return self.status in (LinkStatus.invited, LinkStatus.requested)


class SharedChannel(Base):
    """An open channel shared with a federation: members of the federation and of its member networks read it,
    and write in it when ``allow_posting``."""

    __tablename__ = "federation_shared_channel"
    __table_args__ = (sa.UniqueConstraint("federation_id", "channel_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    federation_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("channel.id", ondelete="CASCADE"), index=True)
    allow_posting: Mapped[bool] = mapped_column(default=True)
    shared_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    shared_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    federation: Mapped[Network] = relationship()
    channel: Mapped[Channel] = relationship(lazy="joined")


class SharedResource(Base):
    """A resource shared with a federation: it shows under "From the federation" in every member's library."""

    __tablename__ = "federation_shared_resource"
    __table_args__ = (sa.UniqueConstraint("federation_id", "resource_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    federation_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[int] = mapped_column(sa.ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    shared_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    shared_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    federation: Mapped[Network] = relationship()
    resource: Mapped[Resource] = relationship(lazy="joined")
