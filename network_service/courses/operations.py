"""Course links and graduate provisioning: the end of every completion source's path."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from collections.abc import Mapping
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from network_service.accounts.models import Person
from network_service.accounts.operations import create_person, normalise_email
from network_service.audit.models import AuditLog
from network_service.audit.operations import record
from network_service.background import wake_after_commit
from network_service.courses.models import CompletionEvent, CompletionRule, CompletionStatus, CourseLink
from network_service.db import insert_if_new, session, utcnow
from network_service.errors import Conflict, Forbidden, InvalidInput
from network_service.mail.models import OutboundEmail
from network_service.mail.operations import render_mail
from network_service.networks import permissions
from network_service.networks.models import (
    Invitation,
    Level,
    Membership,
    MembershipStatus,
    Network,
    Origin,
    Role,
)
from network_service.networks.operations import send_invitation
from network_service.tokens import new_token
from network_service.urls import public_url

log = logging.getLogger(__name__)


def link_course(
    course_key: str,
    network: Network,
    *,
    actor: Person | None,
    rule: CompletionRule = CompletionRule.passed,
    min_grade: float | None = None,
    title: str = "",
) -> CourseLink:
    if actor is not None and not permissions.can_link_course(actor, network):
        raise Forbidden(_("Only site administrators can link a course to a network."))
    course_key = (course_key or "").strip()
    if not course_key or len(course_key) > 255:
        raise InvalidInput(_("Give the course key, like course-v1:Org+Course+Run."), field="course_key")
    if rule == CompletionRule.min_grade:
        if min_grade is None or not 0 < min_grade <= 1:
            raise InvalidInput(
                _("Give the minimum grade as a number above 0 and at most 1, like 0.7."), field="min_grade"
            )
    else:
        min_grade = None
    existing = session.scalar(sa.select(CourseLink).where(CourseLink.course_key == course_key))
    if existing is not None and existing.network_id != network.id:
        raise Conflict(_("This course is already linked to another network."), field="course_key")
    link = existing or CourseLink(course_key=course_key, network=network)
    link.rule, link.min_grade, link.title = rule, min_grade, title.strip()[:255]
    session.add(link)
    session.flush()
    record("course.link", actor=actor, target=link, network=network, course_key=course_key, rule=rule.value)
    return link


# Events acted on in one transaction on PostgreSQL. A batch costs about 15 statements whatever its size (the new
# graduates' rows are written together), so a drain that has fallen behind catches up faster with larger
# batches: 50 costs ~30% less CPU per event than 20. Not more: psycopg caches the parsing of a statement with
# at most 50 parameters, and the batch's IN lists have one per event.
POSTGRES_BATCH = 50


def process_received(limit: int | None = None) -> int:
    """Act on a batch of events that were stored but not yet acted on; returns how many.

    Endpoints store an event and answer at once; this runs right after (background thread or Celery task).
    On PostgreSQL a batch of up to ``POSTGRES_BATCH`` events is locked ``FOR UPDATE SKIP LOCKED`` (several
    processes share the work, none waits for another) and committed together, each event in its own SAVEPOINT.
    SQLite has one writer at a time, so it takes one event per transaction and keeps its write lock short for
    the requests.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    events = session.scalars(
        _received_query(postgres), {"batch": limit or (POSTGRES_BATCH if postgres else 1)}
    ).all()
    for event in _invite_new_graduates(_set_aside_erased(events)):
        _act_once(event)
    session.commit()
    return len(events)


@functools.cache
def _received_query(postgres: bool) -> sa.Select:
    """The next batch of stored events to act on, built once (the drain asks after every event)."""
    query = (
        sa.select(CompletionEvent)
        .options(sa.orm.defer(CompletionEvent.payload))  # kept as it came; acting on it needs none of it
        .where(CompletionEvent.status == CompletionStatus.received)
        .order_by(CompletionEvent.id)
        .limit(sa.bindparam("batch", type_=sa.Integer))
    )
    return query.with_for_update(skip_locked=True) if postgres else query


