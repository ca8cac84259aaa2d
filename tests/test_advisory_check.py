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
            # the same flaw twice, under each database's id; the GHSA entry first, naming only the CVE
            {"id": "GHSA-aaaa-bbbb-cccc", "aliases": ["CVE-2099-0007"], "fixed_in": ["2.0.1"]},
            {
                "id": "PYSEC-2099-7",
                "aliases": ["CVE-2099-0007", "GHSA-aaaa-bbbb-cccc"],
                "summary": "Flawed parses badly.",
                "fixed_in": ["2.0.1"],
                "link": "https://osv.dev/vulnerability/PYSEC-2099-7",
                "withdrawn": None,
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
    "a-b": {"info": {"version": "1"}, "vulnerabilities": []},  # asked for as "a#b" would be "a" unquoted
}
RAW_ANSWERS = {
    "html": (200, b"<html>a proxy's login page</html>"),
    "list": (200, b"[]"),
    "stripped": (200, b'{"info": {"version": "1"}}'),  # a mirror that drops the vulnerabilities
    "broken": (500, b"oops"),
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
            name = parts[1] if len(parts) == 3 and parts[0] == "pypi" and parts[2] == "json" else ""
            if name in RAW_ANSWERS:
                status, body = RAW_ANSWERS[name]
            elif name in PROJECT_PAGES:
                status, body = 200, json.dumps(PROJECT_PAGES[name]).encode()
            else:
                self.send_error(404)
                return
            self.send_response(status)
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


def _latest(url, listing, *more) -> list[str]:
    return ["--pypi-latest", "--index", url, "--installed", listing, *more]


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
    status = advisory_check.main(_latest(url, listing))
    out = capsys.readouterr().out
    assert status == 1
    assert "2 of 4 installed distributions are that release and were checked" in out
    # one finding for the flaw listed twice, whichever comes first; the withdrawn one and the newer release's
    # flaw do not count
    assert out.count("Flawed 2.0:") == 1
    assert "Flawed 2.0: GHSA-aaaa-bbbb-cccc [CVE-2099-0007]; fixed in 2.0.1" in out
    assert "PYSEC-2099-8" not in out and "PYSEC-2099-9" not in out
    assert "not checked: behind 3.0: the newest release is 3.1" in out
    assert "not checked: unknown_pkg 1: the index does not know it (404)" in out
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
    assert advisory_check.main(_latest(url, flawed, "--ignore", "CVE-2099-0007")) == 0
    assert "(ignored)" in capsys.readouterr().out
    behind = _pip_list(
        tmp_path, [{"name": "clean", "version": "1.0.0"}, {"name": "behind", "version": "3.0"}]
    )
    assert advisory_check.main(_latest(url, behind)) == 0
    assert advisory_check.main(_latest(url, behind, "--strict")) == 1
    capsys.readouterr()
    assert advisory_check.main(_latest(url, behind, "--json")) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pypi_latest"]["checked"] == 1
    assert report["pypi_latest"]["unchecked"] == [
        {"package": "behind", "installed": "3.0", "reason": "the newest release is 3.1", "unreadable": False}
    ]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("html", "the answer is not JSON"),
        ("list", "not a project page"),
        ("stripped", "no vulnerabilities list"),
        ("broken", "the index answered 500"),
    ],
)
def test_pypi_latest_fails_when_the_index_answers_something_else(index, tmp_path, capsys, name, reason):
    url, _asked = index
    listing = _pip_list(tmp_path, [{"name": "clean", "version": "1.0.0"}, {"name": name, "version": "1"}])
    assert advisory_check.main(_latest(url, listing)) == 2  # a check that could not run is not a pass
    out = capsys.readouterr().out
    assert f"COULD NOT CHECK: {name} 1: " in out and reason in out
    assert "1 of 2 installed distributions are that release and were checked" in out


def test_pypi_latest_fails_when_the_index_cannot_be_reached(tmp_path, capsys):
    import socket

    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    listing = _pip_list(tmp_path, [{"name": "clean", "version": "1.0.0"}])
    assert advisory_check.main(_latest(f"http://127.0.0.1:{port}/pypi", listing)) == 2
    assert "COULD NOT CHECK: clean 1.0.0: the index could not be read" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        advisory_check.main(_latest("file:///etc/passwd", listing))
    assert refused.value.code == 2


def test_pypi_latest_quotes_names_in_the_address(index, tmp_path, capsys):
    url, asked = index
    listing = _pip_list(tmp_path, [{"name": "a#b", "version": "1"}])
    advisory_check.main(_latest(url, listing))
    assert asked == ["/pypi/a%23b/json"]  # not "/pypi/a" (another project's page)
    assert "not checked: a#b 1: the index does not know it (404)" in capsys.readouterr().out


def test_both_sources_at_once(database, index, tmp_path, capsys):
    url, _asked = index
    listing = _pip_list(
        tmp_path, [{"name": "example-pkg", "version": "1.2"}, {"name": "flawed", "version": "2.0"}]
    )
    assert advisory_check.main([str(database), *_latest(url, listing)]) == 1
    out = capsys.readouterr().out
    assert "example-pkg 1.2: PYSEC-2099-1" in out and "flawed 2.0: GHSA-aaaa-bbbb-cccc" in out
    assert "2 advisory(ies) affect an installed version" in out
    assert advisory_check.main([str(database), *_latest(url, listing), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    # the database's keys are where they were before --pypi-latest existed
    assert report["database"].startswith("directory ") and report["checked"] == 2
    assert report["pypi_latest"]["checked"] == 1
