"""mentorNET benchmark: page views over real HTTP, worker memory, graduate provisioning over real HTTP.

Every timing is read against a baseline measured in the same run (GET /healthz for pages, a bare endpoint doing
one INSERT per request for provisioning), because this machine is shared and noisy: absolute numbers move from
run to run, ratios much less.

    .venv/bin/python bench/run.py [--duration 3.5 --rounds 3 --threads 16] [--events 10000 --clients 8]

Writes bench/results/<UTC timestamp>.json and bench/results/latest.json and prints a table. Exit status 0 when
the run worked (the targets are informational), 1 when it did not: any HTTP error status, connection error or
timeout, a failed sign-in, a wrong provisioning answer, or a provisioning event lost or duplicated.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

import common
import directory
import http_load
import insights
import load
import lti_launch
import network
import provisioning
import signin
from server import Server, free_port

HOST = "127.0.0.1"
SIGN_IN_AS = "coordinator@example.org"

BASELINE = http_load.Endpoint("GET /healthz", "/healthz")
ENDPOINTS = [
    BASELINE,
    http_load.Endpoint("GET /sign-in", "/sign-in"),
    http_load.Endpoint("GET /mailbox", "/mailbox"),
    http_load.Endpoint("GET /api/v1/openapi.json", "/api/v1/openapi.json"),
    http_load.Endpoint("GET /networks/berlin-mentors", "/networks/berlin-mentors", signed_in=True),
    http_load.Endpoint("GET / (signed in)", "/", signed_in=True),
]

TARGET_P99_MS = 250.0
TARGET_RSS_MB = 150.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=16, help="concurrent client threads (default 16)")
    parser.add_argument("--duration", type=float, default=3.5, help="measured seconds per endpoint per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all endpoints (default 3)")
    parser.add_argument("--warmup", type=float, default=0.5, help="unmeasured seconds before each phase")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (mentornet serve default 2)")
    parser.add_argument("--server-threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument(
        "--only",
        choices=["pages", "provisioning", "network", "directory", "insights", "lti", "load"],
        help="run only this part (default: every part)",
    )
    parser.add_argument("--no-save", action="store_true", help="print only; write no results file")
    provisioning.add_arguments(parser, server_options=False)  # --workers and --server-threads are shared
    network.add_arguments(parser)  # --postgres-url, --workers and --server-threads are shared
    lti_launch.add_arguments(parser, server_options=False)  # --lti-*; the server options are shared
    load.add_arguments(parser, prefix="load-")  # only with --only load (issue 9's load run, about 2 minutes)
    directory.add_arguments(parser)  # --database, --postgres-url and --quick are shared
    insights.add_arguments(parser)  # --scale (10 unless 1), --quick, --network-seed are shared
    return parser.parse_args(argv)


# -- the run --------------------------------------------------------------------------------------------------


def bench_http(args: argparse.Namespace, tmp: Path, report: dict) -> None:
    from network_service.demo import build_demo, demo_config

    port = free_port(HOST)
    config = demo_config(HOST, port, directory=tmp / "http")
    build_demo(config)
    server = Server(
        database_url=config["DATABASE_URL"],
        base_url=config["BASE_URL"],
        host=HOST,
        port=port,
        workers=args.workers,
        threads=args.server_threads,
        log_path=tmp / "server.log",
    )
    report["server"] = {"workers": args.workers, "threads_per_worker": args.server_threads, "port": port}
    try:
        started = time.perf_counter()
        server.start()
        server.wait_ready()
        report["server"]["startup_s"] = round(time.perf_counter() - started, 2)

        anonymous = [http_load.new_session() for _ in range(args.threads)]
        signed = [http_load.new_session() for _ in range(args.threads)]
        flow = http_load.new_session()
        signin.sign_in(flow, config["BASE_URL"], SIGN_IN_AS)
        for session in signed:  # one sign-in (the form is rate limited); every client carries its cookie
            session.cookies.update(flow.cookies)
            home = session.get(config["BASE_URL"] + "/", allow_redirects=False, timeout=10)
            if home.status_code != 200 or "Sign out" not in home.text:
                raise signin.SignInFailed("a client with the signed-in cookie is not signed in")
        flow.close()

        phases: dict[str, list[http_load.Phase]] = {endpoint.name: [] for endpoint in ENDPOINTS}
        warmup_errors: dict[str, dict] = {}
        for round_number in range(args.rounds):
            # Round-robin over the endpoints, so slow drift in the machine's load spreads over all of them.
            for endpoint in ENDPOINTS:
                sessions = signed if endpoint.signed_in else anonymous
                url = config["BASE_URL"] + endpoint.path
                print(
                    f"  round {round_number + 1}/{args.rounds}  {endpoint.name}", file=sys.stderr, flush=True
                )
                if args.warmup > 0:
                    warm = http_load.run_phase(url, sessions, args.warmup)
                    for kind, count in warm.errors.items():  # they count as errors too, shown apart
                        kinds = warmup_errors.setdefault(endpoint.name, {})
                        kinds[kind] = kinds.get(kind, 0) + count
                phases[endpoint.name].append(
                    http_load.run_phase(url, sessions, args.duration, server.worker_cpu_seconds)
                )
        for session in anonymous + signed:
            session.close()

        workers = server.worker_memory()
        report["memory"] = {
            "workers": workers,
            "max_worker_rss_mb": round(max(w["rss_kb"] for w in workers) / 1024, 1) if workers else None,
            "max_worker_hwm_mb": round(max(w["hwm_kb"] for w in workers) / 1024, 1) if workers else None,
        }
        baseline = http_load.summarise(phases[BASELINE.name])
        base_p50 = baseline["latency_ms"]["p50"]
        results = {}
        for endpoint in ENDPOINTS:
            summary = http_load.summarise(phases[endpoint.name])
            summary["path"] = endpoint.path
            summary["signed_in"] = endpoint.signed_in
            summary["baseline"] = endpoint is BASELINE
            if base_p50:
                summary["latency_to_baseline_p50"] = {
                    q: round(summary["latency_ms"][q] / base_p50, 2) if summary["latency_ms"][q] else None
                    for q in ("p50", "p95", "p99")
                }
                # The same ratio round by round (each against the baseline of its own round): its spread shows
                # how much the machine's noise moved the comparison.
                summary["p50_to_baseline_p50_per_round"] = [
                    _p50_ratio(phase, base_phase)
                    for phase, base_phase in zip(phases[endpoint.name], phases[BASELINE.name], strict=True)
                ]
            if baseline["throughput_rps"]:
                summary["throughput_to_baseline"] = round(
                    summary["throughput_rps"] / baseline["throughput_rps"], 3
                )
            results[endpoint.name] = summary
        report["http"] = {
            "client_threads": args.threads,
            "rounds": args.rounds,
            "seconds_per_round": args.duration,
            "warmup_seconds": args.warmup,
            "baseline": BASELINE.name,
            "endpoints": results,
            "warmup_errors": warmup_errors,
        }
    except Exception:
        print(f"--- server log (last lines) ---\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        server.stop()


def _p50_ratio(phase: http_load.Phase, base_phase: http_load.Phase) -> float | None:
    if not phase.latencies or not base_phase.latencies:
        return None
    p50 = http_load.percentile(sorted(phase.latencies), 50)
    return round(p50 / http_load.percentile(sorted(base_phase.latencies), 50), 2)


def evaluate(report: dict) -> list[dict]:
    targets = []
    http = report.get("http", {})
    endpoints = http.get("endpoints", {})
    errors = (
        sum(e["errors"] for e in endpoints.values())
        + sum(sum(kinds.values()) for kinds in http.get("warmup_errors", {}).values())
        + provisioning.problems(report.get("provisioning", {}))
        + network.problems(report.get("network", {}))
        + lti_launch.problems(report.get("lti", {}))
        + directory.problems(report.get("directory", {}))
        + insights.problems(report.get("insights", {}))
    )
    parts = report["parts"]
    complete = (
        ("pages" not in parts or "http" in report)
        and ("provisioning" not in parts or "provisioning" in report)
        and ("network" not in parts or "network" in report)
        and ("lti" not in parts or "lti" in report)
        and ("load" not in parts or "load" in report)
        and ("directory" not in parts or "directory" in report)
        and ("insights" not in parts or "insights" in report)
    )
    targets.append(
        {
            "target": "zero errors" if complete else "zero errors (run incomplete)",
            "value": errors,
            "unit": "errors",
            "limit": 0,
            "pass": errors == 0 and complete,
        }
    )
    pages = {
        name: e for name, e in endpoints.items() if not e["baseline"] and e["latency_ms"]["p99"] is not None
    }
    if pages:
        worst = max(pages, key=lambda name: pages[name]["latency_ms"]["p99"])
        p99 = pages[worst]["latency_ms"]["p99"]
        targets.append(
            {
                "target": f"p99 of page views <= {TARGET_P99_MS:.0f} ms",
                "value": p99,
                "unit": "ms",
                "limit": TARGET_P99_MS,
                "worst": worst,
                "pass": p99 <= TARGET_P99_MS and len(pages) == len(endpoints) - 1,
            }
        )
    rss = report.get("memory", {}).get("max_worker_rss_mb")
    if rss is not None:
        targets.append(
            {
                "target": f"worker RSS <= {TARGET_RSS_MB:.0f} MB",
                "value": rss,
                "unit": "MB",
                "limit": TARGET_RSS_MB,
                "pass": rss <= TARGET_RSS_MB,
            }
        )
    if "provisioning" in report:
        targets.extend(provisioning.evaluate(report["provisioning"]))
    if "network" in report:
        targets.extend(network.evaluate(report["network"]))
    if "lti" in report:
        targets.extend(lti_launch.evaluate(report["lti"]))
    if "load" in report:
        targets.extend(report["load"]["targets"])
    if "directory" in report:
        targets.extend(directory.evaluate(report["directory"]))
    if "insights" in report:
        targets.extend(insights.evaluate(report["insights"]))
    return targets


# -- output ---------------------------------------------------------------------------------------------------


def _fmt(value, spec: str) -> str:
    return "-".rjust(int(spec.split(".")[0])) if value is None else format(value, spec)


def _spread(values: list[float | None] | None) -> str:
    known = [v for v in values or [] if v is not None]
    return f"{min(known):.2f}-{max(known):.2f}" if known else "-"


def render(report: dict) -> str:
    lines = common.header_lines(report)
    http = report.get("http")
    if http:
        server = report["server"]
        lines.append("")
        lines.append(
            f"HTTP: {http['client_threads']} client threads, {http['rounds']} x {http['seconds_per_round']:g} s per "
            f"endpoint, gunicorn {server['workers']} workers x {server['threads_per_worker']} threads; "
            f"ratios are to the p50 of {http['baseline']}"
        )
        header = (
            f"{'endpoint':<30} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
            f"{'p50 x':>6} {'p95 x':>6} {'p99 x':>6} {'p50 x/round':>11} {'srv cpu ms':>10} {'errors':>6}"
        )
        lines.append(header)
        lines.append("-" * len(header))
        for name, e in http["endpoints"].items():
            ratio = e.get("latency_to_baseline_p50", {})
            label = f"{name} (baseline)" if e["baseline"] else name
            lines.append(
                f"{label:<30} {e['throughput_rps']:>7.1f} {_fmt(e['latency_ms']['p50'], '8.1f')} "
                f"{_fmt(e['latency_ms']['p95'], '8.1f')} {_fmt(e['latency_ms']['p99'], '8.1f')} "
                f"{_fmt(ratio.get('p50'), '6.2f')} {_fmt(ratio.get('p95'), '6.2f')} "
                f"{_fmt(ratio.get('p99'), '6.2f')} {_spread(e.get('p50_to_baseline_p50_per_round')):>11} "
                f"{_fmt(e['server_cpu_ms_per_request'], '10.2f')} "
                f"{e['errors']:>6}"
            )
        for name, e in http["endpoints"].items():
            if e["error_kinds"]:
                lines.append(f"  errors on {name}: {e['error_kinds']}")
        if http.get("warmup_errors"):
            lines.append(f"  errors during the unmeasured warm-ups: {http['warmup_errors']}")
    memory = report.get("memory")
    if memory:
        lines.append("")
        lines.append("Memory of the gunicorn workers after the HTTP run (/proc/<pid>/status)")
        for worker in memory["workers"]:
            lines.append(
                f"  worker {worker['pid']:<8} VmRSS {worker['rss_kb'] / 1024:6.1f} MB   "
                f"peak VmHWM {worker['hwm_kb'] / 1024:6.1f} MB"
            )
    if report.get("provisioning"):
        lines.append("")
        lines.extend(provisioning.render(report["provisioning"]))
    if report.get("network"):
        lines.append("")
        lines.extend(network.render_heading(report["network"]))
        lines.extend(network.render(report["network"]))
    if report.get("lti"):
        lines.append("")
        lines.extend(lti_launch.render(report["lti"]))
    if report.get("directory"):
        lines.append("")
        lines.extend(directory.render(report["directory"]))
    if report.get("insights"):
        lines.append("")
        lines.extend(insights.render(report["insights"]))
    lines.append("")
    lines.append("Targets (informational)")
    for target in report.get("targets", []):
        extra = f" ({target['worst']})" if target.get("worst") else ""
        lines.append(
            f"  [{'PASS' if target['pass'] else 'FAIL'}] {target['target']}: {target['value']}"
            f"{' ' + target['unit'] if target['unit'] else ''}{extra}"
        )
    if report.get("failure"):
        lines.append("")
        lines.append(f"RUN FAILED: {report['failure']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    report = common.new_report(vars(args) | {"postgres_url": provisioning.hide_password(args.postgres_url)})
    report["parts"] = (
        [args.only] if args.only else ["pages", "provisioning", "network", "directory", "insights", "lti"]
    )
    tmp = Path(tempfile.mkdtemp(prefix="mentornet-bench-"))
    failures = []
    try:
        # Each part on its own: one that cannot run does not keep the other from running.
        if "pages" in report["parts"]:
            print(
                "HTTP: building the demo database and starting `mentornet serve` ...",
                file=sys.stderr,
                flush=True,
            )
            try:
                bench_http(args, tmp, report)
            except Exception as exc:
                traceback.print_exc()
                failures.append(f"pages: {type(exc).__name__}: {exc}")
        if "provisioning" in report["parts"]:
            print(
                f"Provisioning over HTTP: {args.events} events per database ...", file=sys.stderr, flush=True
            )
            report["provisioning"] = provisioning.run(provisioning.settings_from(args), tmp / "provisioning")
        if "load" in report["parts"]:
            print(f"Mixed load: {args.load_users} users for {args.load_duration:.0f} s ...", file=sys.stderr)
            report["load"] = load.run(args, tmp / "load")
            print(load.render(report), flush=True)
        if "network" in report["parts"]:
            print("Generated network at 1x and 10x ...", file=sys.stderr, flush=True)
            report["network"] = network.run(network.settings_from(args), tmp / "network")
        if "lti" in report["parts"]:
            print("LTI launches, mentorNET against pylti1p3 ...", file=sys.stderr, flush=True)
            report["lti"] = lti_launch.run(lti_launch.settings_from(args), tmp / "lti")
        if "directory" in report["parts"]:
            print("Directory search ...", file=sys.stderr, flush=True)
            report["directory"] = directory.run(directory.settings_from(args), tmp / "directory")
        if "insights" in report["parts"]:
            print("Insights of a generated network ...", file=sys.stderr, flush=True)
            report["insights"] = insights.run(insights.settings_from(args))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        report["failure"] = "; ".join(failures)

    report["machine"]["loadavg_after"] = common.loadavg()
    report["duration_s"] = round(time.perf_counter() - began, 1)
    report["targets"] = evaluate(report)
    errors = report["targets"][0]["value"]
    if not report.get("failure") and errors:
        report["failure"] = f"{errors} request(s) or event(s) failed"
    report["ok"] = not report.get("failure")
    print()
    print(render(report))
    if not args.no_save:
        path = common.save(report)
        print(f"\nresults: {path.relative_to(common.REPO)} (and bench/results/latest.json)")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
