"""Shared parts of pages cached in each worker process, invalidated by the writes that change them.

Every page of a network pays for the same things: the section badges (unread conversations, open help requests
in my languages, unanswered meetings, open reports), the agreement banner, the header's unread notifications and
the network page's member list. They change far less often than they are read, so each worker keeps them in
memory (``cached``), keyed by what they depend on and by the *versions* of the data domains they read.

The versions live in the database (table ``cache_version``, one row per domain, and per scope: "Scopes" below),
so that both gunicorn workers (and every other process on the database) see a write at once:

- every INSERT, UPDATE or DELETE sent through an engine made by ``db.make_engine`` is noted by table on its
  connection (the dialect's ``do_execute`` events; forgotten when the connection goes back to the pool);
- when a session commits, the domains of the tables it wrote get a new random version in the same transaction
  (``before_commit``), so the new version becomes visible exactly when the data does; a rolled-back transaction
  changes nothing (and a database restored to an earlier state brings back an earlier version together with
  the earlier data);
- a request reads the versions once, with one statement, the first time it asks the cache.

A request that has written but not committed yet (a channel page that moved its read marker, a form that saved
something and renders at once) bypasses the cache for the domains it wrote: it sees its own writes, as without
the cache. A table that is not listed below belongs to every domain (a new table invalidates everything until
it is listed), and a domain missing from ``cache_version`` is never cached. Entries also expire after
``MAX_AGE`` seconds (values that depend on the clock, such as "upcoming meetings", pass ``max_age`` lower).

Scopes (session 11). A domain's version changes with every write of the domain, and a value kept for one viewer
was computed again whenever anyone wrote anything of it: the Celery worker's new graduates (a person, a
membership and an invitation) changed ``structure`` several times a second, every help request's notifications
changed ``notifications``, so the badges, sections, banner and unread count of each viewer were almost never
found. The scoped domains (``SCOPED_DOMAINS``: structure, notifications) therefore have more versions than one:

- ``structure@p:<person>`` and ``notifications@p:<person>``: the writes attributed to one person;
  ``structure@m:<network>``: the memberships and invitations attributed to one network (its members);
  ``structure@a:<network>``: its memberships inserted as anything but invited (its active members);
- ``structure@`` and ``notifications@`` (rows of migration sp11001): every write of the domain that was *not*
  attributed — an UPDATE, a DELETE, a write of any other table of the domain, an INSERT whose rows do not say
  whom they are for;
- the domain's own version (``structure``), changed by every write as before: a value that asks for the
  domain (and not for scopes) is exactly as correct as before.

Only INSERTs are attributed (``INSERT_SCOPES``), from the values they insert (the compiled statement's
parameters, every row of an executemany; not the SQL text): a membership or invitation to its person and its
network (a membership not inserted as invited to the network's active members too), a notification to its
person, a new person to no scope at all (no kept value can have read a row that did not exist; a value reads
people through memberships, invitations, messages or requests, whose own writes count). The graduates' batch
writes through Core executemany, the ORM's flush through the same compiled statements: both are attributed
alike. An INSERT ... SELECT, an upsert, a multi-row VALUES or a statement without compiled parameters is
unattributed.

A value kept per person asks ``of_person(domain, person_id)`` (the unattributed version and the person's); one
kept per network that reads its members asks ``of_members(network_id)`` (``of_active_members`` if it reads only
the active ones: a new graduate, invited, changes nothing of it); one that reads neither people nor
memberships (a network's federation links) asks ``unattributed(domain)``. Each must then read, of the domain,
nothing a write attributed elsewhere could change: per viewer, only the viewer's own person, memberships,
invitations and notifications and rows never attributed (networks, agreements and acceptances, links, blocks,
LTI grants...); per network, its members through their memberships and invitations. A scope's row is made by its
first write (``_BUMP_SCOPED``, an upsert in the same transaction as the data); no row reads as version 0. A
request reads the global versions and its signed-in person's scopes (theirs, the members of their networks, and
the scopes of the first question asked) in one statement, other scopes when first asked.

See docs/performance.md for the list of cached things and their invalidation rules.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

import sqlalchemy as sa
from flask import current_app, g, has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from network_service.db import Base

T = TypeVar("T")

# The data domains; each is one row of cache_version.
STRUCTURE = "structure"  # networks, people, memberships, roles, agreements, consent, federation, partners...
CONVERSATIONS = "conversations"
HELP = "help"
MEETINGS = "meetings"
MODERATION = "moderation"
NOTIFICATIONS = "notifications"
LIBRARY = "library"
DIRECTORY = "directory"  # the directory's entries and facet rows (search counts)
READ_MARKERS = "read_markers"  # where each reader stopped in each channel (an UPDATE of the marker alone)
DOMAINS = (
    STRUCTURE,
    CONVERSATIONS,
    HELP,
    MEETINGS,
    MODERATION,
    NOTIFICATIONS,
    LIBRARY,
    DIRECTORY,
    READ_MARKERS,
)

# Domains whose writes are attributed, where the statement itself says to whom (see "Scopes" in the module's
# docstring): a write to them changes the domain's version (``structure``) and either the versions of the scopes
# it was attributed to (``structure@p:12``, ``structure@m:3``) or, when it could not be attributed, the domain's
# unattributed version (``structure@``).
SCOPED_DOMAINS = (STRUCTURE, NOTIFICATIONS)
UNATTRIBUTED = "@"  # the suffix of a scoped domain's unattributed version
# The rows read at a request's first question to the cache (and those a missing row of which means "never cached").
GLOBAL_VERSIONS = DOMAINS + tuple(domain + UNATTRIBUTED for domain in SCOPED_DOMAINS)


def of_person(domain: str, person_id: int | None) -> tuple[str, ...]:
    """The versions a value kept for one person depends on in scoped ``domain``: its unattributed writes and
    the writes attributed to that person (``person_id`` None: only the unattributed ones).

    For STRUCTURE this covers only what the person's own rows say (the person, their memberships and
    invitations) and rows no write is attributed for (networks, agreements and acceptances, links, blocks, LTI
    grants...): never another person's row or membership (see "Scopes")."""
    if person_id is None:
        return (domain + UNATTRIBUTED,)
    return (domain + UNATTRIBUTED, f"{domain}@p:{person_id}")


