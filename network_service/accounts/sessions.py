"""Signed-in devices: the server-side record of each session, so that sessions can be listed and revoked.

The session cookie (whichever cookie carries Flask's session) holds ``person_id`` and ``sid``; a session counts
only while its ``device_session`` row exists. Sign-out, "sign out other devices", erasure (the row cascades with
the person) and a site administrator's "sign out everywhere" delete rows. Plain functions: they flush, the caller
commits.

Per request the cost is one statement that loads the person joined to their session row by primary key
(``person_for_session``), plus an UPDATE of ``last_seen_at`` at most every ``LAST_SEEN_PRECISION``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import secrets

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from network_service.accounts.models import DeviceSession, Person
from network_service.audit.operations import record
from network_service.db import db, session, utcnow
from network_service.errors import Forbidden, NotFound

# Like API tokens: "last seen" needs no more precision, and a write per request would churn the row.
LAST_SEEN_PRECISION = dt.timedelta(minutes=5)

# First match wins: Edge and Opera also say Chrome, Chrome also says Safari.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)
# How a session began (``DeviceSession.via``), said by each way in (``security.sign_in``).
VIA_LINK = "link"  # a sign-in link from the person's mailbox
VIA_INVITATION = "invitation"  # an invitation accepted
VIA_LTI = "lti"  # an LTI launch, its id_token signed by the LMS
VIA_PANEL = "panel"  # the course panel's "open in a new window" link (a GET with a token of the panel's)

# Sign-ins that prove the person at that moment, as opposed to the panel's link, whose token is copied from page
# to page for hours; accounts/views.py asks for one of them, recent, before it makes an API token.
STRONG_SIGN_INS = frozenset({VIA_LINK, VIA_INVITATION, VIA_LTI})


def describe_user_agent(user_agent: str | None) -> tuple[str, str]:
    """(browser, system) names from a User-Agent header, or "" for what is not recognised. Only these two
    names are kept: the full header (versions, device model) would help to single a person out."""
    text = (user_agent or "")[:512]
    browser = next((name for marker, name in _BROWSERS if marker in text), "")
    system = next((name for marker, name in _SYSTEMS if marker in text), "")
    if browser == "Safari" and not re.search(r"Version/\d", text):
        browser = ""  # an embedded web view, not Safari itself
    return browser, system


@dataclasses.dataclass(frozen=True, slots=True)
class StartedSession:
    """The columns of a session record just written: what the cookie needs (``cookie_data``), without the cost of
    an ORM object (read the row with ``session.get(DeviceSession, id)``)."""

    id: str
    person_id: int
    created_at: dt.datetime
    last_seen_at: dt.datetime
    browser: str
    system: str
    via: str


def start_session(
    person: Person, user_agent: str | None = None, via: str = "other", *, replacing: str | None = None
) -> StartedSession:
    """A new session record for ``person``. ``replacing``: the id of the session this browser had until now (a
    sign-in ends it): its row becomes the new record, with a new id and every column new, in one statement, as a
    DELETE and an INSERT would leave the table; a row no longer there (signed out, revoked, pruned) is none to
    end, and the new record is inserted."""
    now = utcnow()
    browser, system = describe_user_agent(user_agent)
    values = {
        "id": secrets.token_urlsafe(24),
        "person_id": person.id,
        "created_at": now,
        "last_seen_at": now,
        "browser": browser,
        "system": system,
        "via": via[:20],
    }
    if not (isinstance(replacing, str) and replacing and _write(_REPLACE, {**values, "old_id": replacing})):
        _write(_INSERT, values)
    return StartedSession(**values)


def write(statement) -> int:
    """A small write of a session record (an ORM statement); returns the rows it touched.

    In the request's transaction, except where that is a read-only SQLite transaction (a page view: see
    ``db._sqlite_begin``): a write there fails at once ("database is locked") when another connection has
    written since the page began reading. Sign-in on a GET (``/embed/open``) and the "last seen" time of any
    page view then go in a short transaction of their own, committed at once."""
    return _write(statement.execution_options(synchronize_session=False))


def _write(statement, parameters: dict | None = None) -> int:
    """``write`` for a statement as it is (the Core statements below, built once, take ``parameters``)."""
    connection = session.connection()
    if not connection.get_execution_options().get("read_only", False):
        return session.execute(statement, parameters).rowcount
    side = db.new_session()
    try:
        touched = side.execute(statement, parameters).rowcount
        side.commit()
        return touched
    finally:
        side.close()


# A sign-in's writes, built once on the table (Core): an ORM-enabled INSERT or DELETE built per call costs more
# CPU than the database spends on it (the sign-in of every LTI launch runs them).
_TABLE = DeviceSession.__table__
_INSERT = sa.insert(_TABLE)
_REPLACE = (
    sa.update(_TABLE)
    .where(_TABLE.c.id == sa.bindparam("old_id"))
    .values({column.name: sa.bindparam(column.name) for column in _TABLE.c})
)
_DELETE = sa.delete(_TABLE).where(_TABLE.c.id == sa.bindparam("sid"))


def cookie_data(device: StartedSession | DeviceSession) -> dict:
    """What the session cookie holds for ``device`` (``security.sign_in`` writes it; tests and benches that sign
    in without the e-mail round trip use it with ``start_session``)."""
    return {"person_id": device.person_id, "sid": device.id, "nonce": secrets.token_urlsafe(8)}


def session_lifetime() -> dt.timedelta:
    """How long a session lives after its last request: the cookie's lifetime, plus the lag of ``last_seen_at``."""
    return current_app.permanent_session_lifetime + LAST_SEEN_PRECISION


