"""Directory search over 50,000 generated organisations, against a naive LIKE query measured in the same run.

    .venv/bin/python bench/directory.py [--database sqlite|postgresql|both] [--entries 50000] [--quick]

For each database a fresh one is migrated (SQLite: a file in a temporary directory, with the FTS5 table kept by
the migration's triggers; PostgreSQL: a private schema in the ``test`` database, with the GIN expression index)
and filled with ``--entries`` published organisations in 14 countries (names, cities, descriptions, languages,
services), then ANALYZEd. In process (no HTTP), one query at a time, the search cases below take turns with the
four ways of answering them, so the machine's drift falls on all of them alike:

- ``search``: ``network_service.directory.search.search`` (the first page of 20 by name, full text + facets);
- ``page queries``: what the /directory page asks for the same search when its counts are not cached: the page,
  then the total and the facet counts in one statement (``search.counts``);
- ``page queries, cached``: the same when they are (the page and the directory's version);
- ``naive LIKE``: the same filters with ``lower(name|city|description) LIKE '%word%'`` for every word, first page
  by name: what a directory without a full-text index would do;
- ``GET /directory``: the whole page through the Flask test client (rendering included), fewer samples: after
  the warm-up every search's page below the header is kept (directory/views.py), so this is the cached page.

Writes bench/results/<UTC timestamp>-directory.json (and latest-directory.json) and prints a table. Exit status
1 when the run failed (an error, or a search whose result differs from the LIKE query's where both must agree);
the target (p99 of ``search`` <= 20 ms on both databases) is informational.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

import common
import http_load
import provisioning

TARGET_P99_MS = 20.0

COUNTRIES = {  # code: (weight, cities)
    "DE": (30, ["Berlin", "Hamburg", "München", "Köln", "Leipzig", "Frankfurt am Main", "Dresden"]),
    "IT": (12, ["Roma", "Milano", "Torino", "Napoli", "Bologna", "Palermo"]),
    "GR": (8, ["Athina", "Thessaloniki", "Patra", "Lesvos"]),
    "PL": (8, ["Warszawa", "Kraków", "Wrocław", "Gdańsk"]),
    "AT": (6, ["Wien", "Graz", "Linz"]),
    "FR": (8, ["Paris", "Lyon", "Marseille", "Lille"]),
    "ES": (6, ["Madrid", "Barcelona", "Valencia", "Sevilla"]),
    "NL": (4, ["Amsterdam", "Rotterdam", "Utrecht"]),
    "BE": (3, ["Bruxelles", "Antwerpen", "Liège"]),
    "SE": (3, ["Stockholm", "Göteborg", "Malmö"]),
    "CH": (3, ["Zürich", "Genève", "Basel"]),
    "UA": (3, ["Kyiv", "Lviv", "Odesa"]),
    "TR": (3, ["Istanbul", "Izmir", "Gaziantep"]),
    "PT": (3, ["Lisboa", "Porto"]),
}
LANGUAGES = [("en", 60), ("de", 30), ("ar", 25), ("fr", 20), ("it", 12), ("uk", 12), ("ru", 10), ("fa", 10),
             ("tr", 8), ("es", 8), ("pl", 8), ("el", 6), ("ti", 4), ("so", 4), ("ps", 4), ("ku", 4)]  # fmt: skip
SERVICES = [("legal", 30), ("housing", 25), ("employment", 25), ("language_courses", 30), ("health", 15),
            ("education", 20), ("psychosocial", 12), ("other", 5)]  # fmt: skip
PREFIXES = ["Caritas", "Diakonie", "Refugio", "Casa", "Open Doors", "Welcome", "Bridges", "Together", "Horizon",
            "Nova", "Harbour", "Compass", "Lighthouse", "Kompass", "Ponte", "Most", "Agora", "Solidarity"]  # fmt: skip
THEMES = ["Migration Service", "Refugee Law Clinic", "Housing Aid", "Job Centre for Newcomers", "Language School",
          "Health Point", "Youth Mentoring", "Family Counselling", "Women's Network", "Integration Office",
          "Legal Advice Desk", "Trauma Support", "Welcome Café", "Education Bridge"]  # fmt: skip
SENTENCES = [
    "We offer free legal advice on asylum and residence law.",
    "Volunteers help families find a flat and talk to landlords.",
    "Evening language courses for adults, childcare during the lessons.",
    "Job coaching, CV workshops and the recognition of foreign diplomas.",
    "Psychosocial support for survivors of war and flight, in several languages.",
    "Mentors accompany newcomers to offices, schools and doctors.",
    "Homework help and school enrolment for children and teenagers.",
    "A drop-in café where locals and migrants meet every week.",
    "Interpreting for medical appointments and health information.",
    "Counselling on work permits, contracts and workers' rights.",
]

# The searches. "agree" marks cases where the naive LIKE query must find exactly the same first page (no words,
# or whole words that occur only at the start of words in the generated text); elsewhere LIKE also finds the
# middle of words, so only the timing is compared.
CASES = [
    {"label": "common word", "text": "legal", "agree": True},
    {"label": "word prefix", "text": "hous"},
    {"label": "two words", "text": "language courses"},
    {"label": "city", "text": "thessaloniki", "agree": True},
    {"label": "word + country", "text": "mentors", "countries": ["DE"]},
    {"label": "word + language + service", "text": "support", "languages": ["ar"], "services": ["health"]},
    {"label": "country + service", "countries": ["IT"], "services": ["legal"], "agree": True},
    {"label": "language only", "languages": ["ti"], "agree": True},
    {
        "label": "three facets",
        "countries": ["GR", "IT"],
        "languages": ["fa"],
        "services": ["housing"],
        "agree": True,
    },
    {"label": "no hit", "text": "zzqxw", "agree": True},
    {"label": "hostile input", "text": 'legal" OR NEAR(x* ^ -"'},
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql", "both"], default="both", help="default both"
    )
    parser.add_argument("--postgres-url", default=provisioning.DEFAULT_POSTGRES_URL)
    parser.add_argument("--no-save", action="store_true", help="print only; write no results file")
    return parser.parse_args(argv)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("directory search")
    group.add_argument("--entries", type=int, default=50_000, help="generated organisations (default 50000)")
    group.add_argument(
        "--directory-rounds", type=int, help="turns over every case and way (default 30; --quick 8)"
    )
    group.add_argument("--directory-seed", type=int, default=20261128, help="seed of the generated entries")
    if not any(action.dest == "quick" for action in parser._actions):
        group.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")


def settings_from(args: argparse.Namespace) -> dict:
    return {
        "entries": args.entries,
        "rounds": args.directory_rounds or (8 if args.quick else 30),
        "databases": ["sqlite", "postgresql"] if args.database == "both" else [args.database],
        "seed": args.directory_seed,
        "postgres_url": args.postgres_url,
    }


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _weighted(rng: random.Random, pairs: list[tuple[str, int]], most: int) -> list[str]:
    names, weights = [p[0] for p in pairs], [p[1] for p in pairs]
    count = rng.randint(1, most)
    return sorted({rng.choices(names, weights)[0] for _ in range(count)})


def generate(app, count: int, seed: int) -> dict:
    """``count`` organisations, 1 in 100 an unpublished suggestion: COPY on PostgreSQL, batches of Core inserts
    on SQLite (whose triggers keep the FTS5 table), then ANALYZE."""
    import sqlalchemy as sa

    from network_service.db import db
    from network_service.directory.models import DirectoryEntry, EntryLanguage, EntryService
    from network_service.directory.operations import name_key

    rng = random.Random(seed)
    codes = list(COUNTRIES)
    weights = [COUNTRIES[c][0] for c in codes]
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    entries, languages, services = [], [], []
    for number in range(1, count + 1):
        country = rng.choices(codes, weights)[0]
        city = rng.choice(COUNTRIES[country][1])
        name = f"{rng.choice(PREFIXES)} {rng.choice(THEMES)} {city} {number}"
        spoken = _weighted(rng, LANGUAGES, 4)
        offered = _weighted(rng, SERVICES, 3)
        entries.append(
            {"id": number, "kind": "organisation", "name": name, "name_key": name_key(name), "country": country,
             "city": city, "languages": spoken, "services": offered, "website": f"https://org{number}.example.org",
             "contact_email": f"office@org{number}.example.org", "contact_phone": "",
             "description": " ".join(rng.sample(SENTENCES, 2)), "network_id": None,
             "published": number % 100 != 0, "suggested": number % 100 == 0, "created_at": now,
             "updated_at": now}
        )  # fmt: skip
        languages.extend({"entry_id": number, "language": code} for code in spoken)
        services.extend({"entry_id": number, "service": code} for code in offered)
    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":  # COPY: executemany is minutes slower at this size
                import network

                load = network.Loader(conn)
                columns = tuple(entries[0])
                load.copy(
                    "directory_entry",
                    columns,
                    (
                        tuple(json.dumps(e[c]) if c in ("languages", "services") else e[c] for c in columns)
                        for e in entries
                    ),
                )
                load.copy(
                    "directory_entry_language",
                    ("entry_id", "language"),
                    (tuple(r.values()) for r in languages),
                )
                load.copy(
                    "directory_entry_service", ("entry_id", "service"), (tuple(r.values()) for r in services)
                )
                load.fix_sequences()
            else:
                for table, rows in (
                    (DirectoryEntry.__table__, entries),
                    (EntryLanguage.__table__, languages),
                    (EntryService.__table__, services),
                ):
                    for start in range(0, len(rows), 5000):
                        conn.execute(sa.insert(table), rows[start : start + 5000])
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
    return {
        "entries": len(entries),
        "published": sum(1 for e in entries if e["published"]),
        "language_rows": len(languages),
        "service_rows": len(services),
        "load_s": round(time.perf_counter() - started, 2),
    }


def naive_like(query) -> list:
    """The first page of the same search without the full-text index: every word in name, city or description
    (lower-cased LIKE, the words as the real search sees them), the same facet filters, the same order."""
    import sqlalchemy as sa

    from network_service.db import session
    from network_service.directory import search
    from network_service.directory.models import DirectoryEntry

    where = search.conditions(search.Search("", query.countries, query.languages, query.services))
    for word in search.tokens(query.text):
        pattern = f"%{word}%"
        where.append(
            sa.or_(
                sa.func.lower(DirectoryEntry.name).like(pattern),
                sa.func.lower(DirectoryEntry.city).like(pattern),
                sa.func.lower(DirectoryEntry.description).like(pattern),
            )
        )
    return list(
        session.scalars(
            sa.select(DirectoryEntry)
            .where(*where)
            .order_by(DirectoryEntry.published, DirectoryEntry.name_key, DirectoryEntry.id)
            .limit(search.PAGE_SIZE + 1)
        )
    )


def page_queries(query) -> None:
    """What /directory asks when its counts are not cached (the first view of a search after any change to the
    directory): the page, then the total and the facet counts in one statement."""
    from network_service.directory import search

    search.search(query)
    search.counts(query)


def page_queries_cached(query) -> None:
    """What /directory asks for a search viewed before with the directory unchanged: the page and the
    directory's version (the counts come from the process's cache)."""
    from network_service.directory import search

    search.search(query)
    search.cached_counts(query)


def _url(case: dict) -> str:
    from urllib.parse import urlencode

    params = [("q", case.get("text", ""))]
    params += [("country", c) for c in case.get("countries", [])]
    params += [("language", c) for c in case.get("languages", [])]
    params += [("service", c) for c in case.get("services", [])]
    return "/directory?" + urlencode(params)


def _summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "samples": len(ordered),
        "p50": round(1000 * http_load.percentile(ordered, 50), 2),
        "p99": round(1000 * http_load.percentile(ordered, 99), 2),
        "max": round(1000 * ordered[-1], 2),
    }


WAYS = ("search", "page queries", "page queries, cached", "naive LIKE")


def measure(app, rounds: int) -> dict:
    from network_service.db import session
    from network_service.directory import search

    queries = [
        search.Search(
            c.get("text", ""), c.get("countries", []), c.get("languages", []), c.get("services", [])
        )
        for c in CASES
    ]
    ways = {
        "search": lambda q: search.search(q),
        "page queries": page_queries,
        "page queries, cached": page_queries_cached,
        "naive LIKE": naive_like,
    }
    times: dict[str, dict[str, list[float]]] = {way: {c["label"]: [] for c in CASES} for way in ways}
    hits, mismatches = {}, []
    with app.app_context():
        for query, case in zip(queries, CASES, strict=True):  # warm-up, and what each case finds
            rows, _next = search.search(query)
            hits[case["label"]] = {"first_page": len(rows), "total": search.count(query)}
            if case.get("agree") and [e.id for e in rows] != [
                e.id for e in naive_like(query)[: len(rows) or 1]
            ]:
                mismatches.append(case["label"])
            for way in ways.values():
                way(query)
            session.rollback()
        for _round in range(rounds):
            for query, case in zip(queries, CASES, strict=True):
                for way, function in ways.items():
                    started = time.perf_counter()
                    function(query)
                    times[way][case["label"]].append(time.perf_counter() - started)
                    session.rollback()
    client = app.test_client()
    page_times: list[float] = []
    statuses = set()
    for _round in range(max(2, rounds // 4)):
        for case in CASES:
            started = time.perf_counter()
            response = client.get(_url(case))
            page_times.append(time.perf_counter() - started)
            statuses.add(response.status_code)
    result = {
        way: {
            "all": _summary([t for samples in per_case.values() for t in samples]),
            "cases": {label: _summary(samples) for label, samples in per_case.items()},
        }
        for way, per_case in times.items()
    }
    result["GET /directory"] = {"all": _summary(page_times), "statuses": sorted(statuses)}
    return {"ways": result, "hits": hits, "mismatches": mismatches}


def run_database(kind: str, settings: dict, directory: Path) -> dict:
    from network_service import migrations
    from network_service.app import create_app
    from network_service.db import db

    began = time.perf_counter()
    if kind == "postgresql":
        import network

        database = network.prepare_database(settings["postgres_url"])
        url, label, drop = database.url, database.label, database.drop
    else:
        directory.mkdir(parents=True, exist_ok=True)
        url, label, drop = f"sqlite:///{directory / 'directory.db'}", "SQLite file", lambda: None
    result: dict = {"database": label}
    app = None
    try:
        app = create_app(
            {"ENV": "development", "SECRET_KEY": secrets.token_urlsafe(48), "DATABASE_URL": url,
             "BASE_URL": "http://127.0.0.1:5000", "OUTBOX_WORKER": False, "JOBS_IN_PROCESS": False,
             "RATELIMIT_ENABLED": False, "SMTP_URL": None, "DEMO_MAILBOX": False},
            use_environment=False,
        )  # fmt: skip
        _progress(f"{kind}: migrating ...")
        with app.app_context():
            migrations.upgrade(app)
        _progress(f"{kind}: generating {settings['entries']} organisations ...")
        result["data"] = generate(app, settings["entries"], settings["seed"])
        _progress(f"{kind}: {settings['rounds']} rounds of {len(CASES)} searches x {len(WAYS)} ways ...")
        result.update(measure(app, settings["rounds"]))
    finally:
        if app is not None:
            db.dispose(app)
        drop()
    result["duration_s"] = round(time.perf_counter() - began, 1)
    return result


def run(settings: dict, directory: Path) -> dict:
    report: dict = {
        "settings": settings | {"postgres_url": provisioning.hide_password(settings["postgres_url"])}
    }
    report["databases"] = {}
    failures = {}
    for kind in settings["databases"]:
        try:
            report["databases"][kind] = run_database(kind, settings, directory / kind)
        except Exception as exc:
            traceback.print_exc()
            failures[kind] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else exc!r}"
    if failures:
        report["failures"] = failures
    return report


def problems(report: dict) -> int:
    total = len(report.get("failures", {}))
    for result in report.get("databases", {}).values():
        total += len(result.get("mismatches", []))
        total += sum(1 for s in result["ways"]["GET /directory"]["statuses"] if s != 200)
    return total


def evaluate(report: dict) -> list[dict]:
    targets = []
    for kind, result in report.get("databases", {}).items():
        p99 = result["ways"]["search"]["all"]["p99"]
        targets.append(
            {
                "target": f"directory search at {result['data']['entries']} entries, {kind}: p99 <= "
                f"{TARGET_P99_MS:.0f} ms",
                "value": p99,
                "unit": "ms",
                "pass": p99 <= TARGET_P99_MS,
            }
        )
    return targets


def render(report: dict) -> list[str]:
    lines = [
        "Directory search (bench/directory.py), in process, one query at a time; every case x way in turn "
        f"over {report['settings']['rounds']} rounds"
    ]
    for kind, result in report.get("databases", {}).items():
        data = result["data"]
        lines.append("")
        lines.append(
            f"{kind}: {data['entries']} organisations ({data['published']} published), {data['language_rows']} "
            f"language rows, {data['service_rows']} service rows, loaded in {data['load_s']} s; {result['database']}"
        )
        header = f"{'way':<20} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        lines.append(header)
        lines.append("-" * len(header))
        for way, summary in result["ways"].items():
            a = summary["all"]
            lines.append(f"{way:<20} {a['p50']:>8.2f} {a['p99']:>8.2f} {a['max']:>8.2f}")
        lines.append(
            f"{kind}: p50 / p99 ms per case: search | page queries | page queries, cached | naive LIKE  "
            "(first page, total hits)"
        )
        for case in CASES:
            label = case["label"]
            cells = " | ".join(
                f"{result['ways'][w]['cases'][label]['p50']:6.2f} /{result['ways'][w]['cases'][label]['p99']:7.2f}"
                for w in WAYS
            )
            hit = result["hits"][label]
            lines.append(f"  {label:<26} {cells}   ({hit['first_page']}, {hit['total']})")
        if result["mismatches"]:
            lines.append(f"  MISMATCH with the LIKE query: {result['mismatches']}")
    for kind, failure in report.get("failures", {}).items():
        lines.append(f"  {kind} FAILED: {failure}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    report = common.new_report(vars(args) | {"postgres_url": provisioning.hide_password(args.postgres_url)})
    tmp = Path(tempfile.mkdtemp(prefix="mentornet-bench-directory-"))
    try:
        report["directory"] = run(settings_from(args), tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["machine"]["loadavg_after"] = common.loadavg()
    report["duration_s"] = round(time.perf_counter() - began, 1)
    report["targets"] = evaluate(report["directory"])
    count = problems(report["directory"])
    report["ok"] = count == 0
    if count:
        report["failure"] = f"{count} error(s) or failed part(s)"
    print()
    print("\n".join(common.header_lines(report, "mentorNET directory bench")))
    print("\n".join(render(report["directory"])))
    print()
    print("Targets (informational; the exit status is 1 only for errors)")
    for t in report["targets"]:
        print(f"  [{'PASS' if t['pass'] else 'FAIL'}] {t['target']}: {t['value']} {t['unit']}")
    if report.get("failure"):
        print(f"\nRUN FAILED: {report['failure']}")
    if not args.no_save:
        path = common.save(report, "-directory")
        print(f"\nresults: {path.relative_to(common.REPO)} (and bench/results/latest-directory.json)")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    os.environ.setdefault("MENTORNET_ENV", "development")
    sys.exit(main())