def _invite_new_graduates(events: list[CompletionEvent]) -> list[CompletionEvent]:
    """The common case in one go: passes that meet their course's rule, from addresses nobody has yet (one
    event alone too: a worker acting on events as they come mostly finds one).

    A batch of such events costs a handful of statements (people, memberships, invitations, mails, audit
    entries and event updates are each written together) instead of about ten per event. Returns the events
    left for ``_act_once`` one by one: every other case (unknown course, rule not met, no e-mail, a person
    who exists, the same address twice in the batch), and all of them if writing the batch fails (for example
    because another process created one of these people meanwhile), so nothing is lost to the shortcut.
    """
    if not events:  # one event too: its Core statements cost less CPU than the ORM's unit of work
        return events
    links = {
        link.course_key: link
        for link in session.scalars(
            sa.select(CourseLink).where(CourseLink.course_key.in_({event.course_key for event in events}))
        )
    }
    candidates: dict[str, CompletionEvent] = {}
    rest: list[CompletionEvent] = []
    for event in events:
        link = links.get(event.course_key)
        email = _identity_email(event.identity) if link is not None and _meets_rule(event, link) else None
        if email is None or email in candidates:
            rest.append(event)
        else:
            candidates[email] = event
    if candidates:
        known = set(session.scalars(sa.select(Person.email).where(Person.email.in_(candidates))))
        for email in known:
            rest.append(candidates.pop(email))
    if not candidates:
        return events
    try:
        with session.begin_nested():
            _write_graduates(candidates, links)
    except IntegrityError as exc:
        log.info(
            "a batch of %d new graduates raced another process; acting one by one: %s", len(candidates), exc
        )
        return events
    return sorted(rest, key=lambda event: event.id)


def _write_graduates(candidates: dict[str, CompletionEvent], links: dict[str, CourseLink]) -> None:
    """Invite the batch's new graduates (e-mail address -> event) with one statement per table.

    The rows are those ``_invite_graduate`` writes for one graduate (``create_person``, ``send_invitation``:
    the person, the invited membership, the invitation, its e-mail, the audit entry), written with Core
    statements instead of through the ORM's unit of work, which cost more than everything else of the batch;
    ``tests/test_provisioning.py`` compares the rows of both ways column by column. Every table is written with
    executemany, whose one-row statement psycopg parses once (a multi-row INSERT ... RETURNING is parsed again
    every time), and the new people's and invitations' ids are read back with one SELECT each. Raises
    IntegrityError when another process created one of these people meanwhile.
    """
    days = current_app.config["GRADUATE_INVITATION_DAYS"]
    now = utcnow()
    graduates = [
        (
            event,
            links[event.course_key].network,
            # transient (never added to the session): the invitation e-mail is rendered from it
            Person(
                email=email,
                display_name=str(event.identity.get("name") or "")[:120].strip(),  # as create_person
                locale=_known_locale(event.identity),
                languages=[],
                expertise=[],
            ),
        )
        for email, event in candidates.items()
    ]
    session.execute(
        sa.insert(Person.__table__),
        [
            {
                "email": person.email,
                "display_name": person.display_name,
                "locale": person.locale,
                "languages": [],
                "expertise": [],
            }
            for _event, _network, person in graduates
        ],
    )
    person_ids = dict(
        session.execute(sa.select(Person.email, Person.id).where(Person.email.in_(list(candidates)))).all()
    )
    for _event, _network, person in graduates:
        person.id = person_ids[person.email]
    session.execute(
        sa.insert(Membership.__table__),
        [
            {
                "network_id": network.id,
                "person_id": person.id,
                "role": Role.mentor,
                "level": Level.novice,
                "status": MembershipStatus.invited,
                "origin": Origin.graduate,
            }
            for _event, network, person in graduates
        ],
    )
    tokens = [new_token() for _graduate in graduates]
    session.execute(
        sa.insert(Invitation.__table__),
        [
            {
                "network_id": network.id,
                "person_id": person.id,
                "invited_by_id": None,
                "token_hash": token_hash,
                "expires_at": now + dt.timedelta(days=days),
            }
            for (_event, network, person), (_token, token_hash) in zip(graduates, tokens, strict=True)
        ],
    )
    invitation_ids = dict(  # the people are new: every invitation of theirs is one of these
        session.execute(
            sa.select(Invitation.person_id, Invitation.id).where(
                Invitation.person_id.in_(person_ids.values())
            )
        ).all()
    )
    mails, entries = [], []
    for (_event, network, person), (token, _token_hash) in zip(graduates, tokens, strict=True):
        mail = render_mail(
            "invitation_graduate",
            person.locale,
            person=person,
            network=network,
            inviter=None,
            link=public_url(f"/invitations/{token}"),
            days=days,
        )
        mails.append(
            {
                "kind": "invitation",
                "to_address": person.email,
                "subject": mail.subject,
                "body_text": mail.body_text,
                "body_html": mail.body_html,
                "headers": None,
            }
        )
        entries.append(
            {
                "action": "invitation.send",
                "actor_id": None,
                "target_type": "invitation",
                "target_id": invitation_ids[person.id],
                "network_id": network.id,
                "detail": {
                    "person_id": person.id,
                    "origin": Origin.graduate.value,
                    "role": Role.mentor.value,
                },
            }
        )
    session.execute(sa.insert(OutboundEmail.__table__), mails)
    session.execute(sa.insert(AuditLog.__table__), entries)
    wake_after_commit()  # the mail drain delivers them once this commits
    for event, network, person in graduates:
        event.network_id, event.person_id = network.id, person.id
        event.status, event.outcome_detail, event.processed_at = CompletionStatus.invited, "", now
    session.flush()


