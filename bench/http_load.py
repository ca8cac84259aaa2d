"""Closed-loop HTTP load: N client threads with a keep-alive connection each, for a time or over a list.

Two kinds of client: ``new_session()`` (python-requests) and ``new_client()`` (``Client``: one http.client
keep-alive connection and a small cookie jar, the same requests on the wire for a fraction of the client CPU).
Both answer ``get``/``post``/``cookies.set``/``close`` the same way, so the functions below take either.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import select
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode, urlsplit

import requests

REQUEST_TIMEOUT = 30  # seconds; a request that takes longer counts as an error


# -- a cheap HTTP/1.1 client ------------------------------------------------------------------------------------
#
# The load generator shares the machine's cores with the server and PostgreSQL. python-requests spends about
# 1-2 ms of CPU per request (urllib3's pool, the cookie jar, header merging) and holds the GIL meanwhile, so with
# 200 threads in one process the client's own queueing shows in the measured latency. ``Client`` sends the very
# same requests (requests' default headers, the same bodies, cookies by the same rules, no redirect followed,
# a dropped keep-alive connection detected before reuse as urllib3 does) over one http.client connection.

DEFAULT_HEADERS = dict(requests.utils.default_headers())  # User-Agent, Accept-Encoding, Accept, Connection
# What a request through the client can fail with: no answer (refused, reset, closed, timed out, garbled).
CLIENT_ERRORS = (requests.RequestException, OSError, http.client.HTTPException)


def error_kind(exc: BaseException) -> str:
    """A short name for the error table: ``Timeout``, ``ConnectionError (RemoteDisconnected)``, ..."""
    if isinstance(exc, requests.RequestException):
        return type(exc).__name__
    if isinstance(exc, TimeoutError):
        return "Timeout"
    return f"ConnectionError ({type(exc).__name__})"


def is_connection_error(exc: BaseException) -> bool:
    """No answer because the connection failed (not because the server was too slow to answer)."""
    if isinstance(exc, requests.RequestException):
        return isinstance(exc, requests.ConnectionError)
    return not isinstance(exc, TimeoutError)


class CookieJar:
    """The cookies of one client for one host over plain http: name -> (value, path, secure).

    As a browser (and requests' jar) does: a cookie is sent when its path is a prefix of the request's path and
    it is not ``Secure``; ``Max-Age<=0`` or an ``Expires`` in the past deletes it.
    """

    def __init__(self):
        self._cookies: dict[str, tuple[str, str, bool]] = {}
        self._header: str | None = ""  # the Cookie header for path "/"; None: to be recomputed

    def set(self, name: str, value: str, domain: str | None = None, path: str = "/") -> None:
        self._cookies[name] = (value, path, False)
        self._header = None

    def get(self, name: str, default=None):
        found = self._cookies.get(name)
        return found[0] if found else default

    def clear(self) -> None:
        self._cookies.clear()
        self._header = ""

    def header(self, path: str) -> str:
        if self._header is None or path != "/":
            value = "; ".join(
                f"{name}={v}"
                for name, (v, prefix, secure) in self._cookies.items()
                if not secure and _path_matches(path, prefix)
            )
            if path != "/":
                return value
            self._header = value
        return self._header

    def update_from(self, set_cookies: list[str], request_path: str) -> None:
        for line in set_cookies:
            name, value, attributes = parse_set_cookie(line)
            if not name:
                continue
            path = attributes.get("path") or _default_path(request_path)
            expired = False
            if "max-age" in attributes:
                with contextlib.suppress(ValueError):
                    expired = int(attributes["max-age"]) <= 0
            elif "expires" in attributes:
                with contextlib.suppress(TypeError, ValueError):
                    expired = parsedate_to_datetime(attributes["expires"]).timestamp() <= time.time()
            if expired:
                self._cookies.pop(name, None)
            else:
                self._cookies[name] = (value, path, "secure" in attributes)
            self._header = None


def parse_set_cookie(line: str) -> tuple[str, str, dict[str, str]]:
    first, *rest = line.split(";")
    name, _, value = first.partition("=")
    attributes = {}
    for part in rest:
        key, _, val = part.partition("=")
        attributes[key.strip().lower()] = val.strip()
    return name.strip(), value.strip(), attributes  # a quoted value goes back as it came, as requests does


def _path_matches(path: str, prefix: str) -> bool:
    if path == prefix or prefix == "/":
        return True
    return path.startswith(prefix) and (prefix.endswith("/") or path[len(prefix)] == "/")


def _default_path(request_path: str) -> str:
    directory = request_path.split("?", 1)[0].rsplit("/", 1)[0]
    return directory or "/"


class Response:
    """What ``Client`` read: the status, the headers, the whole body (read before the request returns)."""

    __slots__ = ("status_code", "headers", "raw", "cookies")

    def __init__(self, status_code: int, headers: http.client.HTTPMessage, raw: bytes, cookies: dict):
        self.status_code = status_code
        self.headers = headers  # case-insensitive ``get``
        self.raw = raw
        self.cookies = cookies  # name -> value of this response's Set-Cookie headers

    @property
    def content(self) -> bytes:
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        if encoding == "gzip":
            return gzip.decompress(self.raw)
        if encoding == "deflate":
            return zlib.decompress(self.raw)
        return self.raw

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.content)


class Client:
    """One keep-alive connection to one server and its cookies, like one browser tab (or one requests.Session).

    ``get``/``post`` take a full URL (of the host given first) and never follow redirects. Before reusing the
    connection it is checked, as urllib3 does, for having been closed by the server (gunicorn closes a connection
    idle for longer than its keep-alive timeout); a closed one is replaced before the request is sent. On any
    error the connection is dropped and the exception (``OSError`` or ``http.client.HTTPException``) raised.
    """

    def __init__(self, timeout: float = REQUEST_TIMEOUT):
        self.timeout = timeout
        self.cookies = CookieJar()
        self._connection: http.client.HTTPConnection | None = None
        self._origin: tuple[str, int] | None = None
        self._prefix = ""  # "http://host:port"

    def get(
        self, url: str, allow_redirects: bool = False, timeout: float | None = None, headers=None, params=None
    ):
        if params:
            url = f"{url}?{urlencode(params)}"
        return self.request("GET", url, None, headers, timeout)

    def post(self, url: str, data=None, json=None, headers=None, allow_redirects: bool = False, timeout=None):
        content_type = None
        if json is not None:
            body = _json_dumps(json).encode()
            content_type = "application/json"
        elif isinstance(data, dict):
            body = urlencode(list(data.items()), doseq=True).encode()
            content_type = "application/x-www-form-urlencoded"
        else:
            body = data if data is not None else b""
        return self.request("POST", url, body, headers, timeout, content_type)

    def request(
        self, method: str, url: str, body: bytes | None, headers, timeout, content_type: str | None = None
    ) -> Response:
        prefix = self._prefix
        if (
            not prefix
            or not url.startswith(prefix)
            or url[len(prefix) : len(prefix) + 1] not in ("/", "?", "")
        ):
            self._connect_to(url)  # the first request, or another host or port than the last
        path = url[len(self._prefix) :] or "/"
        # In requests' order: its defaults, the caller's headers, Cookie, Content-Length, Content-Type.
        sent = dict(DEFAULT_HEADERS)
        if headers:
            sent.update(headers)
        cookie = self.cookies.header(path.split("?", 1)[0])
        if cookie and "Cookie" not in sent:
            sent["Cookie"] = cookie
        if body is not None:
            sent["Content-Length"] = str(len(body))
        if content_type is not None and not any(k.lower() == "content-type" for k in sent):
            sent["Content-Type"] = content_type
        connection = self._ready_connection(timeout)
        try:
            connection.request(method, path, body, sent)
            answer = connection.getresponse()
            raw = answer.read()
        except BaseException:
            self.close()
            raise
        set_cookies = answer.headers.get_all("Set-Cookie") or []
        cookies = {}
        if set_cookies:
            self.cookies.update_from(set_cookies, path)
            cookies = {name: value for name, value, _ in map(parse_set_cookie, set_cookies)}
        if answer.will_close:
            self.close()
        return Response(answer.status, answer.headers, raw, cookies)

    def _connect_to(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http":
            raise ValueError(f"only http:// URLs: {url}")
        origin = (parts.hostname, parts.port or 80)
        if self._origin is not None and origin != self._origin:
            self.close()
        self._origin = origin
        self._prefix = f"{parts.scheme}://{parts.netloc}"

    def _ready_connection(self, timeout) -> http.client.HTTPConnection:
        connection = self._connection
        if connection is not None and connection.sock is not None and _dropped(connection.sock):
            self.close()  # the server closed it while idle: a fresh one, as urllib3 does
            connection = None
        if connection is None:
            connection = http.client.HTTPConnection(*self._origin, timeout=timeout or self.timeout)
            self._connection = connection
        elif timeout is not None and connection.sock is not None:
            connection.sock.settimeout(timeout)
        return connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _dropped(sock) -> bool:
    """Readable while no request is outstanding: the server closed the connection (or sent junk)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def _json_dumps(value) -> str:
    return json.dumps(value, allow_nan=False)  # the bytes requests sends for ``json=``


def new_client() -> Client:
    return Client()


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
    sessions: Sequence[requests.Session | Client],
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
            except CLIENT_ERRORS as exc:
                errors[error_kind(exc)] += 1
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


def drop_connections(sessions: Sequence[requests.Session | Client]) -> None:
    """Close every pooled keep-alive connection; the next request of each session opens a fresh one.

    Before a list of requests after a pause: the server closes a connection that was idle longer than its
    keep-alive timeout (gunicorn: 2 s), and a request sent just as it does so fails with a ConnectionError that
    says nothing about the server's capacity (a client that retries would not even see it).
    """
    for session in sessions:
        if isinstance(session, Client):
            session.close()
            continue
        for adapter in session.adapters.values():
            adapter.close()


def run_posts(
    url: str,
    posts: Sequence[Post],
    sessions: Sequence[requests.Session | Client],
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
            except CLIENT_ERRORS as exc:
                errors[error_kind(exc)] += 1
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
    sessions: Sequence[requests.Session | Client],
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
            except CLIENT_ERRORS as exc:
                errors[error_kind(exc)] += 1
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
