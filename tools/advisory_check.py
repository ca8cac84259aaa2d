"""Check installed Python distributions against a local copy of the PyPA advisory database (OSV YAML).

pip-audit needs pypi.org's per-version JSON or osv.dev; where neither can be reached, this reads a checkout or a
bare git clone of https://github.com/pypa/advisory-database instead (nothing is downloaded, and the advisory data
is never copied into this repository):

    .venv/bin/python tools/advisory_check.py /path/to/advisory-database
    .venv/bin/python tools/advisory_check.py /path/to/advisory-database.git --installed pip-list.json
    .venv/bin/python -m pip list --format json | .venv/bin/python tools/advisory_check.py DB --installed -

``--pypi-latest`` asks an index's JSON API instead (or as well; ``--index``, default https://pypi.org/pypi), which
answers where pypi.org serves project pages but not the per-version pages pip-audit reads. A project's page lists
the known vulnerabilities of its *newest* release only, so this judges exactly the installed distributions that
are their project's newest release, with today's data; the others are named as not checked (``--strict``: they
fail the check), and so is a project the index does not know (404):

    .venv/bin/python tools/advisory_check.py --pypi-latest
    .venv/bin/python tools/advisory_check.py --pypi-latest --index https://pypi.org/pypi --installed pip-list.json

Without ``--installed`` it checks the distributions of the Python running it (run it with the environment's
interpreter); editable installs (this project) are skipped by ``--pypi-latest``, as by pip-audit.

An advisory of the database affects an installed version when the version is listed in its ``versions`` or falls
in one of its ``ECOSYSTEM`` ranges (introduced / fixed / last_affected, compared as PEP 440 versions); ``GIT``
ranges are not evaluated (the ECOSYSTEM range or version list of the same advisory covers the releases).
Withdrawn advisories are skipped by both sources. Exit status: 0 when nothing affects an installed version (after
``--ignore``); 1 when something does (or, with ``--strict``, when a distribution was not checked); 2 for bad input,
or when the index could not be read for some distribution (no answer, an error status other than 404, an answer
that is not a project page): a check that could not run is not a pass. The database is only as new as the copy,
and the index only as complete as its pages: say which with the result.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.metadata
import json
import re
import shutil
import subprocess  # noqa: S404 - runs git on a path the operator gave
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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


def _editable(dist: importlib.metadata.Distribution) -> bool:
    """Whether ``dist`` is an editable install (PEP 610's ``direct_url.json``), as this project is in ``.venv``."""
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        return False
    return bool((direct.get("dir_info") or {}).get("editable"))


def installed_distributions(source: str | None, *, skip_editable: bool = False) -> list[tuple[str, str]]:
    if source is None:
        seen = {}
        for dist in importlib.metadata.distributions():
            name = dist.metadata["Name"]
            if name and not (skip_editable and _editable(dist)):
                seen.setdefault(canonical(name), (name, dist.version))
        return sorted(seen.values(), key=lambda item: canonical(item[0]))
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    try:
        rows = json.loads(text)
        return sorted(
            (
                (row["name"], row["version"])
                for row in rows
                if not (skip_editable and row.get("editable_project_location"))
            ),
            key=lambda item: canonical(item[0]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
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


PYPI_JSON = "https://pypi.org/pypi"
PYPI_TIMEOUT_SECONDS = 20
PYPI_CONNECTIONS = 8


@dataclass
class Unchecked:
    package: str
    installed: str
    reason: str
    unreadable: bool = False  # the index could not be read for it: the check did not run (exit status 2)


class PageUnreadable(Exception):
    """The index answered something that is not a project page."""


def _project_page(base_url: str, name: str) -> dict:
    url = f"{base_url.rstrip('/')}/{urllib.parse.quote(canonical(name), safe='')}/json"
    request = urllib.request.Request(url, headers={"User-Agent": "mentornet-advisory-check"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=PYPI_TIMEOUT_SECONDS) as answer:  # noqa: S310 - http(s) only
        try:
            page = json.load(answer)
        except ValueError as exc:
            raise PageUnreadable(f"the answer is not JSON ({exc})") from exc
    if not isinstance(page, dict) or not isinstance(page.get("info"), dict):
        raise PageUnreadable("the answer is not a project page (no info object)")
    vulnerabilities = page.get("vulnerabilities")
    if vulnerabilities is None:
        raise PageUnreadable("the project page has no vulnerabilities list")
    if not isinstance(vulnerabilities, list) or not all(isinstance(v, dict) for v in vulnerabilities):
        raise PageUnreadable("the project page's vulnerabilities are not a list of objects")
    return page


def check_newest_releases(
    base_url: str, distributions: list[tuple[str, str]], ignore: set[str]
) -> tuple[list[Finding], list[Unchecked], int]:
    """The vulnerabilities an index's JSON API lists for each project's newest release, for the installed
    distributions that are that release: (findings, distributions not checked and why, how many were checked).
    An older or newer installed version is not judged: the page says nothing about it."""

    def ask(item: tuple[str, str]):
        name, _version_text = item
        try:
            return item, _project_page(base_url, name), None
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return item, None, Unchecked(name, _version_text, "the index does not know it (404)")
            return (
                item,
                None,
                Unchecked(name, _version_text, f"the index answered {exc.code}", unreadable=True),
            )
        except (urllib.error.URLError, OSError, http.client.HTTPException, PageUnreadable) as exc:
            reason = f"the index could not be read ({exc})"
            return item, None, Unchecked(name, _version_text, reason, unreadable=True)

    findings, unchecked, checked = [], [], 0
    with ThreadPoolExecutor(PYPI_CONNECTIONS) as pool:
        answers = list(pool.map(ask, distributions))
    for (name, raw_version), page, problem in answers:
        if page is None:
            unchecked.append(problem)
            continue
        newest = str(page["info"].get("version") or "")
        installed, newest_version = _version(raw_version), _version(newest)
        if installed is None or newest_version is None or installed != newest_version:
            unchecked.append(Unchecked(name, raw_version, f"the newest release is {newest or 'unknown'}"))
            continue
        checked += 1
        seen: set[str] = set()  # one finding per flaw: PyPI lists it once per database (PYSEC-..., GHSA-...)
        for vulnerability in page["vulnerabilities"]:
            aliases = sorted(str(a) for a in vulnerability.get("aliases") or [] if a)
            advisory = str(vulnerability.get("id") or "")
            ids = {advisory, *aliases} - {""}
            if vulnerability.get("withdrawn") or ids & seen:
                continue
            seen |= ids
            summary = (
                str(vulnerability.get("summary") or vulnerability.get("details") or "").strip().splitlines()
            )
            fixed = [str(v) for v in vulnerability.get("fixed_in") or []]
            findings.append(
                Finding(
                    package=name,
                    installed=raw_version,
                    advisory=advisory,
                    aliases=aliases,
                    fixed=sorted(fixed, key=lambda v: _version(v) or Version("0")),
                    summary=(summary[0] if summary else "")[:160],
                    path=str(vulnerability.get("link") or ""),
                    ignored=bool(ids & ignore),
                )
            )
    return findings, unchecked, checked


def _print_findings(findings: list[Finding]) -> None:
    for f in findings:
        mark = " (ignored)" if f.ignored else ""
        fixed = ", ".join(f.fixed) or "no fixed version"
        aliases = f" [{', '.join(f.aliases)}]" if f.aliases else ""
        print(f"{f.package} {f.installed}: {f.advisory}{aliases}{mark}; fixed in {fixed}\n    {f.summary}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "database", type=Path, nargs="?", help="the advisory database: a checkout or a bare git clone"
    )
    parser.add_argument(
        "--pypi-latest", action="store_true", help="ask the index about the installed newest releases"
    )
    parser.add_argument("--index", default=PYPI_JSON, help=f"the index's JSON API (default {PYPI_JSON})")
    parser.add_argument(
        "--strict", action="store_true", help="with --pypi-latest: fail when any is not checked"
    )
    parser.add_argument(
        "--installed", help="`pip list --format json` output (a file, or - for stdin); default: this Python's"
    )
    parser.add_argument("--ignore", action="append", default=[], help="an advisory id or alias to ignore")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    args = parser.parse_args(argv)
    if args.database is None and not args.pypi_latest:
        parser.error("give an advisory database, --pypi-latest, or both")
    if args.installed == "-" and args.database is not None and args.pypi_latest:
        parser.error("--installed - can be read once: give a file to use both sources")
    if args.pypi_latest and not args.index.startswith(("https://", "http://")):
        parser.error(f"--index: {args.index} is not an http(s) address")

    report: dict = {}
    findings: list[Finding] = []
    unchecked: list[Unchecked] = []
    if args.database is not None:
        db = Database.open(args.database)
        distributions = installed_distributions(args.installed)
        found = check(db, distributions, set(args.ignore))
        findings += found
        report |= {"database": db.description, "checked": len(distributions)}
        if not args.json:
            print(f"advisory database: {db.description} ({db.advisory_count} advisories)")
            print(f"installed distributions checked: {len(distributions)}")
            _print_findings(found)
    if args.pypi_latest:
        distributions = installed_distributions(args.installed, skip_editable=True)
        found, unchecked, checked = check_newest_releases(args.index, distributions, set(args.ignore))
        findings += found
        report["pypi_latest"] = {
            "index": args.index,
            "installed": len(distributions),
            "checked": checked,
            "unchecked": [u.__dict__ for u in unchecked],
        }
        if not args.json:
            print(
                f"{args.index}: the vulnerabilities it lists now for each project's newest release; "
                f"{checked} of {len(distributions)} installed distributions are that release and were checked"
            )
            _print_findings(found)
            for u in unchecked:
                print(
                    f"{'COULD NOT CHECK' if u.unreadable else 'not checked'}: {u.package} {u.installed}: {u.reason}"
                )
    live = [f for f in findings if not f.ignored]
    unreadable = [u for u in unchecked if u.unreadable]
    if args.json:
        report["findings"] = [f.__dict__ for f in findings]
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{len(live)} advisory(ies) affect an installed version"
            + (f", {len(findings) - len(live)} ignored" if len(findings) > len(live) else "")
            + (f"; {len(unchecked)} distribution(s) not checked" if args.pypi_latest else "")
            + (f", {len(unreadable)} of them because the index could not be read" if unreadable else "")
        )
    if unreadable:
        return 2
    return 1 if live or (args.strict and unchecked) else 0


if __name__ == "__main__":
    sys.exit(main())