REPLAYABLE = (CompletionStatus.unknown_course, CompletionStatus.unknown_identity, CompletionStatus.failed)


def replay_completions(course_key: str | None = None) -> dict[str, int]:
    """Act again on stored events that could not be acted on (no course link yet, no e-mail yet, an error).

    Each event runs in its own SAVEPOINT, so one that fails again does not hold back the others. Returns how
    many events ended in each status.
    """
    query = (
        sa.select(CompletionEvent).where(CompletionEvent.status.in_(REPLAYABLE)).order_by(CompletionEvent.id)
    )
    if course_key is not None:
        query = query.where(CompletionEvent.course_key == course_key)
    outcomes: dict[str, int] = {}
    for event in session.scalars(query).all():
        _act_once(event)
        outcomes[event.status.value] = outcomes.get(event.status.value, 0) + 1
    return outcomes


def _act_once(event: CompletionEvent) -> Invitation | None:
    try:
        with session.begin_nested():
            return process_completion(event)
    except (IntegrityError, Conflict) as exc:
        # Another event for the same person and network won a race; theirs is the one invitation.
        log.info("completion %s raced another for the same membership: %s", event.event_id, exc)
        event.status, event.outcome_detail = CompletionStatus.already_member, "concurrent invitation"
    except Exception as exc:
        log.exception("acting on completion event %s failed", event.event_id)
        event.status, event.outcome_detail = CompletionStatus.failed, f"{type(exc).__name__}: {exc}"[:2000]
    event.processed_at = utcnow()
    return None


@dataclasses.dataclass(frozen=True)
class ProvisionResult:
    event: CompletionEvent
    duplicate: bool  # the event id was seen before; nothing was done this time
    invitation: Invitation | None  # the invitation this call sent, if any

    @property
    def status(self) -> CompletionStatus:
        return self.event.status


def record_completion(
    *,
    event_id: str,
    source: str,
    course_key: str,
    identity: Mapping[str, Any],
    payload: Mapping[str, Any] | None = None,
    kind: str = "passed",
    is_passing: bool = True,
    grade: float | None = None,
) -> tuple[CompletionEvent, bool]:
    """Store the event as received. Returns ``(event, is_new)``; the same event id twice is one event."""
    return _insert_once(
        _completion_values(event_id, source, course_key, identity, payload, kind, is_passing, grade)
    )


@dataclasses.dataclass(frozen=True)
class Received:
    """What a completion endpoint answers about an event it was sent."""

    id: int
    event_id: str
    status: CompletionStatus
    duplicate: bool  # the event id was known: nothing new was stored


