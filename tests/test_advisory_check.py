"""tools/advisory_check.py: the offline stand-in for pip-audit reads OSV YAML and judges versions as OSV says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import advisory_check  # noqa: E402

ADVISORY = """\
id: PYSEC-2099-1
details: Something bad in Example-Pkg.
aliases:
- CVE-2099-0001
affected:
- package:
    name: example-pkg
    ecosystem: PyPI
  ranges:
  - type: GIT
    repo: https://example.org/repo
    events:
    - introduced: "0"
    - fixed: 0123456789abcdef
  - type: ECOSYSTEM
    events:
    - introduced: "1.0"
    - fixed: "1.4.2"
    - introduced: "2.0"
    - last_affected: "2.1"
  versions:
  - "0.9"
"""
WITHDRAWN = """\
id: PYSEC-2099-2
withdrawn: "2099-01-02T00:00:00Z"
affected:
- package: {name: example-pkg, ecosystem: PyPI}
  ranges:
  - type: ECOSYSTEM
    events: [{introduced: "0"}]
"""


@pytest.fixture
def database(tmp_path) -> Path:
    folder = tmp_path / "db" / "vulns" / "example-pkg"
    folder.mkdir(parents=True)
    (folder / "PYSEC-2099-1.yaml").write_text(ADVISORY)
    (folder / "PYSEC-2099-2.yaml").write_text(WITHDRAWN)
    return tmp_path / "db"


@pytest.mark.parametrize(
    ("version", "hit"),
    [
        ("0.8", False),
        ("0.9", True),  # listed
        ("1.0", True),
        ("1.4.1", True),
        ("1.4.2", False),  # fixed
        ("1.9", False),
        ("2.0", True),
        ("2.1", True),  # last_affected is included
        ("2.1.1", False),
        ("2.0rc1", False),
    ],
)
def test_versions_are_judged_like_osv(database, version, hit):
    db = advisory_check.Database.open(database)
    findings = advisory_check.check(db, [("Example_Pkg", version)], set())
    assert [f.advisory for f in findings] == (["PYSEC-2099-1"] if hit else [])


def test_the_command_line_reads_pip_list_and_exits_1_on_a_finding(database, tmp_path):
    listing = tmp_path / "pip.json"
    listing.write_text(
        json.dumps([{"name": "example.pkg", "version": "1.2"}, {"name": "other", "version": "1"}])
    )
    run = [
        sys.executable,
        str(ROOT / "tools" / "advisory_check.py"),
        str(database),
        "--installed",
        str(listing),
    ]
    found = subprocess.run(run, capture_output=True, text=True, check=False)
    assert found.returncode == 1, found.stderr
    assert "example.pkg 1.2: PYSEC-2099-1 [CVE-2099-0001]; fixed in 1.4.2" in found.stdout
    ignored = subprocess.run([*run, "--ignore", "CVE-2099-0001"], capture_output=True, text=True, check=False)
    assert ignored.returncode == 0 and "(ignored)" in ignored.stdout


def test_a_bare_git_clone_is_read_at_head(database, tmp_path):
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q", str(database)], check=True)
    subprocess.run([*git, "-C", str(database), "add", "."], check=True)
    subprocess.run([*git, "-C", str(database), "commit", "-qm", "db"], check=True)
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(database), str(bare)], check=True)
    db = advisory_check.Database.open(bare)
    assert db.git and db.advisory_count == 2
    assert [f.advisory for f in advisory_check.check(db, [("example-pkg", "1.1")], set())] == ["PYSEC-2099-1"]


# --pypi-latest: an index's JSON API on 127.0.0.1 serving project pages (and no per-version page, like the mirror
# this project's machines reach).
PROJECT_PAGES = {
    "flawed": {
        "info": {"version": "2.0"},
        "vulnerabilities": [
            {
                "id": "PYSEC-2099-7",
                "aliases": ["CVE-2099-0007", "GHSA-aaaa-bbbb-cccc"],
                "summary": "Flawed parses badly.",
                "fixed_in": ["2.0.1"],
                "link": "https://osv.dev/vulnerability/PYSEC-2099-7",
                "withdrawn": None,
            },
            # the same flaw again under its other database's id, as PyPI lists it
            {
                "id": "GHSA-aaaa-bbbb-cccc",
                "aliases": ["CVE-2099-0007", "PYSEC-2099-7"],
                "fixed_in": ["2.0.1"],
            },
            {
                "id": "PYSEC-2099-8",
                "aliases": [],
                "details": "Retracted.",
                "withdrawn": "2099-02-01T00:00:00Z",
            },
        ],
    },
    "clean": {"info": {"version": "1.0.0"}, "vulnerabilities": []},
    "behind": {
        "info": {"version": "3.1"},
        "vulnerabilities": [{"id": "PYSEC-2099-9", "aliases": [], "details": "About 3.1 only."}],
    },
}


@pytest.fixture
def index():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    asked = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            parts = self.path.strip("/").split("/")
            page = PROJECT_PAGES.get(parts[1]) if len(parts) == 3 and parts[0] == "pypi" else None
            if page is None or parts[2] != "json":
                self.send_error(404)
                return
            body = json.dumps(page).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/pypi", asked
    server.shutdown()
    server.server_close()


def _pip_list(tmp_path, rows) -> str:
    listing = tmp_path / "pip.json"
    listing.write_text(json.dumps(rows))
    return str(listing)


def test_pypi_latest_judges_only_the_newest_releases(index, tmp_path, capsys):
    url, asked = index
    listing = _pip_list(
        tmp_path,
        [
            {"name": "Flawed", "version": "2.0"},
            {"name": "clean", "version": "1.0"},  # 1.0 is 1.0.0
            {"name": "behind", "version": "3.0"},
            {"name": "unknown_pkg", "version": "1"},
            {"name": "this-project", "version": "0.1", "editable_project_location": "/src"},
        ],
    )
    status = advisory_check.main(["--pypi-latest", url, "--installed", listing])
    out = capsys.readouterr().out
    assert status == 1
    assert "2 of 4 installed distributions are that release and were checked" in out
    # one finding for the flaw listed twice; the withdrawn one and the newer release's flaw do not count
    assert out.count("Flawed 2.0:") == 1
    assert "Flawed 2.0: PYSEC-2099-7 [CVE-2099-0007, GHSA-aaaa-bbbb-cccc]; fixed in 2.0.1" in out
    assert "PYSEC-2099-8" not in out and "PYSEC-2099-9" not in out
    assert "not checked: behind 3.0: the newest release is 3.1" in out
    assert "not checked: unknown_pkg 1: the index answered 404" in out
    assert "1 advisory(ies) affect an installed version; 2 distribution(s) not checked" in out
    # names are asked for in their normalised form; the editable install is never asked about
    assert sorted(asked) == [
        "/pypi/behind/json",
        "/pypi/clean/json",
        "/pypi/flawed/json",
        "/pypi/unknown-pkg/json",
    ]


def test_pypi_latest_ignores_by_alias_and_strict_fails_on_what_it_could_not_check(index, tmp_path, capsys):
    url, _asked = index
    flawed = _pip_list(
        tmp_path, [{"name": "flawed", "version": "2.0"}, {"name": "clean", "version": "1.0.0"}]
    )
    assert (
        advisory_check.main(["--pypi-latest", url, "--installed", flawed, "--ignore", "CVE-2099-0007"]) == 0
    )
    assert "(ignored)" in capsys.readouterr().out
    behind = _pip_list(
        tmp_path, [{"name": "clean", "version": "1.0.0"}, {"name": "behind", "version": "3.0"}]
    )
    assert advisory_check.main(["--pypi-latest", url, "--installed", behind]) == 0
    assert advisory_check.main(["--pypi-latest", url, "--installed", behind, "--strict"]) == 1
    capsys.readouterr()
    assert advisory_check.main(["--pypi-latest", url, "--installed", behind, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pypi_latest"]["checked"] == 1
    assert report["pypi_latest"]["unchecked"] == [
        {"package": "behind", "installed": "3.0", "reason": "the newest release is 3.1"}
    ]


def test_pypi_latest_says_when_the_index_cannot_be_reached(tmp_path, capsys):
    import socket

    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    listing = _pip_list(tmp_path, [{"name": "clean", "version": "1.0.0"}])
    assert (
        advisory_check.main(["--pypi-latest", f"http://127.0.0.1:{port}/pypi", "--installed", listing]) == 0
    )
    assert "not checked: clean 1.0.0: the index could not be read" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        advisory_check.main(["--pypi-latest", "file:///etc/passwd", "--installed", listing])


def test_both_sources_at_once(database, index, tmp_path, capsys):
    url, _asked = index
    listing = _pip_list(
        tmp_path, [{"name": "example-pkg", "version": "1.2"}, {"name": "flawed", "version": "2.0"}]
    )
    assert advisory_check.main([str(database), "--pypi-latest", url, "--installed", listing]) == 1
    out = capsys.readouterr().out
    assert "example-pkg 1.2: PYSEC-2099-1" in out and "flawed 2.0: PYSEC-2099-7" in out
    assert "2 advisory(ies) affect an installed version" in out
