"""The ``mentornet`` command: operate a deployment without the UI."""

from __future__ import annotations

import gc
import os
import sys
import traceback

import click
from flask import current_app
from flask.cli import ScriptInfo, with_appcontext

from network_service.db import session


def _create_app():
    from sqlalchemy.exc import ArgumentError

    from network_service.app import create_app
    from network_service.config import ConfigurationError

    try:
        return create_app()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
    except ArgumentError as exc:  # raised while the engine is made, before anything connects
        raise click.ClickException(
            f"MENTORNET_DATABASE_URL is not a database URL SQLAlchemy can use ({exc}); for example "
            "postgresql+psycopg://user:password@host/mentornet or sqlite:////var/lib/mentornet/mentornet.sqlite"
        ) from exc


class _MentorNetGroup(click.Group):
    """Commands load the application only when they run, so --help works before anything is configured."""

    def make_context(self, info_name, args, parent=None, **extra):
        extra.setdefault(
            "obj", ScriptInfo(create_app=_create_app, set_debug_flag=False, load_dotenv_defaults=False)
        )
        return super().make_context(info_name, args, parent=parent, **extra)


@click.group(cls=_MentorNetGroup)
@click.version_option(package_name="mentornet")
def main():
    """mentorNET: networks of volunteer mentors, grown from MOOC graduates.

    Settings come from MENTORNET_* environment variables (see docs/configuration.md).
    """


def _add_plugin_commands() -> None:
    from importlib.metadata import entry_points

    from network_service.app import PLUGIN_GROUP

    for entry_point in entry_points(group=PLUGIN_GROUP):
        plugin = entry_point.load()
        commands = getattr(plugin, "cli_commands", None)
        if commands is None:  # a plugin with a single group
            command = getattr(plugin, "cli", None)
            commands = [command] if command is not None else []
        for command in commands:
            main.add_command(command)


def _fail(message: str) -> None:
    session.rollback()
    raise click.ClickException(message)


def _run(operation, *args, **kwargs):
    """Run an operation and commit, turning domain errors into a clear message and exit status 1."""
    from network_service.errors import MentorNetError

    try:
        result = operation(*args, **kwargs)
        session.commit()
        return result
    except MentorNetError as exc:
        _fail(exc.detail)


# -- database --------------------------------------------------------------------------------------------


@main.group()
def db():
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
@with_appcontext
def db_upgrade(revision):
    """Create or upgrade the database schema."""
    from network_service import migrations

    migrations.upgrade(current_app, revision)
    click.echo("Database is up to date.")


@db.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision):
    """Return the schema to REVISION (for example -1 or base)."""
    from network_service import migrations

    migrations.downgrade(current_app, revision)
    click.echo(f"Database downgraded to {revision}.")


# -- people and organisations -------------------------------------------------------------------------


@main.group()
def admin():
    """Site administrators."""


@admin.command("add")
@click.argument("email")
@with_appcontext
def admin_add(email):
    """Make EMAIL a site administrator (creating the person when needed)."""
    from network_service.accounts.operations import add_site_admin

    person = _run(add_site_admin, email)
    click.echo(f"{person.email} is a site administrator. Sign in at {current_app.config['BASE_URL']}/sign-in")


@main.group()
def org():
    """Organisations."""


@org.command("create")
@click.argument("name")
@click.option("--country", help="Two-letter country code, e.g. DE.")
@with_appcontext
def org_create(name, country):
    """Create the organisation NAME."""
    from network_service.networks.operations import create_organisation

    organisation = _run(create_organisation, name, country)
    click.echo(f"Organisation {organisation.name!r} created (id {organisation.id}).")


@main.group()
def network():
    """Networks."""


