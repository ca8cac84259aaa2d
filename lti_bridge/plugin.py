"""Registers the bridge with the network service (entry point ``mentornet.plugins: lti_bridge``)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

bridge_cli = AppGroup("bridge", help="Completion sources and graduate provisioning.")


class BridgePlugin:
    name = "lti_bridge"
    cli = bridge_cli  # added to the `mentornet` command

    def init_app(self, app: Flask) -> None:
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