def of_members(network_id: int) -> tuple[str, ...]:
    """The STRUCTURE versions a value kept for a network that reads its members (their memberships,
    invitations and people) depends on: its unattributed writes and the memberships and invitations written in
    the network."""
    return (STRUCTURE + UNATTRIBUTED, f"{STRUCTURE}@m:{network_id}")


def for_person(domains: Iterable[str], person_id: int | None) -> tuple[str, ...]:
    """``domains`` for a value kept per person (with the person in its key): each scoped domain as
    ``of_person``, the others as they are."""
    found: list[str] = []
    for domain in domains:
        found.extend(of_person(domain, person_id) if domain in SCOPED_DOMAINS else (domain,))
    return tuple(found)


def of_active_members(network_id: int) -> tuple[str, ...]:
    """As ``of_members``, for a value that reads only the network's *active* members (an invitation, or a
    membership inserted as invited, changes nothing of it: the graduates the Celery worker invites)."""
    return (STRUCTURE + UNATTRIBUTED, f"{STRUCTURE}@a:{network_id}")


def unattributed(domain: str) -> tuple[str, ...]:
    """The version of scoped ``domain``'s unattributed writes alone: for a value that reads no row a write is
    attributed for (a network's federation links), or only rows that exist before any value could name them."""
    return (domain + UNATTRIBUTED,)


