"""Importing the directory from CSV: a report by line, never a half import; the web upload with its
"import anyway" choice, the JSON API, and the mentornet directory command."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa

from network_service.db import session
from network_service.directory import importing
from network_service.directory.models import DirectoryEntry, EntryLanguage, EntryService
from tests.directory_support import add_entries, csv_bytes, entry, generated
from tests.goals_roles import API, act_as, bearer, build_cast

GOOD = [
    entry("Rifugio Sicuro", "IT", city="Palermo", languages="it;ar;en", services="housing;legal"),
    entry("Pomoc Prawna", "PL", city="Warszawa", languages="Polish;Ukrainian", services="legal"),
]


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


@pytest.fixture
def uploads(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


def entries(run) -> int:
    return run(lambda: session.scalar(sa.select(sa.func.count(DirectoryEntry.id))))


def check(run, data: bytes, **kwargs):
    return run(lambda: importing.import_csv(data, None, console=True, **kwargs))


def test_a_good_file_is_imported_with_its_facets(run):
    report = check(run, csv_bytes(GOOD, bom=True))
    assert report.ok and report.imported == 2
    rows = run(lambda: session.scalars(sa.select(DirectoryEntry).order_by(DirectoryEntry.name)).all())
    assert [(row.name, row.languages, row.services, row.published) for row in rows] == [
        ("Pomoc Prawna", ["pl", "uk"], ["legal"], True),
        ("Rifugio Sicuro", ["it", "ar", "en"], ["housing", "legal"], True),
    ]
    assert run(lambda: session.scalar(sa.select(sa.func.count()).select_from(EntryLanguage))) == 5
    assert run(lambda: session.scalar(sa.select(sa.func.count()).select_from(EntryService))) == 3


def test_a_file_in_another_encoding_is_refused(run):
    report = check(run, csv_bytes([entry("Café Überall", "AT")], encoding="latin-1"))
    assert report.imported == 0 and "not in UTF-8" in report.file_errors[0]
    assert entries(run) == 0


@pytest.mark.parametrize(
    "header, expected",
    [
        (("name", "country"), "missing: kind, city"),
        ((*importing.FIELDS, "fax"), "unknown: fax"),
        ((), "missing: name"),
    ],
)
def test_the_columns_are_checked(run, header, expected):
    data = csv_bytes([], header=header) if header else b""
    report = check(run, data)
    assert report.imported == 0 and expected in report.file_errors[0]


def test_problems_are_reported_by_line_and_nothing_is_imported(run):
    add_entries(run, [entry("Bereits Da", "DE")])
    rows = [
        *GOOD,
        entry("Bereits  da", "de"),  # already in the directory (names compared without case and spacing)
        entry("Rifugio Sicuro", "IT"),  # the same as line 2
        entry("Rifugio Sicuro", "ES"),  # another country: fine
        entry("Nowhere", "XX"),
        entry("", "DE"),
        entry(
            "Bad Lang", "DE", languages="de;elvish", services="spa", website="not a url", contact_email="x@"
        ),
    ]
    report = check(run, csv_bytes(rows))
    assert report.imported == 0 and report.valid == 3 and entries(run) == 1
    problems = {problem.line: " ".join(problem.messages) for problem in report.problems}
    assert sorted(problems) == [4, 5, 7, 8, 9]
    assert "already in the directory" in problems[4]
    assert "same organisation is on line 2" in problems[5]
    assert "two-letter code" in problems[7]
    assert "Give the name" in problems[8]
    assert (
        "elvish" in problems[9]
        and "spa" in problems[9]
        and "web address" in problems[9]
        and "e-mail" in problems[9]
    )

    report = check(run, csv_bytes(rows), skip_invalid=True)
    assert report.imported == 3 and entries(run) == 4


def test_a_file_without_entries_says_so(run):
    report = check(run, csv_bytes([]))
    assert report.imported == 0 and "no entries" in report.file_errors[0]


def test_a_line_with_the_wrong_number_of_fields_is_reported(run):
    data = csv_bytes(GOOD) + b"Only,Three,Fields\n"
    report = check(run, data)
    assert [problem.line for problem in report.problems] == [
        4
    ] and "3 fields instead of 10" in report.problems[0].messages[0]


def test_oversized_and_overlong_files_are_refused(run, monkeypatch):
    report = check(run, b"x" * (importing.MAX_BYTES + 1))
    assert "larger than 5 MB" in report.file_errors[0]
    monkeypatch.setattr(importing, "MAX_LINES", 3)
    report = check(run, csv_bytes(generated(4)))
    assert "more than 3 lines" in report.file_errors[0] and report.imported == 0
    assert entries(run) == 0


def test_a_failure_while_writing_leaves_nothing_behind(app, client, run, cast, monkeypatch):
    """The import runs in the request's transaction: an error half way rolls every line back."""
    monkeypatch.setattr(importing, "_BATCH", 2)
    original = importing.record

    def failing_record(*args, **kwargs):
        raise RuntimeError("the audit log is full")

    monkeypatch.setattr(importing, "record", failing_record)
    token = act_as(client, cast, "admin")
    data = {"csrf_token": token, "file": (io.BytesIO(csv_bytes(generated(5))), "d.csv")}
    with pytest.raises(RuntimeError):
        client.post("/admin/directory/import", data=data)
    monkeypatch.setattr(importing, "record", original)
    assert entries(run) == 0


