"""Insights of a 10,000-member network: computed cold and served warm, and the cache's invalidation checked.

    .venv/bin/python bench/insights.py [--scale 10] [--quick]

The network is bench/network.py's generated one (10x: 10,000 members, 200,000 messages, 5,000 help requests,
notifications, meetings and answers) in a private PostgreSQL schema, ANALYZEd. In process, signed in as the
coordinator (no HTTP):

- ``cold``: ``insights.operations.insights`` right after ``forget`` (every figure computed and stored);
- ``warm``: the same call with the cache in place (one read);
- ``page cold`` / ``page warm``: GET /networks/<slug>/insights through the Flask test client (the quiet
  members, never cached, are computed on every view).

Invalidation, as docs/insights.md documents it (cached 10 minutes; Refresh computes at once): members join
after the cache was filled; the cached figures must still show the old count (served from the cache), Refresh
must show the new one, and so must a view after the cache is older than 10 minutes, and after ``forget``;
each time the served figures must equal a fresh ``compute`` at that moment.

Writes bench/results/<UTC timestamp>-insights.json (and latest-insights.json) and prints a table. Exit status 1
when the run failed (an error, or an invalidation check that does not hold); the target (cold <= 1 s) is
informational.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

import common
import http_load
import network
import provisioning

TARGET_COLD_S = 1.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--scale", choices=["1", "10"], default="10", help="network size (default 10)")
    parser.add_argument("--quick", action="store_true", help="fewer samples (a smoke run)")
    parser.add_argument("--postgres-url", default=provisioning.DEFAULT_POSTGRES_URL)
    parser.add_argument("--network-seed", type=int, default=20261128, help="seed of the generated data")
    parser.add_argument("--no-save", action="store_true", help="print only; write no results file")
    return parser.parse_args(argv)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("insights")
    group.add_argument("--cold-samples", type=int, help="cold computations (default 7; --quick 3)")


def settings_from(args: argparse.Namespace) -> dict:
    scale = getattr(args, "scale", "10")
    return {
        "scale": 10 if scale in ("both", None) else int(scale),
        "cold": args.cold_samples or (3 if args.quick else 7),
        "warm": 20 if args.quick else 100,
        "pages": 3 if args.quick else 7,
        "seed": args.network_seed,
        "postgres_url": args.postgres_url,
    }


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "samples": len(ordered),
        "p50_ms": round(1000 * http_load.percentile(ordered, 50), 1),
        "p99_ms": round(1000 * http_load.percentile(ordered, 99), 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


def _this_month(data: dict) -> int:
    return data["new_members"][-1]["joined"]


def _join(count: int, start: int) -> None:
    """``count`` new people join the network now (active members)."""
    from network_service.accounts.models import Person
    from network_service.db import session, utcnow
    from network_service.networks.models import Membership, MembershipStatus, Origin, Role

    for number in range(start, start + count):
        person = Person(email=f"joined{number}@bench.example.org", display_name=f"Joined {number}")
        session.add(person)
        session.add(
            Membership(network_id=1, person=person, role=Role.mentor, status=MembershipStatus.active,
                       origin=Origin.invited, joined_at=utcnow())
        )  # fmt: skip
    session.commit()


def measure(app, settings: dict, data: dict) -> dict:
    import sqlalchemy as sa

    from network_service.accounts.models import Person
    from network_service.db import session, utcnow
    from network_service.insights import operations as ops
    from network_service.insights.models import InsightCache
    from network_service.networks.models import Network

    result: dict = {}
    with app.app_context():
        network_row = session.get(Network, 1)
        coordinator = session.get(Person, data["coordinator_id"])

        def cold() -> float:
            ops.forget(network_row)
            session.commit()
            started = time.perf_counter()
            ops.insights(network_row, coordinator)
            session.commit()
            return time.perf_counter() - started

        cold()  # warm the process: imports, compiled statements, connections
        result["cold"] = _summary([cold() for _ in range(settings["cold"])])
        warm = []
        for _ in range(settings["warm"]):
            started = time.perf_counter()
            ops.insights(network_row, coordinator)
            session.commit()
            warm.append(time.perf_counter() - started)
        result["warm"] = _summary(warm)

        # Invalidation, as documented.
        checks = []

        def check(name: str, ok: bool, detail: str) -> None:
            checks.append({"check": name, "pass": bool(ok), "detail": detail})

        ops.forget(network_row)
        session.commit()
        before = _this_month(ops.insights(network_row, coordinator))
        session.commit()
        _join(3, 0)
        cached = _this_month(ops.insights(network_row, coordinator))
        session.commit()
        check(
            "within 10 minutes the cached figures are served",
            cached == before,
            f"new members this month: {before} before, {cached} served after 3 joined",
        )
        refreshed = ops.insights(network_row, coordinator, refresh=True)
        session.commit()
        fresh = ops.compute(network_row, utcnow())
        check(
            "Refresh shows the change at once",
            _this_month(refreshed) == before + 3 and _without_time(refreshed) == _without_time(fresh),
            f"{_this_month(refreshed)} after Refresh (expected {before + 3}); equal to a fresh computation: "
            f"{_without_time(refreshed) == _without_time(fresh)}",
        )
        _join(2, 3)
        session.execute(
            sa.update(InsightCache)
            .where(InsightCache.network_id == network_row.id)
            .values(computed_at=utcnow() - ops.CACHE_TTL - dt.timedelta(seconds=1))
        )
        session.commit()
        expired = ops.insights(network_row, coordinator)
        session.commit()
        check(
            "a cache older than 10 minutes is computed again",
            _this_month(expired) == before + 5,
            f"{_this_month(expired)} (expected {before + 5})",
        )
        _join(1, 5)
        ops.forget(network_row)
        session.commit()
        forgotten = ops.insights(network_row, coordinator)
        session.commit()
        check(
            "after forget the next view computes again",
            _this_month(forgotten) == before + 6,
            f"{_this_month(forgotten)} (expected {before + 6})",
        )
        result["invalidation"] = checks

    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session.update(network.session_payload(app, data["coordinator_id"]))
    url = f"/networks/{network.SLUG}/insights"
    statuses = set()
    page_cold, page_warm = [], []
    for _ in range(settings["pages"]):
        with app.app_context():
            ops.forget(session.get(Network, 1))
            session.commit()
        started = time.perf_counter()
        response = client.get(url)
        page_cold.append(time.perf_counter() - started)
        statuses.add(response.status_code)
        started = time.perf_counter()
        response = client.get(url)
        page_warm.append(time.perf_counter() - started)
        statuses.add(response.status_code)
    result["page cold"] = _summary(page_cold)
    result["page warm"] = _summary(page_warm)
    result["page_statuses"] = sorted(statuses)
    return result


def _without_time(data: dict) -> dict:
    return {key: value for key, value in data.items() if key != "computed_at"}


def run(settings: dict) -> dict:
    from network_service import migrations
    from network_service.app import create_app
    from network_service.db import db

    report: dict = {
        "settings": settings | {"postgres_url": provisioning.hide_password(settings["postgres_url"])}
    }
    began = time.perf_counter()
    database = network.prepare_database(settings["postgres_url"])
    report["database"] = database.label
    app = None
    try:
        app = create_app(
            network.app_settings(database.url, "bench-" + "x" * 60, "http://127.0.0.1:5000"),
            use_environment=False,
        )
        _progress(f"insights: migrating {database.label} ...")
        with app.app_context():
            migrations.upgrade(app)
        _progress(f"insights: generating the {settings['scale']}x network ...")
        data = network.generate(database.url, settings["scale"], settings["seed"])
        report["data"] = {"rows": data["rows"], "active_members": data["active_members"]}
        _progress("insights: cold, warm, invalidation, page ...")
        report.update(measure(app, settings, data))
    except Exception as exc:
        traceback.print_exc()
        report["failure"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else exc!r}"
    finally:
        if app is not None:
            db.dispose(app)
        database.drop()
    report["duration_s"] = round(time.perf_counter() - began, 1)
    return report


def problems(report: dict) -> int:
    total = 1 if report.get("failure") else 0
    total += sum(1 for c in report.get("invalidation", []) if not c["pass"])
    total += sum(1 for s in report.get("page_statuses", []) if s != 200)
    return total


def evaluate(report: dict) -> list[dict]:
    if "cold" not in report:
        return []
    members = report["data"]["rows"].get("membership", 0)
    return [
        {
            "target": f"insights of a {members}-member network computed cold: max <= {TARGET_COLD_S:g} s",
            "value": report["cold"]["max_ms"],
            "unit": "ms",
            "pass": report["cold"]["max_ms"] <= 1000 * TARGET_COLD_S,
        }
    ]


def render(report: dict) -> list[str]:
    lines = ["Insights (bench/insights.py), in process, PostgreSQL"]
    if "data" in report:
        rows = report["data"]["rows"]
        lines.append(
            f"network: {rows.get('membership', 0)} members ({report['data']['active_members']} active), "
            f"{rows.get('message', 0)} messages, {rows.get('help_request', 0)} help requests; {report['database']}"
        )
    for name in ("cold", "warm", "page cold", "page warm"):
        if name in report:
            s = report[name]
            lines.append(
                f"  {name:<10} p50 {s['p50_ms']:>8.1f} ms  p99 {s['p99_ms']:>8.1f} ms  max {s['max_ms']:>8.1f} ms"
                f"  ({s['samples']} samples)"
            )
    for c in report.get("invalidation", []):
        lines.append(f"  [{'ok' if c['pass'] else 'WRONG'}] {c['check']}: {c['detail']}")
    if report.get("failure"):
        lines.append(f"  FAILED: {report['failure']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    report = common.new_report(vars(args) | {"postgres_url": provisioning.hide_password(args.postgres_url)})
    tmp = Path(tempfile.mkdtemp(prefix="mentornet-bench-insights-"))
    try:
        report["insights"] = run(settings_from(args))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["machine"]["loadavg_after"] = common.loadavg()
    report["duration_s"] = round(time.perf_counter() - began, 1)
    report["targets"] = evaluate(report["insights"])
    count = problems(report["insights"])
    report["ok"] = count == 0
    if count:
        report["failure"] = f"{count} error(s) or failed check(s)"
    print()
    print("\n".join(common.header_lines(report, "mentorNET insights bench")))
    print("\n".join(render(report["insights"])))
    print()
    print("Targets (informational; the exit status is 1 only for errors)")
    for t in report["targets"]:
        print(f"  [{'PASS' if t['pass'] else 'FAIL'}] {t['target']}: {t['value']} {t['unit']}")
    if report.get("failure"):
        print(f"\nRUN FAILED: {report['failure']}")
    if not args.no_save:
        path = common.save(report, "-insights")
        print(f"\nresults: {path.relative_to(common.REPO)} (and bench/results/latest-insights.json)")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
