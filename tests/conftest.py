"""Fixtures in layers: database URL → schema (by the real migrations) → app → per-test SAVEPOINT → clients.

The suite runs once per database: SQLite by default, PostgreSQL when MENTORNET_TEST_DATABASE_URL names it.
"""

from __future__ import annotations

import os
import secrets
import threading

import pytest
from werkzeug.serving import make_server

from network_service import migrations
from network_service.app import create_app
from network_service.db import db
from tests import helpers
from tests.databases import app_config, check_reachable, drop_schema, reset_schema, with_private_schema
from tests.http_client import HttpClient

TEST_DATABASE_URL = os.environ.get("MENTORNET_TEST_DATABASE_URL") or ""

# A developer's MENTORNET_* settings (a production database URL, say) must never reach the tests' apps.
for _name in [
    name for name in os.environ if name.startswith("MENTORNET_") and not name.startswith("MENTORNET_TEST_")
]:
    del os.environ[_name]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        check_reachable(TEST_DATABASE_URL)
        url = with_private_schema(TEST_DATABASE_URL, f"mentornet_test_{os.getpid()}_{secrets.token_hex(3)}")
        yield url
        drop_schema(url)
        return
    if os.environ.get("MENTORNET_TEST_REQUIRE_POSTGRES"):
        pytest.exit(
            "MENTORNET_TEST_REQUIRE_POSTGRES is set but MENTORNET_TEST_DATABASE_URL is empty", returncode=3
        )
    yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


@pytest.fixture(scope="session")
def app(database_url):
    reset_schema(database_url)
    application = create_app(app_config(database_url))
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


@pytest.fixture(autouse=True)
def _fresh_process_state(request):
    """Per-process throttles of the session-wide app start empty in every test."""
    yield
    if "app" in request.fixturenames:
        request.getfixturevalue("app").extensions.pop("mentornet.bridge.failures", None)


@pytest.fixture
def ctx(app, db_connection):
    """An application context for calling operations directly; yields the session."""
    with app.test_request_context():
        yield db.session


@pytest.fixture
def client(app, db_connection):
    return app.test_client()


@pytest.fixture(scope="session")
def app_server(app):
    """The suite's app served over HTTP on 127.0.0.1, one request at a time: its requests and the test's own
    statements take turns on the one connection a test's sessions join (``db_connection``)."""
    server = make_server("127.0.0.1", 0, app, threaded=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def http_client(app_server, db_connection):
    """Make a browser over real HTTP (tests/http_client.py) to the suite's app, inside this test's transaction."""
    return lambda: HttpClient(app_server)


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
def mentornet(app, db_connection):
    """Invoke ``mentornet ARGS...`` in-process against the test app; returns click's Result."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from network_service.cli import main

    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


@pytest.fixture
def world(run):
    """An organisation, a network with coordinator, Meta-Mentor and mentor, and a linked course."""
    return run(helpers.build_world)


@pytest.fixture
def limited_app(app, database_url):  # app: the schema exists
    """Make apps of the suite's database with the rate limits on (``overrides``: more settings); each is
    disposed of after the test."""
    apps = []

    def make(**overrides):
        application = create_app(app_config(database_url, RATELIMIT_ENABLED=True, **overrides))
        apps.append(application)
        return application

    yield make
    for application in apps:
        db.dispose(application)


@pytest.fixture
def page_cache_on(app):
    """The suite runs without the page cache (statement counts stay comparable); tests of what it keeps turn it
    on with this fixture (network_service/page_cache.py)."""
    from network_service import page_cache

    before = app.config.get("PAGE_CACHE")
    app.config["PAGE_CACHE"] = True
    with app.app_context():
        page_cache.clear()
    yield
    app.config["PAGE_CACHE"] = before
