"""Closed-loop HTTP load: N client threads, each with its own keep-alive connection, for a fixed time."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import requests

REQUEST_TIMEOUT = 30  # seconds; a request that takes longer counts as an error


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    signed_in: bool = False


@dataclass
class Phase:
    """What one timed run of one endpoint saw."""

    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: Counter = field(default_factory=Counter)  # "HTTP 500", "ConnectionError", ...
    elapsed: float = 0.0
    server_cpu: float = 0.0  # CPU seconds of the gunicorn workers during the phase
    client_cpu: float = 0.0  # CPU seconds of this process (the load generator) during the phase


def new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment between us and 127.0.0.1
    return session


def run_phase(
    url: str,
    sessions: Sequence[requests.Session],
    duration: float,
    server_cpu: Callable[[], float] = lambda: 0.0,
) -> Phase:
    """Every session's thread sends GET ``url`` back to back until ``duration`` has passed.

    Redirects are not followed: anything but a 200 is an error (a signed-in page that redirects to the
    sign-in form measured the wrong thing).
    """
    go = threading.Event()
    deadline = [0.0]
    per_thread: list[tuple[list[float], Counter]] = [([], Counter()) for _ in sessions]

    def client(index: int) -> None:
        session = sessions[index]
        latencies, errors = per_thread[index]
        go.wait()
        end = deadline[0]
        while (start := time.perf_counter()) < end:
            try:
                response = session.get(url, allow_redirects=False, timeout=REQUEST_TIMEOUT)
                _ = response.content  # the whole body is part of the latency
            except requests.RequestException as exc:
                errors[type(exc).__name__] += 1
                time.sleep(0.05)
                continue
            took = time.perf_counter() - start
            if response.status_code == 200:
                latencies.append(took)
            else:
                errors[f"HTTP {response.status_code}"] += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(sessions))]
    for thread in threads:
        thread.start()
    cpu_before, client_before = server_cpu(), time.process_time()
    started = time.perf_counter()
    deadline[0] = started + duration
    go.set()
    for thread in threads:
        thread.join(duration + REQUEST_TIMEOUT + 10)
    phase = Phase(elapsed=time.perf_counter() - started)
    phase.server_cpu = server_cpu() - cpu_before
    phase.client_cpu = time.process_time() - client_before
    for latencies, errors in per_thread:
        phase.latencies.extend(latencies)
        phase.errors.update(errors)
    if any(thread.is_alive() for thread in threads):
        phase.errors["client thread hung"] += 1
    return phase


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    position = (len(sorted_values) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def summarise(phases: Sequence[Phase]) -> dict:
    """Merge the rounds of one endpoint: latencies in ms, throughput over the measured time."""
    latencies = sorted(x for phase in phases for x in phase.latencies)
    errors: Counter = Counter()
    for phase in phases:
        errors.update(phase.errors)
    elapsed = sum(phase.elapsed for phase in phases)
    server_cpu = sum(phase.server_cpu for phase in phases)
    client_cpu = sum(phase.client_cpu for phase in phases)
    count = len(latencies)
    return {
        "requests": count,
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "seconds": round(elapsed, 3),
        "throughput_rps": round(count / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {
            "mean": round(1000 * sum(latencies) / count, 2) if count else None,
            "p50": round(1000 * percentile(latencies, 50), 2) if count else None,
            "p95": round(1000 * percentile(latencies, 95), 2) if count else None,
            "p99": round(1000 * percentile(latencies, 99), 2) if count else None,
            "max": round(1000 * latencies[-1], 2) if count else None,
        },
        "server_cpu_ms_per_request": round(1000 * server_cpu / count, 3) if count else None,
        "client_cpu_ms_per_request": round(1000 * client_cpu / count, 3) if count else None,
        "rounds_throughput_rps": [
            round(len(phase.latencies) / phase.elapsed, 1) if phase.elapsed else 0.0 for phase in phases
        ],
    }
