from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network_service.db import Base, TimestampMixin, utcnow
from network_service.networks.models import Network
from network_service.types import JSONType, StrEnumType


class CompletionRule(enum.StrEnum):
    passed = "passed"  # the platform says the learner passes the course
    certificate = "certificate"  # a certificate was issued
    min_grade = "min_grade"  # the reported grade reaches CourseLink.min_grade


class CompletionStatus(enum.StrEnum):
    received = "received"  # stored, not yet acted on
    invited = "invited"  # an invitation went out because of this event
    already_member = "already_member"  # the person already had a place in the network
    not_passing = "not_passing"  # the event does not meet the course link's rule
    unknown_course = "unknown_course"  # no course link (kept: a link added later can replay it)
    unknown_identity = "unknown_identity"  # no usable e-mail yet (kept: matched when the person appears)
    failed = "failed"  # acting on it raised; the error is in ``outcome_detail``
    ignored = "ignored"  # a kind of event that never provisions (kept for the record)
    # still waiting (any of the four above) when the retention period ended: no longer acted on automatically, and
    # without the learner's personal data (privacy.operations.purge_completion_payloads; ``outcome_detail`` says
    # why). A later delivery of the same pass with an e-mail address opens it again (courses.operations).
    expired = "expired"


class CourseLink(TimestampMixin, Base):
    """A MOOC course (Open edX course key, or an LTI context) whose graduates are invited into a network."""

    __tablename__ = "course_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    title: Mapped[str] = mapped_column(sa.String(255), default="")
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("network.id", ondelete="CASCADE"), index=True)
    rule: Mapped[CompletionRule] = mapped_column(
        StrEnumType(CompletionRule, "course_link_rule"), default=CompletionRule.passed
    )
    min_grade: Mapped[float | None]

    network: Mapped[Network] = relationship(lazy="joined")


class CompletionEvent(Base):
    """A completion signal exactly as a source delivered it, stored before anything acts on it.

    ``event_id`` is unique across sources: Open edX signal ids and xAPI statement ids are UUIDs, so the same
    Open edX event arriving through our forwarder and through openedx-webhooks is one event.
    """

    __tablename__ = "completion_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    source: Mapped[str] = mapped_column(sa.String(40))
    course_key: Mapped[str] = mapped_column(sa.String(255), index=True)
    identity: Mapped[dict] = mapped_column(JSONType, default=dict)
    payload: Mapped[dict | None] = mapped_column(JSONType)
    is_passing: Mapped[bool] = mapped_column(default=True)
    grade: Mapped[float | None]
    kind: Mapped[str] = mapped_column(sa.String(20), default="passed")  # passed | certificate | grade
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[CompletionStatus] = mapped_column(
        StrEnumType(CompletionStatus, "completion_status"), default=CompletionStatus.received
    )
    processed_at: Mapped[dt.datetime | None]
    outcome_detail: Mapped[str] = mapped_column(sa.Text, default="")
    network_id: Mapped[int | None] = mapped_column(sa.ForeignKey("network.id", ondelete="SET NULL"))
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