def receive_completion(
    *,
    event_id: str,
    source: str,
    course_key: str,
    identity: Mapping[str, Any],
    payload: Mapping[str, Any] | None = None,
    kind: str = "passed",
    is_passing: bool = True,
    grade: float | None = None,
) -> Received:
    """The completion endpoints' ``record_completion``: store the event as received, to be acted on right after
    the commit (``process_received``, which this wakes). A known event id stores nothing; a delivery that brings
    the e-mail address the stored event lacked lets it be acted on again (``learn_identity``).

    A new event costs one INSERT that returns only its id: no ORM object is built for it, since the request
    does nothing with it but answer."""
    values = _completion_values(event_id, source, course_key, identity, payload, kind, is_passing, grade)
    dialect_name = session.get_bind().dialect.name
    if dialect_name == "postgresql":
        # One statement: the row inserted, or (a duplicate) what is known of the stored one.
        row = session.execute(_receive_statement(), values).first()
    else:  # SQLite has no INSERT in a WITH: the insert, then for a duplicate the stored row's few columns
        new_id = session.execute(
            _insert_once_statement(dialect_name, returning_id_only=True), values
        ).scalar()
        row = (
            _Row(new_id, True, None, None)
            if new_id is not None
            else session.execute(_known_event_statement(), {"event_id": values["event_id"]}).first()
        )
    if row is not None and row.inserted:
        wake_after_commit()
        return Received(row.id, values["event_id"], values["status"], duplicate=False)
    if row is not None and not _may_learn_identity(row.status, row.identity, identity):
        return Received(row.id, values["event_id"], row.status, duplicate=True)
    # The e-mail the stored event lacked, or a delivery of the same event id committed by another request while
    # this statement ran (PostgreSQL's statement saw the conflict, not the row): the stored event itself.
    event = _stored_event(values["event_id"])
    if learn_identity(event, identity):
        wake_after_commit()
    return Received(event.id, event.event_id, event.status, duplicate=True)


class _Row(NamedTuple):
    id: int
    inserted: bool
    status: CompletionStatus | None
    identity: dict | None


@functools.cache
def _receive_statement() -> sa.TextClause:
    """PostgreSQL: ``_insert_once_statement`` in a ``WITH``, and the stored row of a known event id (which the
    statement's snapshot shows, unlike the row it inserts): a duplicate delivery costs one statement, not two,
    and loads neither the stored payload nor an ORM object."""
    table = CompletionEvent.__table__
    insert = _insert_once_statement("postgresql", returning_id_only=True)
    sql = (
        f"WITH new_event AS ({insert.element.text}) "  # noqa: S608  # nosec B608  # our own compiled statement, no input in it
        "SELECT new_event.id, true AS inserted, NULL AS status, NULL AS identity FROM new_event "
        "UNION ALL "
        "SELECT id, false, status, identity FROM completion_event WHERE event_id = :event_id"
    )
    columns = [column for column in table.columns if column.key != "id"]
    return (
        sa.text(sql)
        .bindparams(*(sa.bindparam(column.key, type_=column.type) for column in columns))
        .columns(table.c.id, sa.column("inserted", sa.Boolean), table.c.status, table.c.identity)
    )


@functools.cache
def _known_event_statement() -> sa.Select:
    """SQLite's second statement for a duplicate: the few columns ``receive_completion`` needs."""
    table = CompletionEvent.__table__
    return sa.select(table.c.id, sa.false().label("inserted"), table.c.status, table.c.identity).where(
        table.c.event_id == sa.bindparam("event_id")
    )


def _completion_values(
    event_id: str,
    source: str,
    course_key: str,
    identity: Mapping[str, Any],
    payload: Mapping[str, Any] | None,
    kind: str,
    is_passing: bool,
    grade: float | None,
) -> dict[str, Any]:
    event_id = (event_id or "").strip()
    if not event_id or len(event_id) > 255:
        raise InvalidInput(
            _("Every completion event needs an id of at most 255 characters."), field="event_id"
        )
    if not (course_key or "").strip():
        raise InvalidInput(_("The completion event names no course."), field="course_key")
    if len(course_key.strip()) > 255:
        raise InvalidInput(_("A course key can have at most 255 characters."), field="course_key")
    return _event_values(
        event_id=event_id,
        source=source,
        course_key=course_key.strip(),
        identity=dict(identity),
        payload=dict(payload) if payload is not None else None,
        kind=kind,
        is_passing=is_passing,
        grade=grade,
    )


