"""Fixtures in layers: database URL → schema (by the real migrations) → app → per-test SAVEPOINT → clients.

The suite runs once per database: SQLite by default, PostgreSQL when MENTORNET_TEST_DATABASE_URL names it.
"""

from __future__ import annotations

import os
import secrets

import pytest
import sqlalchemy as sa

from network_service import migrations
from network_service.app import create_app
from network_service.db import Base, db, make_engine
from tests import helpers

TEST_DATABASE_URL = os.environ.get("MENTORNET_TEST_DATABASE_URL") or ""


def _check_reachable(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        pytest.exit(
            f"The test database {engine.url.render_as_string(hide_password=True)} is unreachable: {exc}. "
            "Start PostgreSQL or point MENTORNET_TEST_DATABASE_URL at a reachable server.",
            returncode=3,
        )
    finally:
        engine.dispose()


def reset_schema(url: str) -> None:
    """Drop every table (ours and Alembic's) so the migrations build the schema from nothing."""
    engine = make_engine(url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        else:
            Base.metadata.drop_all(conn)
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


def test_config(url: str, **overrides) -> dict:
    config = {
        "ENV": "development",
        "TESTING": True,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "DATABASE_URL": url,
        "BASE_URL": "http://localhost",
        "OUTBOX_WORKER": False,
        "DEMO_MAILBOX": True,
        "SMTP_URL": None,
        "LANGUAGES": ["en", "de"],
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        _check_reachable(TEST_DATABASE_URL)
        return TEST_DATABASE_URL
    if os.environ.get("MENTORNET_TEST_REQUIRE_POSTGRES"):
        pytest.exit(
            "MENTORNET_TEST_REQUIRE_POSTGRES is set but MENTORNET_TEST_DATABASE_URL is empty", returncode=3
        )
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


@pytest.fixture(scope="session")
def app(database_url):
    reset_schema(database_url)
    application = create_app(test_config(database_url))
    with application.app_context():
        migrations.upgrade(application)
    yield application
    db.dispose(application)


@pytest.fixture
def db_connection(app):
    """Every session of the app joins one outer transaction through SAVEPOINTs; rolled back after the test."""
    connection = db._state(app).engine.connect()
    transaction = connection.begin()
    with db.bound_to(app, connection):
        yield connection
    transaction.rollback()
    connection.close()


@pytest.fixture
def ctx(app, db_connection):
    """An application context for calling operations directly; yields the session."""
    with app.test_request_context():
        yield db.session


@pytest.fixture
def client(app, db_connection):
    return app.test_client()


@pytest.fixture
def run(app, db_connection):
    """Run a function in its own app context and commit it (like a request would); returns its result."""

    def runner(function, *args, **kwargs):
        with app.test_request_context():
            result = function(*args, **kwargs)
            db.session.commit()
            return result

    return runner


@pytest.fixture
def world(run):
    """An organisation, a network with coordinator, Meta-Mentor and mentor, and a linked course."""
    return run(helpers.build_world)
