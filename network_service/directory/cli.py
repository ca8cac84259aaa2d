"""``mentornet directory import FILE.csv`` and ``mentornet directory export``."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from network_service.db import session


@click.group("directory")
def directory():
    """The public directory of organisations supporting migrants."""


@directory.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--skip-invalid", is_flag=True, help="Import the valid lines even when other lines have errors."
)
@with_appcontext
def import_command(path, skip_invalid):
    """Import FILE.csv (UTF-8; see docs/directory.md): all lines, or nothing when a line has errors."""
    from network_service.directory.importing import MAX_BYTES, import_csv

    with open(path, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    report = import_csv(data, None, skip_invalid=skip_invalid, console=True)
    for message in report.file_errors:
        click.echo(message, err=True)
    for problem in report.problems:
        click.echo(f"line {problem.line}: {' '.join(problem.messages)}", err=True)
    if report.file_errors or (report.problems and not skip_invalid):
        session.rollback()
        raise click.ClickException(
            "Nothing was imported."
            + (" Use --skip-invalid to import the valid lines." if report.valid else "")
        )
    session.commit()
    skipped = f", {len(report.problems)} line(s) skipped" if report.problems else ""
    click.echo(f"{report.imported} entries imported{skipped}.")


@directory.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option(
    "--output", "-o", type=click.File("w", encoding="utf-8"), default="-", help="File (default: stdout)."
)
@with_appcontext
def export_command(fmt, output):
    """Write the published entries as CSV (the import format) or JSON."""
    from network_service.directory.importing import export_csv, export_json

    output.write(export_csv() if fmt == "csv" else export_json())