# An INSERT into these tables is attributed when every row it inserts gives these columns as plain values:
# (domain, scope, column) -> the version ``{domain}@{scope}:{value}``; with a fourth element, only the rows for
# which it says yes (given the row's values) count for that scope. A new person is attributed to no scope
# at all: no kept value can have read a row that did not exist, and a value that reads a person reads them
# through a membership or an invitation, whose own INSERT is attributed (or through another row, a message or
# a help request, whose own domain changes). Anything else written to these tables (an UPDATE, a DELETE, an
# INSERT ... SELECT, an upsert, a statement without compiled parameters) is unattributed.
INSERT_SCOPES: dict[str, tuple[tuple, ...]] = {
    "person": (),
    "membership": (
        (STRUCTURE, "p", "person_id"),
        (STRUCTURE, "m", "network_id"),
        # the active members' (of_active_members) unless the row says "invited" (no status: the model's default
        # is invited, but an INSERT without the column counts as active, to be safe)
        (STRUCTURE, "a", "network_id", lambda row: row.get("status") != "invited"),
    ),
    "invitation": ((STRUCTURE, "p", "person_id"), (STRUCTURE, "m", "network_id")),
    "notification": ((NOTIFICATIONS, "p", "person_id"),),
}

# Tables whose writes change a domain other than STRUCTURE.
TABLE_DOMAINS: dict[str, tuple[str, ...]] = {
    "channel": (CONVERSATIONS,),
    "channel_member": (CONVERSATIONS,),
    "message": (CONVERSATIONS,),
    "federation_shared_channel": (CONVERSATIONS, STRUCTURE),
    "help_request": (HELP,),
    "help_request_language": (HELP,),
    "help_response": (HELP,),
    "help_suggestion": (HELP,),
    "meeting": (MEETINGS,),
    "rsvp": (MEETINGS,),
    "report": (MODERATION,),
    "notification": (NOTIFICATIONS,),
    "resource": (LIBRARY,),
    "resource_tag": (LIBRARY,),
    "federation_shared_resource": (LIBRARY, STRUCTURE),
    "goal": (LIBRARY,),
    "goal_update": (LIBRARY,),
    "directory_entry": (DIRECTORY,),
    "directory_entry_language": (DIRECTORY,),
    "directory_entry_service": (DIRECTORY,),
}
# Tables no cached thing reads (logs, queues, tokens, reminders sent, caches of their own): writing them
# invalidates nothing. Any table in neither list invalidates every domain.
IGNORED_TABLES = frozenset(
    {
        "cache_version",
        "audit_log",
        "outbound_email",
        "job_run",
        "sign_in_token",
        "api_token",
        "insight_cache",
        "insight_nudge",
        "completion_event",
        "privacy_key",  # written once (the pseudonym key), read by no cached thing
        "message_revision",
        "meeting_reminder",
        "agreement_reminder",
        "invitation_reminder",
        "calendar_feed",
        "notification_setting",
        "alembic_version",
        "lti_nonce",
        "lti_platform_spent",
        "lti_score_report",
        "lti_capstone_launch",
        "bridge_reconcile_cursor",
        "device_session",  # sessions: read by no cached thing (current_person reads it on every request)
        # a learner's LTI identity (platform, sub -> person), new at a first launch: read by no cached thing (the
        # person it creates or links is written to ``person`` and counts there); listed so that a launch does not
        # invalidate every domain (the directory's pages, the help and conversation caches...)
        "lti_identity",
    }
)

MAX_AGE = 300.0  # seconds: a safety net; the versions are what keeps entries correct
# Per worker process; the least recently used go first. One slot per cached thing and key (a value of older
# versions is replaced), so the store holds what is asked for now: about 2,000 slots (2 MB) for the load run's
# 200 members (bench/load.py). The byte budget is what bounds memory; docs/performance.md.
MAX_ENTRIES = 20_000
MAX_BYTES = 8 * 1024 * 1024

