"""Applications to networks, partner organisations, the guided start of a network, course-link requests."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network_service.accounts.models import Person
from network_service.db import Base, TimestampMixin, utcnow
from network_service.networks.models import Network, Organisation
from network_service.types import JSONType, StrEnumType


class ApplicationStatus(enum.StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    withdrawn = "withdrawn"


class NetworkApplication(TimestampMixin, Base):
    """An experienced mentor (trained elsewhere, say) asks to join a network; its office decides.

    ``pending_person_id`` equals ``person_id`` while the application is open and is NULL afterwards: the unique
    (network, pending_person) pair makes a second open application impossible, even for two requests at once."""

    __tablename__ = "network_application"
    __table_args__ = (sa.UniqueConstraint("network_id", "pending_person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    pending_person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    motivation: Mapped[str] = mapped_column(sa.Text)
    languages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    region: Mapped[str] = mapped_column(sa.String(120), default="")
    experience: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[ApplicationStatus] = mapped_column(
        StrEnumType(ApplicationStatus, "application_status"), default=ApplicationStatus.pending
    )
    level: Mapped[str] = mapped_column(sa.String(20), default="")  # granted on acceptance
    decision_message: Mapped[str] = mapped_column(sa.Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None]

    network: Mapped[Network] = relationship(lazy="joined")
    person: Mapped[Person] = relationship(foreign_keys=[person_id], lazy="joined")
    decided_by: Mapped[Person | None] = relationship(foreign_keys=[decided_by_id])


class PartnerStatus(enum.StrEnum):
    requested = "requested"
    accepted = "accepted"
    declined = "declined"


class NetworkPartner(TimestampMixin, Base):
    """An organisation that joins a network as a partner; the network's coordinators decide."""

    __tablename__ = "network_partner"
    __table_args__ = (sa.UniqueConstraint("network_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[PartnerStatus] = mapped_column(
        StrEnumType(PartnerStatus, "partner_status"), default=PartnerStatus.requested
    )
    message: Mapped[str] = mapped_column(sa.Text, default="")
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    decision_message: Mapped[str] = mapped_column(sa.Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None]

    network: Mapped[Network] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    requested_by: Mapped[Person | None] = relationship(foreign_keys=[requested_by_id])


class StartStatus(enum.StrEnum):
    draft = "draft"  # being filled in
    awaiting_approval = "awaiting_approval"  # the site requires approval; a site admin decides
    approved = "approved"  # may create the network
    declined = "declined"
    done = "done"  # the network exists; the flow is finished


class NetworkStart(TimestampMixin, Base):
    """The state of one person's guided start of a network, so that it can be resumed."""

    __tablename__ = "network_start"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id", ondelete="SET NULL"))
    network_id: Mapped[int | None] = mapped_column(sa.ForeignKey("network.id", ondelete="SET NULL"))
    step: Mapped[str] = mapped_column(sa.String(20), default="organisation")
    data: Mapped[dict] = mapped_column(JSONType, default=dict)  # the network draft before it exists
    status: Mapped[StartStatus] = mapped_column(
        StrEnumType(StartStatus, "network_start_status"), default=StartStatus.draft
    )
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    person: Mapped[Person] = relationship(lazy="joined")
    organisation: Mapped[Organisation | None] = relationship()
    network: Mapped[Network | None] = relationship()


class CourseLinkRequestStatus(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    declined = "declined"


class CourseLinkRequest(TimestampMixin, Base):
    """A coordinator asks to link a MOOC course to their network; a site admin approves it in one click
    (linking stays site-admin only: nothing ties a course key to the organisation that runs it)."""

    __tablename__ = "course_link_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"), index=True)
    course_key: Mapped[str] = mapped_column(sa.String(255))
    title: Mapped[str] = mapped_column(sa.String(255), default="")
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    status: Mapped[CourseLinkRequestStatus] = mapped_column(
        StrEnumType(CourseLinkRequestStatus, "course_link_request_status"),
        default=CourseLinkRequestStatus.pending,
    )
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None]

    network: Mapped[Network] = relationship(lazy="joined")
    requested_by: Mapped[Person | None] = relationship(foreign_keys=[requested_by_id])


class GrowthSetting(Base):
    """Site-wide settings of this module, one row per key (e.g. ``start_policy``: open | approval)."""

    __tablename__ = "growth_setting"

    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(200), default="")