@network.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The network's name.")
@click.option("--org", "org_name", required=True, help="Name of the founding organisation.")
@click.option(
    "--coordinator", required=True, help="E-mail of the coordinator, who becomes an active member at once."
)
@with_appcontext
def network_create(slug, name, org_name, coordinator):
    """Create a network at address SLUG."""
    from network_service.accounts.operations import get_or_create_person
    from network_service.networks.operations import create_network, get_organisation_by_name

    def create():
        organisation = get_organisation_by_name(org_name)
        return create_network(slug, name, organisation, coordinator=get_or_create_person(coordinator)[0])

    created = _run(create)
    click.echo(f"Network {created.name!r} created: {current_app.config['BASE_URL']}/networks/{created.slug}")


@main.group()
def course():
    """Courses whose graduates join a network."""


@course.command("link")
@click.argument("course_key")
@click.option("--network", "slug", required=True, help="Address (slug) of the network.")
@click.option(
    "--rule",
    type=click.Choice(["passed", "certificate", "min_grade"]),
    default="passed",
    show_default=True,
    help="What counts as completing the course.",
)
@click.option("--min-grade", type=float, help="With --rule min_grade: the grade from 0 to 1.")
@click.option("--title", default="", help="The course's title, shown to coordinators.")
@click.option(
    "--replay/--no-replay",
    default=True,
    show_default=True,
    help="Invite the graduates whose passes arrived before the course was linked.",
)
@with_appcontext
def course_link(course_key, slug, rule, min_grade, title, replay):
    """Invite the graduates of COURSE_KEY into a network."""
    from network_service.courses.models import CompletionRule
    from network_service.courses.operations import link_course, replay_completions
    from network_service.networks.operations import get_network

    if min_grade is not None and rule != CompletionRule.min_grade.value:
        # otherwise the grade would be dropped and every pass would count
        raise click.UsageError("--min-grade only applies with --rule min_grade.")

    def link():
        return link_course(
            course_key,
            get_network(slug),
            actor=None,
            rule=CompletionRule(rule),
            min_grade=min_grade,
            title=title,
        )

    created = _run(link)
    click.echo(f"Graduates of {created.course_key} are invited into {created.network.name} (rule: {rule}).")
    if replay:
        outcomes = _run(replay_completions, created.course_key)
        if outcomes:
            summary = ", ".join(f"{count} {status}" for status, count in sorted(outcomes.items()))
            click.echo(f"Passes stored before the link was made, acted on now: {summary}.")


@main.group()
def token():
    """API tokens."""


@token.command("create")
@click.argument("email")
@click.option("--name", default="API token", show_default=True)
@with_appcontext
def token_create(email, name):
    """Create an API token for EMAIL; it is shown once."""
    from network_service.accounts.operations import create_api_token, find_person_by_email
    from network_service.errors import NotFound

    def create():
        # inside _run: an address that is not valid at all is a clear message too, not a traceback
        person = find_person_by_email(email)
        if person is None:
            raise NotFound(f"No person has the e-mail address {email}.", field="email")
        return create_api_token(person, name)

    _api_token, secret = _run(create)
    click.echo(secret)


def _token_owner(email: str):
    from network_service.accounts.operations import find_person_by_email
    from network_service.errors import NotFound

    person = find_person_by_email(email)
    if person is None:
        raise NotFound(f"No person has the e-mail address {email}.", field="email")
    return person


@token.command("list")
@click.argument("email")
@click.option("--revoked", is_flag=True, help="Also list the tokens that were revoked.")
@with_appcontext
def token_list(email, revoked):
    """List EMAIL's API tokens: id, name, created, last used (never the secret, which is not stored)."""
    from network_service.accounts.operations import list_api_tokens

    tokens = _run(lambda: list_api_tokens(_token_owner(email), revoked=revoked))
    if not tokens:
        click.echo("No API tokens.")
    for api_token in tokens:
        used = api_token.last_used_at.isoformat(timespec="minutes") if api_token.last_used_at else "never"
        line = (
            f"{api_token.id}\t{api_token.name}\tcreated {api_token.created_at.isoformat(timespec='minutes')}"
        )
        line += f"\tlast used {used}"
        if api_token.revoked_at is not None:
            line += f"\trevoked {api_token.revoked_at.isoformat(timespec='minutes')}"
        click.echo(line)


