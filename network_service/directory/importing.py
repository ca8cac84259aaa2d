"""CSV import and CSV/JSON export of the directory.

An import is checked as a whole first: each line's problems are reported by line number, and nothing is
added while any line has one, unless the importer chose to skip those lines. The import then adds every
valid line in the caller's transaction: all of them, or (when anything fails) none."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _

from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.db import session, utcnow
from network_service.directory import permissions
from network_service.directory.models import DirectoryEntry, EntryLanguage, EntryService
from network_service.directory.operations import FIELDS, duplicate_message, name_key, validate
from network_service.directory.search import Search, all_matching
from network_service.errors import Forbidden

MAX_BYTES = 5 * 1024 * 1024
MAX_LINES = 50_000
REQUIRED_COLUMNS = ("name", "country")
_BATCH = 1000


@dataclass
class LineProblem:
    line: int
    name: str
    messages: list[str]


@dataclass
class ImportReport:
    """What an import found and did. ``problems`` are the lines with errors (line 1 is the header)."""

    file_errors: list[str] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)
    valid: int = 0
    imported: int = 0

    @property
    def ok(self) -> bool:
        return not self.file_errors and not self.problems


def _decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def check_csv(data: bytes) -> tuple[ImportReport, list[dict]]:
    """Read and validate a whole file; returns the report and the clean values of the valid lines."""
    report = ImportReport()
    if len(data) > MAX_BYTES:
        report.file_errors.append(_("The file is larger than %(size)s MB.", size=MAX_BYTES // (1024 * 1024)))
        return report, []
    text = _decode(data)
    if text is None:
        report.file_errors.append(
            _(
                "The file is not in UTF-8. Save it as “CSV UTF-8” in your spreadsheet program and upload it again."
            )
        )
        return report, []
    if "\x00" in text:
        report.file_errors.append(_("This is not a CSV file."))
        return report, []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip().lower() for column in next(reader, [])]
    except csv.Error:
        header = []
    missing = [column for column in FIELDS if column not in header]
    unknown = [column for column in header if column not in FIELDS]
    if not header or missing or unknown or len(set(header)) != len(header):
        report.file_errors.append(
            _(
                "The first line must name the columns: %(columns)s (missing: %(missing)s; unknown: %(unknown)s).",
                columns=",".join(FIELDS),
                missing=", ".join(missing) or "-",
                unknown=", ".join(unknown) or "-",
            )
        )
        return report, []

    existing = {
        (key, country)
        for key, country in session.execute(sa.select(DirectoryEntry.name_key, DirectoryEntry.country))
    }
    seen: dict[tuple[str, str], int] = {}
    valid: list[dict] = []
    line_number = 1
    try:
        for row in reader:
            line_number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(valid) + len(report.problems) >= MAX_LINES:
                report.file_errors.append(
                    _("The file has more than %(count)s lines.", count=f"{MAX_LINES:,}")
                )
                return report, []
            messages: list[str] = []
            if len(row) != len(header):
                messages.append(
                    _(
                        "This line has %(found)s fields instead of %(expected)s.",
                        found=len(row),
                        expected=len(header),
                    )
                )
                values, errors = {}, {}
            else:
                values, errors = validate(dict(zip(header, row, strict=True)))
                messages.extend(f"{column}: {message}" for column, message in errors.items())
            if values.get("name") and values.get("country") and not errors:
                key = (name_key(values["name"]), values["country"])
                if key in existing:
                    messages.append(duplicate_message())
                elif key in seen:
                    messages.append(_("The same organisation is on line %(line)s.", line=seen[key]))
                else:
                    seen[key] = line_number
            if messages:
                report.problems.append(LineProblem(line_number, (row[0] if row else "")[:200], messages))
            else:
                valid.append(values)
    except csv.Error as exc:
        report.file_errors.append(
            _("Line %(line)s cannot be read: %(error)s", line=line_number + 1, error=str(exc))
        )
        return report, []
    report.valid = len(valid)
    if not valid and not report.problems:
        report.file_errors.append(_("The file has no entries after its first line."))
    return report, valid


def import_csv(
    data: bytes, actor: Person | None, *, skip_invalid: bool = False, console: bool = False
) -> ImportReport:
    """Import a CSV file (site administrators; ``console``: the operator at the command line). Nothing is
    added when the file has errors, or when lines have errors and ``skip_invalid`` is not set."""
    if not console and not permissions.can_manage_directory(actor):
        raise Forbidden(_("Only site administrators can change the directory."))
    report, valid = check_csv(data)
    if report.file_errors or (report.problems and not skip_invalid) or not valid:
        return report
    now = utcnow()
    for start in range(0, len(valid), _BATCH):
        batch = valid[start : start + _BATCH]
        rows = [
            {
                **{name: values[name] for name in FIELDS},
                "name_key": name_key(values["name"]),
                "network_id": None,
                "published": True,
                "suggested": False,
                "created_at": now,
                "updated_at": now,
            }
            for values in batch
        ]
        ids = list(
            session.scalars(
                sa.insert(DirectoryEntry).returning(DirectoryEntry.id, sort_by_parameter_order=True), rows
            )
        )
        languages = [
            {"entry_id": entry_id, "language": code}
            for entry_id, values in zip(ids, batch, strict=True)
            for code in values["languages"]
        ]
        services = [
            {"entry_id": entry_id, "service": value}
            for entry_id, values in zip(ids, batch, strict=True)
            for value in values["services"]
        ]
        if languages:
            session.execute(sa.insert(EntryLanguage), languages)
        if services:
            session.execute(sa.insert(EntryService), services)
    report.imported = len(valid)
    record("directory.import", actor=actor, imported=report.imported, skipped=len(report.problems))
    session.flush()
    return report


# -- export -------------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "@", "\t", "\r")


def _cell(value: str) -> str:
    """Keep spreadsheet programs from running a cell as a formula (phone numbers like +49 stay as they are)."""
    if value.startswith(_FORMULA_START) or (
        value[:1] in ("+", "-") and not value[1:2].isdigit() and value[1:2] != " "
    ):
        return "'" + value
    return value


def export_record(entry: DirectoryEntry) -> dict:
    return {
        "id": entry.id,
        "name": entry.name,
        "kind": entry.kind.value,
        "country": entry.country,
        "city": entry.city,
        "languages": list(entry.languages),
        "services": list(entry.services),
        "website": entry.website,
        "contact_email": entry.contact_email,
        "contact_phone": entry.contact_phone,
        "description": entry.description,
        "updated_at": entry.updated_at.isoformat(),
    }


def export_csv(query: Search | None = None) -> str:
    """Published entries as CSV in the import format (so an export can be imported elsewhere)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for entry in all_matching(query or Search()):
        item = export_record(entry)
        writer.writerow(
            [
                _cell(";".join(item[name]) if isinstance(item[name], list) else str(item[name]))
                for name in FIELDS
            ]
        )
    return out.getvalue()


def export_json(query: Search | None = None) -> str:
    return json.dumps([export_record(entry) for entry in all_matching(query or Search())], ensure_ascii=False)
