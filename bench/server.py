"""Run `mentornet serve` in a subprocess and look at its gunicorn workers through /proc."""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def mentornet_executable() -> str:
    beside = Path(sys.executable).with_name("mentornet")
    if beside.exists():
        return str(beside)
    found = shutil.which("mentornet")
    if found is None:
        raise RuntimeError(
            "the `mentornet` command is not installed next to this Python (run `make requirements`)"
        )
    return found


def environment_with(settings: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any MENTORNET_* variable, plus ``settings``.

    Nothing of a developer's own settings (an SMTP server, a broker) leaks into the bench; the demo mailbox, for
    one, shows only when no SMTP server is configured.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("MENTORNET_")}
    env.update(settings)
    return env


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    cpu_seconds: float  # user + system
    start_ticks: int  # start time since boot: tells a process apart from a later one with the same id


def proc_stat(pid: int) -> ProcStat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name is in parentheses and may contain spaces: split after the last ")".
    rest = raw[raw.rindex(")") + 2 :].split()
    return ProcStat(
        pid=pid,
        ppid=int(rest[1]),
        cpu_seconds=(int(rest[11]) + int(rest[12])) / CLOCK_TICKS,
        start_ticks=int(rest[19]),
    )


def children(pid: int) -> list[ProcStat]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = proc_stat(int(entry.name))
            if stat is not None and stat.ppid == pid:
                found.append(stat)
    return sorted(found, key=lambda s: s.pid)


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) in kB, from /proc/<pid>/status."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


@dataclass
class Server:
    """`mentornet serve` on a migrated database, configured through MENTORNET_* variables as in production."""

    database_url: str
    base_url: str
    host: str
    port: int
    workers: int
    threads: int
    log_path: Path
    # Settings instead of the demo's (the MENTORNET_* variables of this process are never passed on); a
    # ``command`` serves something else than `mentornet serve` with the same host, port, workers and threads.
    environment: dict[str, str] | None = None
    command: list[str] | None = None
    process: subprocess.Popen | None = None
    seen_workers: dict[int, int] = field(default_factory=dict)  # pid -> start ticks, for a safe clean-up

    def start(self) -> None:
        env = environment_with(
            self.environment
            if self.environment is not None
            else {
                "MENTORNET_ENV": "development",
                "MENTORNET_SECRET_KEY": secrets.token_urlsafe(48),
                "MENTORNET_DATABASE_URL": self.database_url,
                "MENTORNET_BASE_URL": self.base_url,
                "MENTORNET_DEMO_MAILBOX": "true",
            }
        )
        command = [
            *(self.command or [mentornet_executable(), "serve"]),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
        ]
        with self.log_path.open("wb") as log:
            # Its own session: a Ctrl-C in the terminal reaches only the bench, which then stops the server.
            self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, timeout: float = 45) -> None:
        """Until /healthz answers 200, every worker process is up and every worker has finished loading.

        /healthz answers as soon as one worker serves; a worker still loading the application (busy on the CPU)
        accepts no connection yet, so the first keep-alive connections would all go to the others and stay there.
        A worker counts as loaded once it has been idle (under 20 ms of CPU) for 0.3 s.
        """
        deadline = time.monotonic() + timeout
        probe = requests.Session()
        probe.trust_env = False
        last: dict[int, float] = {}
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with status {self.process.returncode}")
            try:
                ok = probe.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                ok = False
            time.sleep(0.3)
            stats = self.worker_stats()
            cpu = {stat.pid: stat.cpu_seconds for stat in stats}
            idle = all(pid in last and cpu[pid] - last[pid] < 0.02 for pid in cpu)
            last = cpu
            if ok and len(stats) == self.workers and idle:
                probe.close()
                return
        probe.close()
        raise RuntimeError(f"the server did not become ready within {timeout:.0f} s")

    def worker_stats(self) -> list[ProcStat]:
        if self.process is None:
            return []
        stats = children(self.process.pid)
        for stat in stats:
            self.seen_workers[stat.pid] = stat.start_ticks
        return stats

    def worker_cpu_seconds(self) -> float:
        return sum(stat.cpu_seconds for stat in self.worker_stats())

    def worker_memory(self) -> list[dict[str, int]]:
        result = []
        for stat in self.worker_stats():
            try:
                memory = memory_kb(stat.pid)
            except FileNotFoundError:
                continue
            result.append({"pid": stat.pid, "rss_kb": memory["VmRSS"], "hwm_kb": memory["VmHWM"]})
        return result

    def stop(self) -> None:
        """Stop the master (gunicorn stops its workers), then any worker of ours that outlived it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.worker_stats()  # remember the workers before they go
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for pid, start_ticks in self.seen_workers.items():
            stat = proc_stat(pid)
            if stat is not None and stat.start_ticks == start_ticks:  # still the same process, not a new one
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


# -- `mentornet worker`: the Celery worker of a production set-up -------------------------------------------------


@dataclass
class CeleryWorker:
    """`mentornet worker --beat` in a subprocess (its own session), configured by MENTORNET_* variables."""

    environment: dict[str, str]
    log_path: Path
    concurrency: int = 2
    nice: int | None = None  # None: the command's default (`mentornet worker --nice`, 10)
    process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> None:
        command = [mentornet_executable(), "worker", "--concurrency", str(self.concurrency), "--beat"]
        if self.nice is not None:
            command += ["--nice", str(self.nice)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
                command,
                env=environment_with(self.environment),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.log_path.parent,  # beat keeps its schedule file (celerybeat-schedule) where it runs
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # Celery logs "ready." once it consumes its queue
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the worker exited with status {self.process.returncode}:\n{self.log_tail()}"
                )
            if b" ready." in self.log_path.read_bytes():
                return
            time.sleep(0.2)
        raise RuntimeError(f"the worker was not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        """The worker's CPU and that of its descendants (the embedded beat)."""
        if self.process is None:
            return 0.0
        total, pending = 0.0, [self.process.pid]
        while pending:
            pid = pending.pop()
            stat = proc_stat(pid)
            if stat is not None:
                total += stat.cpu_seconds
            pending.extend(child.pid for child in children(pid))
        return total

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)  # a warm shutdown: running tasks finish
        try:
            self.process.wait(timeout=25)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no worker log)"
        return "\n".join(text.splitlines()[-lines:])