def _event_values(**given: Any) -> dict[str, Any]:
    """A completion_event row: the values given, the columns' defaults for the others (and for a None given)."""
    values = {}
    for column in CompletionEvent.__table__.columns:
        if column.key != "id":
            value = given.pop(column.key, None)
            values[column.key] = _column_default(column) if value is None else value
    if given:
        raise TypeError(f"completion_event has no columns {', '.join(given)}")
    return values


def _insert_once(values: dict[str, Any]) -> tuple[CompletionEvent, bool]:
    """Store the row unless its event id is known; returns the stored event and whether it is new.

    One ``INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING`` (PostgreSQL and SQLite alike): a concurrent
    delivery of the same event id simply finds the row there.
    """
    statement = sa.select(CompletionEvent).from_statement(
        _insert_once_statement(session.get_bind().dialect.name)
    )
    stored = session.scalars(statement, values, execution_options={"populate_existing": True}).first()
    if stored is not None:
        return stored, True
    return _stored_event(values["event_id"]), False


def _stored_event(event_id: str) -> CompletionEvent:
    existing = session.scalar(sa.select(CompletionEvent).where(CompletionEvent.event_id == event_id))
    if existing is None:  # only a conflict on event_id is ignored, so the row must be there
        raise RuntimeError(f"completion event {event_id} neither inserted nor found")
    return existing


def _column_default(column: sa.Column) -> Any:
    default = column.default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg


@functools.cache
def _insert_once_statement(dialect_name: str, *, returning_id_only: bool = False) -> sa.TextClause:
    """The event's ``INSERT ... ON CONFLICT (event_id) DO NOTHING``, compiled once (``db.insert_if_new``: the
    dialects' construct is never cached, and compiling it cost about a quarter of the endpoint's time). It
    returns the whole row (to load the event), or only its id (``receive_completion``)."""
    table = CompletionEvent.__table__
    returned = [table.c.id] if returning_id_only else list(table.columns)
    return insert_if_new(table, dialect_name, ["event_id"], returned)


def _set_aside_erased(events: list[CompletionEvent]) -> list[CompletionEvent]:
    """Events whose learner erased their account, delivered again by a source (their stored twin was renamed
    ``erased:<sha256>`` at the erasure), are not acted on: they are kept as ignored, without the identity and the
    payload they brought, so the person is not invited again. Returns the other events.

    This runs when events are acted on, not when they arrive: one query per batch here, rather than one more
    per event on the webhook endpoints' hot path. The re-delivered data stays in the database only until then."""
    from network_service.privacy.contributors import erased_event_id

    if not events:
        return events
    hashed = {erased_event_id(event.event_id): event for event in events}
    twins = set(
        session.scalars(sa.select(CompletionEvent.event_id).where(CompletionEvent.event_id.in_(hashed)))
    )
    if not twins:
        return events
    now = utcnow()
    for twin in twins:
        event = hashed[twin]
        event.identity, event.payload = {}, None
        event.status, event.outcome_detail, event.processed_at = (
            CompletionStatus.ignored,
            "learner erased",
            now,
        )
    return [event for event in events if erased_event_id(event.event_id) not in twins]


def record_ignored(
    *, event_id: str, source: str, reason: str, payload: Mapping[str, Any] | None = None, course_key: str = ""
) -> tuple[CompletionEvent, bool]:
    """Keep a well-formed event that never provisions (another event type or verb), idempotent on its id."""
    return _insert_once(
        _event_values(
            event_id=event_id[:255],
            source=source,
            course_key=course_key[:255],
            identity={},
            payload=dict(payload) if payload is not None else None,
            status=CompletionStatus.ignored,
            outcome_detail=reason[:2000],
            processed_at=utcnow(),
        )
    )


def _meets_rule(event: CompletionEvent, link: CourseLink) -> bool:
    if not event.is_passing:
        return False
    if link.rule == CompletionRule.certificate:
        return event.kind == "certificate"
    if link.rule == CompletionRule.min_grade:
        return event.grade is not None and event.grade >= (link.min_grade or 0)
    return True


