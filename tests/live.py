"""A separate application on its own database, served over real HTTP on 127.0.0.1, with a real SMTP server."""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flask import Flask
from werkzeug.serving import make_server

from network_service import migrations
from network_service.app import create_app
from network_service.db import db, session
from tests import helpers
from tests.conftest import TEST_DATABASE_URL
from tests.databases import app_config, drop_schema, reset_schema, with_private_schema
from tests.smtp import SmtpServer


@dataclass
class Live:
    app: Flask
    base_url: str
    smtp: SmtpServer


@contextlib.contextmanager
def live_service(
    tmp_path, *, smtp_running: bool = True, database_url_via: Callable[[str], str] | None = None, **config
) -> Iterator[Live]:
    """``database_url_via`` turns the database URL into the one the app uses (e.g. through a fault proxy)."""
    if TEST_DATABASE_URL:
        url = with_private_schema(TEST_DATABASE_URL, f"mentornet_live_{os.getpid()}_{secrets.token_hex(3)}")
        reset_schema(url)
    else:
        url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    smtp = SmtpServer()
    if smtp_running:
        smtp.start()
    http = make_server("127.0.0.1", 0, None, threaded=True)  # bound first, so BASE_URL knows the port
    base_url = f"http://127.0.0.1:{http.server_port}"
    settings = {
        "SMTP_URL": smtp.url,
        "OUTBOX_WORKER": True,
        "BASE_URL": base_url,
        "DEMO_MAILBOX": False,
        **config,
    }
    app = create_app(app_config(database_url_via(url) if database_url_via else url, **settings))
    http.app = app
    with app.app_context():
        migrations.upgrade(app)
        session.commit()
        helpers.build_world()
        session.commit()
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield Live(app, base_url, smtp)
    finally:
        http.shutdown()
        worker = app.extensions.get("mentornet.background")  # absent when OUTBOX_WORKER=False
        if worker is not None:
            worker.stop(timeout=60)  # as soon as its pass is over; a starved machine may take more than 5 s
        smtp.stop()
        db.dispose(app)
        if TEST_DATABASE_URL:
            drop_schema(url)
