"""Periodic jobs: each runs once per period across processes, failures are recorded, operators can run them."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from click.testing import CliRunner
from flask.cli import ScriptInfo

from network_service import jobs
from network_service.cli import main
from network_service.db import session, utcnow


def _job(name, calls, every=dt.timedelta(hours=1), fail=False):
    def run():
        calls.append(name)
        if fail:
            raise RuntimeError("boom")
        return "ok"

    return jobs.Job(name, every, run)


def test_a_due_job_runs_once_until_its_period_has_passed(app, ctx):
    calls = []
    jobs.register(app, _job("test.hourly", calls))
    try:
        assert jobs.run_job(app, "test.hourly") is True
        assert jobs.run_job(app, "test.hourly") is False  # not due again yet
        run = session.get(jobs.JobRun, "test.hourly")
        run.last_started_at = utcnow() - dt.timedelta(hours=1, seconds=1)
        session.commit()
        assert jobs.run_job(app, "test.hourly") is True
        assert calls == ["test.hourly", "test.hourly"]
        assert session.get(jobs.JobRun, "test.hourly").last_outcome == "ok"
    finally:
        jobs.jobs_of(app).pop("test.hourly")


def test_a_start_a_little_before_the_period_is_over_is_taken(app, ctx):
    """Celery beat fires every period; a fire that reaches the worker half a minute sooner after the last start
    than a whole period (the queue's delay varies) must run the job, not leave it for another period."""
    calls = []
    jobs.register(app, _job("test.daily", calls, every=dt.timedelta(days=1)))
    try:
        assert jobs.run_job(app, "test.daily") is True
        run = session.get(jobs.JobRun, "test.daily")
        run.last_started_at = utcnow() - dt.timedelta(hours=12)
        session.commit()
        assert jobs.run_job(app, "test.daily") is False  # half a period: not due
        run.last_started_at = utcnow() - dt.timedelta(days=1) + dt.timedelta(seconds=30)
        session.commit()
        assert jobs.run_job(app, "test.daily") is True
        assert calls == ["test.daily", "test.daily"]
    finally:
        jobs.jobs_of(app).pop("test.daily")


def test_a_job_held_by_another_process_is_not_run_twice(app, ctx):
    calls = []
    jobs.register(app, _job("test.held", calls, every=dt.timedelta(seconds=0)))
    try:
        session.add(jobs.JobRun(name="test.held", locked_until=utcnow() + dt.timedelta(minutes=5)))
        session.commit()
        assert jobs.run_job(app, "test.held") is False and calls == []
        session.get(jobs.JobRun, "test.held").locked_until = utcnow() - dt.timedelta(
            seconds=1
        )  # lease lapsed
        session.commit()
        assert jobs.run_job(app, "test.held") is True and calls == ["test.held"]
    finally:
        jobs.jobs_of(app).pop("test.held")


def test_a_failing_job_records_the_error_and_releases_its_claim(app, ctx):
    jobs.register(app, _job("test.failing", [], fail=True))
    try:
        assert jobs.run_job(app, "test.failing") is True
        run = session.get(jobs.JobRun, "test.failing")
        assert run.last_outcome == "failed: RuntimeError: boom" and run.locked_until is None
    finally:
        jobs.jobs_of(app).pop("test.failing")


def test_reminders_are_a_registered_job(app, ctx, world):
    from network_service.networks.models import Invitation, Network
    from network_service.networks.operations import invite_person
    from tests.helpers import mails

    invitation = invite_person(session.get(Network, world.network_id), "late@example.org", actor=None)
    invitation.created_at = utcnow() - dt.timedelta(days=4)
    session.commit()
    assert "invitations.remind" in jobs.run_due_jobs(app)
    assert len(mails(to="late@example.org", kind="invitation_reminder")) == 1
    assert session.scalar(sa.select(sa.func.count(Invitation.id))) == 1


def test_operators_list_and_run_jobs(app, db_connection):
    runner = CliRunner()
    listed = runner.invoke(main, ["jobs", "list"], obj=ScriptInfo(create_app=lambda: app))
    assert (
        listed.exit_code == 0
        and "invitations.remind" in listed.output
        and "background.drain" in listed.output
    )
    ran = runner.invoke(main, ["jobs", "run", "invitations.remind"], obj=ScriptInfo(create_app=lambda: app))
    assert ran.exit_code == 0 and "0 reminder(s)" in ran.output
    unknown = runner.invoke(main, ["jobs", "run", "nope"], obj=ScriptInfo(create_app=lambda: app))
    assert unknown.exit_code == 1 and "No job is called nope" in unknown.output


def test_worker_needs_a_broker(app, db_connection):
    result = CliRunner().invoke(main, ["worker"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 1 and "MENTORNET_BROKER_URL" in result.output
