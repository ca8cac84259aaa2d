"""Who launched: an LMS user (platform, sub) becomes a Person through a trusted e-mail or a confirmed one."""

from __future__ import annotations

import functools
import logging
from types import SimpleNamespace

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from lti_bridge.lti.launch import Launch
from lti_bridge.lti.models import LtiIdentity
from network_service.accounts.models import Person
from network_service.accounts.operations import get_or_create_person
from network_service.audit.operations import record
from network_service.db import insert_if_new, session, utcnow
from network_service.errors import Conflict, InvalidInput

log = logging.getLogger(__name__)


def identity_for_launch(launch: Launch) -> LtiIdentity:
    """The identity of (platform, sub), created on first launch; linked to a Person when the platform is trusted
    to assert e-mail addresses and shares one. Otherwise ``person`` stays None until the learner confirms."""
    identity = _find(launch.platform.id, launch.sub)
    if identity is None:
        identity = _insert(launch)
        if identity is None:  # the same learner's launch in another tab won the race
            identity = _find(launch.platform.id, launch.sub)
            if identity is None:
                raise RuntimeError(f"LTI identity of sub {launch.sub!r} neither inserted nor found")
    elif launch.email and identity.email_claimed != launch.email:
        identity.email_claimed = launch.email
    if identity.person is None and launch.platform.trust_email and launch.email:
        try:
            person, created = get_or_create_person(launch.email, display_name=launch.name)
        except InvalidInput:
            log.warning("platform %s shared an unusable e-mail for sub %r", launch.platform.id, launch.sub)
        else:
            identity.person = person
            record(
                "lti.identity.link", actor=person, target=identity, via="trusted e-mail", new_person=created
            )
    if identity.person is not None:
        _signed_in_now(identity.person)
    session.flush()
    return identity


def _signed_in_now(person: Person) -> None:
    now, state = utcnow(), sa.inspect(person)
    if not state.persistent or state.modified:
        person.last_sign_in_at = now  # written with the person's other changes
        return
    session.execute(_statements().signed_in, {"person_id": person.id, "now": now})  # no unit of work
    set_committed_value(person, "last_sign_in_at", now)


def _find(platform_id: int, sub: str) -> LtiIdentity | None:
    return session.scalar(_statements().find, {"platform_id": platform_id, "sub": sub})


def _insert(launch: Launch) -> LtiIdentity | None:
    """A new learner's identity, in one ``INSERT ... ON CONFLICT (platform_id, sub) DO NOTHING RETURNING``: None
    when a concurrent launch of the same learner inserted it first. (It used to be an ORM insert inside a
    SAVEPOINT, to survive that race: two more round trips to the database for every new learner.)"""
    statement = _insert_statement(session.get_bind().dialect.name)
    values = {
        "platform_id": launch.platform.id,
        "sub": launch.sub,
        "person_id": None,
        "email_claimed": launch.email,
        "created_at": utcnow(),
    }
    identity = session.scalars(statement, values).first()
    if identity is not None:
        # Known already: no lazy load for them (a new identity has no person yet).
        set_committed_value(identity, "platform", launch.platform)
        set_committed_value(identity, "person", None)
    return identity


@functools.cache
def _insert_statement(dialect_name: str):
    """The identity's ``INSERT ... ON CONFLICT (platform_id, sub) DO NOTHING``, compiled once
    (``db.insert_if_new``), loading the row as an ``LtiIdentity``."""
    table = LtiIdentity.__table__
    text = insert_if_new(table, dialect_name, ["platform_id", "sub"], list(table.columns))
    return sa.select(LtiIdentity).from_statement(text)


@functools.cache
def _statements() -> SimpleNamespace:
    """Built once (building a statement and its cache key costs more than running it)."""
    people = Person.__table__
    return SimpleNamespace(
        find=sa.select(LtiIdentity)
        .where(LtiIdentity.platform_id == sa.bindparam("platform_id"), LtiIdentity.sub == sa.bindparam("sub"))
        # The launch signs the person in: one statement, not two; their memberships (selectin by default)
        # are read only if something asks for them.
        .options(joinedload(LtiIdentity.person).lazyload(Person.memberships)),
        signed_in=sa.update(people)
        .where(people.c.id == sa.bindparam("person_id"))
        .values(last_sign_in_at=sa.bindparam("now")),
    )


def pending_identity(identity_id: int) -> LtiIdentity | None:
    """An identity still waiting for its learner to confirm an e-mail address."""
    identity = session.get(LtiIdentity, identity_id)
    return identity if identity is not None and identity.person_id is None else None


def link_identity(identity: LtiIdentity, person: Person) -> LtiIdentity:
    """Link after the person proved the address (they used the sign-in link mailed to it)."""
    if identity.person_id is not None and identity.person_id != person.id:
        raise Conflict(_("This course account is already linked to another mentorNET account."))
    identity.person = person
    record("lti.identity.link", actor=person, target=identity, via="confirmed e-mail")
    session.flush()
    return identity