_DIRTY_KEY = "mentornet.page_cache.dirty"
_VERSIONS_KEY = "mentornet_cache_versions"
_WRITE = re.compile(r"\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)
# A statement that begins with a WITH may write in its common table expressions or its main part (``WITH ...
# INSERT``, a data-modifying CTE on PostgreSQL): every table it writes counts. "FOR UPDATE" is a lock, not a
# write; a false match only invalidates more (an unknown table counts as every domain).
_WITH = re.compile(r"\s*WITH\s", re.IGNORECASE)
_WRITE_IN_WITH = re.compile(
    r"(?<![Ff][Oo][Rr] )\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE
)


class CacheVersion(Base):
    """The current version of each cached data domain (a random number, new with every committed write)."""

    __tablename__ = "cache_version"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    token: Mapped[int] = mapped_column(sa.BigInteger)


def domains_of(table: str) -> tuple[str, ...]:
    if table in IGNORED_TABLES:
        return ()
    return TABLE_DOMAINS.get(table, DOMAINS if table not in _STRUCTURE_ONLY else (STRUCTURE,))


_NOTED: dict[tuple[str, ...], tuple[str, ...]] = {}


def _unattributed_write(domains: tuple[str, ...]) -> tuple[str, ...]:
    """The versions an unattributed write of ``domains`` changes: each domain's, and the unattributed version
    of each scoped one."""
    noted = _NOTED.get(domains)
    if noted is None:
        extra = tuple(domain + UNATTRIBUTED for domain in domains if domain in SCOPED_DOMAINS)
        noted = _NOTED[domains] = tuple(domains) + extra
    return noted


def _attributed_insert(table: str, statement: str, context) -> set[str] | None:
    """The scoped versions an INSERT into ``table`` (one of ``INSERT_SCOPES``) changes, from the values it
    inserts (the compiled statement's parameters, every row of an executemany), or None when it cannot be
    attributed."""
    compiled = context.compiled
    if compiled is None or not context.isinsert or "ON CONFLICT" in statement.upper():
        return None
    insert = compiled.statement
    if (
        getattr(insert, "select", None) is not None
        or getattr(getattr(insert, "table", None), "name", None) != table
    ):
        return None
    if re.match(r"\s*INSERT\s+OR\s", statement, re.IGNORECASE):
        return None  # SQLite's INSERT OR REPLACE replaces an existing row
    scopes = INSERT_SCOPES[table]
    names: set[str] = set()
    for row in context.compiled_parameters or ():
        for domain, scope, column, *only in scopes:
            value = row.get(column)
            if type(value) is not int:
                return None
            if not only or only[0](row):
                names.add(f"{domain}@{scope}:{value}")
    if scopes and not names:
        return None
    return names


# Tables read by the structure-domain caches (and by nothing else cached); written rarely.
_STRUCTURE_ONLY = frozenset(
    {
        "organisation",
        "network",
        "membership",
        "invitation",
        "agreement",
        "agreement_acceptance",
        "person",
        "consent_record",
        "block",
        "federation_link",
        "network_partner",
        "network_public_page",
    }
)


# -- noting writes ------------------------------------------------------------------------------------------------


# Columns no cached thing reads, written often: an UPDATE that sets only these invalidates nothing (every
# sign-in and LTI launch notes the person's last sign-in).
IGNORED_COLUMNS: dict[str, frozenset[str]] = {"person": frozenset({"last_sign_in_at"})}
# Columns written often that only some cached things read: an UPDATE that sets only these changes only these
# domains (a channel page read after a post moves the reader's marker: the unread counts and the reader's read
# state follow it, the channel's kept threads do not).
COLUMN_DOMAINS: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "channel_member": (frozenset({"last_read_message_id"}), (READ_MARKERS,)),
}
_UPDATE_SET = re.compile(r"\s*UPDATE\s+\"?\w+\"?\s+SET\s+(.*?)\s+WHERE\s", re.IGNORECASE | re.DOTALL)
_SET_COLUMN = re.compile(r"(?:^|,)\s*\"?(\w+)\"?\s*=")


def _only_ignored_columns(table: str, statement: str) -> bool:
    ignored = IGNORED_COLUMNS.get(table)
    return bool(ignored) and _sets_only(statement, ignored)


def _sets_only(statement: str, columns: frozenset[str]) -> bool:
    """Whether ``statement`` is an UPDATE that sets some of ``columns`` and nothing else."""
    match = _UPDATE_SET.match(statement)
    if match is None:
        return False
    found = set(_SET_COLUMN.findall(match.group(1)))
    return bool(found) and found <= columns


