from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network_service.accounts.models import Person
from network_service.db import Base, TimestampMixin
from network_service.types import JSONType, StrEnumType


class Role(enum.StrEnum):
    coordinator = "coordinator"  # the organisation's coordinator; runs the network
    meta_mentor = "meta_mentor"  # leads the mentors; appointed by the coordinator
    office = "office"  # the network office: public contact point
    mentor = "mentor"


class Level(enum.StrEnum):
    novice = "novice"
    experienced = "experienced"


class MembershipStatus(enum.StrEnum):
    invited = "invited"
    active = "active"
    suspended = "suspended"
    left = "left"


class Origin(enum.StrEnum):
    graduate = "graduate"  # passed the organisation's MOOC
    invited = "invited"  # invited by a coordinator or Meta-Mentor
    applied = "applied"  # applied and was accepted


class Organisation(TimestampMixin, Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    country: Mapped[str | None] = mapped_column(sa.String(2))
    city: Mapped[str] = mapped_column(sa.String(120), default="")
    website: Mapped[str] = mapped_column(sa.String(300), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")


class Network(TimestampMixin, Base):
    __tablename__ = "network"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    languages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    region: Mapped[str] = mapped_column(sa.String(120), default="")
    # The network office is the network's public contact point: what outsiders and members use to reach it.
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="", server_default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    contact_hours: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    # Experienced mentors may apply to join (growth module, migration w0001); shown on the public page.
    accepts_applications: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    organisation: Mapped[Organisation] = relationship(lazy="joined")

    @property
    def has_contact(self) -> bool:
        return bool(self.contact_email or self.contact_phone or self.contact_hours)


class Membership(TimestampMixin, Base):
    __tablename__ = "membership"
    __table_args__ = (
        sa.UniqueConstraint("network_id", "person_id"),
        # The network page's newest mentors (migration x0001).
        sa.Index("ix_membership_newest", "network_id", "status", "role", "joined_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(StrEnumType(Role, "membership_role"), default=Role.mentor)
    level: Mapped[Level] = mapped_column(StrEnumType(Level, "membership_level"), default=Level.novice)
    status: Mapped[MembershipStatus] = mapped_column(
        StrEnumType(MembershipStatus, "membership_status"), default=MembershipStatus.invited
    )
    origin: Mapped[Origin] = mapped_column(StrEnumType(Origin, "membership_origin"), default=Origin.invited)
    joined_at: Mapped[dt.datetime | None]

    network: Mapped[Network] = relationship(lazy="joined")
    person: Mapped[Person] = relationship(back_populates="memberships", lazy="joined")

    @property
    def is_active(self) -> bool:
        return self.status == MembershipStatus.active


class Invitation(TimestampMixin, Base):
    """A single-use invitation link into a network. Only the SHA-256 of the token is stored."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[dt.datetime]
    accepted_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    network: Mapped[Network] = relationship(lazy="joined")
    person: Mapped[Person] = relationship(foreign_keys=[person_id], lazy="joined")
    invited_by: Mapped[Person | None] = relationship(foreign_keys=[invited_by_id])

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None


class InvitationReminder(Base):
    """A reminder of an open invitation. It carries a link of its own; every link of the invitation stays
    usable until it is accepted, replaced or expires. (invitation, sequence) is unique, so two processes
    that run the reminder job at once send each reminder once."""

    __tablename__ = "invitation_reminder"
    __table_args__ = (sa.UniqueConstraint("invitation_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(sa.ForeignKey("invitation.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int]  # 1 for the first reminder, 2 for the second, ...
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    sent_at: Mapped[dt.datetime]

    invitation: Mapped[Invitation] = relationship()


class Agreement(TimestampMixin, Base):
    """One version of a network's agreement and communication rules. The highest version is the current one."""

    __tablename__ = "agreement"
    __table_args__ = (sa.UniqueConstraint("network_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    change_note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")  # what changed, and why
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))

    network: Mapped[Network] = relationship()
    published_by: Mapped[Person | None] = relationship()


class AgreementAcceptance(Base):
    __tablename__ = "agreement_acceptance"
    __table_args__ = (sa.UniqueConstraint("agreement_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("agreement.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    accepted_at: Mapped[dt.datetime]

    agreement: Mapped[Agreement] = relationship()


class AgreementReminder(Base):
    """An automatic reminder to accept an agreement version. (agreement, person, sequence) is unique, so two
    processes that run the reminder job at once send each reminder once."""

    __tablename__ = "agreement_reminder"
    __table_args__ = (sa.UniqueConstraint("agreement_id", "person_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("agreement.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int]  # 1 for the first reminder, 2 for the second, ...
    sent_at: Mapped[dt.datetime]
