"""Run `mentornet serve` in a subprocess and look at its gunicorn workers through /proc."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
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