@token.command("revoke")
@click.argument("token_id", type=int, required=False)
@click.option("--all", "all_of", metavar="EMAIL", help="Revoke every API token of this person.")
@with_appcontext
def token_revoke(token_id, all_of):
    """Revoke the API token TOKEN_ID (see `mentornet token list`), or with --all EMAIL every token of a person.
    A revoked token stops working at its next request; the audit log keeps it (actor: the operator)."""
    from network_service.accounts.models import ApiToken
    from network_service.accounts.operations import revoke_api_token, revoke_api_tokens
    from network_service.errors import NotFound

    if (token_id is None) == (all_of is None):
        raise click.UsageError("Give either a TOKEN_ID or --all EMAIL.")
    if all_of is not None:
        count = _run(lambda: revoke_api_tokens(_token_owner(all_of), actor=None))
        click.echo(f"{count} API token(s) revoked.")
        return

    def revoke():
        api_token = session.get(ApiToken, token_id)
        if api_token is None:
            raise NotFound(f"There is no API token {token_id}.")
        return revoke_api_token(api_token.person, token_id, actor=None)

    api_token = _run(revoke)
    click.echo(f"API token {api_token.id} ({api_token.name}) revoked.")


@main.group()
def outbox():
    """Outgoing e-mail."""


@outbox.command("send")
@with_appcontext
def outbox_send():
    """Deliver the e-mails that are due now (for cron, or after an SMTP outage)."""
    from network_service.mail.operations import deliver_due

    total = 0
    while sent := deliver_due():
        total += sent
    click.echo(f"{total} e-mail(s) delivered.")


@outbox.command("retry")
@with_appcontext
def outbox_retry():
    """Put the e-mails that ran out of attempts back in the queue."""
    from network_service.mail.operations import requeue_failed

    count = _run(requeue_failed)
    click.echo(f"{count} e-mail(s) queued again; `mentornet outbox send` delivers them now.")


# -- background work ----------------------------------------------------------------------------------


@main.group()
def jobs():
    """Periodic jobs (reminders, outbox retries, reconciliation)."""


@jobs.command("list")
@with_appcontext
def jobs_list():
    """Show each job, how often it runs, and its last run."""
    from network_service.jobs import JobRun, jobs_of

    runs = {run.name: run for run in session.query(JobRun).all()}
    for name, job in sorted(jobs_of(current_app).items()):
        run = runs.get(name)
        last = run.last_finished_at.isoformat(timespec="seconds") if run and run.last_finished_at else "never"
        outcome = f" ({run.last_outcome})" if run and run.last_outcome else ""
        click.echo(f"{name:<24} every {job.every}   last run {last}{outcome}")


@jobs.command("run")
@click.argument("name")
@with_appcontext
def jobs_run(name):
    """Run the job NAME now, whether or not it is due."""
    from network_service.jobs import JobRun, jobs_of, run_job

    if name not in jobs_of(current_app):
        _fail(f"No job is called {name}; `mentornet jobs list` shows them.")
    if not run_job(current_app, name, force=True):
        _fail(f"{name} is running elsewhere right now.")
    click.echo(f"{name}: {session.get(JobRun, name).last_outcome or 'done'}")


