"""Check installed Python distributions against a local copy of the PyPA advisory database (OSV YAML).

pip-audit needs pypi.org's per-version JSON or osv.dev; where neither can be reached, this reads a checkout or a
bare git clone of https://github.com/pypa/advisory-database instead (nothing is downloaded, and the advisory data
is never copied into this repository):

    .venv/bin/python tools/advisory_check.py /path/to/advisory-database
    .venv/bin/python tools/advisory_check.py /path/to/advisory-database.git --installed pip-list.json
    .venv/bin/python -m pip list --format json | .venv/bin/python tools/advisory_check.py DB --installed -

Without ``--installed`` it checks the distributions of the Python running it (run it with the environment's
interpreter). An advisory affects an installed version when the version is listed in its ``versions`` or falls in
one of its ``ECOSYSTEM`` ranges (introduced / fixed / last_affected, compared as PEP 440 versions); ``GIT`` ranges
are not evaluated (the ECOSYSTEM range or version list of the same advisory covers the releases). Withdrawn
advisories are skipped. Exit status: 0 when nothing affects an installed version (after ``--ignore``), 1 when
something does, 2 for bad input. The database is only as new as the copy: say its date with the result.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import shutil
import subprocess  # noqa: S404 - runs git on a path the operator gave
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version


def canonical(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _version(text: str) -> Version | None:
    try:
        return Version(str(text))
    except InvalidVersion:
        return None


@dataclass
class Finding:
    package: str
    installed: str
    advisory: str
    aliases: list[str]
    fixed: list[str]
    summary: str
    path: str = ""
    ignored: bool = False


@dataclass
class Database:
    """A checkout (a directory with ``vulns/``) or a bare git repository (read at HEAD with git)."""

    root: Path
    git: bool = False
    description: str = ""
    _names: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def open(cls, root: Path) -> Database:
        if (root / "vulns").is_dir():
            db = cls(root, git=False, description=f"directory {root}")
            for path in sorted((root / "vulns").glob("*/*.yaml")):
                db._names.setdefault(canonical(path.parent.name), []).append(str(path.relative_to(root)))
            return db
        if (root / "HEAD").is_file() or (root / ".git").exists():
            db = cls(root, git=True)
            head = _git(root, "log", "-1", "--format=%H %cI").strip()
            db.description = f"git {root} at {head}"
            listing = _git(root, "ls-tree", "-r", "--name-only", "HEAD", "vulns")
            for line in listing.splitlines():
                parts = line.split("/")
                if len(parts) == 3 and parts[2].endswith(".yaml"):
                    db._names.setdefault(canonical(parts[1]), []).append(line)
            return db
        raise SystemExit(f"{root}: neither a directory with vulns/ nor a git repository")

    def advisories_for(self, name: str) -> Iterator[tuple[str, dict]]:
        paths = self._names.get(canonical(name), [])
        if not paths:
            return
        if self.git:
            blobs = _git_batch(self.root, [f"HEAD:{p}" for p in paths])
        else:
            blobs = [(self.root / p).read_text(encoding="utf-8") for p in paths]
        for path, text in zip(paths, blobs, strict=True):
            yield path, yaml.safe_load(text) or {}

    @property
    def advisory_count(self) -> int:
        return sum(len(paths) for paths in self._names.values())


def _git_command() -> str:
    git = shutil.which("git")
    if git is None:
        raise SystemExit("git is needed to read a bare advisory-database clone")
    return git


def _git(root: Path, *args: str) -> str:
    return subprocess.run(  # noqa: S603 - git with fixed arguments on the path given
        [_git_command(), "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout


def _git_batch(root: Path, objects: list[str]) -> list[str]:
    """The contents of several blobs in one ``git cat-file --batch``."""
    out = subprocess.run(  # noqa: S603
        [_git_command(), "-C", str(root), "cat-file", "--batch"],
        input=("\n".join(objects) + "\n").encode(),
        check=True,
        capture_output=True,
    ).stdout
    texts, offset = [], 0
    for name in objects:
        end = out.index(b"\n", offset)
        header = out[offset:end].decode()
        if header.endswith("missing"):
            raise SystemExit(f"git object {name} missing")
        size = int(header.split()[2])
        texts.append(out[end + 1 : end + 1 + size].decode("utf-8"))
        offset = end + 1 + size + 1  # the blob is followed by a newline
    return texts


def in_range(version: Version, events: list[dict]) -> bool:
    """OSV ECOSYSTEM range evaluation: affected from an ``introduced`` up to (not including) a ``fixed``, or up
    to and including a ``last_affected``."""

    def key(event: dict):
        value = next(iter(event.values()))
        parsed = Version("0") if value == "0" else _version(value)
        return (parsed or Version("0"), 0 if "introduced" in event else 1)

    affected = False
    for event in sorted(events, key=key):
        (kind, value), *_rest = event.items()
        bound = Version("0") if value == "0" else _version(value)
        if bound is None:
            continue
        if kind == "introduced" and version >= bound:
            affected = True
        elif (kind == "fixed" and version >= bound) or (kind == "last_affected" and version > bound):
            affected = False
    return affected


def affects(advisory: dict, name: str, installed: Version) -> tuple[bool, list[str]]:
    """Whether ``advisory`` affects ``name`` at ``installed``, and the fixed versions it names."""
    hit, fixed = False, []
    for entry in advisory.get("affected") or []:
        package = entry.get("package") or {}
        if package.get("ecosystem") != "PyPI" or canonical(package.get("name", "")) != canonical(name):
            continue
        listed = {_version(v) for v in entry.get("versions") or []}
        if installed in listed:
            hit = True
        for affected_range in entry.get("ranges") or []:
            if affected_range.get("type") != "ECOSYSTEM":
                continue
            events = affected_range.get("events") or []
            fixed += [e["fixed"] for e in events if "fixed" in e]
            if in_range(installed, events):
                hit = True
    return hit, fixed


def installed_distributions(source: str | None) -> list[tuple[str, str]]:
    if source is None:
        seen = {}
        for dist in importlib.metadata.distributions():
            name = dist.metadata["Name"]
            if name:
                seen.setdefault(canonical(name), (name, dist.version))
        return sorted(seen.values(), key=lambda item: canonical(item[0]))
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    try:
        rows = json.loads(text)
        return sorted(((row["name"], row["version"]) for row in rows), key=lambda item: canonical(item[0]))
    except (ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"{source}: not the output of `pip list --format json` ({exc})") from exc


def check(db: Database, distributions: list[tuple[str, str]], ignore: set[str]) -> list[Finding]:
    findings = []
    for name, raw_version in distributions:
        version = _version(raw_version)
        if version is None:
            continue
        for path, advisory in db.advisories_for(name):
            if advisory.get("withdrawn"):
                continue
            hit, fixed = affects(advisory, name, version)
            if not hit:
                continue
            ids = {advisory.get("id", ""), *(advisory.get("aliases") or [])}
            summary = (advisory.get("summary") or advisory.get("details") or "").strip().splitlines()
            findings.append(
                Finding(
                    package=name,
                    installed=raw_version,
                    advisory=advisory.get("id", path),
                    aliases=sorted(a for a in advisory.get("aliases") or [] if a),
                    fixed=sorted(set(fixed), key=lambda v: _version(v) or Version("0")),
                    summary=(summary[0] if summary else "")[:160],
                    path=path,
                    ignored=bool(ids & ignore),
                )
            )
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database", type=Path, help="the advisory database: a checkout or a bare git clone")
    parser.add_argument(
        "--installed", help="`pip list --format json` output (a file, or - for stdin); default: this Python's"
    )
    parser.add_argument("--ignore", action="append", default=[], help="an advisory id or alias to ignore")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    args = parser.parse_args(argv)

    db = Database.open(args.database)
    distributions = installed_distributions(args.installed)
    findings = check(db, distributions, set(args.ignore))
    live = [f for f in findings if not f.ignored]
    if args.json:
        print(
            json.dumps(
                {
                    "database": db.description,
                    "checked": len(distributions),
                    "findings": [f.__dict__ for f in findings],
                },
                indent=2,
            )
        )
    else:
        print(f"advisory database: {db.description} ({db.advisory_count} advisories)")
        print(f"installed distributions checked: {len(distributions)}")
        for f in findings:
            mark = " (ignored)" if f.ignored else ""
            fixed = ", ".join(f.fixed) or "no fixed version"
            aliases = f" [{', '.join(f.aliases)}]" if f.aliases else ""
            print(
                f"{f.package} {f.installed}: {f.advisory}{aliases}{mark}; fixed in {fixed}\n    {f.summary}"
            )
        print(
            f"{len(live)} advisory(ies) affect an installed version"
            + (f", {len(findings) - len(live)} ignored" if len(findings) > len(live) else "")
        )
    return 1 if live else 0


if __name__ == "__main__":
    sys.exit(main())