# -- PostgreSQL's share: the backends that serve the server's connections --------------------------------------


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (anything but idle and iowait), from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ticks = [int(value) for value in fields]
    busy = sum(ticks) - ticks[3] - ticks[4] - sum(ticks[8:])  # minus idle, iowait, guest (counted in user)
    return busy / CLOCK_TICKS


def with_application_name(url: str, name: str) -> str:
    """The SQLAlchemy URL ``url`` whose connections tell PostgreSQL they are ``name`` (pg_stat_activity)."""
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    return parsed.update_query_dict({"application_name": name}).render_as_string(hide_password=False)


def _postmaster() -> int | None:
    """The PostgreSQL server process on this machine (a `postgres` whose parent is not one); None if none."""
    candidates = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm in ("postgres", "postmaster"):
            stat = proc_stat(int(entry.name))
            if stat is not None:
                candidates.append(stat)
    pids = {stat.pid for stat in candidates}
    roots = [stat.pid for stat in candidates if stat.ppid not in pids]
    return roots[0] if len(roots) == 1 else None


class PostgresCpu:
    """CPU seconds of the PostgreSQL backends whose connections carry ``application_name`` (the server's).

    The database server runs on this machine and is shared with other test runs: its backends are the
    postmaster's children in /proc; which are ours, pg_stat_activity says (asked once for each new backend,
    through a connection of our own named otherwise); their CPU is read from /proc/<pid>/stat. A backend that
    ends between two samples (SQLAlchemy closes its overflow connections when they are returned) loses its CPU
    since the last sample: ``sample()`` every ``interval`` from a thread (``start``/``stop``) keeps that small,
    and ``exited`` says how many did. ``available`` is False when no PostgreSQL server runs on this machine.
    """

    def __init__(self, database_url: str, application_name: str, interval: float = 0.25):
        self.database_url = database_url
        self.application_name = application_name
        self.interval = interval
        self.postmaster = _postmaster()
        self._connection = None
        self._known: dict[tuple[int, int], bool] = {}  # (pid, start ticks) -> one of ours
        self._foreign: set[int] = set()  # other runs' backends (a process id is not reused within minutes)
        self._base: dict[tuple[int, int], float] = {}  # ours: CPU when first seen (0 if it started since)
        self._last: dict[tuple[int, int], float] = {}
        self._start_ticks = 0.0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.monitor_cpu = (
            0.0  # CPU seconds of the sampling itself (in this process: part of the client side)
        )

    @property
    def available(self) -> bool:
        return self.postmaster is not None

    def _names(self) -> dict[int, str]:
        """pid -> application_name of every client backend, from pg_stat_activity."""
        import psycopg
        import sqlalchemy as sa

        if self._connection is None:
            url = sa.engine.make_url(with_application_name(self.database_url, "mentornet-bench-monitor"))
            conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._connection = psycopg.connect(conninfo, autocommit=True)
        rows = self._connection.execute(
            "SELECT pid, application_name FROM pg_stat_activity WHERE backend_type = 'client backend'"
        ).fetchall()
        return dict(rows)

    def reset(self) -> None:
        """From now on: backends already running count from their present CPU."""
        with self._lock:
            self._base.clear()
            self._last.clear()
            self._start_ticks = float(Path("/proc/uptime").read_text().split()[0]) * CLOCK_TICKS
        self.sample()

    def seconds(self) -> float:
        with self._lock:
            return sum(self._last[key] - self._base[key] for key in self._last)

    @property
    def backends(self) -> int:
        return len(self._last)

    @property
    def exited(self) -> int:
        return sum(1 for pid, ticks in self._last if not _alive(pid, ticks))

    def sample(self) -> None:
        if self.postmaster is None:
            return
        began = time.thread_time()
        try:
            text = Path(f"/proc/{self.postmaster}/task/{self.postmaster}/children").read_text()
        except OSError:
            return
        names: dict[int, str] | None = None
        for pid in map(int, text.split()):
            if pid in self._foreign:  # not read again: the sampling stays cheap among other runs' backends
                continue
            stat = _cpu_and_start(pid)
            if stat is None:
                continue
            cpu_seconds, start_ticks = stat
            key = (pid, start_ticks)
            mine = self._known.get(key)
            if mine is None:
                if names is None:
                    names = self._names()
                if pid not in names:  # a background process, or a backend not started yet: look again later
                    continue
                mine = self._known[key] = names[pid] == self.application_name
                if not mine:
                    self._foreign.add(pid)
            if mine:
                with self._lock:
                    if key not in self._base:
                        self._base[key] = cpu_seconds if start_ticks <= self._start_ticks else 0.0
                    self._last[key] = cpu_seconds
        self.monitor_cpu += time.thread_time() - began

    def start(self) -> None:
        self.reset()
        self._stop.clear()

        def loop():
            while not self._stop.wait(self.interval):
                self.sample()

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def stop(self) -> float:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()
        return self.seconds()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _cpu_and_start(pid: int) -> tuple[float, int] | None:
    """``proc_stat``'s CPU seconds and start ticks, read with less overhead (the sampler reads many a second)."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        raw = os.read(fd, 2048)
    except OSError:
        return None
    finally:
        os.close(fd)
    rest = raw[raw.rindex(b")") + 2 :].split()
    return (int(rest[11]) + int(rest[12])) / CLOCK_TICKS, int(rest[19])


def _alive(pid: int, start_ticks: int) -> bool:
    stat = proc_stat(pid)
    return stat is not None and stat.start_ticks == start_ticks


def machine_ticks() -> tuple[int, int, int, int]:
    """(busy, steal, iowait, all) clock ticks of all cores since boot, from /proc/stat's first line. Busy is
    anything but idle, iowait and steal (guest time is counted in user already); steal is time the hypervisor
    gave this machine's virtual CPUs to someone else."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ticks = [int(value) for value in fields]
    steal = ticks[7] if len(ticks) > 7 else 0
    total = sum(ticks[:8])
    return total - ticks[3] - ticks[4] - steal, steal, ticks[4], total


