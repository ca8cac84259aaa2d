"""The provisioning benchmark's baseline: a bare endpoint on the same server doing one INSERT per request.

A plain WSGI callable (no Flask, no signature check, no JSON parsing): ``POST`` anything stores the raw body as
one row of its own table and answers ``202 {"id": <row id>}``; ``GET /healthz`` answers 200 without touching
the database. It is the ceiling for a request that writes to the database on this machine.

Run it as ``python bench/bare_app.py --host H --port P --workers W --threads T`` with
``MENTORNET_DATABASE_URL`` set: it is served by ``network_service.serving.run_gunicorn`` itself, with the same
gunicorn options as `mentornet serve` (gthread workers, access log, timeouts), and talks to the database through
an engine from ``network_service.db.make_engine`` (the same pool and, on SQLite, the same pragmas and
``BEGIN IMMEDIATE``). Create the table first with ``create_table`` (the workers do not race to create it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import sqlalchemy as sa

# Run as a script from anywhere: the repository on the path, like bench/run.py has it through the venv install.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from network_service.db import make_engine  # noqa: E402

metadata = sa.MetaData()
TABLE = sa.Table(
    "bench_bare_insert",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
)


def create_table(url: str) -> None:
    engine = make_engine(url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()


def count_rows(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(TABLE)).scalar_one()
    finally:
        engine.dispose()


class BareApp:
    def __init__(self, url: str):
        self.engine = make_engine(url)

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if method == "GET" and path == "/healthz":
            return self._answer(start_response, "200 OK", {"status": "ok"})
        if method != "POST":
            return self._answer(start_response, "405 Method Not Allowed", {"status": "POST only"})
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        with self.engine.begin() as conn:
            row_id = conn.execute(TABLE.insert().values(body=body.decode("utf-8"))).inserted_primary_key[0]
        return self._answer(start_response, "202 Accepted", {"id": row_id})

    @staticmethod
    def _answer(start_response, status: str, document: dict):
        body = json.dumps(document).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    url = os.environ["MENTORNET_DATABASE_URL"]

    from network_service import serving

    class _BareServer(serving._Server):
        def load(self):  # in each worker after the fork, as `mentornet serve` creates its application
            return BareApp(url)

    # run_gunicorn builds its options itself: serving it through that very function keeps them identical.
    serving._Server = _BareServer
    serving.run_gunicorn(args.host, args.port, args.workers, args.threads)


if __name__ == "__main__":
    main()
