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

from network_service.serving import redact
from tests.smtp import free_port

BIN = Path(sys.executable).parent


def test_secret_parts_of_paths_are_redacted():
    assert redact("GET /invitations/abcDEF-123_x HTTP/1.1") == "GET /invitations/[redacted] HTTP/1.1"
    assert redact("/sign-in/tok?x=1") == "/sign-in/[redacted]?x=1"
    assert redact("/bridge/openedx/events/s3cret") == "/bridge/openedx/events/[redacted]"
    assert redact("/lti/link/t0ken") == "/lti/link/[redacted]"
    assert redact("/networks/berlin") == "/networks/berlin"


@pytest.mark.live
def test_serve_answers_and_its_access_log_keeps_no_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MENTORNET_")}
    env.update(
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
        deadline = time.monotonic() + 30
        while True:
            try:
                assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json() == {"status": "ok"}
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        token = secrets.token_urlsafe(32)
        assert requests.get(f"http://127.0.0.1:{port}/invitations/{token}", timeout=5).status_code == 410
    finally:
        server.terminate()
        server.wait(15)
        log.close()
    written = (tmp_path / "serve.log").read_text()
    assert "/invitations/[redacted]" in written
    assert token not in written


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