class MachineSampler:
    """Once a second, from a thread: the machine's CPU ticks (``machine_ticks``) and the server workers' CPU
    seconds, with CLOCK_MONOTONIC, so that a slow stretch of the load run can be set beside what the machine was
    doing then (busy with others, stolen by the hypervisor, waiting for the disk)."""

    def __init__(self, server_cpu, interval: float = 1.0):
        self.server_cpu = server_cpu  # a callable: the server workers' CPU seconds
        self.interval = interval
        self.samples: list[tuple[float, int, int, int, int, float]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        try:
            server = self.server_cpu()
        except OSError:  # a worker that just exited
            return
        self.samples.append((time.monotonic(), *machine_ticks(), server))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> None:
        self._sample()
        self._thread = threading.Thread(target=self._run, name="machine-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._sample()

    def window(self, start: float, end: float) -> dict | None:
        """Shares of the machine between the samples nearest to ``start`` and ``end`` (monotonic seconds): busy,
        stolen and iowait as percent of all cores, and the server's CPU as percent of all cores."""
        inside = [s for s in self.samples if start - self.interval / 2 <= s[0] <= end + self.interval / 2]
        if len(inside) < 2:
            return None
        first, last = inside[0], inside[-1]
        total = last[4] - first[4]
        if total <= 0:
            return None
        cores = os.cpu_count() or 1
        return {
            "busy_pct": round(100 * (last[1] - first[1]) / total, 1),
            "steal_pct": round(100 * (last[2] - first[2]) / total, 1),
            "iowait_pct": round(100 * (last[3] - first[3]) / total, 1),
            "server_pct": round(100 * (last[5] - first[5]) / (cores * (last[0] - first[0])), 1),
        }


_CHECKPOINT = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC .*checkpoint complete: wrote (\d+) buffers.*"
    r"sync=([\d.]+) s, total=([\d.]+) s; sync files=(\d+)"
)


def postgres_log_path() -> Path | None:
    """The local PostgreSQL server's log as Debian's packages keep it (log_checkpoints is on by default since
    PostgreSQL 15), when there is one and this process may read it."""
    for path in sorted(Path("/var/log/postgresql").glob("postgresql-*-main.log")):
        if os.access(path, os.R_OK):
            return path
    return None


class CheckpointLog:
    """The checkpoints the local PostgreSQL server completed while the run went on, read from its log: when each
    one's sync phase ended (monotonic seconds), how many buffers it wrote and files it synced. A checkpoint's
    writes are spread over most of checkpoint_timeout; its end (fsync of every file written) is the moment that
    may stall the database. Other test runs share the server: their tables count too."""

    def __init__(self, path: Path | None):
        self.path = path
        self._offset = path.stat().st_size if path is not None else 0
        self._wall_minus_monotonic = time.time() - time.monotonic()

    def completed(self) -> list[dict] | None:
        if self.path is None:
            return None
        with self.path.open("rb") as log:
            log.seek(self._offset)
            text = log.read().decode("utf-8", "replace")
        found = []
        for line in text.splitlines():
            match = _CHECKPOINT.match(line)
            if match is None:
                continue
            stamp, buffers, sync_s, total_s, files = match.groups()
            wall = datetime.datetime.fromisoformat(stamp).replace(tzinfo=datetime.UTC).timestamp()
            found.append(
                {
                    "at": wall - self._wall_minus_monotonic,
                    "buffers": int(buffers),
                    "sync_s": float(sync_s),
                    "total_s": float(total_s),
                    "sync_files": int(files),
                }
            )
        return found
