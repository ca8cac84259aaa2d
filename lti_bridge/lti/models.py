"""Platform registrations, the tool's signing keys, one-time login nonces and LTI identities."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network_service.accounts.models import Person
from network_service.db import Base, TimestampMixin
from network_service.types import JSONType


class LtiPlatform(TimestampMixin, Base):
    """One registration of mentorNET at an LMS: the platform's issuer and the client id it gave us."""

    __tablename__ = "lti_platform"
    __table_args__ = (sa.UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(sa.String(255))
    client_id: Mapped[str] = mapped_column(sa.String(255))
    deployment_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    oidc_auth_url: Mapped[str] = mapped_column(sa.String(500))
    token_url: Mapped[str] = mapped_column(sa.String(500))
    jwks_url: Mapped[str] = mapped_column(sa.String(500))
    # Only when the LMS verifies e-mail addresses may its `email` claim sign someone in to an existing account.
    trust_email: Mapped[bool] = mapped_column(default=False)
    # "manual" (mentornet lti platform add) or "dynamic" (LTI Dynamic Registration); product: the platform's
    # product_family_code (moodle, canvas, ...), when it told us.
    registered_via: Mapped[str] = mapped_column(sa.String(20), default="manual")
    product: Mapped[str] = mapped_column(sa.String(100), default="")

    def __repr__(self) -> str:
        return f"<LtiPlatform {self.id} {self.issuer} {self.client_id}>"


class ToolKey(TimestampMixin, Base):
    """An RSA key the tool signs with. The current key has no ``retired_at``; the previous one stays published."""

    __tablename__ = "lti_tool_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    private_key_pem: Mapped[str] = mapped_column(sa.Text)
    retired_at: Mapped[dt.datetime | None]


class LtiNonce(Base):
    """A login in progress: the nonce issued for one state, spent by the first launch that carries it."""

    __tablename__ = "lti_nonce"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # SHA-256 of the state: the state itself lives only in the browser's signed cookie and the launch form.
    state_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    platform_id: Mapped[int] = mapped_column(sa.ForeignKey("lti_platform.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    used_at: Mapped[dt.datetime | None]
    # The frame the platform offered for LTI platform storage (``lti_storage_target``), when it offered one:
    # the state is then also proven through the platform's frame, for browsers that drop our cookie.
    storage_target: Mapped[str | None] = mapped_column(sa.String(100))
    # The login request's parameters, to start the login again in a new window (first-party) when neither the
    # cookie nor platform storage works.
    login_params: Mapped[dict | None] = mapped_column(JSONType)

    platform: Mapped[LtiPlatform] = relationship()


class LtiIdentity(TimestampMixin, Base):
    """An LMS user (the platform's ``sub``); linked to a Person once trusted or confirmed by e-mail."""

    __tablename__ = "lti_identity"
    __table_args__ = (sa.UniqueConstraint("platform_id", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(sa.ForeignKey("lti_platform.id", ondelete="CASCADE"))
    sub: Mapped[str] = mapped_column(sa.String(255))
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    # The address the platform shared (None when it shares none); never trusted unless the platform is.
    email_claimed: Mapped[str | None] = mapped_column(sa.String(254))

    platform: Mapped[LtiPlatform] = relationship()
    person: Mapped[Person | None] = relationship()


class LtiRegistrationCode(TimestampMixin, Base):
    """A one-time code in a dynamic registration URL: whoever holds the URL may register one platform, once.
    Only the code's SHA-256 is stored."""

    __tablename__ = "lti_registration_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    platform_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lti_platform.id", ondelete="SET NULL"))

    platform: Mapped[LtiPlatform | None] = relationship()


class LtiContext(TimestampMixin, Base):
    """A course (LTI context) mentorNET was launched from, with the LTI Advantage service addresses its launches
    carried. ``course_key`` is the key a CourseLink uses: an Open edX course key as it is, else
    ``<issuer>#<context id>``."""

    __tablename__ = "lti_context"
    __table_args__ = (sa.UniqueConstraint("platform_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(sa.ForeignKey("lti_platform.id", ondelete="CASCADE"))
    context_id: Mapped[str] = mapped_column(sa.String(255))
    course_key: Mapped[str] = mapped_column(sa.String(255), index=True)
    title: Mapped[str] = mapped_column(sa.String(255), default="")
    memberships_url: Mapped[str | None] = mapped_column(sa.String(500))
    roster_fetched_at: Mapped[dt.datetime | None]
    roster_error: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[dt.datetime | None]
    # Assignment and Grade Services: where the course's line items are, whether a coordinator asked to report
    # "joined the network" there, the line item mentorNET made for it, and the last error.
    lineitems_url: Mapped[str | None] = mapped_column(sa.String(500))
    report_joined: Mapped[bool] = mapped_column(default=False)
    joined_lineitem_url: Mapped[str | None] = mapped_column(sa.String(500))
    grades_error: Mapped[str] = mapped_column(sa.Text, default="")

    platform: Mapped[LtiPlatform] = relationship()


class LtiRosterEntry(Base):
    """One member of a context's roster as the platform's NRPS listed it at the last refresh (replaced whole at
    every refresh; removed with the context)."""

    __tablename__ = "lti_roster_entry"
    __table_args__ = (sa.UniqueConstraint("context_id", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(sa.ForeignKey("lti_context.id", ondelete="CASCADE"))
    sub: Mapped[str] = mapped_column(sa.String(255))
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    email: Mapped[str | None] = mapped_column(sa.String(254))
    roles: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(sa.String(20), default="Active")


class LtiScoreReport(Base):
    """A "joined the network" score posted to a course's gradebook for one learner: posted once."""

    __tablename__ = "lti_score_report"
    __table_args__ = (sa.UniqueConstraint("context_id", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(sa.ForeignKey("lti_context.id", ondelete="CASCADE"))
    sub: Mapped[str] = mapped_column(sa.String(255))
    reported_at: Mapped[dt.datetime]


class LtiCoordinatorGrant(Base):
    """An LMS instructor or administrator of a course linked to a network acts as that network's coordinator.

    Recorded per (person, network, course context) by each launch that carries such a role, renewed by the next
    one, removed by a launch of the same course without it, and void after ``expires_at``."""

    __tablename__ = "lti_coordinator_grant"
    __table_args__ = (sa.UniqueConstraint("person_id", "network_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"), index=True)
    context_id: Mapped[int] = mapped_column(sa.ForeignKey("lti_context.id", ondelete="CASCADE"), index=True)
    roles: Mapped[list[str]] = mapped_column(JSONType, default=list)  # the LTI roles that granted it
    granted_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
