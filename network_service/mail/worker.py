"""In-process outbox delivery for the embedded deployment: one daemon thread per web process.

It wakes when a transaction that queued mail commits, and every ``POLL_SECONDS`` to retry what failed. Several
processes may run it at once: each mail is claimed atomically before it is sent (``operations._claim``).
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from network_service.mail.operations import deliver_due

log = logging.getLogger(__name__)

POLL_SECONDS = 30.0
EXTENSION_KEY = "mentornet.outbox"


class OutboxWorker:
    def __init__(self, app: Flask):
        self.app = app
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def notify(self) -> None:
        self._ensure_started()
        self._wake.set()

    def _ensure_started(self) -> None:
        # Started lazily so that a gunicorn worker starts its own thread after the fork.
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="mentornet-outbox", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self.app.app_context():
                    while deliver_due() and not self._stop.is_set():
                        pass
            except Exception:  # the thread must survive a database or programming error and try again later
                log.exception("outbox delivery failed")
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()


def _after_commit(session: Session) -> None:
    # Releasing a SAVEPOINT fires after_commit too; the mail is visible to others only after the outermost commit.
    if session.in_nested_transaction() or not session.info.pop("mail_queued", False) or not has_app_context():
        return
    app = current_app._get_current_object()
    if app.config["BROKER_URL"]:
        from network_service.tasks import publish_outbox_delivery

        if publish_outbox_delivery(app):
            return
    worker = app.extensions.get(EXTENSION_KEY)
    if worker is not None:
        worker.notify()


def init_app(app: Flask) -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
    if app.config["OUTBOX_WORKER"]:
        # With a broker, Celery workers deliver; this thread is then only the fallback for a broker outage
        # and starts when it is first needed.
        worker = OutboxWorker(app)
        app.extensions[EXTENSION_KEY] = worker
        if not app.config["BROKER_URL"]:

            @app.before_request
            def _start_outbox_worker():
                worker._ensure_started()