def _note_write(_cursor, statement, _parameters, context) -> None:
    """The dialect's ``do_execute`` (and ``do_executemany``) event, for every statement sent: notes a write's
    domains on its connection; returns None, so the dialect then executes the statement as usual."""
    if context is None:
        return
    match = _WRITE.match(statement)
    if match is not None:
        table = match.group(1).lower()
        if _only_ignored_columns(table, statement):
            return
        narrower = COLUMN_DOMAINS.get(table)
        if narrower is not None and _sets_only(statement, narrower[0]):
            domains = _unattributed_write(narrower[1])
        else:
            domains = domains_of(table)
            scoped = _attributed_insert(table, statement, context) if table in INSERT_SCOPES else None
            if scoped is not None:
                # the domain's own version (for values that follow every write of it) and the scopes'
                context.root_connection.info.setdefault(_DIRTY_KEY, set()).update(domains, scoped)
                return
            domains = _unattributed_write(domains)
    elif _WITH.match(statement):
        domains = _unattributed_write(
            tuple(
                sorted({d for table in _WRITE_IN_WITH.findall(statement) for d in domains_of(table.lower())})
            )
        )
    else:
        return
    if domains:
        context.root_connection.info.setdefault(_DIRTY_KEY, set()).update(domains)


def _note_write_without_parameters(cursor, statement, context) -> None:
    _note_write(cursor, statement, None, context)


def _forget_writes(_dbapi_connection, connection_record, _reset_state) -> None:
    connection_record.info.pop(_DIRTY_KEY, None)


def watch_engine(engine: Engine) -> None:
    """Note the writes sent through ``engine`` (called by ``db.make_engine``).

    Dialect events, not the connection's ``before_cursor_execute``: one listener of the connection's events makes
    every connection of the engine dispatch all of them (at each execution, begin, commit and checkout), which on
    PostgreSQL (no other listener there) cost more than the noting itself."""
    for name in ("do_execute", "do_executemany"):
        event.listen(engine, name, _note_write)
    event.listen(engine, "do_execute_no_params", _note_write_without_parameters)
    # The connection back in the pool: its transaction ended, committed or rolled back, and the writes of a
    # rolled-back one are gone. (A commit through a session takes the note first: ``_bump_versions``. A note kept
    # past a rollback while the connection stays checked out, or a savepoint rolled back, costs at worst a
    # version changed that did not need to change.)
    event.listen(engine, "reset", _forget_writes)


_BUMP = (
    sa.update(CacheVersion.__table__)
    .where(CacheVersion.__table__.c.name.in_(sa.bindparam("names", expanding=True)))
    .values(token=sa.bindparam("token", type_=sa.BigInteger))
)
# A scope's version: its row is made by the first write attributed to it (no row reads as version 0). The same
# SQL on PostgreSQL and SQLite; the rows are taken in the order of their names, so two commits never wait for
# each other in opposite orders.
_BUMP_SCOPED = sa.text(
    "INSERT INTO cache_version (name, token) VALUES (:name, :token) "
    "ON CONFLICT (name) DO UPDATE SET token = excluded.token"
).bindparams(sa.bindparam("name", type_=sa.String), sa.bindparam("token", type_=sa.BigInteger))


def _is_scope(name: str) -> bool:
    """Whether ``name`` is a scope's version (``structure@p:12``), not a domain's or an unattributed one."""
    return UNATTRIBUTED in name and not name.endswith(UNATTRIBUTED)


@event.listens_for(Session, "before_commit")
def _bump_versions(session: Session) -> None:
    if not session.in_transaction():
        return
    session.flush()  # the commit would flush after this hook: note those writes too
    conn = session.connection()
    dirty = conn.info.pop(_DIRTY_KEY, None)
    if not dirty:
        return
    token = secrets.randbits(62)
    # on the connection, built once: the ORM's bulk UPDATE path cost about a tenth of a post's CPU
    conn.execute(_BUMP, {"names": sorted(name for name in dirty if not _is_scope(name)), "token": token})
    scopes = sorted(name for name in dirty if _is_scope(name))
    if scopes:
        conn.execute(_BUMP_SCOPED, [{"name": name, "token": token} for name in scopes])
    conn.info.pop(_DIRTY_KEY, None)  # the statements above are not writes to note
    if has_app_context():
        g.pop(_VERSIONS_KEY, None)  # a page rendered after the commit reads the new versions