# -- the upload page -------------------------------------------------------------------------------------


def test_the_upload_page_reports_and_imports_anyway_on_request(client, run, cast, uploads):
    token = act_as(client, cast, "admin")
    rows = [*GOOD, entry("Nowhere", "XX")]
    response = client.post(
        "/admin/directory/import", data={"csrf_token": token, "file": (io.BytesIO(csv_bytes(rows)), "d.csv")}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was imported: 1 line has errors." in html and "Line 4 (Nowhere)" in html
    assert "Import the 2 valid lines anyway, skipping the line with errors" in html
    assert entries(run) == 0
    upload = html.split('name="upload" value="')[1].split('"')[0]
    response = client.post(
        "/admin/directory/import", data={"csrf_token": token, "upload": upload, "skip_invalid": "y"}
    )
    assert response.status_code == 303 and entries(run) == 2
    assert "2 entries imported." in client.get("/admin/directory").get_data(as_text=True)
    response = client.post(
        "/admin/directory/import", data={"csrf_token": token, "upload": upload, "skip_invalid": "y"}
    )
    assert response.status_code == 422 and entries(run) == 2  # the kept file is used once
    response = client.post(
        "/admin/directory/import",
        data={"csrf_token": token, "upload": "../../etc/passwd", "skip_invalid": "y"},
    )
    assert response.status_code == 422


def test_the_upload_page_refuses_bad_files(client, run, cast, uploads):
    token = act_as(client, cast, "admin")
    big = io.BytesIO(b"name,country\n" + b"x" * (importing.MAX_BYTES + 300 * 1024))
    response = client.post("/admin/directory/import", data={"csrf_token": token, "file": (big, "big.csv")})
    assert response.status_code == 413 and "larger than 5 MB" in response.get_data(as_text=True)
    latin = io.BytesIO(csv_bytes([entry("Café", "FR")], encoding="latin-1"))
    response = client.post("/admin/directory/import", data={"csrf_token": token, "file": (latin, "l.csv")})
    assert response.status_code == 422 and "not in UTF-8" in response.get_data(as_text=True)
    response = client.post("/admin/directory/import", data={"csrf_token": token})
    assert response.status_code == 422 and "Choose a CSV file" in response.get_data(as_text=True)
    response = client.post("/admin/directory/import", data={"file": (io.BytesIO(csv_bytes(GOOD)), "d.csv")})
    assert response.status_code == 422 and entries(run) == 0  # without the CSRF token


def test_the_api_imports_with_a_report(client, run, cast):
    headers = bearer(cast, "admin")
    rows = [*GOOD, entry("Nowhere", "XX")]
    response = client.post(
        f"{API}/directory/import", data={"file": (io.BytesIO(csv_bytes(rows)), "d.csv")}, headers=headers
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["imported"] == 0 and body["valid"] == 2 and body["problems"][0]["line"] == 4
    response = client.post(
        f"{API}/directory/import",
        data={"file": (io.BytesIO(csv_bytes(rows)), "d.csv"), "skip_invalid": "true"},
        headers=headers,
    )
    assert response.status_code == 200 and response.get_json()["imported"] == 2 and entries(run) == 2
    response = client.post(f"{API}/directory/import", json={}, headers=headers)
    assert response.status_code == 415


# -- the command line -----------------------------------------------------------------------------------


def test_the_command_imports_all_or_nothing(mentornet, run, tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(csv_bytes([*GOOD, entry("Nowhere", "XX")]))
    result = mentornet("directory", "import", str(path))
    assert result.exit_code == 1 and "line 4:" in result.output and "--skip-invalid" in result.output
    assert entries(run) == 0
    result = mentornet("directory", "import", str(path), "--skip-invalid")
    assert result.exit_code == 0 and "2 entries imported, 1 line(s) skipped." in result.output
    assert entries(run) == 2

    result = mentornet("directory", "export", "--format", "json")
    assert result.exit_code == 0
    assert sorted(item["name"] for item in json.loads(result.output)) == ["Pomoc Prawna", "Rifugio Sicuro"]
    result = mentornet("directory", "export")
    assert result.exit_code == 0 and result.output.splitlines()[0].startswith("name,kind,country")

    exported = tmp_path / "export.csv"
    exported.write_text(result.output, encoding="utf-8")
    result = mentornet(
        "directory", "import", str(exported)
    )  # an export is a valid import: all duplicates here
    assert result.exit_code == 1 and result.output.count("already in the directory") == 2


def test_the_command_reports_a_wrong_encoding(mentornet, tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(csv_bytes([entry("Café", "FR")], encoding="cp1252"))
    result = mentornet("directory", "import", str(path))
    assert result.exit_code == 1 and "not in UTF-8" in result.output
