"""``mentornet privacy export EMAIL`` and ``mentornet privacy erase EMAIL``: an operator acting on a request."""

from __future__ import annotations

import shutil

import click
from flask.cli import with_appcontext

from network_service.db import session


@click.group("privacy")
def privacy():
    """A person's data: export and erasure on request (see docs/privacy.md)."""


def _person(email: str):
    from network_service.accounts.operations import find_person_by_email
    from network_service.errors import InvalidInput

    try:
        person = find_person_by_email(email)
    except InvalidInput as exc:
        raise click.ClickException(exc.detail) from exc
    if person is None:
        raise click.ClickException(f"There is no account with the address {email}.")
    return person


@privacy.command("export")
@click.argument("email")
@click.option(
    "--output", "-o", required=True, type=click.Path(dir_okay=False), help="Where to write the ZIP."
)
@with_appcontext
def export_command(email, output):
    """Write EMAIL's data export (the same ZIP the person downloads) to OUTPUT."""
    from network_service.privacy.operations import export_zip

    archive = export_zip(_person(email), None, via="cli")
    with open(output, "wb") as handle:
        shutil.copyfileobj(archive, handle)
    archive.close()
    session.commit()
    click.echo(f"Wrote the data of {email} to {output}.")


@privacy.command("erase")
@click.argument("email")
@click.option(
    "--delete-contributions", is_flag=True, help="Also delete their messages, help and library files."
)
@click.confirmation_option(prompt="Erase this account for good? This cannot be undone.")
@with_appcontext
def erase_command(email, delete_contributions):
    """Erase EMAIL's account (as the person could themself); the audit log keeps a pseudonym."""
    from network_service.errors import MentorNetError
    from network_service.privacy.operations import erase_person

    person = _person(email)
    try:
        summary = erase_person(person, None, confirm=email, delete_contributions=delete_contributions)
        session.commit()
    except MentorNetError as exc:
        session.rollback()
        raise click.ClickException(exc.detail) from exc
    click.echo(f"Erased. The audit log names the account {summary['pseudonym']}.")