def pending_domains(session: Session) -> set[str]:
    """The domains this session's transaction wrote and has not committed yet (whatever the scope)."""
    transaction = session.get_transaction()
    if transaction is None:
        return set()
    if session.new or session.dirty or session.deleted:
        session.flush()  # as a query would (autoflush), so that a cache answer is not older than the session
    # The transaction's connection, found once per transaction (session.connection() is not free).
    known = session.info.get(_CONNECTION_KEY)
    if known is None or known[0] is not transaction:
        known = (transaction, session.connection())
        session.info[_CONNECTION_KEY] = known
    dirty = known[1].info.get(_DIRTY_KEY)
    return {name.partition(UNATTRIBUTED)[0] for name in dirty} if dirty else set()


_CONNECTION_KEY = "mentornet.page_cache.connection"


# -- the cache ------------------------------------------------------------------------------------------------


def size_of(value: object) -> int:
    """About how many bytes ``value`` holds (strings, numbers and the tuples, lists and dicts of them)."""
    if isinstance(value, str):
        return sys.getsizeof(value)
    if isinstance(value, (tuple, list, frozenset, set)):
        return sys.getsizeof(value) + sum(size_of(item) for item in value)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(size_of(k) + size_of(v) for k, v in value.items())
    return sys.getsizeof(value)


class BoundedLRU:
    """Entries dropped least recently used first when there are more than ``max_entries`` of them or their sizes
    (as the caller measured them, see ``size_of``) add up to more than ``max_bytes``; thread-safe. The page
    cache's store and the HTML fragment caches (network_service/fragments.py) are made of it."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self._entries: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0

    def _lookup(self, key: Hashable, default: object = None):
        """The entry under ``key`` (now the most recently used), or ``default``."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return default
            self._entries.move_to_end(key)
            return found[0]

    def _store(self, key: Hashable, entry: object, size: int) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._entries[key] = (entry, size)
            self.bytes += size
            while self._entries and (len(self._entries) > self.max_entries or self.bytes > self.max_bytes):
                _key, (_entry, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)


class _Store(BoundedLRU):
    """One slot per (name, key): the value of the newest versions seen, with the versions it was computed for.

    A value computed for older versions is replaced in its slot, not kept beside the new one (with the versions
    in the key, every write left a dead entry behind until ``MAX_ENTRIES`` pushed it out: most of a worker's
    cache was dead entries after a busy minute). The least recently used slots go first when the store holds
    more than ``MAX_ENTRIES`` slots or more than ``MAX_BYTES`` (about: keys and values, see ``size_of``)."""

    def __init__(self, max_entries: int | None = None, max_bytes: int | None = None) -> None:
        super().__init__(
            MAX_ENTRIES if max_entries is None else max_entries, MAX_BYTES if max_bytes is None else max_bytes
        )

    def get(self, key: Hashable, stamp: tuple, max_age: float):
        entry = self._lookup(key, _MISSING)
        if entry is _MISSING or entry[0] != stamp or time.monotonic() - entry[1] > max_age:
            return _MISSING
        return entry[2]

    def put(self, key: Hashable, stamp: tuple, value: object) -> None:
        self._store(key, (stamp, time.monotonic(), value), size_of(key) + size_of(value) + _ENTRY_OVERHEAD)


_ENTRY_OVERHEAD = 200  # the slot's tuple, the stamp, the time and the dict's share, in bytes (about)
_MISSING = object()


