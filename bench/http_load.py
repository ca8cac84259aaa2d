"""Closed-loop HTTP load: N client threads with a keep-alive connection each, for a time or over a list."""

from __future__ import annotations

import json
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


@dataclass(frozen=True)
class Post:
    """One prepared request: the raw body and its headers (signed ahead, so the clients only send)."""

    body: bytes
    headers: dict[str, str]


@dataclass
class PostRun:
    """What sending a fixed list of POSTs saw, request by request (indexed like the list)."""

    statuses: list[int | None]  # None: no answer (connection error, timeout)
    latencies: list[float | None]  # seconds, from sending to having read the whole body
    answers: list[object]  # the JSON answer (or None)
    errors: Counter = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0


def drop_connections(sessions: Sequence[requests.Session]) -> None:
    """Close every pooled keep-alive connection; the next request of each session opens a fresh one.

    Before a list of requests after a pause: the server closes a connection that was idle longer than its
    keep-alive timeout (gunicorn: 2 s), and a request sent just as it does so fails with a ConnectionError that
    says nothing about the server's capacity (a client that retries would not even see it).
    """
    for session in sessions:
        for adapter in session.adapters.values():
            adapter.close()


def run_posts(
    url: str,
    posts: Sequence[Post],
    sessions: Sequence[requests.Session],
    expected_status: int = 202,
    server_cpu: Callable[[], float] = lambda: 0.0,
) -> PostRun:
    """Every session's thread takes the next POST from ``posts`` and sends it, back to back, until none is left.

    A closed loop over a fixed count: the requests go out in list order (each client takes the next one as soon
    as its previous answer has arrived), so a later request in the list never overtakes an earlier one by more
    than the number of clients.
    """
    count = len(posts)
    run = PostRun(statuses=[None] * count, latencies=[None] * count, answers=[None] * count)
    position = [0]
    lock = threading.Lock()
    go = threading.Event()
    per_thread: list[Counter] = [Counter() for _ in sessions]

    def take() -> int | None:
        with lock:
            index = position[0]
            if index >= count:
                return None
            position[0] = index + 1
            return index

    def client(number: int) -> None:
        session = sessions[number]
        errors = per_thread[number]
        go.wait()
        while (index := take()) is not None:
            post = posts[index]
            start = time.perf_counter()
            try:
                response = session.post(url, data=post.body, headers=post.headers, timeout=REQUEST_TIMEOUT)
                content = response.content
            except requests.RequestException as exc:
                errors[type(exc).__name__] += 1
                with lock:
                    if len(run.error_examples) < 5:
                        run.error_examples.append(f"request {index}: {type(exc).__name__}: {exc}")
                time.sleep(0.05)
                continue
            run.latencies[index] = time.perf_counter() - start
            run.statuses[index] = response.status_code
            if response.status_code != expected_status:
                errors[f"HTTP {response.status_code}"] += 1
                continue
            try:
                run.answers[index] = json.loads(content)
            except ValueError:
                errors["answer is not JSON"] += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(sessions))]
    for thread in threads:
        thread.start()
    cpu_before, client_before = server_cpu(), time.process_time()
    started = time.perf_counter()
    go.set()
    for thread in threads:
        thread.join()
    run.elapsed = time.perf_counter() - started
    run.server_cpu = server_cpu() - cpu_before
    run.client_cpu = time.process_time() - client_before
    for errors in per_thread:
        run.errors.update(errors)
    return run


def run_count(
    urls: Sequence[str],
    sessions: Sequence[requests.Session],
    count: int,
    server_cpu: Callable[[], float] = lambda: 0.0,
    max_seconds: float | None = None,
) -> Phase:
    """Every session's thread sends GET requests back to back until ``count`` were sent (or ``max_seconds``
    passed): request ``i`` goes to ``urls[i % len(urls)]``. A closed loop over a fixed number of requests.

    Redirects are not followed: anything but a 200 is an error, as in ``run_phase``.
    """
    position = [0]
    lock = threading.Lock()
    go = threading.Event()
    deadline = [float("inf")]
    per_thread: list[tuple[list[float], Counter]] = [([], Counter()) for _ in sessions]

    def take() -> int | None:
        with lock:
            index = position[0]
            if index >= count or time.perf_counter() >= deadline[0]:
                return None
            position[0] = index + 1
            return index

    def client(number: int) -> None:
        session = sessions[number]
        latencies, errors = per_thread[number]
        go.wait()
        while (index := take()) is not None:
            start = time.perf_counter()
            try:
                response = session.get(
                    urls[index % len(urls)], allow_redirects=False, timeout=REQUEST_TIMEOUT
                )
                _ = response.content
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
    if max_seconds is not None:
        deadline[0] = started + max_seconds
    go.set()
    for thread in threads:
        thread.join()
    phase = Phase(elapsed=time.perf_counter() - started)
    phase.server_cpu = server_cpu() - cpu_before
    phase.client_cpu = time.process_time() - client_before
    for latencies, errors in per_thread:
        phase.latencies.extend(latencies)
        phase.errors.update(errors)
    return phase
