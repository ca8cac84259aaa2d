"""Registers the bridge with the network service (entry point ``mentornet.plugins: lti_bridge``)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

import lti_bridge.models  # noqa: F401 - the bridge's tables join the service's metadata

bridge_cli = AppGroup("bridge", help="Completion sources and graduate provisioning.")


def _failed_authentication(response) -> bool:
    return response.status_code == 401


class BridgePlugin:
    name = "lti_bridge"
    cli = bridge_cli  # added to the `mentornet` command
    migrations_path = Path(__file__).parent / "migrations" / "versions"

    def init_app(self, app: Flask) -> None:
        from lti_bridge.views import bp
        from network_service.security import csrf

        csrf.exempt(bp)  # machines authenticate with signatures, tokens or HTTP Basic, not cookies
        app.register_blueprint(bp)
        # Guessing secrets is slowed down; legitimate traffic, however heavy, is never limited.
        limits = app.extensions.setdefault("mentornet.rate_limits", [])
        for endpoint in ("bridge.openedx_events", "bridge.xapi_statements"):
            limits.append((endpoint, "30 per minute", None, {"deduct_when": _failed_authentication}))
        app.cli.add_command(bridge_cli)
        app.extensions.setdefault("mentornet.bridge", self)


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
    from flask import current_app

    from lti_bridge.models import SourceKind
    from lti_bridge.sources import create_source
    from network_service.db import session
    from network_service.errors import MentorNetError

    try:
        source, secret = create_source(name, SourceKind(kind.replace("-", "_")))
        session.commit()
    except MentorNetError as exc:
        session.rollback()
        raise click.ClickException(exc.detail) from exc
    base = current_app.config["BASE_URL"].rstrip("/")
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