def _read_versions(connection, names: list[str]) -> list:
    """The rows of ``names`` in ``cache_version``: one statement per number of names, written out for the
    driver's own parameter style (every request sends it; through SQLAlchemy's expanding IN it cost about 150 more
    Python calls and 0.04 ms, measured on PostgreSQL)."""
    style = connection.dialect.paramstyle
    sql = _VERSIONS_SQL.get((style, len(names)))
    if sql is None:
        marks = {
            "qmark": lambda i: "?",
            "format": lambda i: "%s",
            "numeric": lambda i: f":{i + 1}",
            "named": lambda i: f":n{i}",
            "pyformat": lambda i: f"%(n{i})s",
        }[style]
        # parameters only: no name is ever written into the statement
        placeholders = ", ".join(marks(i) for i in range(len(names)))
        sql = f"SELECT name, token FROM cache_version WHERE name IN ({placeholders})"  # noqa: S608  # nosec B608
        if len(_VERSIONS_SQL) < 1_000:
            _VERSIONS_SQL[style, len(names)] = sql
    if style in ("named", "pyformat"):
        return connection.exec_driver_sql(sql, {f"n{i}": name for i, name in enumerate(names)}).all()
    return connection.exec_driver_sql(sql, tuple(names)).all()


_VERSIONS_SQL: dict[tuple[str, int], str] = {}


def _store() -> _Store:
    store = current_app.extensions.get("mentornet.page_cache")
    if store is None:
        store = current_app.extensions.setdefault("mentornet.page_cache", _Store())
    return store


def clear() -> None:
    """Forget every entry of this app (tests, or an operator who changed data by hand)."""
    _store().clear()
    for store in current_app.extensions.get(_KEPT_KEY, {}).values():
        store.clear()


def versions(scopes: Iterable[str] = ()) -> dict[str, int]:
    """Every domain's version and the versions of the signed-in person's scopes (theirs, and the members of
    their networks) and of ``scopes``, read once per request (one statement). Other scopes are read when asked
    (``_read_scopes``)."""
    known = g.get(_VERSIONS_KEY)
    if known is None:
        from network_service.db import db

        names = list(GLOBAL_VERSIONS)
        names += [name for name in scopes if _is_scope(name)]
        person = g.get("current_person")
        if person is not None and person.id is not None:
            names += [f"{domain}@p:{person.id}" for domain in SCOPED_DOMAINS]
            # the memberships loaded with the person (never loaded here for this)
            for membership in person.__dict__.get("memberships") or ():
                names += [f"{STRUCTURE}@m:{membership.network_id}", f"{STRUCTURE}@a:{membership.network_id}"]
        known = {name: 0 for name in names if _is_scope(name)}  # a scope without a row: version 0
        known.update(_read_versions(db.session.connection(), names))
        setattr(g, _VERSIONS_KEY, known)
    return known


def _read_scopes(known: dict[str, int], names: list[str]) -> None:
    """Read the versions of scopes ``names`` into ``known`` (a scope without a row: version 0)."""
    from network_service.db import db

    rows = dict(_read_versions(db.session.connection(), names))
    for name in names:
        known[name] = rows.get(name, 0)


def enabled() -> bool:
    """``PAGE_CACHE`` (None: on, except when ``TESTING``; the suite's own cache tests turn it on)."""
    config = current_app.config
    setting = config.get("PAGE_CACHE")
    return not config.get("TESTING") if setting is None else bool(setting)


def current_stamp(domains: Iterable[str]) -> tuple | None:
    """The versions of ``domains`` that a value computed now would be valid for, or None when no kept value
    may be used (the cache is off, this transaction wrote one of them or failed, a domain has no row).

    For caches of their own that put the versions in their keys (the directory's pages, directory/views.py)."""
    if not has_app_context() or not enabled():
        return None
    from network_service.db import db

    session = db.session  # the request's session itself, not the proxy (asked several times below)
    domains = tuple(domains)
    try:
        if not session.is_active:
            return None
        pending = pending_domains(session)
        if pending and not pending.isdisjoint(_bases(domains)):
            return None  # this transaction changed them (or failed): show what it sees
        known = versions(domains)
        unread = (
            ()
            if all(domain in known for domain in domains)
            else [domain for domain in domains if domain not in known and _is_scope(domain)]
        )
        if unread:
            _read_scopes(known, unread)
    except SQLAlchemyError:  # an error page after a failed transaction: as without the cache
        return None
    try:
        return tuple(known[domain] for domain in domains)
    except KeyError:
        return None  # a domain without a row: never cached


_BASES: dict[tuple[str, ...], frozenset[str]] = {}


