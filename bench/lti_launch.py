"""LTI 1.3 launches over HTTP: mentorNET's /lti/login + /lti/launch against a pylti1p3 tool doing the same.

Both tools run on this machine in the same run with the same gunicorn options (`mentornet serve`, and
``bench/pylti1p3_tool.py`` through ``network_service.serving.run_gunicorn``), and take turns round by round. The
bench is the platform: it serves its key set on 127.0.0.1 and, as each learner's browser, sends the login
initiation, reads the state and nonce from the tool's redirect, signs the id_token (RS256; the same cost for
both tools, outside the measured time) and posts the launch with the cookies the login set. A launch is
measured from sending the login to having read the launch's answer, signing excluded.

mentorNET does every check of docs/lti.md (the nonce is stored at login and spent at launch in its database,
the learner is found and signed in); pylti1p3 keeps state and nonce in cookies and checks no nonce twice, so it
is the floor for the same protocol work, not an equal. Read the ratio, not the milliseconds (bench/README.md).

    .venv/bin/python bench/lti_launch.py [--lti-seconds 4] [--lti-rounds 3] [--lti-clients 8]
                                        [--lti-database postgresql|sqlite] [--no-save]
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent))

import common  # noqa: E402
import http_load  # noqa: E402
import provisioning  # noqa: E402
from server import Server, free_port  # noqa: E402

HOST = "127.0.0.1"
CLIENT_ID = "bench-client"
DEPLOYMENT = "1"
LEARNERS = 200  # distinct LMS users the launches cycle through (first launches create them, then sign-ins)
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
TOOLS = ("mentornet", "pylti1p3")
TARGET_RATIO = 1.5  # issue 4: at least 1.5x pylti1p3's throughput, with every check on


@dataclass
class Settings:
    seconds: float = 4.0
    rounds: int = 3
    clients: int = 8
    database: str = "postgresql"
    workers: int = 2
    threads: int = 4
    postgres_url: str = provisioning.DEFAULT_POSTGRES_URL


def add_arguments(parser: argparse.ArgumentParser, *, server_options: bool = True) -> None:
    group = parser.add_argument_group("LTI launches (mentorNET against pylti1p3)")
    group.add_argument("--lti-seconds", type=float, default=4.0, help="measured seconds per tool per round")
    group.add_argument("--lti-rounds", type=int, default=3, help="turns the two tools take (default 3)")
    group.add_argument("--lti-clients", type=int, default=8, help="concurrent browsers (default 8)")
    group.add_argument(
        "--lti-database", choices=["postgresql", "sqlite"], default="postgresql", help="mentorNET's database"
    )
    if server_options:
        group.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
        group.add_argument("--server-threads", type=int, default=4, help="threads per worker (default 4)")
        group.add_argument("--postgres-url", default=provisioning.DEFAULT_POSTGRES_URL)


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        seconds=args.lti_seconds,
        rounds=max(1, args.lti_rounds),
        clients=args.lti_clients,
        database=args.lti_database,
        workers=args.workers,
        threads=args.server_threads,
        postgres_url=args.postgres_url,
    )


class _Quiet(WSGIRequestHandler):
    def log(self, *_args) -> None:  # no access log of the bench's own key set
        pass


class Platform:
    """The bench's LMS: a key set served over HTTP, and id_tokens signed for the tools' logins."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}
        self._server = make_server(HOST, 0, self._wsgi, threaded=True, request_handler=_Quiet)
        self.base_url = f"http://{HOST}:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @Request.application
    def _wsgi(self, request: Request) -> Response:
        if request.path == "/jwks":
            return Response(json.dumps(self.jwks), mimetype="application/json")
        return Response("not found", status=404)

    def stop(self) -> None:
        self._server.shutdown()

    def id_token(self, nonce: str, learner: int, launch_url: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.base_url,
            "aud": CLIENT_ID,
            "sub": f"bench-learner-{learner}",
            "email": f"bench-learner-{learner}@example.org",
            "name": f"Learner {learner}",
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            CLAIM + "deployment_id": DEPLOYMENT,
            CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "version": "1.3.0",
            CLAIM + "resource_link": {"id": "bench-link"},
            CLAIM + "target_link_uri": launch_url,
            CLAIM + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            CLAIM + "context": {"id": "bench-course", "title": "Bench course"},
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


@dataclass
class Tool:
    name: str
    base_url: str
    expect_status: int  # the launch's answer: mentorNET redirects the signed-in learner, pylti1p3 answers 200
    server: Server
    phases: list[dict] = field(default_factory=list)


def one_launch(session: requests.Session, tool: Tool, platform: Platform, learner: int) -> float:
    """A whole launch as a browser does it; returns the seconds spent waiting for the tool (signing excluded)."""
    launch_url = f"{tool.base_url}/lti/launch"
    started = time.perf_counter()
    login = session.get(
        f"{tool.base_url}/lti/login",
        params={
            "iss": platform.base_url,
            "login_hint": str(learner),
            "target_link_uri": launch_url,
            "client_id": CLIENT_ID,
            "lti_deployment_id": DEPLOYMENT,
        },
        allow_redirects=False,
        timeout=30,
    )
    waited = time.perf_counter() - started
    if login.status_code != 302:
        raise RuntimeError(f"login answered {login.status_code}")
    query = parse_qs(urlsplit(login.headers["Location"]).query)
    token = platform.id_token(query["nonce"][0], learner, launch_url)
    # The login's cookies as a browser sends them back (requests would hold back Secure ones on plain http).
    cookies = login.cookies.get_dict()
    started = time.perf_counter()
    launch = session.post(
        launch_url,
        data={"id_token": token, "state": query["state"][0]},
        cookies=cookies,
        allow_redirects=False,
        timeout=30,
    )
    waited += time.perf_counter() - started
    if launch.status_code != tool.expect_status:
        raise RuntimeError(f"launch answered {launch.status_code}")
    session.cookies.clear()  # each launch starts like a fresh course tab: no cookie of the last one
    return waited


def run_phase(tool: Tool, platform: Platform, seconds: float, clients: int, offset: int) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    stop = time.perf_counter() + seconds
    cpu_before = tool.server.worker_cpu_seconds()

    def client(index: int) -> None:
        session = http_load.new_session()
        count = 0
        while time.perf_counter() < stop:
            learner = (offset + index * 7919 + count) % LEARNERS
            count += 1
            try:
                waited = one_launch(session, tool, platform, learner)
            except Exception as exc:  # counted and shown, the run goes on
                with lock:
                    kind = f"{type(exc).__name__}: {exc}"[:120]
                    errors[kind] = errors.get(kind, 0) + 1
                continue
            with lock:
                latencies.append(waited)
        session.close()

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {
        "latencies": latencies,
        "errors": errors,
        "elapsed": elapsed,
        "server_cpu": tool.server.worker_cpu_seconds() - cpu_before,
    }


def summarise(phases: list[dict]) -> dict:
    latencies = sorted(x for phase in phases for x in phase["latencies"])
    elapsed = sum(phase["elapsed"] for phase in phases)
    errors: dict[str, int] = {}
    for phase in phases:
        for kind, count in phase["errors"].items():
            errors[kind] = errors.get(kind, 0) + count
    count = len(latencies)
    return {
        "launches": count,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "seconds": round(elapsed, 2),
        "launches_per_s": round(count / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {
            "p50": round(1000 * http_load.percentile(latencies, 50), 2) if count else None,
            "p99": round(1000 * http_load.percentile(latencies, 99), 2) if count else None,
        },
        "server_cpu_ms_per_launch": (
            round(1000 * sum(p["server_cpu"] for p in phases) / count, 2) if count else None
        ),
        "rounds_launches_per_s": [
            round(len(p["latencies"]) / p["elapsed"], 1) if p["elapsed"] else 0.0 for p in phases
        ],
    }


def run(settings: Settings, directory: Path) -> dict:
    directory.mkdir(parents=True, exist_ok=True)
    platform = Platform()
    database = provisioning.prepare_database(settings.database, directory, settings.postgres_url)
    result: dict = {
        "database": database.label,
        "clients": settings.clients,
        "rounds": settings.rounds,
        "seconds_per_round": settings.seconds,
        "learners": LEARNERS,
    }
    servers: list[Server] = []
    try:
        ours_port, peer_port = free_port(HOST), free_port(HOST)
        environment = {
            "MENTORNET_ENV": "development",
            "MENTORNET_SECRET_KEY": secrets.token_urlsafe(48),
            "MENTORNET_DATABASE_URL": database.url,
            "MENTORNET_BASE_URL": f"http://{HOST}:{ours_port}",
            "MENTORNET_OUTBOX_WORKER": "false",
            "MENTORNET_JOBS_IN_PROCESS": "false",
            "MENTORNET_RATELIMIT_ENABLED": "false",
        }
        print("LTI: migrating mentorNET's database and registering the bench platform ...", file=sys.stderr)
        provisioning.mentornet(environment, "db", "upgrade")
        provisioning.mentornet(
            environment,
            "lti",
            "platform",
            "add",
            "--issuer",
            platform.base_url,
            "--client-id",
            CLIENT_ID,
            "--deployment-id",
            DEPLOYMENT,
            "--oidc-auth-url",
            f"{platform.base_url}/auth",
            "--token-url",
            f"{platform.base_url}/token",
            "--jwks-url",
            f"{platform.base_url}/jwks",
            "--trust-email",
        )
        peer_config = {
            "issuer": platform.base_url,
            "client_id": CLIENT_ID,
            "deployment_id": DEPLOYMENT,
            "auth_login_url": f"{platform.base_url}/auth",
            "jwks": platform.jwks,
            "secret_key": secrets.token_urlsafe(32),
        }
        tools = []
        for name, port, command, env, status in (
            ("mentornet", ours_port, None, environment, 303),
            (
                "pylti1p3",
                peer_port,
                [sys.executable, str(BENCH_DIR / "pylti1p3_tool.py")],
                {"BENCH_PYLTI_CONFIG": json.dumps(peer_config)},
                200,
            ),
        ):
            server = Server(
                database_url=database.url,
                base_url=f"http://{HOST}:{port}",
                host=HOST,
                port=port,
                workers=settings.workers,
                threads=settings.threads,
                log_path=directory / f"{name}.log",
                environment=env,
                command=command,
            )
            servers.append(server)
            server.start()
            server.wait_ready()
            tools.append(Tool(name, server.base_url, status, server))
        for tool in tools:  # warm-up: templates, the key set in each worker, every learner launched once
            run_phase(tool, platform, 1.0, settings.clients, offset=0)
            for learner in range(LEARNERS):
                one_launch(http_load.new_session(), tool, platform, learner)
        for round_number in range(settings.rounds):
            order = tools if round_number % 2 == 0 else list(reversed(tools))
            for tool in order:
                print(
                    f"  LTI round {round_number + 1}/{settings.rounds}  {tool.name}",
                    file=sys.stderr,
                    flush=True,
                )
                tool.phases.append(
                    run_phase(tool, platform, settings.seconds, settings.clients, offset=round_number * 13)
                )
        result["tools"] = {tool.name: summarise(tool.phases) for tool in tools}
        ours, peer = result["tools"]["mentornet"], result["tools"]["pylti1p3"]
        if peer["launches_per_s"] and ours["latency_ms"]["p50"] and peer["latency_ms"]["p50"]:
            result["mentornet_to_pylti1p3"] = {
                "launches_per_s": round(ours["launches_per_s"] / peer["launches_per_s"], 2),
                "p50": round(ours["latency_ms"]["p50"] / peer["latency_ms"]["p50"], 2),
                "p99": round(ours["latency_ms"]["p99"] / peer["latency_ms"]["p99"], 2),
            }
    except Exception as exc:
        result["failure"] = f"{type(exc).__name__}: {exc}"
        for server in servers:
            print(f"--- {server.log_path.name} (last lines) ---\n{server.log_tail()}", file=sys.stderr)
    finally:
        for server in servers:
            server.stop()
        platform.stop()
        database.drop()
    return result


def problems(report: dict) -> int:
    if not report:
        return 0
    return sum(tool["errors"] for tool in report.get("tools", {}).values()) + (
        1 if report.get("failure") else 0
    )


def evaluate(report: dict) -> list[dict]:
    ratio = report.get("mentornet_to_pylti1p3")
    if not ratio:
        return []
    return [
        {
            "target": f"LTI launches/s >= {TARGET_RATIO:g} x pylti1p3's",
            "value": ratio["launches_per_s"],
            "unit": "x",
            "limit": TARGET_RATIO,
            "pass": ratio["launches_per_s"] >= TARGET_RATIO,
        }
    ]


def render(report: dict) -> list[str]:
    lines = [
        f"LTI launches (login + launch over HTTP): {report.get('clients')} browsers, {report.get('rounds')} x "
        f"{report.get('seconds_per_round')} s per tool, taking turns; mentorNET on {report.get('database')}"
    ]
    if report.get("failure"):
        lines.append(f"  FAILED: {report['failure']}")
    tools = report.get("tools", {})
    if tools:
        header = f"{'tool':<12} {'launches/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'srv cpu ms':>10} {'per round':>18} {'errors':>6}"
        lines += [header, "-" * len(header)]
        for name, tool in tools.items():
            rounds = "-".join(
                f"{r:g}" for r in (min(tool["rounds_launches_per_s"]), max(tool["rounds_launches_per_s"]))
            )
            lines.append(
                f"{name:<12} {tool['launches_per_s']:>10.1f} {tool['latency_ms']['p50'] or 0:>8.1f} "
                f"{tool['latency_ms']['p99'] or 0:>8.1f} {tool['server_cpu_ms_per_launch'] or 0:>10.2f} "
                f"{rounds:>18} {tool['errors']:>6}"
            )
            for kind, count in tool["error_kinds"].items():
                lines.append(f"  {name} errors: {count} x {kind}")
    ratio = report.get("mentornet_to_pylti1p3")
    if ratio:
        lines.append(
            f"mentorNET / pylti1p3: launches/s x{ratio['launches_per_s']}, p50 x{ratio['p50']}, p99 x{ratio['p99']}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--no-save", action="store_true", help="print only; write no results file")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    report = common.new_report(vars(args) | {"postgres_url": provisioning.hide_password(args.postgres_url)})
    tmp = Path(tempfile.mkdtemp(prefix="mentornet-bench-lti-"))
    try:
        report["lti"] = run(settings_from(args), tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["machine"]["loadavg_after"] = common.loadavg()
    report["duration_s"] = round(time.perf_counter() - began, 1)
    report["targets"] = evaluate(report["lti"])
    count = problems(report["lti"])
    report["ok"] = count == 0
    print()
    print("\n".join(common.header_lines(report, "mentorNET LTI launch bench")))
    print()
    print("\n".join(render(report["lti"])))
    for target in report["targets"]:
        print(f"  [{'PASS' if target['pass'] else 'FAIL'}] {target['target']}: {target['value']}")
    if not args.no_save:
        path = common.save(report, "-lti")
        print(f"\nresults: {path.relative_to(common.REPO)} (and bench/results/latest-lti.json)")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
