"""Database access: typed declarative base, one session per application context, one commit per request.

Operations call ``db.session`` and flush; the request (or the CLI command) commits. Tests bind the session to a
connection inside a SAVEPOINT (see ``Database.bound_to``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from werkzeug.local import LocalProxy

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so we store naive UTC there)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    # ``float`` is spelt out: SQLAlchemy 2.1 maps it to Double where 2.0 mapped it to Float, which would change the
    # columns' declared type (FLOAT on SQLite) under the same migrations (tests/test_migrations.py).
    type_annotation_map = {dt.datetime: UTCDateTime(), float: sa.Float()}


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


@dataclass
class _State:
    engine: Engine
    sessionmaker: sessionmaker


# The largest id an INTEGER column holds (PostgreSQL's, the smaller of the two): a number from outside beyond it
# finds no row, and must not reach the database driver, which refuses to send it (a 500).
MAX_ID = 2**31 - 1
_SESSION_KEY = "_mentornet_db_session"
# Endpoints whose GET writes (an LTI login initiation stores its nonce, a channel page moves the read marker, a
# report fills its cache): on SQLite they begin IMMEDIATE too, since a deferred transaction that has read cannot
# take the write lock once another connection has written ("database is locked" at once, no busy wait).
WRITES_ON_GET: set[str] = {
    "conversations.channel",
    "conversations.thread",
    "insights.insights",
    "insights.export",
    "api_insights.Insights",
    "api_privacy.Export",
}
CONNECT_TIMEOUT_SECONDS = 5  # PostgreSQL: how long a new connection may take before the request gives up


def _sqlite_pragmas(dbapi_connection, _record):
    # pysqlite's own transaction handling breaks SAVEPOINTs; let SQLAlchemy emit BEGIN itself (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # WAL lets readers go on while one writer commits (several gunicorn threads); harmless for :memory:.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
    # SQLite's own lower() changes only A-Z, so "Übersicht", "Олена" or "Ömer" never met their lower-case
    # search or @mention; Python's str.lower is Unicode-aware, like PostgreSQL's lower() in a UTF-8 database.
    # SQLAlchemy's ilike() on SQLite is lower(x) LIKE lower(y), so it follows too. No index uses lower() on
    # SQLite (the one expression index with lower() is PostgreSQL's directory search document).
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def _sqlite_begin(connection):
    # IMMEDIATE takes the write lock up front (waiting up to busy_timeout). A deferred transaction that reads
    # first and writes later fails at once with "database is locked" when another writer got in between.
    # Connections that promise to only read (execution option read_only) begin deferred.
    read_only = connection.get_execution_options().get("read_only", False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def insert_if_new(
    table: sa.Table, dialect_name: str, conflict_columns: Sequence[str], returned: Sequence[sa.Column]
) -> sa.TextClause:
    """``INSERT ... ON CONFLICT (conflict_columns) DO NOTHING RETURNING returned`` of every column but ``id``, as
    a textual statement with typed parameters (one per column, by its key). The dialects' ``ON CONFLICT``
    constructs are never cached by SQLAlchemy (their cache key is None) and compiling one costs more than running
    it; the textual statement is kept by SQLAlchemy's statement cache. Callers build it once per dialect."""
    from sqlalchemy.dialects import postgresql, sqlite  # noqa: PLC0415 - only here

    columns = [column for column in table.columns if column.key != "id"]
    insert, dialect = (
        (postgresql.insert, postgresql.psycopg2.dialect(paramstyle="named"))
        if dialect_name == "postgresql"
        else (sqlite.insert, sqlite.dialect(paramstyle="named"))
    )
    statement = (
        insert(table)
        .values({column.key: sa.bindparam(column.key) for column in columns})
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
        .returning(*returned)
    )
    # The casts the compiled SQL carries (":payload::JSONB") are escaped for text(), which would otherwise not see
    # ":payload" as a parameter; it turns "\:" back into ":", so any type's cast survives ("INTEGER[]", "TIMESTAMP
    # WITH TIME ZONE"). Compiled by psycopg2's dialect, which casts only the types that need it (psycopg's,
    # SQLAlchemy 2.1's default for PostgreSQL, casts every parameter); the dialect that runs the statement adds
    # its own casts to the typed parameters below.
    sql = str(statement.compile(dialect=dialect)).replace("::", "\\:\\:")
    return (
        sa.text(sql)
        .bindparams(*(sa.bindparam(column.key, type_=column.type) for column in columns))
        .columns(*returned)
    )


# A pooled connection idle for longer than this is pinged before it is used (SQLAlchemy's pool_pre_ping pings at
# every checkout: one round trip more for every request, a sixth of a page's statements, while a connection
# taken again moments after it was given back is alive).
PING_AFTER_IDLE_SECONDS = 5.0
_IDLE_SINCE = "mentornet_idle_since"


def ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling for connections that sat in the pool: one that was idle for more than
    ``PING_AFTER_IDLE_SECONDS`` (the database may have restarted, a firewall may have dropped it) is pinged at
    checkout; a dead one is replaced by a new connection before the request uses it. A connection that dies
    within seconds of its last use fails its request (a 503, errors.py) and SQLAlchemy drops the whole pool."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return  # just connected, or used moments ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # the pool replaces this connection and checks out another (a new one when all are dead)
            raise sa.exc.DisconnectionError(f"an idle connection was lost: {exc}") from exc


# PostgreSQL connections a process keeps open when neither the configuration (DATABASE_POOL_SIZE) nor `mentornet
# serve` (its threads + 2) says. A request holds one and so does the background thread. A connection needed beyond
# the pool ("overflow", up to MAX_OVERFLOW more) is opened for one request and closed after it: PostgreSQL starts
# a new backend process for each, which reads its catalog again and has no prepared statement. With SQLAlchemy's
# default of 5 under 8 busy threads, starting backends took about 15 of the load run's 120 CPU-seconds, half as
# much again as PostgreSQL's queries (docs/performance.md).
DEFAULT_POOL_SIZE = 10
MAX_OVERFLOW = 10


def pool_size_for(threads: int) -> int:
    """The pool a process serving with ``threads`` request threads needs: one connection each, one for the
    background thread (acting on completion events, sending mail) and one spare (/healthz, a job)."""
    return threads + 2


def make_engine(url: str, pool_size: int | None = None) -> Engine:
    options: dict = {"future": True}
    if url.startswith("sqlite"):
        # Requests are served by several threads; each checks out its own connection.
        options["connect_args"] = {"check_same_thread": False, "timeout": 10}
    else:
        options.update(pool_size=pool_size or DEFAULT_POOL_SIZE, max_overflow=MAX_OVERFLOW)
        if "connect_timeout" not in url:
            # A database host that drops packets must not hang each request: give up (a 503) after this.
            options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    engine = sa.create_engine(url, **options)
    if engine.dialect.name != "sqlite":
        ping_when_idle(engine)
    from network_service import page_cache  # noqa: PLC0415 - page_cache imports Base from here

    page_cache.watch_engine(engine)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


class Database:
    """Flask extension that owns the engine and hands out the request's session."""

    def init_app(self, app: Flask, url: str, pool_size: int | None = None) -> None:
        engine = make_engine(url, pool_size)
        app.extensions["mentornet.db"] = _State(engine, sessionmaker(bind=engine, expire_on_commit=False))
        app.teardown_appcontext(self._remove_session)

    @staticmethod
    def _state(app: Flask | None = None) -> _State:
        return (app or current_app).extensions["mentornet.db"]

    @property
    def engine(self) -> Engine:
        return self._state().engine

    @property
    def session(self) -> Session:
        session = g.get(_SESSION_KEY)
        if session is None:
            state = self._state()
            session = state.sessionmaker()
            setattr(g, _SESSION_KEY, session)
            if (
                state.engine.dialect.name == "sqlite"
                and has_request_context()
                and request.method in ("GET", "HEAD", "OPTIONS")
                and request.endpoint not in WRITES_ON_GET
            ):
                # Page views read: a deferred transaction lets them run beside a writer instead of queueing for
                # SQLite's single write lock (see _sqlite_begin).
                session.connection(execution_options={"read_only": True})
        return session

    def new_session(self) -> Session:
        """A session apart from the request's (its own connection and transaction): the caller commits and
        closes it. Bound as the request's sessions are, so tests that bind them (``bound_to``) bind this too."""
        return self._state().sessionmaker()

    @staticmethod
    def _remove_session(_exc=None) -> None:
        session = g.pop(_SESSION_KEY, None)
        if session is not None:
            session.close()

    @contextlib.contextmanager
    def bound_to(self, app: Flask, connection: Connection) -> Iterator[None]:
        """Make every session of ``app`` join ``connection``'s transaction through SAVEPOINTs (tests)."""
        state = self._state(app)
        original = state.sessionmaker
        state.sessionmaker = sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        try:
            yield
        finally:
            state.sessionmaker = original

    def dispose(self, app: Flask) -> None:
        self._state(app).engine.dispose()


db = Database()
session: Session = LocalProxy(lambda: db.session)  # type: ignore[assignment]


def flushed_connection() -> sa.Connection:
    """The request's transaction's connection, for prebuilt statements run without the ORM (Core rows, no
    entities, no statement compiled through the ORM), after flushing what the session holds, as a query through
    the session would (autoflush)."""
    current = db.session  # the request's session itself, not the proxy
    if current.new or current.dirty or current.deleted:
        current.flush()
    return current.connection()
