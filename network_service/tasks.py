"""Celery, when ``MENTORNET_BROKER_URL`` is set: the background drains (completions, mail) right after a commit, and the periodic jobs
on Celery beat. The work itself is always recorded in the database first, so a broker outage delays it and
loses nothing (the web process falls back to its own outbox thread).

Imported only when a broker is configured: Celery is an optional dependency (the ``celery`` extra).
"""

from __future__ import annotations

import logging
import threading
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
    # The application itself, not ``current_app``: a worker's threads run the tasks outside any context, and a
    # proxy captured below would have no application to give them (`mentornet worker` passed one until session 9).
    app = app._get_current_object() if hasattr(app, "_get_current_object") else app
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
        # a broker that accepts connections and never answers (a hung host) must not hang the request that
        # publishes: give up after 3 s (publish_drain then falls back to the web process's own thread)
        broker_transport_options={"socket_timeout": 3, "socket_connect_timeout": 3},
        task_default_queue=app.config["CELERY_QUEUE"],
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

    As the in-process thread does (``background.BATCH_SECONDS``), a stream of commits is drained in batches: the
    first task after a quiet time runs at once; a commit within ``BATCH_SECONDS`` of it sends one task due when
    that time is over, and further commits until then send nothing (that task, due after their commit, drains
    their work too). A lost task, or one a worker with its clock ahead ran early, is made up by the next
    commit's task or the ``background.drain`` job (every minute).

    After a failure the broker is not asked again for ``BROKER_RETRY_SECONDS``, so an outage costs one slow
    request per half minute rather than every request a connection timeout.
    """
    from network_service.background import BATCH_SECONDS

    state = app.extensions.setdefault(
        "mentornet.broker", {"down_until": 0.0, "sent_for": -BATCH_SECONDS, "lock": threading.Lock()}
    )
    with state["lock"]:
        now = time.monotonic()
        if now < state["down_until"]:
            return False
        if state["sent_for"] > now:
            return True  # a task due later will drain this commit's work as well
        due = max(now, state["sent_for"] + BATCH_SECONDS)
        try:
            celery_for(app).send_task(DRAIN, retry=False, countdown=(due - now) if due > now else None)
        except Exception as exc:
            # the broker is down: the caller falls back, the mail is safe in the database
            state["down_until"] = now + BROKER_RETRY_SECONDS
            log.warning("broker unreachable, delivering in-process for %ss: %s", BROKER_RETRY_SECONDS, exc)
            return False
        state["sent_for"] = due
    return True
