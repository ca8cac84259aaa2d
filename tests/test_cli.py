"""The ``mentornet`` command, run against the test application and its SAVEPOINT-bound session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from network_service.accounts.models import ApiToken, Person
from network_service.cli import main
from network_service.courses.models import CompletionEvent, CompletionRule, CourseLink
from network_service.db import session
from network_service.mail.models import MailStatus
from network_service.networks.models import Membership, MembershipStatus, Network, Organisation, Role
from tests.helpers import COURSE, assert_ok, mails

MENTORNET_SCRIPT = Path(sys.prefix) / "bin" / "mentornet"


def assert_fails_cleanly(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # click's clean exit, not an escaped error


def scalar(run, query):
    return run(lambda: session.scalar(query))


def environment_without_settings(**settings: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MENTORNET_")}
    env.update(settings)
    return env


# -- people and organisations -------------------------------------------------------------------------


def test_admin_add_makes_a_new_person_site_administrator(mentornet, run):
    output = assert_ok(mentornet("admin", "add", "Admin@Example.org"))
    assert "admin@example.org is a site administrator" in output
    person = scalar(run, sa.select(Person).where(Person.email == "admin@example.org"))
    assert person.is_site_admin


def test_admin_add_with_invalid_email_fails_cleanly(mentornet, run):
    assert_fails_cleanly(mentornet("admin", "add", "not-an-address"), "valid e-mail address")
    assert scalar(run, sa.select(sa.func.count(Person.id))) == 0


def test_org_create(mentornet, run):
    output = assert_ok(mentornet("org", "create", "Caritas Palermo", "--country", "it"))
    assert "'Caritas Palermo' created" in output
    organisation = scalar(run, sa.select(Organisation).where(Organisation.name == "Caritas Palermo"))
    assert organisation.country == "IT"


def test_duplicate_org_fails_with_a_clear_message(mentornet, run):
    assert_ok(mentornet("org", "create", "Caritas Palermo"))
    assert_fails_cleanly(mentornet("org", "create", "caritas palermo"), "already exists")
    assert scalar(run, sa.select(sa.func.count(Organisation.id))) == 1


def test_network_create_with_coordinator(mentornet, run):
    assert_ok(mentornet("org", "create", "Caritas Palermo"))
    output = assert_ok(
        mentornet(
            "network",
            "create",
            "palermo",
            "--name",
            "Palermo Mentors",
            "--org",
            "caritas palermo",
            "--coordinator",
            "Lea@Example.org",
        )
    )
    assert "http://localhost/networks/palermo" in output
    membership = scalar(
        run,
        sa.select(Membership)
        .join(Network)
        .join(Person)
        .where(Network.slug == "palermo", Person.email == "lea@example.org"),
    )
    assert membership.role == Role.coordinator
    assert membership.status == MembershipStatus.active


def test_network_create_for_unknown_org_fails_cleanly(mentornet, run):
    result = mentornet(
        "network",
        "create",
        "palermo",
        "--name",
        "Palermo Mentors",
        "--org",
        "Nobody",
        "--coordinator",
        "c@example.org",
    )
    assert_fails_cleanly(result, "No organisation is called Nobody")
    assert scalar(run, sa.select(Network.id).where(Network.slug == "palermo")) is None


# -- courses -----------------------------------------------------------------------------------------------


def test_course_link_with_min_grade_rule(mentornet, run, world):
    key = "course-v1:TestOrg+ADV+2026"
    output = assert_ok(
        mentornet("course", "link", key, "--network", world.slug, "--rule", "min_grade", "--min-grade", "0.7")
    )
    assert "rule: min_grade" in output
    link = scalar(run, sa.select(CourseLink).where(CourseLink.course_key == key))
    assert (link.rule, link.min_grade, link.network_id) == (CompletionRule.min_grade, 0.7, world.network_id)


def test_course_link_changes_the_rule_of_a_linked_course(mentornet, run, world):
    assert_ok(mentornet("course", "link", COURSE, "--network", world.slug, "--rule", "certificate"))
    link = scalar(run, sa.select(CourseLink).where(CourseLink.course_key == COURSE))
    assert link.rule == CompletionRule.certificate


@pytest.mark.parametrize("grade_option", [[], ["--min-grade", "0"], ["--min-grade", "1.5"]])
def test_course_link_min_grade_rule_needs_a_grade_between_0_and_1(mentornet, run, world, grade_option):
    key = "course-v1:TestOrg+ADV+2026"
    result = mentornet("course", "link", key, "--network", world.slug, "--rule", "min_grade", *grade_option)
    assert_fails_cleanly(result, "minimum grade")
    assert scalar(run, sa.select(CourseLink).where(CourseLink.course_key == key)) is None


def test_course_link_refuses_a_min_grade_the_rule_would_ignore(mentornet, run, world):
    key = "course-v1:TestOrg+ADV+2026"
    result = mentornet("course", "link", key, "--network", world.slug, "--min-grade", "0.7")
    assert result.exit_code == 2, result.output
    assert "--min-grade only applies with --rule min_grade" in result.output
    assert scalar(run, sa.select(CourseLink).where(CourseLink.course_key == key)) is None


def test_course_link_to_unknown_network_fails_cleanly(mentornet, world):
    assert_fails_cleanly(
        mentornet("course", "link", "course-v1:X+Y+Z", "--network", "nowhere"), "no network at this address"
    )


# -- API tokens --------------------------------------------------------------------------------------------


def test_token_create_prints_a_token_that_authenticates(mentornet, client, world):
    output = assert_ok(mentornet("token", "create", "mentor@example.org", "--name", "laptop"))
    token = output.strip()
    assert "\n" not in token and len(token) >= 32
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json()["email"] == "mentor@example.org"


@pytest.mark.parametrize(
    ("email", "message"),
    [("nobody@example.org", "No person has the e-mail address"), ("not-an-address", "valid e-mail address")],
)
def test_token_create_for_unknown_or_invalid_address_fails_cleanly(mentornet, run, world, email, message):
    assert_fails_cleanly(mentornet("token", "create", email), message)
    assert scalar(run, sa.select(sa.func.count(ApiToken.id))) == 0


# -- outgoing mail and provisioning -------------------------------------------------------------------------


def test_outbox_send_delivers_the_queued_mail(mentornet, run, world):
    assert_ok(mentornet("bridge", "provision", COURSE, "grace@example.org", "--name", "Grace"))
    assert "1 e-mail(s) delivered." in assert_ok(mentornet("outbox", "send"))
    [mail] = run(lambda: mails(to="grace@example.org"))
    assert mail.status == MailStatus.sent
    assert "0 e-mail(s) delivered." in assert_ok(mentornet("outbox", "send"))


def test_bridge_provision_twice_invites_once(mentornet, run, world):
    first = assert_ok(mentornet("bridge", "provision", COURSE, "Grace@Example.org", "--name", "Grace"))
    assert "invited" in first
    second = assert_ok(mentornet("bridge", "provision", COURSE, "grace@example.org"))
    assert "nothing sent" in second
    [mail] = run(lambda: mails(to="grace@example.org"))
    assert mail.kind == "invitation"


def test_bridge_provision_with_invalid_email_fails_and_records_nothing(mentornet, run, world):
    assert_fails_cleanly(mentornet("bridge", "provision", COURSE, "grace-at-example.org"), "valid e-mail")
    assert scalar(run, sa.select(sa.func.count(CompletionEvent.id))) == 0
    assert run(lambda: mails()) == []


# -- the installed script ------------------------------------------------------------------------------------


def test_help_works_without_any_configuration(tmp_path):
    result = subprocess.run(
        [str(MENTORNET_SCRIPT), "--help"],
        env=environment_without_settings(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split("Commands:")[1].split()
    assert {"demo", "serve", "db", "bridge"} <= set(commands)


def test_db_upgrade_in_production_with_the_default_secret_fails_clearly(tmp_path):
    result = subprocess.run(
        [str(MENTORNET_SCRIPT), "db", "upgrade"],
        env=environment_without_settings(
            MENTORNET_ENV="production", MENTORNET_DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite'}"
        ),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "MENTORNET_SECRET_KEY must be set" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "prod.sqlite").exists()


@pytest.mark.parametrize("url", ["not a url", "nosuchdb://host/mentornet"])
def test_unusable_database_url_fails_with_a_clear_message(url):
    result = CliRunner().invoke(
        main,
        ["db", "upgrade"],
        env={"MENTORNET_ENV": "development", "MENTORNET_DATABASE_URL": url, "MENTORNET_SECRET_KEY": None},
    )
    assert_fails_cleanly(result, "MENTORNET_DATABASE_URL is not a database URL")


def test_network_needs_a_coordinator(mentornet):
    result = mentornet("network", "create", "solo", "--name", "Solo", "--org", "Test Org")
    assert result.exit_code == 2 and "--coordinator" in result.output


def test_course_link_acts_on_passes_that_arrived_before_it(mentornet, run, world):
    assert mentornet("bridge", "provision", "course-v1:New+N+1", "early@example.org").exit_code == 0
    result = mentornet("course", "link", "course-v1:New+N+1", "--network", "test-net")
    assert result.exit_code == 0, result.output
    assert "1 invited" in result.output
    assert len(run(lambda: mails(to="early@example.org"))) == 1
    assert "No stored event was waiting" in mentornet("bridge", "replay").output


def test_outbox_retry_requeues_failed_mail(mentornet, run, world):
    from network_service.mail.models import OutboundEmail

    mentornet("bridge", "provision", COURSE, "g@example.org")

    def fail_all():
        for mail in session.scalars(sa.select(OutboundEmail)):
            mail.status = MailStatus.failed

    run(fail_all)
    assert "1 e-mail(s) queued again" in mentornet("outbox", "retry").output
    assert "1 e-mail(s) delivered" in mentornet("outbox", "send").output


def test_commands_leave_mail_to_the_serving_processes(app, database_url):  # app: the schema exists
    import threading

    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from network_service.app import create_app
    from network_service.db import db
    from tests.databases import app_config

    def background_threads() -> set[threading.Thread]:
        return {thread for thread in threading.enumerate() if thread.name == "mentornet-background"}

    # An earlier test's served app may still be ending its thread (a starved machine): only new ones count.
    before = background_threads()
    serving_like = create_app(app_config(database_url, OUTBOX_WORKER=True))
    try:
        result = CliRunner().invoke(
            main, ["outbox", "retry"], obj=ScriptInfo(create_app=lambda: serving_like)
        )
        assert_ok(result)  # its commit leaves work for the drains
        # A thread started here would die with the command, possibly halfway through sending a mail.
        assert serving_like.extensions["mentornet.background"]._thread is None
        assert background_threads() <= before
    finally:
        db.dispose(serving_like)