@main.command()
@click.option("--concurrency", default=2, show_default=True, type=int, help="Worker threads.")
@click.option(
    "--beat/--no-beat",
    default=True,
    show_default=True,
    help="Also schedule the periodic jobs (harmless on several workers: each run is claimed once).",
)
@click.option(
    "--nice",
    default=10,
    show_default=True,
    type=click.IntRange(0, 19),
    help="Lower the worker's CPU priority by this much, so that on a shared machine pages are served first "
    "(0: as the web processes).",
)
@with_appcontext
def worker(concurrency, beat, nice):
    """Run a Celery worker for MENTORNET_BROKER_URL (e-mail delivery and periodic jobs)."""
    if not current_app.config["BROKER_URL"]:
        _fail("Set MENTORNET_BROKER_URL (for example redis://127.0.0.1:6379/0) to run a worker.")
    if nice:
        # Before Celery starts its threads: on Linux a thread's priority is its own, and new threads inherit it.
        # The work here (passes, mail, periodic jobs) can wait a second; a person waiting for a page cannot.
        os.nice(nice)
    try:
        from network_service.tasks import celery_for
    except ImportError:
        _fail("Celery is not installed: pip install 'mentornet[celery]'.")
    argv = ["worker", "--loglevel=INFO", "--pool=threads", f"--concurrency={concurrency}"]
    if beat:
        argv.append("--beat")
    celery_for(current_app).worker_main(argv)


# -- serving ------------------------------------------------------------------------------------------


@main.command()
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int, show_default="5000")
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes.")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per worker.")
def serve(host, port, workers, threads):
    """Serve the network service with gunicorn."""
    from network_service.serving import run_gunicorn

    app = _create_app()  # the settings are checked here, before any worker starts
    try:
        current = _schema_is_current(app)
    finally:
        app.extensions["mentornet.db"].engine.dispose()
    # gunicorn forks its workers from this process and each builds its own application: this one, kept, would
    # be carried along unused in every worker's memory (docs/performance.md, session 12).
    del app
    gc.collect()
    if not current:
        raise click.ClickException("The database schema is not up to date: run `mentornet db upgrade` first.")
    click.echo(f"mentorNET serving on http://{host}:{port}/")
    run_gunicorn(host, port, workers, threads)


_SCHEMA_CURRENT, _SCHEMA_BEHIND = 0, 3


def _schema_is_current(app) -> bool:
    """Whether the database has every migration, asked by a child process.

    Alembic (with Mako and the revision scripts) takes about 7 MB once imported; imported in this process, it
    would stay in every gunicorn worker forked from it, which never use it. The child answers with its exit
    status and ends."""
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            from network_service import migrations

            status = _SCHEMA_BEHIND if migrations.pending_heads(app) else _SCHEMA_CURRENT
        except BaseException:
            traceback.print_exc()
        finally:
            app.extensions["mentornet.db"].engine.dispose()
            sys.stderr.flush()
            os._exit(status)  # never back into click: the command goes on in the parent only
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if status not in (_SCHEMA_CURRENT, _SCHEMA_BEHIND):
        raise click.ClickException("The database schema could not be checked (see above).")
    return status == _SCHEMA_CURRENT


@main.command()
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int, show_default="5000")
@click.option("--no-serve", is_flag=True, help="Only create the demo database.")
def demo(host, port, no_serve):
    """Create a fresh demo database and serve it (SQLite, local mailbox, nothing else needed)."""
    from network_service.demo import build_demo, demo_config
    from network_service.serving import run_gunicorn

    config = demo_config(host, port)
    accounts = build_demo(config)
    base = config["BASE_URL"]
    click.echo(f"\nmentorNET demo: {base}/\n")
    click.echo(f"Sign in at {base}/sign-in with one of these addresses; the link arrives in {base}/mailbox")
    for role, email in accounts:
        click.echo(f"  {role:<28} {email}")
    click.echo("\nA graduate invitation is already waiting in the mailbox.")
    if not no_serve:
        sys.stdout.flush()
        run_gunicorn(host, port, workers=1, threads=8, config=config)


def _add_module_commands() -> None:
    from network_service.directory.cli import directory

    main.add_command(directory)
    from network_service.privacy.cli import privacy

    main.add_command(privacy)


_add_module_commands()
_add_plugin_commands()