def _bases(domains: tuple[str, ...]) -> frozenset[str]:
    """The domains of ``domains`` without their scopes (``structure@p:12`` is ``structure``)."""
    found = _BASES.get(domains)
    if found is None:
        found = frozenset(domain.partition(UNATTRIBUTED)[0] for domain in domains)
        if len(_BASES) < 10_000:  # a few shapes per person and network: bounded all the same
            _BASES[domains] = found
    return found


def cached(
    name: str,
    key: Hashable,
    domains: Iterable[str],
    compute: Callable[[], T],
    *,
    max_age: float = MAX_AGE,
) -> T:
    """``compute()``, or its value kept from an earlier request when none of ``domains`` changed since.

    ``key`` must name everything else the value depends on (the viewer, the network, the language...), and the
    value must be plain data (numbers, strings, tuples, Markup), never ORM objects: it is shared by requests."""
    stamp = current_stamp(domains)
    if stamp is None:
        return compute()
    full_key = (name, key)
    store = _store()
    value = store.get(full_key, stamp, max_age)
    if value is _MISSING:
        value = compute()
        store.put(full_key, stamp, value)
    return value  # type: ignore[return-value]


MISSING = _MISSING  # what ``lookup`` gives when nothing is kept


def lookup(
    name: str, key: Hashable, domains: Iterable[str], *, max_age: float = MAX_AGE
) -> tuple[object, tuple | None]:
    """``cached`` in two steps, for a caller that computes several missing values at once: (the value kept for
    ``domains``' current versions, or MISSING; the stamp to ``keep`` a value computed now under, None when no
    value may be kept)."""
    stamp = current_stamp(domains)
    if stamp is None:
        return _MISSING, None
    return _store().get((name, key), stamp, max_age), stamp


def keep(name: str, key: Hashable, stamp: tuple, value: object) -> None:
    """Keep ``value`` under the stamp ``lookup`` gave (see ``cached`` for what a value may be)."""
    _store().put((name, key), stamp, value)


_KEPT_KEY = "mentornet.page_cache.kept"


def kept(
    name: str,
    key: Hashable,
    domains: Iterable[str],
    compute: Callable[[], T],
    *,
    valid: Callable[[T], bool] | None = None,
    max_entries: int = 16,
) -> T:
    """As ``cached``, for a few large values outside ``MAX_BYTES`` (the help matching's members of a network:
    thousands of rows), in a store of their own per ``name`` holding at most ``max_entries`` keys; ``valid(value)``
    tells whether a kept value may still be used (else it is computed again).

    One thread of the process computes a missing value while the others that ask for the same key and versions
    wait for it (a worker's threads all starting on a cold network would each read its members: several times the
    CPU, at the worst moment)."""
    stamp = current_stamp(domains)
    if stamp is None:
        return compute()
    stores = current_app.extensions.setdefault(_KEPT_KEY, {})
    store = stores.get(name)
    if store is None:
        store = stores.setdefault(name, _Store(max_entries=max_entries, max_bytes=sys.maxsize))
    value = store.get(key, stamp, MAX_AGE)
    if value is not _MISSING and (valid is None or valid(value)):
        return value  # type: ignore[return-value]
    with _computing(store, key):
        value = store.get(key, stamp, MAX_AGE)  # computed by another thread meanwhile?
        if value is _MISSING or (valid is not None and not valid(value)):
            value = compute()
            store.put(key, stamp, value)
    return value  # type: ignore[return-value]


_COMPUTING_LOCK = threading.Lock()


@contextlib.contextmanager
def _computing(store: _Store, key: Hashable):
    """Hold the lock of ``key`` in ``store`` (made on first use, dropped by the last thread that used it)."""
    with _COMPUTING_LOCK:
        locks = store.__dict__.setdefault("_computing", {})
        entry = locks.get(key)
        if entry is None:
            entry = locks[key] = [threading.Lock(), 0]
        entry[1] += 1
    try:
        with entry[0]:
            yield
    finally:
        with _COMPUTING_LOCK:
            entry[1] -= 1
            if entry[1] == 0:
                locks.pop(key, None)
