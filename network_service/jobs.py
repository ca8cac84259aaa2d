"""Periodic jobs (reminders, outbox retries, reconciliation): each runs at most once per period across every
process and host, because a run is claimed in the database first (``job_run``).

Without a broker, a daemon thread in each web process runs the due jobs; with ``MENTORNET_BROKER_URL``,
``mentornet worker`` runs them through Celery beat (see ``network_service.tasks``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from network_service.db import Base, session, utcnow

log = logging.getLogger(__name__)

EXTENSION_KEY = "mentornet.jobs"
TICK_SECONDS = 30.0
RETENTION_JOB = "privacy.retention"  # its interval bounds how long a deleted text outlives its period


class JobRun(Base):
    """When each job last ran, and who holds it now."""

    __tablename__ = "job_run"

    name: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    last_started_at: Mapped[dt.datetime | None]
    last_finished_at: Mapped[dt.datetime | None]
    last_outcome: Mapped[str] = mapped_column(sa.Text, default="")
    locked_until: Mapped[dt.datetime | None]


@dataclasses.dataclass(frozen=True)
class Job:
    name: str
    every: dt.timedelta
    run: Callable[[], Any]  # runs inside an application context; its return value is logged
    lease: dt.timedelta = dt.timedelta(minutes=30)  # a run that takes longer may be started again


def register(app: Flask, job: Job) -> None:
    app.extensions.setdefault(EXTENSION_KEY, {})[job.name] = job


def jobs_of(app: Flask) -> dict[str, Job]:
    return app.extensions.get(EXTENSION_KEY, {})


# A start this much before the period is over is taken all the same: Celery beat fires every period, and a fire
# that reaches a worker a little sooner after the last one than the one before did (the queue's delay varies)
# would otherwise be refused, and the job would wait a whole period (a daily purge two days instead of one).
EARLY_START = dt.timedelta(minutes=1)


def _early_start(every: dt.timedelta) -> dt.timedelta:
    return min(EARLY_START, every / 20)  # a minute, or a twentieth of a short period


def _claim(job: Job, now: dt.datetime) -> bool:
    if session.get(JobRun, job.name) is None:
        try:
            with session.begin_nested():
                session.add(JobRun(name=job.name, last_outcome=""))
                session.flush()
        except IntegrityError:
            pass  # another process created it a moment ago
    result = session.execute(
        sa.update(JobRun)
        .where(
            JobRun.name == job.name,
            sa.or_(JobRun.locked_until.is_(None), JobRun.locked_until < now),
            sa.or_(
                JobRun.last_started_at.is_(None),
                JobRun.last_started_at <= now - job.every + _early_start(job.every),
            ),
        )
        .values(locked_until=now + job.lease, last_started_at=now)
        .execution_options(synchronize_session="fetch")
    )
    session.commit()
    return result.rowcount == 1


def run_job(app: Flask, name: str, *, force: bool = False) -> bool:
    """Run the job ``name`` if it is due (or ``force``) and nobody else runs it. Call in an app context."""
    job = jobs_of(app)[name]
    now = utcnow()
    if force:
        session.execute(
            sa.update(JobRun)
            .where(JobRun.name == name)
            .values(last_started_at=None, locked_until=None)
            .execution_options(synchronize_session="fetch")
        )
        session.commit()
    if not _claim(job, now):
        return False
    try:
        outcome = job.run()
        session.commit()
        text = "" if outcome is None else str(outcome)
    except Exception as exc:  # a failing job must not stop the others; it is retried next period
        session.rollback()
        log.exception("job %s failed", name)
        text = f"failed: {type(exc).__name__}: {exc}"
    session.execute(
        sa.update(JobRun)
        .where(JobRun.name == name)
        .values(last_finished_at=utcnow(), locked_until=None, last_outcome=text[:2000])
        .execution_options(synchronize_session="fetch")
    )
    session.commit()
    log.info("job %s: %s", name, text or "done")
    return True


def run_due_jobs(app: Flask) -> list[str]:
    return [name for name in list(jobs_of(app)) if run_job(app, name)]


class JobScheduler:
    """The in-process runner: one daemon thread per web process, started lazily (after gunicorn's fork)."""

    def __init__(self, app: Flask):
        self.app = app
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._loop, name="mentornet-jobs", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                with self.app.app_context():
                    run_due_jobs(self.app)
            except Exception:  # e.g. the database is away: try again at the next tick
                log.exception("running periodic jobs failed")
            self._stop.wait(TICK_SECONDS)


def _core_jobs(app: Flask) -> list[Job]:
    from network_service.background import drain_all
    from network_service.meetings.operations import send_reminders as send_meeting_reminders
    from network_service.networks.operations import send_invitation_reminders
    from network_service.networks.organise import send_agreement_reminders
    from network_service.notifications.operations import prune_read, send_due_digests

    return [
        # Catches what no wake-up reached: mail retries after back-off, work left by a process that died.
        Job(
            "background.drain",
            dt.timedelta(minutes=1),
            lambda: f"{drain_all(app)} item(s) done",
            lease=dt.timedelta(minutes=15),
        ),
        Job(
            "invitations.remind", dt.timedelta(hours=1), lambda: f"{send_invitation_reminders()} reminder(s)"
        ),
        Job("notifications.digest", dt.timedelta(hours=1), lambda: f"{send_due_digests()} digest(s)"),
        Job(
            "notifications.prune", dt.timedelta(days=1), lambda: f"{prune_read()} old notification(s) deleted"
        ),
        Job("meetings.remind", dt.timedelta(minutes=5), lambda: f"{send_meeting_reminders()} reminder(s)"),
        Job("agreements.remind", dt.timedelta(hours=1), lambda: f"{send_agreement_reminders()} reminder(s)"),
        Job(RETENTION_JOB, dt.timedelta(days=1), _run_retention),
    ]


def _run_retention() -> str:
    from network_service.privacy.operations import run_retention

    return run_retention()


def init_app(app: Flask) -> None:
    for job in _core_jobs(app):
        register(app, job)
    if app.config["JOBS_IN_PROCESS"] and not app.config["BROKER_URL"]:
        scheduler = JobScheduler(app)
        app.extensions["mentornet.scheduler"] = scheduler

        @app.before_request
        def _start_scheduler():
            scheduler.ensure_started()
