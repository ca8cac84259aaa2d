"""Channels, their members and read markers, messages (threads one level deep) and the earlier versions of them."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network_service.accounts.models import Person
from network_service.db import Base, TimestampMixin, utcnow
from network_service.networks.models import Network
from network_service.types import StrEnumType


class ChannelKind(enum.StrEnum):
    open = "open"  # every active member of the network reads and writes
    private = "private"  # a group: only its members
    direct = "direct"  # direct messages between 2 to 8 members


class Channel(TimestampMixin, Base):
    __tablename__ = "channel"
    __table_args__ = (
        sa.UniqueConstraint("network_id", "slug"),
        sa.UniqueConstraint("network_id", "direct_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(80), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    kind: Mapped[ChannelKind] = mapped_column(
        StrEnumType(ChannelKind, "channel_kind"), default=ChannelKind.open
    )
    # "<smaller person id>-<larger person id>" for a one-to-one conversation, so that it is found again.
    direct_key: Mapped[str | None] = mapped_column(sa.String(64))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    archived_at: Mapped[dt.datetime | None]
    last_message_at: Mapped[dt.datetime | None]

    network: Mapped[Network] = relationship()
    created_by: Mapped[Person | None] = relationship()
    members: Mapped[list[ChannelMember]] = relationship(
        back_populates="channel",
        primaryjoin="and_(Channel.id == ChannelMember.channel_id, ChannelMember.member)",
        viewonly=True,
        lazy="raise",
    )


class ChannelMember(Base):
    """A person's place in a channel: membership of a private or direct channel (``member``), and in every
    channel the marker of the last message they read (open channels get a row with ``member`` False)."""

    __tablename__ = "channel_member"
    __table_args__ = (
        sa.UniqueConstraint("channel_id", "person_id"),
        sa.Index("ix_channel_member_person", "person_id", "channel_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("channel.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    member: Mapped[bool] = mapped_column(default=False)
    joined_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_read_message_id: Mapped[int | None]

    channel: Mapped[Channel] = relationship(back_populates="members")
    person: Mapped[Person] = relationship(lazy="joined")


class Message(Base):
    """A thread root (``parent_id`` None) or a reply to one. Deleting keeps the row (body emptied, the text
    in a revision for the author and moderators only as long as docs/privacy.md, "Deleted messages", says);
    hiding keeps the text for moderators and the author."""

    __tablename__ = "message"
    __table_args__ = (
        sa.Index("ix_message_channel_parent_id", "channel_id", "parent_id", "id"),
        sa.Index("ix_message_author_created", "author_id", "created_at"),
        # unread counts: messages after a read marker (by id), or since the reader joined (by time)
        sa.Index("ix_message_channel_seq", "channel_id", "id"),
        sa.Index("ix_message_channel_created", "channel_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("channel.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("message.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[dt.datetime | None]
    deleted_at: Mapped[dt.datetime | None]
    deleted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    hidden_at: Mapped[dt.datetime | None]
    hidden_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    reply_count: Mapped[int] = mapped_column(default=0)
    last_reply_at: Mapped[dt.datetime | None]

    channel: Mapped[Channel] = relationship()
    author: Mapped[Person | None] = relationship(foreign_keys=[author_id])
    parent: Mapped[Message | None] = relationship(remote_side=[id])

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class MessageRevision(Base):
    """An earlier text of a message, kept when it was edited or deleted; shown to moderators and the author.
    Those of an edited message stay with it; those of a deleted one are dropped (rows deleted) at once or after
    ``DELETED_TEXT_RETENTION_DAYS`` (``conversations.operations.purge_deleted_texts``)."""

    __tablename__ = "message_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("message.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(sa.Text)
    editor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    replaced_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    editor: Mapped[Person | None] = relationship()
