"""`mentornet serve`: gunicorn with the application, and an access log that keeps no secret link."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from network_service import db, serving
from network_service.config import ConfigurationError, load_config
from network_service.serving import redact
from tests.conftest import TEST_DATABASE_URL
from tests.smtp import free_port

BIN = Path(sys.executable).parent


def test_secret_parts_of_paths_are_redacted():
    assert redact("GET /invitations/abcDEF-123_x HTTP/1.1") == "GET /invitations/[redacted] HTTP/1.1"
    assert redact("/sign-in/tok?x=1") == "/sign-in/[redacted]?x=1"
    assert redact("/bridge/openedx/events/s3cret") == "/bridge/openedx/events/[redacted]"
    # the course panel's tokens ride in the query
    assert redact("GET /embed/open?t=eyJwIjo.abc-_ HTTP/1.1") == "GET /embed/open?t=[redacted] HTTP/1.1"
    assert redact("/embed/panel?lang=de&t=abc.def&x=1") == "/embed/panel?lang=de&t=[redacted]&x=1"
    assert redact("/directory?q=t=1&type=x") == "/directory?q=t=1&type=x"  # only a parameter named t
    assert redact("t=abc.def&lang=de") == "t=[redacted]&lang=de"  # the query string alone (%(q)s)
    assert redact("/lti/link/t0ken") == "/lti/link/[redacted]"
    assert redact("/networks/berlin") == "/networks/berlin"


@pytest.mark.live
def test_serve_answers_and_its_access_log_keeps_no_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MENTORNET_") and k != "XDG_RUNTIME_DIR"}
    home = tmp_path / "home"
    home.mkdir()
    env.update(
        HOME=str(home),  # where gunicorn 25.1+ would put its control socket (~/.gunicorn/gunicorn.ctl)
        MENTORNET_ENV="development",
        MENTORNET_SECRET_KEY=secrets.token_urlsafe(32),
        MENTORNET_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite'}",
        MENTORNET_JOBS_IN_PROCESS="false",
    )
    subprocess.run([BIN / "mentornet", "db", "upgrade"], env=env, check=True, capture_output=True)
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [BIN / "mentornet", "serve", "--port", str(port), "--workers", "1"], env=env, stdout=log, stderr=log
    )
    try:
        # Booting takes a few seconds, and over 15 s on a starved machine (both suites at once on 2 cores): wait
        # generously, but no longer than the server lives.
        deadline = time.monotonic() + 120
        while True:
            try:
                assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json() == {"status": "ok"}
                break
            except (requests.ConnectionError, requests.Timeout):  # booting, or a busy machine: ask again
                alive = server.poll() is None
                assert alive and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        token = secrets.token_urlsafe(32)
        assert requests.get(f"http://127.0.0.1:{port}/invitations/{token}", timeout=60).status_code == 410
    finally:
        server.terminate()
        server.wait(60)
        log.close()
    written = (tmp_path / "serve.log").read_text()
    assert "/invitations/[redacted]" in written
    assert token not in written
    # no control socket: the server is managed with signals only, and writes nothing in the user's home
    assert list(home.iterdir()) == [] and "Control socket" not in written


def test_malloc_arenas_are_limited_unless_the_operator_chose(monkeypatch):
    from network_service import serving

    calls = []

    class FakeLibc:
        def mallopt(self, parameter, value):
            calls.append((parameter, value))
            return 1

    monkeypatch.setattr(serving.ctypes, "CDLL", lambda _name: FakeLibc())
    monkeypatch.setattr(serving.sys, "platform", "linux")
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert serving.limit_malloc_arenas() is True and calls == [(-8, 2)]
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert serving.limit_malloc_arenas() is False and len(calls) == 1


UNREACHABLE_POSTGRES = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # an engine connects only when used


def _served_app(monkeypatch, threads: int, config: dict | None = None, environ: dict | None = None):
    """What a gunicorn worker of `mentornet serve --threads N` loads (without compiling every template)."""
    monkeypatch.setattr(serving, "prepare_worker", lambda app: None)
    for key, value in (environ or {}).items():
        monkeypatch.setenv(key, value)
    server = serving._Server.__new__(serving._Server)  # gunicorn's own set-up is not needed to load
    server.options = {"threads": threads}
    server.app_config = config
    return server.load()


def _pool(app):
    return app.extensions["mentornet.db"].engine.pool


def test_a_served_worker_keeps_a_connection_for_each_thread_the_background_and_a_spare(monkeypatch):
    demo = {"DATABASE_URL": UNREACHABLE_POSTGRES, "ENV": "development"}
    assert _pool(_served_app(monkeypatch, threads=8, config=demo)).size() == 10
    assert _pool(_served_app(monkeypatch, threads=16, config=demo)).size() == 18
    # configured through the environment: the operator's setting wins over the threads
    environ = {"MENTORNET_DATABASE_URL": UNREACHABLE_POSTGRES, "MENTORNET_ENV": "development"}
    assert _pool(_served_app(monkeypatch, threads=4, environ=environ)).size() == 6
    environ["MENTORNET_DATABASE_POOL_SIZE"] = "25"
    assert _pool(_served_app(monkeypatch, threads=4, environ=environ)).size() == 25


def test_the_pool_size_must_be_a_whole_number_of_at_least_one():
    assert load_config(environ={"MENTORNET_DATABASE_POOL_SIZE": "12"})["DATABASE_POOL_SIZE"] == 12
    for wrong in ("0", "-3", "many", "true", "2.5"):
        with pytest.raises(ConfigurationError, match="MENTORNET_DATABASE_POOL_SIZE"):
            load_config(environ={"MENTORNET_DATABASE_POOL_SIZE": wrong})
    assert db.make_engine(UNREACHABLE_POSTGRES).pool.size() == db.DEFAULT_POOL_SIZE


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL: set MENTORNET_TEST_DATABASE_URL")
def test_busy_threads_keep_their_postgresql_backends():
    """Every thread of a worker busy at once, then again: the same backends serve them. A connection beyond the
    pool is closed when it is given back, and PostgreSQL starts a new backend (a process reading its catalog
    again) for the next request that needs it; with SQLAlchemy's default pool of 5, that was 3 of 8 threads."""
    engine = db.make_engine(TEST_DATABASE_URL, pool_size=db.pool_size_for(8))
    try:
        rounds = []
        for _round in range(3):
            connections = [engine.connect() for _ in range(8 + 1)]  # 8 request threads and the background
            rounds.append({c.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() for c in connections})
            for connection in connections:
                connection.close()
        assert len(rounds[0]) == 9
        assert rounds[1] == rounds[0] and rounds[2] == rounds[0]
    finally:
        engine.dispose()


def test_a_prepared_worker_has_every_template_compiled_and_its_objects_frozen(tmp_path):
    """In a process of its own: gc.freeze() would keep this test process's objects out of the collector too."""
    script = f"""
import gc
from network_service.app import create_app
from network_service.serving import prepare_worker
app = create_app({{"DATABASE_URL": "sqlite:///{tmp_path / "w.sqlite"}", "ENV": "development"}}, use_environment=False)
assert gc.get_freeze_count() == 0
prepare_worker(app)
environment = app.jinja_env
names = environment.list_templates()
compiled = {{key[1] for key in environment.cache.keys()}} if environment.cache is not None else set()
print(len(names), len(set(names) - compiled), gc.get_freeze_count(), len(gc.get_objects()))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MENTORNET_")}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    templates, not_compiled, frozen, left = (int(n) for n in done.stdout.split())
    assert templates > 100 and not_compiled == 0
    # what the collector still walks is what was made after the freeze: a small part of what the worker holds
    assert frozen > 100_000 and left < frozen / 10