# Built once (every signed-in request runs it): building a statement costs more CPU than running this one.
@functools.cache
def _person_for_session() -> sa.Select:
    """Built once, at first use (the mappers are complete only once every model is imported). The person's
    memberships, which every permission check asks about, come in the same statement; not their networks and
    organisations (``Membership.network`` is joined by default): the checks read the membership's own columns
    only, and those 19 columns more and two more objects per membership cost about a fifth of the statement's CPU.
    A membership's network, when asked for, comes from the session when the page loaded it (the page's network),
    else with a statement of its own."""
    from network_service.networks.models import Membership  # noqa: PLC0415 - accounts is imported first

    return (
        sa.select(Person, DeviceSession.last_seen_at)
        .options(sa.orm.joinedload(Person.memberships).lazyload(Membership.network))
        .join(DeviceSession, DeviceSession.person_id == Person.id)
        .where(DeviceSession.id == sa.bindparam("sid"), Person.id == sa.bindparam("person_id"))
    )


def person_for_session(person_id, sid) -> Person | None:
    """The person of a live session, or None (revoked, expired, erased, or not a session of this person).

    One statement: the person joined to the session row, both by primary key. ``last_seen_at`` is written at
    most every LAST_SEEN_PRECISION (see ``write``)."""
    if not isinstance(sid, str) or not sid or not isinstance(person_id, int):
        return None
    found = session.execute(_person_for_session(), {"sid": sid, "person_id": person_id}).unique().first()
    if found is None:
        return None
    person, last_seen_at = found
    now = utcnow()
    if now - last_seen_at > session_lifetime():
        # idle for longer than a cookie lives: the cookie should have expired; make sure the session has
        end_session(sid)
        return None
    if now - last_seen_at > LAST_SEEN_PRECISION:
        write(sa.update(DeviceSession).where(DeviceSession.id == sid).values(last_seen_at=now))
    return person


def end_session(sid) -> None:
    """Sign-out: the session's row goes (nothing happens for an unknown id)."""
    if isinstance(sid, str) and sid:
        _write(_DELETE, {"sid": sid})


def list_sessions(person: Person) -> list[DeviceSession]:
    """The person's live sessions, most recently seen first."""
    cutoff = utcnow() - session_lifetime()
    return list(
        session.scalars(
            sa.select(DeviceSession)
            .where(DeviceSession.person_id == person.id, DeviceSession.last_seen_at > cutoff)
            .order_by(DeviceSession.last_seen_at.desc(), DeviceSession.created_at.desc())
        )
    )


def revoke_session(person: Person, sid: str, *, actor: Person) -> None:
    """Sign out one of ``person``'s devices. Someone else's session id is "not found", like an unknown one."""
    if actor.id != person.id:
        raise Forbidden(_("You can only sign out your own devices."))
    device = session.execute(
        sa.select(DeviceSession.browser, DeviceSession.system).where(
            DeviceSession.id == sid, DeviceSession.person_id == person.id
        )
    ).first()
    result = session.execute(
        sa.delete(DeviceSession)
        .where(DeviceSession.id == sid, DeviceSession.person_id == person.id)
        .execution_options(synchronize_session=False)
    )
    if device is None or result.rowcount != 1:
        raise NotFound(_("This device is already signed out."))
    # like revoke_others and revoke_all; the device by its browser and system, never its id (the cookie's secret)
    record("sessions.revoke_one", actor=actor, target=person, browser=device.browser, system=device.system)


def revoke_other_sessions(person: Person, current_sid: str | None, *, actor: Person) -> int:
    """Sign out every device of ``person`` but the one making the request; returns how many."""
    if actor.id != person.id:
        raise Forbidden(_("You can only sign out your own devices."))
    query = sa.delete(DeviceSession).where(DeviceSession.person_id == person.id)
    if current_sid:
        query = query.where(DeviceSession.id != current_sid)
    count = session.execute(query.execution_options(synchronize_session=False)).rowcount
    if count:
        record("sessions.revoke_others", actor=actor, target=person, count=count)
    return count


def revoke_all_sessions(person: Person, *, actor: Person | None, reason: str = "") -> int:
    """End every session of ``person`` (the person themself, a site administrator, or ``actor=None``: the
    operator or another operation, e.g. an erasure). Returns how many."""
    if actor is not None and actor.id != person.id and not actor.is_site_admin:
        raise Forbidden(_("Only site administrators can sign someone else out."))
    count = session.execute(
        sa.delete(DeviceSession)
        .where(DeviceSession.person_id == person.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    record("sessions.revoke_all", actor=actor, target=person, count=count, reason=reason[:500])
    return count


def prune_sessions(now: dt.datetime | None = None) -> int:
    """Delete sessions idle for longer than a session cookie lives (part of the daily privacy job)."""
    cutoff = (now or utcnow()) - session_lifetime()
    return session.execute(
        sa.delete(DeviceSession)
        .where(DeviceSession.last_seen_at < cutoff)
        .execution_options(synchronize_session=False)
    ).rowcount
