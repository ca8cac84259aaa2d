"""Graduate provisioning over real HTTP: signed Open edX pass events against `mentornet serve`.

    .venv/bin/python bench/provisioning.py [--events 10000] [--clients 8] [--database sqlite|postgresql|both]

For each database: a fresh database (a private schema in PostgreSQL's ``test`` database, or a temporary SQLite
file) migrated and set up with the `mentornet` command (an organisation, a network with its coordinator, a
course link), served by `mentornet serve` (gunicorn) with the outbox worker and the periodic jobs off, so
sending the invitations is not part of the number. ``--clients`` threads with a keep-alive connection each send
``--events`` signed ``POST /bridge/openedx/events`` for distinct learners, and replay a random 5% of them a
second time later in the run. The baseline, measured in the same run and taking turns with it round by round, is a bare endpoint on the
same gunicorn settings doing one INSERT per request (``bench/bare_app.py``), sent the same requests.

After the run the rows are counted: completion_event, person, invitation, membership and outbound_email must
each hold exactly one row per distinct event. Exit status 1 when an event was lost or duplicated, a request
failed or answered wrongly, or the run could not be done; the throughput targets are informational.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import bare_app
import http_load
from server import Server, environment_with, free_port, mentornet_executable

BENCH_DIR = Path(__file__).resolve().parent
HOST = "127.0.0.1"
DATABASES = ("postgresql", "sqlite")
DEFAULT_POSTGRES_URL = os.environ.get(
    "MENTORNET_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PATH = "/bridge/openedx/events"
COURSE_KEY = "course-v1:mentorNET+Bench+2026"
ORGANISATION = "Bench Organisation"
NETWORK = "bench-provisioning"
COORDINATOR = "coordinator@bench.example.org"
LEARNER_EMAIL = "bench-learner-{index}@example.org"
LEARNER_EMAIL_LIKE = "bench-learner-%@example.org"

TARGET_EVENTS_PER_S = 500.0  # on PostgreSQL
TARGET_BARE_RATIO = 0.40


@dataclass
class Settings:
    events: int = 10_000
    clients: int = 8
    databases: tuple[str, ...] = DATABASES
    workers: int = 2
    threads: int = 4
    rounds: int = 4
    replay_fraction: float = 0.05
    warmup_events: int = 32  # per server, before the measurement; distinct events, counted in the rows
    seed: int = field(default_factory=lambda: secrets.randbelow(2**31))
    postgres_url: str = DEFAULT_POSTGRES_URL


def add_arguments(parser: argparse.ArgumentParser, *, server_options: bool = True) -> None:
    group = parser.add_argument_group("provisioning over HTTP")
    group.add_argument("--events", type=int, default=10_000, help="distinct pass events (default 10000)")
    group.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    group.add_argument(
        "--database", choices=["sqlite", "postgresql", "both"], default="both", help="default both"
    )
    group.add_argument(
        "--provisioning-rounds",
        type=int,
        default=4,
        help="turns the provisioning endpoint and the bare endpoint take (default 4)",
    )
    group.add_argument(
        "--replay", type=float, default=0.05, help="share of events sent a second time (default 0.05)"
    )
    group.add_argument("--seed", type=int, help="for the choice and placing of the replays (default random)")
    group.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="database in which a private schema is created and dropped again "
        "(default $MENTORNET_BENCH_POSTGRES_URL or postgresql+psycopg://postgres@127.0.0.1:5432/test)",
    )
    if server_options:
        group.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
        group.add_argument("--server-threads", type=int, default=4, help="threads per worker (default 4)")


def settings_from(args: argparse.Namespace) -> Settings:
    settings = Settings(
        events=args.events,
        clients=args.clients,
        databases=DATABASES if args.database == "both" else (args.database,),
        workers=args.workers,
        threads=args.server_threads,
        rounds=max(1, args.provisioning_rounds),
        replay_fraction=args.replay,
        postgres_url=args.postgres_url,
    )
    if args.seed is not None:
        settings.seed = args.seed
    return settings


# -- the requests ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    event: int  # index of the event (and its learner)
    replay: bool


def plan(settings: Settings, rng: random.Random) -> tuple[list[Delivery], list[Delivery]]:
    """The warm-up deliveries, then the measured ones: every event once, a random share of them again later.

    A replay goes 100 to 1000 deliveries after its event, far more than the number of clients, so the first
    delivery has been answered by then: the replay is a delivery of an event already stored, not a race.
    """
    warmup = [Delivery(index, False) for index in range(settings.warmup_events)]
    first = settings.warmup_events
    indices = list(range(first, first + settings.events))
    replayed = rng.sample(indices, round(settings.events * settings.replay_fraction))
    later: dict[int, list[int]] = {}
    for index in replayed:
        later.setdefault(index + rng.randint(100, 1000), []).append(index)
    measured: list[Delivery] = []
    for position in indices:
        measured.append(Delivery(position, False))
        measured.extend(Delivery(index, True) for index in later.pop(position, []))
    measured.extend(Delivery(index, True) for slot in sorted(later) for index in later[slot])
    return warmup, measured


def pass_event(event_id: str, index: int) -> dict:
    """COURSE_PASSING_STATUS_UPDATED as openedx-webhooks and our forwarder post it (tests/bridge_payloads.py)."""
    return {
        "openedx_events.learning.data.CoursePassingStatusData": {
            "is_passing": "True",
            "course": {"course_key": COURSE_KEY, "display_name": "Mentoring migrants"},
            "user": {
                "id": str(100_000 + index),
                "is_active": "True",
                "pii": {
                    "username": f"learner{index}",
                    "email": LEARNER_EMAIL.format(index=index),
                    "name": f"Bench Learner {index}",
                },
            },
        },
        "event_metadata": {
            "id": event_id,
            "event_type": "org.openedx.learning.course.passing.status.updated.v1",
            "minorversion": 0,
            "source": "openedx/lms/web",
            "sourcehost": "lms-bench",
            "time": "2026-11-28 10:00:00.000000+00:00",
            "sourcelib": [10, 5, 0],
        },
    }


def signed_posts(
    deliveries: Sequence[Delivery], event_ids: dict[int, str], secret: str
) -> list[http_load.Post]:
    from lti_bridge.signing import SIGNATURE_HEADER, sign

    bodies: dict[int, http_load.Post] = {}
    posts = []
    for delivery in deliveries:
        if delivery.event not in bodies:  # a replay is the very same request again
            body = json.dumps(pass_event(event_ids[delivery.event], delivery.event)).encode()
            headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)}
            bodies[delivery.event] = http_load.Post(body, headers)
        posts.append(bodies[delivery.event])
    return posts


# -- the database and the servers ------------------------------------------------------------------------------


@dataclass
class BenchDatabase:
    kind: str
    url: str
    label: str
    drop: Callable[[], None] = lambda: None


def prepare_database(kind: str, directory: Path, postgres_url: str) -> BenchDatabase:
    if kind == "sqlite":
        path = directory / "provisioning.sqlite"
        return BenchDatabase(kind, f"sqlite:///{path}", "SQLite file (WAL)")
    import sqlalchemy as sa

    from network_service.config import _with_driver
    from network_service.db import make_engine

    base = sa.engine.make_url(_with_driver(postgres_url))
    schema = f"bench_provisioning_{os.getpid()}_{secrets.token_hex(3)}"
    engine = make_engine(base.render_as_string(hide_password=False))
    try:
        with engine.begin() as conn:
            version = conn.execute(sa.text("SHOW server_version")).scalar_one()
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()

    def drop() -> None:
        engine = make_engine(base.render_as_string(hide_password=False))
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            engine.dispose()

    # Every connection of the service works in the private schema: other test runs share this database.
    url = base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    return BenchDatabase(
        kind, url, f"PostgreSQL {version.split()[0]}, schema {schema} of {base.database}", drop
    )


def mentornet(settings: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - a fixed command line
        [mentornet_executable(), *args],
        env=environment_with(settings),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"`mentornet {' '.join(args)}` failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return done.stdout


TABLES = ("completion_event", "person", "membership", "invitation", "outbound_email")


def count_rows(url: str, event_id_prefix: str) -> dict[str, dict]:
    """For each table the provisioning writes, the key of every row the bench's events left there.

    The key is the event id (completion_event) or the learner's e-mail address (the other tables); a key seen
    twice is a duplicated row. Also the statuses of the events and of their mail, and the bare table's rows.
    """
    import sqlalchemy as sa

    from network_service.db import make_engine

    emails = {"emails": LEARNER_EMAIL_LIKE}
    events = {"events": event_id_prefix + "%"}
    queries = {
        "completion_event": ("SELECT event_id FROM completion_event WHERE event_id LIKE :events", events),
        "person": ("SELECT email FROM person WHERE email LIKE :emails", emails),
        "membership": (
            "SELECT p.email FROM membership m JOIN person p ON p.id = m.person_id WHERE p.email LIKE :emails",
            emails,
        ),
        "invitation": (
            "SELECT p.email FROM invitation i JOIN person p ON p.id = i.person_id WHERE p.email LIKE :emails",
            emails,
        ),
        "outbound_email": ("SELECT to_address FROM outbound_email WHERE to_address LIKE :emails", emails),
        "completion_event statuses": (
            "SELECT status, count(*) FROM completion_event WHERE event_id LIKE :events GROUP BY status",
            events,
        ),
        "outbound_email statuses": (
            "SELECT status, count(*) FROM outbound_email WHERE to_address LIKE :emails GROUP BY status",
            emails,
        ),
    }
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            found: dict[str, dict] = {}
            for table in TABLES:
                sql, params = queries[table]
                found[table] = {"keys": Counter(conn.execute(sa.text(sql), params).scalars())}
            for table in ("completion_event", "outbound_email"):
                sql, params = queries[f"{table} statuses"]
                found[table]["statuses"] = {
                    str(status): n for status, n in conn.execute(sa.text(sql), params)
                }
            bare = conn.execute(sa.select(sa.func.count()).select_from(bare_app.TABLE)).scalar_one()
            found["bench_bare_insert"] = {"rows": bare}
    finally:
        engine.dispose()
    return found


# -- one database -----------------------------------------------------------------------------------------------


@dataclass
class Side:
    """One of the two servers and what it saw."""

    name: str
    server: Server
    sessions: list = field(default_factory=list)
    runs: list[http_load.PostRun] = field(default_factory=list)  # measured rounds
    deliveries: list[list[Delivery]] = field(default_factory=list)  # of each measured round
    warmup: http_load.PostRun | None = None
    cpu_per_worker: list[dict[int, float]] = field(default_factory=list)  # worker pid -> CPU s, per round
    drain_seconds: list[float] = field(
        default_factory=list
    )  # after each round, until every event was acted on


def _worker_cpu(server: Server) -> dict[int, float]:
    return {stat.pid: stat.cpu_seconds for stat in server.worker_stats()}


def run_database(kind: str, settings: Settings, directory: Path) -> dict:
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(settings.seed)
    tag = secrets.token_hex(4)
    started = time.perf_counter()
    database = prepare_database(kind, directory, settings.postgres_url)
    result: dict = {"database": kind, "label": database.label}
    sides: list[Side] = []
    try:
        app_port, bare_port = free_port(HOST), free_port(HOST)
        secret = secrets.token_urlsafe(32)
        environment = {
            "MENTORNET_ENV": "development",
            "MENTORNET_SECRET_KEY": secrets.token_urlsafe(48),
            "MENTORNET_DATABASE_URL": database.url,
            "MENTORNET_BASE_URL": f"http://{HOST}:{app_port}",
            "MENTORNET_WEBHOOK_SECRET": secret,
            # The background drain acts on the received events (the invitations are part of what is measured);
            # with no SMTP server and no demo mailbox the invitations then wait in the outbox, unsent. The
            # periodic jobs stay off so that nothing else runs during the measurement.
            "MENTORNET_OUTBOX_WORKER": "true",
            "MENTORNET_JOBS_IN_PROCESS": "false",
            "MENTORNET_RATELIMIT_ENABLED": "false",
        }
        _progress(f"{kind}: migrating and setting up the database with `mentornet` ...")
        mentornet(environment, "db", "upgrade")
        mentornet(environment, "org", "create", ORGANISATION, "--country", "DE")
        mentornet(
            environment,
            "network",
            "create",
            NETWORK,
            "--name",
            "Bench network",
            "--org",
            ORGANISATION,
            "--coordinator",
            COORDINATOR,
        )
        mentornet(environment, "course", "link", COURSE_KEY, "--network", NETWORK, "--title", "Bench course")
        bare_app.create_table(database.url)
        result["setup_s"] = round(time.perf_counter() - started, 2)

        for name, port, command in (
            ("provisioning", app_port, None),
            ("bare", bare_port, [sys.executable, str(BENCH_DIR / "bare_app.py")]),
        ):
            server = Server(
                database_url=database.url,
                base_url=f"http://{HOST}:{port}",
                host=HOST,
                port=port,
                workers=settings.workers,
                threads=settings.threads,
                log_path=directory / f"{name}-server.log",
                environment=environment,
                command=command,
            )
            sides.append(Side(name, server, [http_load.new_session() for _ in range(settings.clients)]))
            server.start()
        for side in sides:
            side.server.wait_ready()
        result["startup_s"] = round(time.perf_counter() - started - result["setup_s"], 2)

        warmup, measured = plan(settings, rng)
        event_ids = {d.event: f"bench-{tag}-{d.event:06d}" for d in warmup + measured}
        warmup_posts = signed_posts(warmup, event_ids, secret)
        measured_posts = signed_posts(measured, event_ids, secret)
        for side in sides:
            side.warmup = http_load.run_posts(side.server.base_url + PATH, warmup_posts, side.sessions)

        # Turns: the two endpoints alternate over slices of the same requests (and which goes first), so a
        # burst of a neighbour's load on this shared machine falls on both.
        size = -(-len(measured) // settings.rounds)
        for round_number in range(settings.rounds):
            chunk = slice(round_number * size, (round_number + 1) * size)
            for side in sides if round_number % 2 else reversed(sides):
                _progress(
                    f"{kind}: round {round_number + 1}/{settings.rounds}, {side.name}: "
                    f"{len(measured_posts[chunk])} requests"
                )
                http_load.drop_connections(side.sessions)  # idle while the other side ran: start afresh
                before = _worker_cpu(side.server)
                side.runs.append(
                    http_load.run_posts(
                        side.server.base_url + PATH,
                        measured_posts[chunk],
                        side.sessions,
                        server_cpu=side.server.worker_cpu_seconds,
                    )
                )
                if side.name == "provisioning":
                    # The endpoint answers before the invitation is made: wait for the drain, so that its CPU
                    # counts for this side and does not slow the other side's round.
                    side.drain_seconds.append(wait_drained(database.url, f"bench-{tag}-"))
                after = _worker_cpu(side.server)
                side.cpu_per_worker.append({pid: after[pid] - before.get(pid, 0.0) for pid in after})
                side.deliveries.append(measured[chunk])

        found = count_rows(database.url, f"bench-{tag}-")
        result.update(evaluate_database(sides, warmup, measured, settings, found, event_ids))
    except Exception:
        for side in sides:
            print(f"--- {side.name} server log (last lines) ---\n{side.server.log_tail()}", file=sys.stderr)
        raise
    finally:
        for side in sides:
            for session in side.sessions:
                session.close()
            side.server.stop()
        database.drop()
    result["duration_s"] = round(time.perf_counter() - started, 1)
    return result


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# -- evaluating one database ------------------------------------------------------------------------------------


def _latency(values: list[float]) -> dict:
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    return {
        "p50": round(1000 * http_load.percentile(ordered, 50), 2),
        "p95": round(1000 * http_load.percentile(ordered, 95), 2),
        "p99": round(1000 * http_load.percentile(ordered, 99), 2),
        "max": round(1000 * ordered[-1], 2),
    }


def _shares(cpu: dict[int, float]) -> list[float]:
    total = sum(cpu.values())
    return [round(seconds / total, 2) if total else 0.0 for _pid, seconds in sorted(cpu.items())]


def summarise_side(side: Side) -> dict:
    ok = {"new": [], "replay": []}
    errors: Counter = Counter()
    for run, deliveries in zip(side.runs, side.deliveries, strict=True):
        errors.update(run.errors)
        for delivery, status, latency in zip(deliveries, run.statuses, run.latencies, strict=True):
            if status == 202:
                ok["replay" if delivery.replay else "new"].append(latency)
    elapsed = sum(run.elapsed for run in side.runs)
    drained = sum(side.drain_seconds)
    answered = len(ok["new"]) + len(ok["replay"])
    server_cpu = sum(run.server_cpu for run in side.runs)
    client_cpu = sum(run.client_cpu for run in side.runs)
    warmup_errors = dict(side.warmup.errors) if side.warmup else {}
    worker_cpu = Counter()
    for split in side.cpu_per_worker:
        worker_cpu.update(split)
    return {
        "requests": sum(len(d) for d in side.deliveries),
        "answered": answered,
        "errors": sum(errors.values()) + sum(warmup_errors.values()),
        "error_kinds": dict(errors),
        "error_examples": [e for run in [side.warmup, *side.runs] if run for e in run.error_examples][:10],
        "warmup_error_kinds": warmup_errors,
        "seconds": round(elapsed, 3),
        "events_per_s": round(answered / elapsed, 1) if elapsed else 0.0,
        # Until every event was acted on (invited), not only answered.
        "drain_s_after_rounds": round(drained, 3),
        "events_per_s_until_invited": round(answered / (elapsed + drained), 1) if elapsed else 0.0,
        "latency_ms": _latency(ok["new"] + ok["replay"]),
        "latency_ms_new": _latency(ok["new"]),
        "latency_ms_replay": _latency(ok["replay"]),
        "server_cpu_ms_per_request": round(1000 * server_cpu / answered, 3) if answered else None,
        "client_cpu_ms_per_request": round(1000 * client_cpu / answered, 3) if answered else None,
        # How the keep-alive connections spread over the workers: each worker's share of the CPU time.
        "worker_cpu_share": _shares(worker_cpu),
        "worker_cpu_share_per_round": [_shares(split) for split in side.cpu_per_worker],
        "rounds_events_per_s": [
            round(sum(1 for s in run.statuses if s == 202) / run.elapsed, 1) if run.elapsed else 0.0
            for run in side.runs
        ],
    }


def _answers(side: Side, warmup: list[Delivery]) -> dict[int, list]:
    """The 202 answers each event got, over all its deliveries (warm-up included)."""
    answers: dict[int, list] = {}
    runs = [(side.warmup, warmup), *zip(side.runs, side.deliveries, strict=True)]
    for run, deliveries in runs:
        for delivery, status, answer in zip(deliveries, run.statuses, run.answers, strict=True):
            if status == 202:
                answers.setdefault(delivery.event, []).append(answer)
    return answers


def accepted_events(side: Side, warmup: list[Delivery]) -> set[int]:
    return set(_answers(side, warmup))


def wait_drained(url: str, event_id_prefix: str, timeout: float = 600) -> float:
    """Seconds until no event of the bench is still 'received' (not yet acted on)."""
    import sqlalchemy as sa

    from network_service.db import make_engine

    engine = make_engine(url)
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout:
            with engine.connect().execution_options(read_only=True) as conn:
                waiting = conn.execute(
                    sa.text(
                        "SELECT count(*) FROM completion_event WHERE status = 'received' AND event_id LIKE :p"
                    ),
                    {"p": event_id_prefix + "%"},
                ).scalar()
            if not waiting:
                return round(time.perf_counter() - started, 3)
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise RuntimeError(f"events still waiting to be acted on after {timeout} s")


def check_answers(side: Side, warmup: list[Delivery]) -> list[str]:
    """Each event answered 'new' exactly once over all its 202 answers; a new event is 'received' (acted on
    right after the answer), a replay 'received' or 'invited'."""
    answers = _answers(side, warmup)
    problems = []
    for event, given in sorted(answers.items()):
        if not all(isinstance(a, dict) and a.get("status") in ("received", "invited") for a in given):
            problems.append(
                f"event {event}: status {[a.get('status') for a in given if isinstance(a, dict)]}"
            )
            continue
        new = sum(1 for a in given if a.get("duplicate") is False)
        if new != 1:
            problems.append(f"event {event}: {new} of {len(given)} answers said it was new")
    return problems


def evaluate_database(
    sides: list[Side],
    warmup: list[Delivery],
    measured: list[Delivery],
    settings: Settings,
    found: dict[str, dict],
    event_ids: dict[int, str],
) -> dict:
    app, bare = sides
    distinct = len({d.event for d in warmup + measured})
    result: dict = {
        "events": settings.events,
        "replays": sum(1 for d in measured if d.replay),
        "requests": len(measured),
        "warmup_events": len(warmup),
        "distinct_events": distinct,
        "clients": settings.clients,
        "rounds": settings.rounds,
        "server": {"workers": settings.workers, "threads_per_worker": settings.threads},
        "provisioning": summarise_side(app),
        "bare": summarise_side(bare),
    }
    app_rate, bare_rate = result["provisioning"]["events_per_s"], result["bare"]["events_per_s"]
    result["ratio_to_bare"] = round(app_rate / bare_rate, 3) if bare_rate else None
    result["ratio_to_bare_per_round"] = [
        round(a / b, 3) if b else None
        for a, b in zip(
            result["provisioning"]["rounds_events_per_s"], result["bare"]["rounds_events_per_s"], strict=True
        )
    ]

    # Lost: an event the server accepted (answered 202 at least once) that left no row in some table.
    # Duplicated: a second row for the same event or learner. An event never accepted (every delivery failed)
    # is an error of its own; a sender would retry it, so its rows are neither expected nor missed.
    accepted = accepted_events(app, warmup)
    keys = {
        "completion_event": {index: event_ids[index] for index in accepted},
        **{table: {index: LEARNER_EMAIL.format(index=index) for index in accepted} for table in TABLES[1:]},
    }
    rows: dict[str, dict] = {}
    lost_events: set[int] = set()
    duplicated = 0
    for table in TABLES:
        present = found[table]["keys"]
        missing = {index for index, key in keys[table].items() if key not in present}
        extra = sum(count - 1 for count in present.values())
        rows[table] = {
            "rows": sum(present.values()),
            "distinct": len(present),
            "expected": len(keys[table]),
            "lost": len(missing),
            "duplicated": extra,
        }
        for name in ("statuses",):
            if name in found[table]:
                rows[table][name] = found[table][name]
        lost_events |= missing
        duplicated = max(duplicated, extra)
    rows["bench_bare_insert"] = {**found["bench_bare_insert"], "requests": len(warmup) + len(measured)}
    result["accepted_events"] = len(accepted)
    result["not_accepted_events"] = distinct - len(accepted)
    result["rows"] = rows
    result["lost"], result["duplicated"] = len(lost_events), duplicated
    result["lost_examples"] = [event_ids[index] for index in sorted(lost_events)[:10]]

    problems = check_answers(app, warmup)
    statuses = rows["completion_event"]["statuses"]
    if set(statuses) - {"invited"}:
        problems.append(f"completion_event statuses after the run: {statuses}")
    mail = rows["outbound_email"]["statuses"]
    result["warnings"] = []
    if set(mail) - {"pending"}:  # not wrong, but mail was delivered during the measurement
        result["warnings"].append(f"mail was delivered during the run (outbound_email statuses {mail})")
    result["wrong_answers"] = len(problems)
    result["unexpected"] = problems[:20]
    result["errors"] = result["provisioning"]["errors"] + result["bare"]["errors"]
    return result


# -- all databases ----------------------------------------------------------------------------------------------


def run(settings: Settings, directory: Path) -> dict:
    report: dict = {"settings": asdict(settings) | {"postgres_url": hide_password(settings.postgres_url)}}
    report["databases"] = {}
    failures = {}
    for kind in settings.databases:
        try:
            report["databases"][kind] = run_database(kind, settings, directory / kind)
        except Exception as exc:
            traceback.print_exc()
            failures[kind] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else exc!r}"
    if failures:
        report["failures"] = failures
    return report


def hide_password(url: str) -> str:
    import sqlalchemy as sa

    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "?"


def problems(report: dict) -> int:
    """Errors, wrong answers, lost and duplicated rows, and databases that could not be measured."""
    total = len(report.get("failures", {}))
    for result in report.get("databases", {}).values():
        total += result["errors"] + result["wrong_answers"] + result["lost"] + result["duplicated"]
    return total


def evaluate(report: dict) -> list[dict]:
    targets = []
    for kind, result in report.get("databases", {}).items():
        faults = result["lost"] + result["duplicated"]
        targets.append(
            {
                "target": f"{kind}: zero lost and zero duplicated events (rows counted after the run)",
                "value": f"{result['lost']} lost, {result['duplicated']} duplicated",
                "unit": "",
                "pass": faults == 0,
            }
        )
        targets.append(
            {
                "target": f"{kind}: zero errors and wrong answers",
                "value": result["errors"] + result["wrong_answers"],
                "unit": "errors",
                "limit": 0,
                "pass": result["errors"] + result["wrong_answers"] == 0,
            }
        )
        if kind == "postgresql":
            rate = result["provisioning"]["events_per_s"]
            targets.append(
                {
                    "target": f"{kind}: >= {TARGET_EVENTS_PER_S:.0f} events/s",
                    "value": rate,
                    "unit": "events/s",
                    "limit": TARGET_EVENTS_PER_S,
                    "pass": rate >= TARGET_EVENTS_PER_S,
                }
            )
        ratio = result["ratio_to_bare"]
        targets.append(
            {
                "target": f"{kind}: >= {TARGET_BARE_RATIO:.0%} of the bare INSERT endpoint",
                "value": f"{ratio:.1%}" if ratio is not None else None,
                "unit": "",
                "limit": TARGET_BARE_RATIO,
                "pass": ratio is not None and ratio >= TARGET_BARE_RATIO,
            }
        )
    for kind, failure in report.get("failures", {}).items():
        targets.append({"target": f"{kind}: the run", "value": failure, "unit": "", "pass": False})
    return targets


# -- output -----------------------------------------------------------------------------------------------------


def _fmt(value, spec: str) -> str:
    return "-".rjust(int(spec.split(".")[0])) if value is None else format(value, spec)


def render(report: dict) -> list[str]:
    lines = []
    databases = report.get("databases", {})
    settings = report["settings"]
    lines.append(
        f"Provisioning over HTTP: {settings['events']} signed pass events for distinct learners "
        f"(+{settings['replay_fraction']:.0%} replayed), {settings['clients']} clients, gunicorn "
        f"{settings['workers']} workers x {settings['threads']} threads, {settings['rounds']} rounds; "
        "outbox worker and periodic jobs off (invitations queued, not delivered)"
    )
    header = (
        f"{'database':<11} {'endpoint':<34} {'events/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'x bare':>7} {'x/round':>11} {'srv cpu ms':>10} {'errors':>6}"
    )
    lines.append(header)
    lines.append("-" * len(header))
    for kind, r in databases.items():
        p, b = r["provisioning"], r["bare"]
        spread = [x for x in r["ratio_to_bare_per_round"] if x is not None]
        rows = [
            ("POST " + PATH, p["events_per_s"], p["latency_ms"], r["ratio_to_bare"], spread, p),
            ("  of which new events", None, p["latency_ms_new"], None, None, None),
            ("  of which replays", None, p["latency_ms_replay"], None, None, None),
            ("bare INSERT (baseline)", b["events_per_s"], b["latency_ms"], 1.0, None, b),
        ]
        for label, rate, latency, ratio, rounds, side in rows:
            lines.append(
                f"{kind:<11} {label:<34} {_fmt(rate, '9.1f')} {_fmt(latency['p50'], '8.1f')} "
                f"{_fmt(latency['p95'], '8.1f')} {_fmt(latency['p99'], '8.1f')} {_fmt(ratio, '7.2f')} "
                f"{(f'{min(rounds):.2f}-{max(rounds):.2f}' if rounds else '-'):>11} "
                f"{_fmt(side and side['server_cpu_ms_per_request'], '10.2f')} "
                f"{_fmt(side and side['errors'], '6')}"
            )
    for kind, r in databases.items():
        for name in ("provisioning", "bare"):
            side = r[name]
            if side["error_kinds"] or side["warmup_error_kinds"]:
                lines.append(
                    f"  {kind} {name} errors: {side['error_kinds']} (warm-up: {side['warmup_error_kinds']})"
                )
                lines.extend(f"    {example}" for example in side["error_examples"][:3])
    if databases:
        lines.append("")
        lines.append(
            "Rows after the run: one per accepted event (answered 202 at least once, warm-up included) in each "
            "table"
        )
        header = (
            f"{'database':<11} {'sent':>6} {'accepted':>8} "
            + " ".join(f"{t:>16}" for t in TABLES)
            + f" {'lost':>5} {'dup':>5}"
        )
        lines.append(header)
        lines.append("-" * len(header))
        for kind, r in databases.items():
            lines.append(
                f"{kind:<11} {r['distinct_events']:>6} {r['accepted_events']:>8} "
                + " ".join(f"{r['rows'][t]['rows']:>16}" for t in TABLES)
                + f" {r['lost']:>5} {r['duplicated']:>5}"
            )
            if r["lost_examples"]:
                lines.append(f"  {kind}: lost events, for example {', '.join(r['lost_examples'])}")
        for kind, r in databases.items():
            p, b = r["provisioning"], r["bare"]
            lines.append(
                f"  {kind}: {r['label']}; {r['requests']} measured requests ({r['replays']} replays) and "
                f"{r['warmup_events']} warm-up events; took {r['duration_s']} s"
            )
            lines.append(
                f"  {kind}: answered at {p['events_per_s']} events/s; every event acted on (graduate invited) "
                f"{p['drain_s_after_rounds']} s after the last answer of each round in all, i.e. "
                f"{p['events_per_s_until_invited']} events/s until invited"
            )
            lines.append(
                f"  {kind}: client CPU {p['client_cpu_ms_per_request']} ms/request (provisioning), "
                f"{b['client_cpu_ms_per_request']} (bare); CPU shares of the workers {p['worker_cpu_share']} "
                f"(provisioning), {b['worker_cpu_share']} (bare)"
            )
            for warning in r.get("warnings", []):
                lines.append(f"  {kind} warning: {warning}")
            for problem in r["unexpected"]:
                lines.append(f"  {kind} unexpected: {problem}")
    for kind, failure in report.get("failures", {}).items():
        lines.append(f"  {kind} FAILED: {failure}")
    return lines


def render_targets(targets: list[dict]) -> list[str]:
    lines = []
    for target in targets:
        unit = f" {target['unit']}" if target["unit"] else ""
        lines.append(
            f"  [{'PASS' if target['pass'] else 'FAIL'}] {target['target']}: {target['value']}{unit}"
        )
    return lines


# -- the command --------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    import common

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--no-save", action="store_true", help="print only; write no results file")
    args = parser.parse_args(argv)
    settings = settings_from(args)
    began = time.perf_counter()
    report = common.new_report(vars(args) | {"postgres_url": hide_password(args.postgres_url)})
    tmp = Path(tempfile.mkdtemp(prefix="mentornet-bench-provisioning-"))
    try:
        report["provisioning"] = run(settings, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["machine"]["loadavg_after"] = common.loadavg()
    report["duration_s"] = round(time.perf_counter() - began, 1)
    report["targets"] = evaluate(report["provisioning"])
    count = problems(report["provisioning"])
    report["ok"] = count == 0
    if count:
        report["failure"] = f"{count} error(s), wrong answer(s), lost or duplicated event(s) or failed run(s)"
    print()
    print("\n".join(common.header_lines(report, "mentorNET provisioning bench")))
    print()
    print("\n".join(render(report["provisioning"])))
    print()
    print("Targets (informational; the exit status is 1 only for lost or duplicated events and errors)")
    print("\n".join(render_targets(report["targets"])))
    if report.get("failure"):
        print(f"\nRUN FAILED: {report['failure']}")
    if not args.no_save:
        path = common.save(report, "-provisioning")
        print(f"\nresults: {path.relative_to(common.REPO)} (and bench/results/latest-provisioning.json)")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
