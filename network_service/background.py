"""Work that a request commits to the database and that is done right after it, outside the request: acting on
received completion events, then delivering e-mail ("drains", run in the order they were added).

Without a broker, one daemon thread per web process runs the drains; it wakes when a transaction that left work
commits, and every ``POLL_SECONDS`` to pick up retries. After a pass that did something it pauses
``BATCH_SECONDS``: what requests commit meanwhile is done together in the next pass. Work after a quiet time is
done at once; under a stream of completion events, each pass invites a batch of graduates in one transaction
instead of one or two per pass, and the shared caches of every page (which such a transaction invalidates:
``page_cache``, the ``structure`` domain) are rebuilt about once a second instead of 15 times
(docs/performance.md). With ``MENTORNET_BROKER_URL`` a Celery task runs them (see ``network_service.tasks``,
batched the same way), and the thread is only the fallback when the broker cannot be reached. Several processes
may drain at once: each piece of work is claimed in the database first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask, current_app, has_app_context, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from network_service.db import session as db_session

log = logging.getLogger(__name__)

POLL_SECONDS = 30.0
# The pause after a pass that did work: an invitation or a mail goes out at most this much later.
BATCH_SECONDS = 1.0
EXTENSION_KEY = "mentornet.background"
DRAINS_KEY = "mentornet.drains"
_WAKE_KEY = "mentornet.wake"


def add_drain(app: Flask, name: str, drain: Callable[[], int]) -> None:
    """``drain()`` does a batch of waiting work and returns how much; it is called until it returns 0."""
    app.extensions.setdefault(DRAINS_KEY, {})[name] = drain


def drain_all(app: Flask) -> int:
    """Run every drain until nothing is left; call inside an application context."""
    total = 0
    for name, drain in list(app.extensions.get(DRAINS_KEY, {}).items()):
        while done := drain():
            total += done
            log.debug("drain %s did %s", name, done)
    return total


def wake_after_commit() -> None:
    """Mark the current transaction as leaving work behind: the drains run once it commits."""
    db_session.info[_WAKE_KEY] = True


class BackgroundWorker:
    def __init__(self, app: Flask):
        self.app = app
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def notify(self) -> None:
        self.ensure_started()
        self._wake.set()

    def ensure_started(self) -> None:
        # Started lazily so that a gunicorn worker starts its own thread after the fork.
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="mentornet-background", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            done = 0
            try:
                with self.app.app_context():
                    done = drain_all(self.app)
            except Exception:  # the thread must survive a database or programming error and try again later
                log.exception("background work failed")
            if done:
                # Work that arrives meanwhile waits for one batch instead of a pass of its own each.
                self._stop.wait(BATCH_SECONDS)
            self._wake.wait(POLL_SECONDS)


def _after_commit(session: Session) -> None:
    # Releasing a SAVEPOINT fires after_commit too; the work is visible to others only after the outermost commit.
    if session.in_nested_transaction() or not session.info.pop(_WAKE_KEY, False) or not has_app_context():
        return
    app = current_app._get_current_object()
    if app.config["BROKER_URL"]:
        from network_service.tasks import publish_drain

        if publish_drain(app):
            return
    # Only a serving process keeps the thread alive; a command would exit under it (a mail half sent). The
    # work waits in the database for a web process's drain job or `mentornet jobs run background.drain`.
    worker = app.extensions.get(EXTENSION_KEY)
    if worker is not None and has_request_context():
        worker.notify()


def init_app(app: Flask) -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
    if app.config["OUTBOX_WORKER"]:
        worker = BackgroundWorker(app)
        app.extensions[EXTENSION_KEY] = worker
        if not app.config["BROKER_URL"]:

            @app.before_request
            def _start_background_worker():
                worker.ensure_started()
