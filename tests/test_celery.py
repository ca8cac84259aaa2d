"""With MENTORNET_BROKER_URL: a real Celery worker on the local Redis delivers mail and runs the jobs; with the
broker down, nothing is lost."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from celery.contrib.testing.worker import start_worker

from network_service import background
from network_service.db import session
from network_service.jobs import JobRun
from network_service.tasks import DRAIN, RUN_JOB, celery_for
from tests import bridge_payloads as payloads
from tests.live import live_service
from tests.test_cli import MENTORNET_SCRIPT, environment_without_settings

pytestmark = pytest.mark.live

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def celery_live(tmp_path):
    # A queue of its own, so no other worker on this Redis takes our tasks.
    with live_service(tmp_path, BROKER_URL=REDIS, CELERY_QUEUE=f"mentornet-test-{uuid.uuid4().hex}") as live:
        celery = celery_for(live.app)
        celery.conf.worker_hijack_root_logger = False  # leave the test run's logging (caplog) alone
        root_level = logging.getLogger().level  # start_worker sets the root logger to its own level
        try:
            with start_worker(
                celery, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=10
            ):
                yield live
        finally:
            logging.getLogger().setLevel(root_level)


def test_a_celery_worker_delivers_the_invitation(celery_live):
    assert payloads.post_signed(celery_live.base_url, payloads.passing_status()).status_code == 202
    [message] = celery_live.smtp.inbox.wait_for(1)
    assert message["To"] == "grace@example.org"
    # The web process's own delivery thread was never needed.
    assert celery_live.app.extensions["mentornet.background"]._thread is None


def test_the_worker_runs_periodic_jobs_sent_by_beat(celery_live):
    celery = celery_for(celery_live.app)
    assert {"invitations.remind", "background.drain"} <= set(celery.conf.beat_schedule)
    celery.send_task(RUN_JOB, args=("invitations.remind",))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with celery_live.app.app_context():
            run = session.get(JobRun, "invitations.remind")
            if run is not None and run.last_finished_at is not None:
                assert run.last_outcome == "0 reminder(s)"
                return
        time.sleep(0.1)
    raise AssertionError("the worker did not run the job")


def test_with_the_broker_down_mail_goes_out_from_the_web_process(tmp_path):
    with live_service(tmp_path, BROKER_URL="redis://127.0.0.1:1/0") as live:
        started = time.monotonic()
        assert payloads.post_signed(live.base_url, payloads.passing_status()).status_code == 202
        assert time.monotonic() - started < 20  # the request does not hang on the broker
        outage = live.app.extensions["mentornet.broker"]["down_until"]
        assert outage > time.monotonic()  # the outage is remembered ...
        assert (
            payloads.post_signed(
                live.base_url, payloads.passing_status(email="second@example.org")
            ).status_code
            == 202
        )
        # ... so the second request did not try the broker again (a new failure would have moved the mark).
        assert live.app.extensions["mentornet.broker"]["down_until"] == outage
        messages = live.smtp.inbox.wait_for(2)
        assert sorted(m["To"] for m in messages) == ["grace@example.org", "second@example.org"]
        with live.app.app_context():
            from network_service.mail.models import MailStatus, OutboundEmail

            # The SMTP server has the mails before their rows say "sent": wait for that commit too.
            deadline = time.monotonic() + 60
            while session.scalars(sa.select(OutboundEmail.status)).all() != [MailStatus.sent] * 2:
                assert time.monotonic() < deadline, "mails not marked sent within 60 s"
                session.rollback()
                time.sleep(0.05)
            assert session.scalars(sa.select(OutboundEmail.status)).all() == [MailStatus.sent] * 2


def test_a_stream_of_commits_is_drained_in_batches_not_a_task_each(celery_live, monkeypatch):
    celery = celery_for(celery_live.app)
    sent = []
    real_send = celery.send_task

    def spy(name, *args, **kwargs):
        if name == DRAIN:
            sent.append(kwargs.get("countdown"))
        return real_send(name, *args, **kwargs)

    monkeypatch.setattr(celery, "send_task", spy)
    # A longer batch interval than the 1 s in production: six posts take well under a second, but on a starved
    # machine (both suites at once on 2 cores) one of them may take a second or more and start a new batch.
    batch_seconds = 3.0
    monkeypatch.setattr(background, "BATCH_SECONDS", batch_seconds)
    emails = [f"graduate{n}@example.org" for n in range(6)]
    for email in emails:
        response = payloads.post_signed(celery_live.base_url, payloads.passing_status(email=email))
        assert response.status_code == 202
    messages = celery_live.smtp.inbox.wait_for(len(emails))
    assert sorted(m["To"] for m in messages) == emails
    # the first commit after a quiet time is drained at once; the next ones wait for a task due when the batch
    # interval is over (on a very slow machine a few more tasks, still not one each)
    assert sent[0] is None
    assert 2 <= len(sent) < len(emails)
    assert all(countdown is not None and 0 < countdown <= batch_seconds for countdown in sent[1:])
    assert celery_live.app.extensions["mentornet.background"]._thread is None


def test_the_mentornet_worker_command_delivers_the_invitation(tmp_path):
    """`mentornet worker` as an operator runs it: a process of its own, set up by MENTORNET_* variables. Found by
    bench/load.py --production: the command gave its tasks `current_app`, which the worker's threads do not
    have, so every task failed ("Working outside of application context") and no pass was ever acted on."""
    queue = f"mentornet-test-{uuid.uuid4().hex}"
    with live_service(tmp_path, BROKER_URL=REDIS, CELERY_QUEUE=queue) as live:
        environment = environment_without_settings(
            MENTORNET_ENV="development",
            MENTORNET_SECRET_KEY=live.app.config["SECRET_KEY"],
            MENTORNET_DATABASE_URL=live.app.config["DATABASE_URL"],
            MENTORNET_BASE_URL=live.base_url,
            MENTORNET_SMTP_URL=live.smtp.url,
            MENTORNET_DEMO_MAILBOX="false",
            MENTORNET_BROKER_URL=REDIS,
            MENTORNET_CELERY_QUEUE=queue,
        )
        log = tmp_path / "worker.log"
        with log.open("wb") as output:
            worker = subprocess.Popen(  # noqa: S603 - our own command
                [str(MENTORNET_SCRIPT), "worker", "--concurrency", "1", "--no-beat"],
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            assert payloads.post_signed(live.base_url, payloads.passing_status()).status_code == 202
            try:
                [message] = live.smtp.inbox.wait_for(1, timeout=45)
            except AssertionError:
                raise AssertionError(log.read_text(errors="replace")[-3000:]) from None
            assert message["To"] == "grace@example.org"
            assert live.app.extensions["mentornet.background"]._thread is None  # the worker did it
            # every thread of the worker runs at a lower CPU priority than this test (--nice, default 10)
            expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
            assert _thread_nice_values(worker.pid) == {expected}
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)


def _thread_nice_values(pid: int) -> set[int]:
    """The nice values of every thread of process ``pid`` (on Linux each thread has its own)."""
    values = set()
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        fields = stat.read_text().rpartition(")")[2].split()
        values.add(int(fields[16]))  # field 19 of proc(5); fields[0] is field 3
    return values
