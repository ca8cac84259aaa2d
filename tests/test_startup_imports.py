"""What a web worker holds before its first request: no module that only rare requests or other commands need.

Whatever a gunicorn worker imports at start-up, or inherits from the master it is forked from, stays in its memory
for its whole life (issue 9's target: 150 MB per worker after the load run; docs/performance.md, session 12).
Each check runs in a fresh interpreter: this one has imported everything already.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent

# Imported by the requests (or the commands) that use them, never by a worker's start-up.
NOT_AT_START_UP = {
    "icalendar": "the .ics feeds (meetings/ical.py)",
    "alembic": "`mentornet db ...` and the schema check of `mentornet serve`, in a child process",
    "mako": "Alembic's templates",
    "celery": "the first task a worker publishes (network_service/tasks.py)",
    "network_service.language_spellings": "the members filter (languages.py)",
}

# As a gunicorn worker of `mentornet serve` loads the application (serving._Server.load), without gunicorn.
WORKER = """
import json, sys
from network_service import serving
server = serving._Server.__new__(serving._Server)
server.options = {"threads": 8}
server.app_config = None
server.load()
print(json.dumps(sorted(sys.modules)))
"""

# `mentornet serve` up to the moment gunicorn would fork the workers: what the master holds then.
SERVE_MASTER = """
import gc, json, sys
from flask import Flask
from network_service import cli, serving

def fork_the_workers(*args, **kwargs):
    applications = sum(1 for thing in gc.get_objects() if isinstance(thing, Flask))
    print(json.dumps({"modules": sorted(sys.modules), "applications": applications}))

serving.run_gunicorn = fork_the_workers
cli.main(["serve"])
"""


def _environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MENTORNET_")}
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        MENTORNET_ENV="development",
        MENTORNET_SECRET_KEY=secrets.token_urlsafe(32),
        MENTORNET_DATABASE_URL=f"sqlite:///{tmp_path / 'startup.sqlite'}",
        MENTORNET_JOBS_IN_PROCESS="false",
        **settings,
    )
    return env


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _imported(modules, names=NOT_AT_START_UP) -> dict[str, str]:
    loaded = set(modules)
    return {name: why for name, why in names.items() if name in loaded}


def test_a_web_worker_starts_without_the_modules_of_rare_requests(tmp_path):
    # as in production: rate limits in Redis and a Celery broker (neither is reached while the application loads)
    env = _environment(
        tmp_path,
        MENTORNET_BROKER_URL="redis://127.0.0.1:1/0",
        MENTORNET_RATELIMIT_ENABLED="true",
        MENTORNET_RATELIMIT_STORAGE_URL="redis://127.0.0.1:1/0",
    )
    result = _run(WORKER, env)
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout.splitlines()[-1])
    assert "network_service.app" in modules  # the application was loaded
    assert _imported(modules) == {}


def test_the_serve_master_forks_its_workers_without_an_application_or_alembic(tmp_path):
    env = _environment(tmp_path)
    behind = _run(SERVE_MASTER, env)
    assert behind.returncode == 1
    assert "The database schema is not up to date: run `mentornet db upgrade` first." in behind.stderr
    assert "applications" not in behind.stdout  # refused before gunicorn

    upgraded = subprocess.run(  # noqa: S603 - the installed command
        [BIN / "mentornet", "db", "upgrade"], env=env, capture_output=True, text=True, check=False
    )
    assert upgraded.returncode == 0, upgraded.stderr
    result = _run(SERVE_MASTER, env)
    assert result.returncode == 0, result.stderr
    master = json.loads(result.stdout.splitlines()[-1])
    assert master["applications"] == 0  # the one that checked the settings was let go
    assert "network_service.app" in master["modules"]
    assert _imported(master["modules"]) == {}
