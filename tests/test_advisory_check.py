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
