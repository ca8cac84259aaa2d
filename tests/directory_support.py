"""Helpers of the directory tests: entries made through the importer, CSV text."""

from __future__ import annotations

import csv
import io

from network_service.directory.importing import import_csv
from network_service.directory.operations import FIELDS


def csv_bytes(rows: list[dict], *, header=FIELDS, bom: bool = False, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header])
    return ("\ufeff" if bom else "").encode("utf-8") + out.getvalue().encode(encoding)


def entry(name: str, country: str = "DE", **extra) -> dict:
    return {"name": name, "country": country, "kind": "organisation", **extra}


def add_entries(run, rows: list[dict]) -> None:
    def load():
        report = import_csv(csv_bytes(rows), None, console=True)
        assert report.ok and report.imported == len(rows), report

    run(load)


def generated(count: int, start: int = 0) -> list[dict]:
    countries = ["DE", "IT", "PL", "GR", "AT", "ES", "FR", "NL"]
    languages = ["de", "en", "ar", "uk", "fa", "fr", "tr", "ru"]
    services = ["legal", "housing", "employment", "language_courses", "health", "education", "psychosocial"]
    return [
        entry(
            f"Generated Aid {number:05d}",
            countries[number % len(countries)],
            city=f"Town {number % 50}",
            languages=";".join(languages[number % 8 : number % 8 + 2]),
            services=";".join(services[number % 7 : number % 7 + 2]),
            description=f"Help desk number {number} for newcomers.",
        )
        for number in range(start, start + count)
    ]
