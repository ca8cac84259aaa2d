"""Celery, when ``MENTORNET_BROKER_URL`` is set: the background drains (completions, mail) right after a commit, and the periodic jobs
on Celery beat. The work itself is always recorded in the database first, so a broker outage delays it and
loses nothing (the web process falls back to its own outbox thread).

Imported only when a broker is configured: Celery is an optional dependency (the ``celery`` extra).
"""

from __future__ import annotations

import logging
import time

from celery import Celery
from flask import Flask

from network_service import jobs

log = logging.getLogger(__name__)

EXTENSION_KEY = "mentornet.celery"
DRAIN = "mentornet.drain"
RUN_JOB = "mentornet.run_job"


def celery_for(app: Flask) -> Celery:
    """The application's Celery app, created once; its tasks run inside an app context."""
    existing = app.extensions.get(EXTENSION_KEY)
    if existing is not None:
        return existing
    celery = Celery("mentornet", broker=app.config["BROKER_URL"], set_as_current=False)
    celery.conf.update(
        task_ignore_result=True,
        task_acks_late=True,  # a worker that dies mid-task leaves it for another
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        task_default_queue=app.config.get("CELERY_QUEUE", "mentornet"),
        beat_schedule={
            job.name: {"task": RUN_JOB, "schedule": job.every.total_seconds(), "args": (job.name,)}
            for job in jobs.jobs_of(app).values()
        },
    )

    # shared=False: each Flask app (tests make several) keeps tasks bound to itself
    @celery.task(name=DRAIN, shared=False)
    def drain() -> int:
        from network_service.background import drain_all

        with app.app_context():
            return drain_all(app)

    @celery.task(name=RUN_JOB, shared=False)
    def run_job(name: str) -> bool:
        with app.app_context():
            return jobs.run_job(app, name)

    app.extensions[EXTENSION_KEY] = celery
    return celery


BROKER_RETRY_SECONDS = 30.0


def publish_drain(app: Flask) -> bool:
    """Ask a worker to do the work just committed (completions, mail); False when the broker cannot be reached.

    After a failure the broker is not asked again for ``BROKER_RETRY_SECONDS``, so an outage costs one slow
    request per half minute rather than every request a connection timeout.
    """
    state = app.extensions.setdefault("mentornet.broker", {"down_until": 0.0})
    if time.monotonic() < state["down_until"]:
        return False
    try:
        celery_for(app).send_task(DRAIN, retry=False)
    except Exception as exc:  # the broker is down: the caller falls back, the mail is safe in the database
        state["down_until"] = time.monotonic() + BROKER_RETRY_SECONDS
        log.warning("broker unreachable, delivering in-process for %ss: %s", BROKER_RETRY_SECONDS, exc)
        return False
    return True