def process_completion(event: CompletionEvent) -> Invitation | None:
    """Act on a stored event once: invite the graduate unless they already have a place in the network."""
    if event.status not in (
        CompletionStatus.received,
        CompletionStatus.unknown_course,
        CompletionStatus.unknown_identity,
        CompletionStatus.failed,
    ):
        return None
    link = session.scalar(sa.select(CourseLink).where(CourseLink.course_key == event.course_key))
    invitation, person_id, network_id = None, event.person_id, None
    # The event's row is written once, at the end, rather than once per query that would autoflush it.
    if link is None:
        status, detail = CompletionStatus.unknown_course, "no course link for this course"
    elif not _meets_rule(event, link):
        network_id = link.network_id
        status, detail = CompletionStatus.not_passing, f"rule {link.rule.value} not met"
    else:
        network_id = link.network_id
        email = _identity_email(event.identity)
        if email is None:
            status, detail = CompletionStatus.unknown_identity, "no e-mail address for this learner yet"
        else:
            invitation, person_id, status, detail = _invite_graduate(event, link.network, email)
    event.network_id, event.person_id = network_id, person_id
    event.status, event.outcome_detail, event.processed_at = status, detail, utcnow()
    session.flush()
    return invitation


def _identity_email(identity: Mapping[str, Any]) -> str | None:
    raw = identity.get("email")
    if not raw:
        return None
    try:
        return normalise_email(str(raw))
    except InvalidInput:
        return None


def _invite_graduate(
    event: CompletionEvent, network: Network, email: str
) -> tuple[Invitation | None, int | None, CompletionStatus, str]:
    """Returns (invitation, person id, status, detail) for the event."""
    person = session.scalar(sa.select(Person).where(Person.email == email))
    new_person = person is None
    if person is None:
        name = str(event.identity.get("name") or "")[:120]
        person = create_person(email, name, _known_locale(event.identity))
    else:
        membership = session.scalar(
            sa.select(Membership).where(
                Membership.network_id == network.id, Membership.person_id == person.id
            )
        )
        if membership is not None:
            return (
                None,
                person.id,
                CompletionStatus.already_member,
                f"membership already {membership.status.value}",
            )
    invitation = send_invitation(network, person, new_person=new_person, actor=None, origin=Origin.graduate)
    return invitation, person.id, CompletionStatus.invited, ""


def learn_identity(event: CompletionEvent, identity: Mapping[str, Any]) -> bool:
    """A pass stored without an e-mail arrives again with one (reconciliation, once the LMS shares it): keep the
    e-mail and let the event be acted on again. Returns whether the event is ready for that.

    An event that expired (it waited past the retention period and lost the learner's data) is opened again the
    same way, as if received now: the new delivery is a fresh pass, and its data are kept for a new period."""
    if not _may_learn_identity(event.status, event.identity, identity):
        return False
    if event.status == CompletionStatus.expired:
        event.received_at, event.outcome_detail = utcnow(), ""
    event.identity = {**event.identity, **dict(identity)}
    event.status = CompletionStatus.received
    return True


def _may_learn_identity(
    status: CompletionStatus | None, stored: Mapping[str, Any] | None, identity: Mapping[str, Any]
) -> bool:
    """A stored event waiting for an e-mail address (``unknown_identity``, none stored) or expired, and a delivery
    with one."""
    if status == CompletionStatus.expired:
        return _identity_email(identity) is not None
    return (
        status == CompletionStatus.unknown_identity
        and not _identity_email(stored or {})
        and _identity_email(identity) is not None
    )


def _known_locale(identity: Mapping[str, Any]) -> str | None:
    """The graduate's language when the platform told us one we offer (``de-DE`` counts as ``de``)."""
    raw = str(identity.get("locale") or "").replace("_", "-").split("-")[0].lower()
    return raw if raw in current_app.config["LANGUAGES"] else None


def provision_graduate(
    course_key: str,
    identity: Mapping[str, Any],
    event_id: str,
    source: str,
    *,
    payload: Mapping[str, Any] | None = None,
    kind: str = "passed",
    is_passing: bool = True,
    grade: float | None = None,
) -> ProvisionResult:
    """Record a completion event and invite the graduate: idempotent on the event id and on (network, person).

    If acting on the event fails, the event stays stored with status ``failed`` and the error, and the
    partial work of acting on it is rolled back, so a later replay can finish it.
    """
    event, is_new = record_completion(
        event_id=event_id,
        source=source,
        course_key=course_key,
        identity=identity,
        payload=payload,
        kind=kind,
        is_passing=is_passing,
        grade=grade,
    )
    if not is_new:
        invitation = _act_once(event) if learn_identity(event, identity) else None
        session.flush()
        return ProvisionResult(event=event, duplicate=True, invitation=invitation)
    invitation = _act_once(event) if _set_aside_erased([event]) else None
    session.flush()
    return ProvisionResult(event=event, duplicate=False, invitation=invitation)


