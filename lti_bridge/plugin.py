"""Registers the bridge with the network service (entry point ``mentornet.plugins: lti_bridge``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

import lti_bridge.lti.models  # noqa: F401 - the LTI tool's tables too
import lti_bridge.models  # noqa: F401 - the bridge's tables join the service's metadata
import lti_bridge.privacy  # noqa: F401 - its part of a member's data export and erasure
from lti_bridge.lti.cli import lti_cli

bridge_cli = AppGroup("bridge", help="Completion sources and graduate provisioning.")


def _failed_authentication(response) -> bool:
    return response.status_code == 401


def _refused(response) -> bool:
    return 400 <= response.status_code < 500


class BridgePlugin:
    name = "lti_bridge"
    cli = bridge_cli  # added to the `mentornet` command
    # Every group this plugin adds to `mentornet`; read by the command once it accepts more than `cli`.
    cli_commands = (bridge_cli, lti_cli)
    migrations_path = Path(__file__).parent / "migrations" / "versions"

    def init_app(self, app: Flask) -> None:
        from lti_bridge.lti.views import bp as lti_bp
        from lti_bridge.lti.views import deep_link, launch, login, register
        from lti_bridge.views import bp
        from network_service.security import csrf

        csrf.exempt(bp)  # machines authenticate with signatures, tokens or HTTP Basic, not cookies
        app.register_blueprint(bp)
        # The LMS posts these from its own site; the signed id_token and the state cookie protect them.
        csrf.exempt(login)
        csrf.exempt(launch)
        csrf.exempt(
            deep_link
        )  # framed by the LMS; the signed choice from the checked launch is the credential
        csrf.exempt(register)  # framed by the LMS; the one-time code in the form is the credential
        app.register_blueprint(lti_bp)
        from lti_bridge.lti.roster_views import bp as roster_bp

        app.register_blueprint(roster_bp)
        # Guessing secrets is slowed down; legitimate traffic, however heavy, is never limited.
        limits = app.extensions.setdefault("mentornet.rate_limits", [])
        for endpoint in ("bridge.openedx_events", "bridge.xapi_statements"):
            limits.append((endpoint, "30 per minute", None, {"deduct_when": _failed_authentication}))
        for endpoint in ("lti.login", "lti.launch"):
            limits.append((endpoint, "30 per minute", None, {"deduct_when": _refused}))
        limits.append(("lti.confirm_email", "5 per minute;30 per hour", ["POST"], {}))
        limits.append(("lti.register", "20 per minute", None, {}))
        app.cli.add_command(bridge_cli)
        app.cli.add_command(lti_cli)
        app.extensions.setdefault("mentornet.bridge", self)
        from network_service.jobs import Job, register

        register(app, Job("lti.roster", dt.timedelta(hours=24), _refresh_rosters))
        register(app, Job("lti.grades", dt.timedelta(minutes=15), _report_joined))
        if app.config.get("OPENEDX_LMS_URL"):
            register(
                app,
                Job("bridge.reconcile", dt.timedelta(hours=6), _reconcile_all, lease=dt.timedelta(hours=2)),
            )


def _refresh_rosters() -> str:
    from lti_bridge.lti.contexts import refresh_due_rosters

    return f"{refresh_due_rosters()} course roster(s) refreshed"


def _report_joined() -> str:
    from lti_bridge.lti.contexts import report_all_joined

    return f"{report_all_joined()} score(s) posted"


def _reconcile_all() -> str:
    """The periodic form of `mentornet bridge reconcile`: every linked Open edX course, one after another."""
    from flask import current_app

    from lti_bridge.lms import OpenEdxClient
    from lti_bridge.reconcile import ReconcileStopped, linked_openedx_courses, reconcile_course

    client = OpenEdxClient.from_config(current_app.config)
    summaries = []
    for key in linked_openedx_courses():
        try:
            summaries.append(reconcile_course(key, client).summary())
        except ReconcileStopped as exc:  # the pages read so far are saved; the next run continues
            summaries.append(f"{exc.report.summary()} (stopped: {exc})")
    return "; ".join(summaries) or "no linked Open edX course"


@bridge_cli.command("provision")
@click.argument("course_key")
@click.argument("email")
@click.option("--name", default="", help="The graduate's name, used in the invitation.")
@click.option(
    "--event-id", help="Dedupe key; defaults to one per course and e-mail, so re-running sends nothing."
)
def provision(course_key: str, email: str, name: str, event_id: str | None) -> None:
    """Record that EMAIL passed COURSE_KEY and invite them (for back-filling graduates by hand)."""
    from network_service.accounts.operations import normalise_email
    from network_service.courses.operations import provision_graduate
    from network_service.db import session
    from network_service.errors import MentorNetError

    try:
        # A typo is the operator's to fix now; recorded, it would be an event no replay can ever act on.
        email = normalise_email(email)
        event_id = event_id or f"manual:{course_key}:{email}"
        result = provision_graduate(
            course_key, {"email": email, "name": name}, event_id=event_id, source="manual"
        )
        session.commit()
    except MentorNetError as exc:
        session.rollback()
        raise click.ClickException(exc.detail) from exc
    if result.duplicate:
        click.echo(f"Already recorded as event {result.event.id} ({result.status.value}); nothing sent.")
    else:
        click.echo(f"Event {result.event.id}: {result.status.value}.")


@bridge_cli.command("replay")
@click.option("--course", "course_key", help="Only the events of this course key.")
def replay(course_key: str | None) -> None:
    """Act again on stored completion events that had no course link, no e-mail yet, or failed."""
    from network_service.courses.operations import replay_completions
    from network_service.db import session

    outcomes = replay_completions(course_key)
    session.commit()
    if not outcomes:
        click.echo("No stored event was waiting.")
    for status, count in sorted(outcomes.items()):
        click.echo(f"{count} event(s): {status}")


@bridge_cli.group("source")
def source_cli() -> None:
    """Senders of completion events (openedx-webhooks, xAPI forwarders) and their secrets."""


@source_cli.command("add")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(["openedx-webhooks", "xapi"]),
    required=True,
    help="openedx-webhooks: a secret URL; xapi: HTTP Basic credentials for an LRS forwarder.",
)
def source_add(name: str, kind: str) -> None:
    """Create the source NAME and print its secret (shown once)."""
    from lti_bridge.models import SourceKind
    from lti_bridge.sources import create_source
    from network_service.db import session
    from network_service.errors import MentorNetError
    from network_service.urls import public_url

    try:
        source, secret = create_source(name, SourceKind(kind.replace("-", "_")))
        session.commit()
    except MentorNetError as exc:
        session.rollback()
        raise click.ClickException(exc.detail) from exc
    base = public_url()
    if source.kind == SourceKind.xapi:
        click.echo(f"xAPI endpoint:  {base}/bridge/xapi/statements")
        click.echo(f"Basic username: {source.username}")
        click.echo(f"Basic password: {secret}")
    else:
        click.echo(f"Webhook URL (keep it secret): {base}/bridge/openedx/events/{secret}")


@source_cli.command("list")
def source_list() -> None:
    """List the sources, when each was last used, and whether it is revoked."""
    from lti_bridge.sources import list_sources

    sources = list_sources()
    if not sources:
        click.echo("No sources yet: add one with `mentornet bridge source add NAME --kind ...`.")
    for source in sources:
        used = source.last_used_at.isoformat(timespec="seconds") if source.last_used_at else "never"
        state = "revoked" if source.revoked_at else "active"
        click.echo(f"{source.name:<30} {source.kind.value:<17} {state:<8} last used {used}")


@source_cli.command("revoke")
@click.argument("name")
def source_revoke(name: str) -> None:
    """Stop accepting events from the source NAME."""
    from lti_bridge.sources import revoke_source
    from network_service.db import session
    from network_service.errors import MentorNetError

    try:
        revoke_source(name)
        session.commit()
    except MentorNetError as exc:
        session.rollback()
        raise click.ClickException(exc.detail) from exc
    click.echo(f"{name} is revoked.")


@bridge_cli.command("reconcile")
@click.option(
    "--course", "course_key", help="Only this course key (default: every linked course-v1: course)."
)
def reconcile(course_key: str | None) -> None:
    """Read the Open edX LMS's grades and provision every graduate that no push delivered."""
    from flask import current_app

    from lti_bridge.lms import LmsConfigurationError, OpenEdxClient
    from lti_bridge.reconcile import ReconcileStopped, linked_openedx_courses, reconcile_course
    from network_service.db import session
    from network_service.errors import MentorNetError

    try:
        client = OpenEdxClient.from_config(current_app.config)
    except LmsConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
    course_keys = [course_key] if course_key else linked_openedx_courses()
    if not course_keys:
        click.echo("No linked Open edX course (course keys starting with course-v1:): nothing to reconcile.")
        return
    stopped = []
    for key in course_keys:
        try:
            report = reconcile_course(key, client)
        except MentorNetError as exc:
            session.rollback()
            raise click.ClickException(exc.detail) from exc
        except ReconcileStopped as exc:
            report = exc.report
            stopped.append(f"{key}: {exc}")
        click.echo(report.summary())
        for problem in report.problems:
            click.echo(f"  {problem}")
    if stopped:
        raise click.ClickException(
            "The LMS failed; the pages read before are saved and a rerun continues from there.\n"
            + "\n".join(stopped)
        )
