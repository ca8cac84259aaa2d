"""PostgreSQL connections in the pool are pinged only after sitting idle (network_service.db.ping_when_idle):
a connection taken again moments after it was given back costs no extra round trip, and one that died while it
sat in the pool is replaced before a request uses it."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from network_service import db
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL: set MENTORNET_TEST_DATABASE_URL")


@pytest.fixture
def engine(monkeypatch):
    engine = db.make_engine(TEST_DATABASE_URL)
    pings = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(1) or real_ping(conn))
    engine.pings = pings
    yield engine
    engine.dispose()


def _backend(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(pid: int) -> None:
    url = sa.engine.make_url(TEST_DATABASE_URL).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]


def test_a_connection_used_again_at_once_is_not_pinged(engine):
    first = _backend(engine)
    assert _backend(engine) == first  # the same pooled connection
    assert engine.pings == []


def test_an_idle_connection_that_died_is_replaced_before_it_is_used(engine, monkeypatch):
    first = _backend(engine)
    _terminate(first)  # the database ended it while it sat in the pool (a restart, a dropped connection)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # as if it had sat there long enough
    second = _backend(engine)  # no error: the ping found it dead and the pool connected anew
    assert second != first
    assert engine.pings == [1]