PASSED_STATUSES = (
    CompletionStatus.invited,
    CompletionStatus.already_member,
    CompletionStatus.unknown_identity,
)


def passed_event() -> sa.ColumnElement[bool]:
    """A completion event that counts as a pass: acted on, or waiting for an e-mail address, or a passing event
    that expired while it waited (after the retention period, privacy.operations.purge_completion_payloads)."""
    return sa.or_(
        CompletionEvent.status.in_(PASSED_STATUSES),
        sa.and_(CompletionEvent.status == CompletionStatus.expired, CompletionEvent.is_passing),
    )


@dataclasses.dataclass
class CohortFunnel:
    """How the graduates of one month moved on: passed → invited → accepted → active."""

    cohort: str  # "2026-11": the month of each graduate's first pass
    passed: int = 0
    invited: int = 0
    accepted: int = 0
    active: int = 0


def links_of(network: Network, *, viewer: Person) -> list[CourseLink]:
    if not permissions.can_see_courses(viewer, network):
        raise Forbidden(_("Only the coordinator can see and link the network's courses."))
    return list(
        session.scalars(
            sa.select(CourseLink).where(CourseLink.network_id == network.id).order_by(CourseLink.id)
        )
    )


def funnel(link: CourseLink) -> list[CohortFunnel]:
    """One row per cohort, newest first. A graduate counts once, in the month of their first pass; learners
    whose platform shared no e-mail count as passed only."""
    rows = session.execute(
        sa.select(
            CompletionEvent.id,
            CompletionEvent.received_at,
            CompletionEvent.person_id,
            Membership.status,
            Membership.joined_at,
        )
        .outerjoin(
            Membership,
            sa.and_(
                Membership.person_id == CompletionEvent.person_id, Membership.network_id == link.network_id
            ),
        )
        .where(CompletionEvent.course_key == link.course_key, passed_event())
        .order_by(CompletionEvent.received_at, CompletionEvent.id)
    ).all()
    cohorts: dict[str, CohortFunnel] = {}
    seen: set[int] = set()
    for _event_id, received_at, person_id, membership_status, joined_at in rows:
        if person_id is not None:
            if person_id in seen:
                continue
            seen.add(person_id)
        month = received_at.strftime("%Y-%m")
        row = cohorts.setdefault(month, CohortFunnel(month))
        row.passed += 1
        if membership_status is not None:
            row.invited += 1
            if joined_at is not None:
                row.accepted += 1
            if membership_status == MembershipStatus.active:
                row.active += 1
    return sorted(cohorts.values(), key=lambda row: row.cohort, reverse=True)


@dataclasses.dataclass(frozen=True)
class UnlinkedCourse:
    course_key: str
    passes: int
    first_at: dt.datetime
    last_at: dt.datetime
    expires_at: dt.datetime  # when the oldest of them expires, unless the course is linked before


def unlinked_passes(*, viewer: Person) -> list[UnlinkedCourse]:
    """Passes for courses no network has linked yet, kept so that linking the course invites them: each until
    the retention period after it arrived (then it expires, privacy.operations.purge_completion_payloads)."""
    from network_service.privacy.operations import retention_days

    if not viewer.is_site_admin:
        raise Forbidden(_("Only site administrators can see passes of unlinked courses."))
    rows = session.execute(
        sa.select(
            CompletionEvent.course_key,
            sa.func.count(CompletionEvent.id),
            sa.func.min(CompletionEvent.received_at),
            sa.func.max(CompletionEvent.received_at),
        )
        .where(CompletionEvent.status == CompletionStatus.unknown_course)
        .group_by(CompletionEvent.course_key)
        .order_by(sa.func.count(CompletionEvent.id).desc(), CompletionEvent.course_key)
    ).all()
    period = dt.timedelta(days=retention_days())
    return [UnlinkedCourse(key, count, first, last, first + period) for key, count, first, last in rows]
