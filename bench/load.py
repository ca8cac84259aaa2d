"""A mixed workload of many simultaneous users against `mentornet serve` on PostgreSQL (issue 9's load run).

    .venv/bin/python bench/load.py [--users 200] [--duration 60] [--think 1.0] [--workers 2] [--threads 8]
                                   [--client fast|requests] [--processes 2]
    .venv/bin/python bench/load.py --cost [--cost-n 60] [--cost-only "home,lti launch"]
    .venv/bin/python bench/load.py --cost --cost-mix 2000 [--users 200]
    .venv/bin/python bench/run.py --only load

The demo network (``network_service.demo.build_demo``) is built in a private PostgreSQL schema, ``--users``
members with API tokens are added to it, a course is linked and an LTI platform registered; then ``--users``
simulated users, each a thread with its own keep-alive connection and its own signed-in session, pick actions
at random (weights in ``ACTIONS``) with a think time between them, for ``--duration`` seconds:

- page views: the home page, the network page, the general channel, the help list, the directory;
- posting a message to the channel (the web form, with its CSRF token) and asking for help (the JSON API);
- a signed Open edX completion event for a new learner, or again for one already accepted (a retry);
- an LTI 1.3 launch: the OIDC login redirect, then the launch with an RS256 id_token of a platform served by
  this process (its key set over HTTP on 127.0.0.1).

The users are threads spread over ``--processes`` forked client processes; ``--client fast`` (the default) sends
the same bytes as python-requests (``--client requests``) through ``http_load.Client`` for a fraction of the
client's CPU: the load generator shares the cores with the server and PostgreSQL.

Reported per action: requests, throughput, p50/p99/max and errors; in all: 5xx answers, lost completion events
(an event answered 202 but not in the database once the drain is done, or a learner provisioned twice),
VmRSS / VmHWM of each gunicorn worker after the run, from /proc, and the CPU seconds of the server, of its
PostgreSQL backends, of the client and of the whole machine during the run (also per action). JSON in
``bench/results/<time>-load.json``. ``--cost``: each action alone, one at a time, its CPU (server, PostgreSQL,
client) per action instead of a load run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

import common  # noqa: E402
import http_load  # noqa: E402
from provisioning import DEFAULT_POSTGRES_URL, hide_password, prepare_database  # noqa: E402
from server import (  # noqa: E402
    CeleryWorker,
    CheckpointLog,
    MachineSampler,
    PostgresCpu,
    Server,
    free_port,
    machine_busy_seconds,
    postgres_log_path,
    with_application_name,
)

HOST = "127.0.0.1"
NETWORK = "berlin-mentors"  # the demo network
CHANNEL = "general"
COURSE_KEY = "course-v1:Bench+LOAD+2026"
LEARNER_EMAIL = "load-learner-{tag}-{n}@example.org"
REQUEST_TIMEOUT = 30
# The users act this long before the measured part: the first seconds after a server starts are cold (each
# worker compiles its SQL statements, its PostgreSQL backends read their catalogs, every cache is empty) while
# 200 users arrive within a second. Reported apart ("warm-up page views"); its 5xx count in the targets.
WARM_UP_SECONDS = 10.0
KEEPALIVE_SECONDS = 1.0  # well under gunicorn's keep-alive timeout (2 s): a busy client wakes late
PAGE_ACTIONS = ("home", "network", "channel", "help list", "directory")
# action -> weight (relative frequency)
ACTIONS = {
    "home": 14,
    "network": 14,
    "channel": 14,
    "help list": 10,
    "directory": 10,
    "post message": 10,
    "help request": 4,
    "completion event": 12,
    "completion retry": 4,
    "lti launch": 4,
}
TARGETS = {"page_p99_ms": 250.0, "worker_rss_mb": 150.0}
APPLICATION_NAME = f"mentornet-load-{os.getpid()}"  # the server's connections to PostgreSQL


# -- a minimal LTI 1.3 platform: an RSA key, its key set over HTTP, signed id_tokens ----------------------


class Platform:
    ISSUER = "https://lms.load.example"
    CLIENT_ID = "mentornet-load"
    DEPLOYMENT = "load-deployment"

    def __init__(self):
        from cryptography.hazmat.primitives.asymmetric import rsa
        from werkzeug.serving import make_server
        from werkzeug.wrappers import Request, Response

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)

        @Request.application
        def wsgi(request):
            if request.path == "/jwks":
                return Response(json.dumps(self.jwks()), mimetype="application/json")
            return Response("not found", status=404)

        self._server = make_server(HOST, 0, wsgi, threaded=True)
        self.base_url = f"http://{HOST}:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, args=(0.1,), daemon=True).start()

    def jwks(self) -> dict:
        import jwt

        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def register(self) -> None:
        """In an app context of the service."""
        from lti_bridge.lti.registrations import add_platform

        add_platform(
            self.ISSUER,
            self.CLIENT_ID,
            [self.DEPLOYMENT],
            f"{self.base_url}/auth",
            f"{self.base_url}/token",
            f"{self.base_url}/jwks",
        )

    def id_token(self, nonce: str, sub: str, launch_url: str) -> str:
        import jwt

        claim = "https://purl.imsglobal.org/spec/lti/claim/"
        now = int(time.time())
        claims = {
            "iss": self.ISSUER,
            "aud": self.CLIENT_ID,
            "sub": sub,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            claim + "deployment_id": self.DEPLOYMENT,
            claim + "message_type": "LtiResourceLinkRequest",
            claim + "version": "1.3.0",
            claim + "resource_link": {"id": "load-link", "title": "Join the mentor network"},
            claim + "target_link_uri": launch_url,
            claim + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def stop(self) -> None:
        self._server.shutdown()


# -- the world ------------------------------------------------------------------------------------------------


@dataclass
class User:
    email: str
    cookie: str  # the signed session cookie's value
    api_token: str


def build_world(config: dict, users: int, platform: Platform) -> list[User]:
    """The demo network plus ``users`` members (each with an API token), a linked course, the LTI platform."""
    from network_service.accounts.operations import create_api_token, get_or_create_person
    from network_service.accounts.sessions import cookie_data, start_session
    from network_service.app import create_app
    from network_service.courses.operations import link_course
    from network_service.db import db, session, utcnow
    from network_service.demo import build_demo
    from network_service.networks.models import Level, Membership, MembershipStatus, Network, Origin, Role
    from network_service.networks.operations import accept_agreement, current_agreement
    from network_service.privacy.operations import PROFILE_SHARING, set_consent

    build_demo(config)
    app = create_app({**config, "OUTBOX_WORKER": False}, use_environment=False)
    result = []
    with app.app_context():
        import sqlalchemy as sa

        network = session.scalar(sa.select(Network).where(Network.slug == NETWORK))
        agreement = current_agreement(network)
        serializer = app.session_interface.get_signing_serializer(app)
        for number in range(users):
            email = f"load-user-{number}@example.org"
            person, _created = get_or_create_person(email, display_name=f"Load User {number}")
            session.add(
                Membership(
                    network=network,
                    person=person,
                    role=Role.mentor,
                    level=Level.novice,
                    status=MembershipStatus.active,
                    origin=Origin.invited,
                    joined_at=utcnow(),
                )
            )
            accept_agreement(person, agreement)
            set_consent(person, PROFILE_SHARING, True, actor=person, via="join")  # as most members do
            _token, plain = create_api_token(person, "load")
            session.flush()
            # The cookie a sign-in sets (the sign-in form is rate limited and mails a link: not what is measured)
            cookie = serializer.dumps(cookie_data(start_session(person, via="bench")))
            result.append(User(email, cookie, plain))
        link_course(COURSE_KEY, network, actor=None, title="Load course")
        platform.register()
        session.commit()
    db.dispose(app)
    return result


# -- the simulated users --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, Counter] = field(default_factory=dict)
    accepted_events: dict[str, str] = field(default_factory=dict)  # event id -> learner e-mail (202 answered)
    connection_errors: list[dict] = field(default_factory=list)
    # (when it began, CLOCK_MONOTONIC, shared by the client processes; seconds) of every page view
    page_times: list[tuple[float, float]] = field(default_factory=list)
    # actions begun during the warm-up: reported apart, their errors counted in the targets all the same
    warm_up_latencies: dict[str, list[float]] = field(default_factory=dict)
    warm_up_errors: dict[str, Counter] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, action: str, seconds: float, began: float | None = None, warming_up: bool = False) -> None:
        with self.lock:
            latencies = self.warm_up_latencies if warming_up else self.latencies
            latencies.setdefault(action, []).append(seconds)
            if began is not None and action in PAGE_ACTIONS:
                self.page_times.append((began, seconds))

    def error(self, action: str, reason: str, warming_up: bool = False) -> None:
        with self.lock:
            errors = self.warm_up_errors if warming_up else self.errors
            errors.setdefault(action, Counter())[reason] += 1


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


CLIENTS = ("fast", "requests")  # http_load.Client (http.client) or python-requests: the same requests


class SimulatedUser:
    def __init__(
        self,
        user: User,
        base_url: str,
        secret: str,
        platform: Platform,
        outcome: Outcome,
        tag,
        rng,
        client: str = "fast",
    ):
        self.user = user
        self.base = base_url
        self.secret = secret
        self.platform = platform
        self.outcome = outcome
        self.tag = tag
        self.rng = rng
        self.client = client
        self.http = http_load.new_client() if client == "fast" else http_load.new_session()
        self.http.cookies.set("mentornet_session", user.cookie, domain=HOST, path="/")
        self.csrf: str | None = None
        self.my_events: list[tuple[str, bytes]] = []  # (event id, body) accepted, for retries
        self.counter = 0

    def run(self, deadline: float, think: float, measure_from: float = 0.0) -> None:
        """Act until ``deadline``; what begins before ``measure_from`` is the warm-up (CLOCK_MONOTONIC)."""
        names, weights = list(ACTIONS), list(ACTIONS.values())
        self.began = time.monotonic()
        time.sleep(self.rng.uniform(0, think))  # users arrive spread out, not all in the first millisecond
        last = time.monotonic()  # when the previous action began: the server answered it later than that
        while time.monotonic() < deadline:
            action = self.rng.choices(names, weights)[0]
            idle = time.monotonic() - last
            if idle > KEEPALIVE_SECONDS:
                # gunicorn closes a keep-alive connection idle for 2 s; a request racing that close would fail
                # where a browser silently retries. Start on a fresh connection instead. The idle time is
                # counted from when the previous action began, not from when this thread read its answer: on a
                # busy machine a thread may read an answer a second or more after the server sent it (and
                # started its keep-alive clock), so that count let connections idle past 2 s through.
                http_load.drop_connections([self.http])
            last = time.monotonic()
            started = time.perf_counter()
            try:
                error = getattr(self, "do_" + action.replace(" ", "_"))()
            except http_load.CLIENT_ERRORS as exc:
                error = (
                    _kind(exc) if isinstance(exc, requests.RequestException) else http_load.error_kind(exc)
                )
                if http_load.is_connection_error(exc):
                    with self.outcome.lock:  # idle_s: since the previous action began (see above)
                        self.outcome.connection_errors.append(
                            {"action": action, "error": error, "idle_s": round(idle, 3),
                             "after_s": round(time.monotonic() - self.began, 1)}
                        )  # fmt: skip
            warming_up = last < measure_from
            if error:
                self.outcome.error(action, error, warming_up)
            else:
                self.outcome.ok(action, time.perf_counter() - started, last, warming_up)
            time.sleep(self.rng.uniform(0.5 * think, 1.5 * think))
        self.http.close()

    def act(self, action: str) -> str | None:
        """One action, outside ``run`` (--cost): its error, or None; a failed request is an error too."""
        self.last_act = time.monotonic()
        try:
            return getattr(self, "do_" + action.replace(" ", "_"))()
        except http_load.CLIENT_ERRORS as exc:
            return _kind(exc) if isinstance(exc, requests.RequestException) else http_load.error_kind(exc)

    def drop_connection_if_idle(self) -> None:
        """As ``run`` does: a connection idle since an action began over KEEPALIVE_SECONDS ago is replaced."""
        if time.monotonic() - getattr(self, "last_act", 0.0) > KEEPALIVE_SECONDS:
            http_load.drop_connections([self.http])

    # page views: anything but 200 is an error
    def _page(self, path: str) -> str | None:
        response = self.http.get(self.base + path, allow_redirects=False, timeout=REQUEST_TIMEOUT)
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        if path.endswith(f"/c/{CHANNEL}"):
            found = _CSRF.search(response.text)
            self.csrf = found.group(1) if found else self.csrf
        return None

    def do_home(self):
        return self._page("/")

    def do_network(self):
        return self._page(f"/networks/{NETWORK}")

    def do_channel(self):
        return self._page(f"/networks/{NETWORK}/conversations/c/{CHANNEL}")

    def do_help_list(self):
        return self._page(f"/networks/{NETWORK}/help")

    def do_directory(self):
        return self._page("/directory")

    def do_post_message(self):
        if self.csrf is None:  # the form's token comes with the channel page, as in a browser
            error = self.do_channel()
            if error or self.csrf is None:
                return error or "no CSRF token on the channel page"
        self.counter += 1
        response = self.http.post(
            f"{self.base}/networks/{NETWORK}/conversations/c/{CHANNEL}",
            data={
                "csrf_token": self.csrf,
                "body": f"Load test message {self.counter}: how is everyone doing?",
            },
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT,
        )
        return None if response.status_code == 303 else f"HTTP {response.status_code}"

    def do_help_request(self):
        self.counter += 1
        response = self.http.post(
            f"{self.base}/api/v1/networks/{NETWORK}/help-requests",
            json={
                "topic": f"Question about the housing office ({self.counter})",
                "body": "Which documents should we bring to the first appointment?",
                "languages": ["German"],
                "confirm_no_personal_data": True,
            },
            headers={"Authorization": f"Bearer {self.user.api_token}"},
            timeout=REQUEST_TIMEOUT,
        )
        return None if response.status_code == 201 else f"HTTP {response.status_code}"

    def _post_event(self, event_id: str, body: bytes):
        from lti_bridge.signing import SIGNATURE_HEADER, sign

        return self.http.post(
            f"{self.base}/bridge/openedx/events",
            data=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self.secret)},
            timeout=REQUEST_TIMEOUT,
        )

    def do_completion_event(self):
        event_id = str(uuid.uuid4())
        email = LEARNER_EMAIL.format(tag=self.tag, n=event_id[:13])
        body = json.dumps(pass_event(event_id, email)).encode()
        response = self._post_event(event_id, body)
        if response.status_code != 202:
            return f"HTTP {response.status_code}"
        with self.outcome.lock:
            self.outcome.accepted_events[event_id] = email
        self.my_events.append((event_id, body))
        return None

    def do_completion_retry(self):
        """The same event again, as a source does when it did not hear the answer: accepted, a duplicate."""
        if not self.my_events:
            return self.do_completion_event()
        event_id, body = self.rng.choice(self.my_events)
        response = self._post_event(event_id, body)
        if response.status_code != 202:
            return f"HTTP {response.status_code}"
        return None if response.json().get("duplicate") else "a retried event was not seen as a duplicate"

    def do_lti_launch(self):
        launch_url = f"{self.base}/lti/launch"
        # A browser without our site's session, on a new connection each: the launch arrives from another site.
        fresh = http_load.new_client if self.client == "fast" else requests.Session
        with contextlib.closing(fresh()) as browser:
            login = browser.get(
                f"{self.base}/lti/login",
                params={
                    "iss": Platform.ISSUER,
                    "login_hint": "load-user",
                    "target_link_uri": launch_url,
                    "lti_message_hint": "load-link",
                    "client_id": Platform.CLIENT_ID,
                    "lti_deployment_id": Platform.DEPLOYMENT,
                },
                allow_redirects=False,
                timeout=REQUEST_TIMEOUT,
            )
        if login.status_code != 302:
            return f"login HTTP {login.status_code}"
        query = {k: v[0] for k, v in parse_qs(urlsplit(login.headers["Location"]).query).items()}
        # The state cookie is Secure (a cross-site cookie): carried by hand over plain http on 127.0.0.1.
        if isinstance(login.cookies, dict):
            cookie = "; ".join(f"{name}={value}" for name, value in login.cookies.items())
        else:
            cookie = "; ".join(f"{c.name}={c.value}" for c in login.cookies)
        sub = f"load-{self.tag}-{secrets.token_hex(6)}"
        id_token = self.platform.id_token(query["nonce"], sub, launch_url)
        with contextlib.closing(fresh()) as browser:
            launch = browser.post(
                launch_url,
                data={"id_token": id_token, "state": query["state"]},
                headers={"Cookie": cookie},
                allow_redirects=False,
                timeout=REQUEST_TIMEOUT,
            )
        return None if launch.status_code in (200, 303) else f"launch HTTP {launch.status_code}"


def _kind(exc: BaseException) -> str:
    """``ConnectionError (RemoteDisconnected)``: the exception and its innermost cause, for the error table."""
    inner: BaseException = exc
    while True:
        nested = inner.__cause__ or inner.__context__ or (inner.args[0] if inner.args else None)
        if not isinstance(nested, BaseException) or nested is inner:
            break
        inner = nested
    return type(exc).__name__ if inner is exc else f"{type(exc).__name__} ({type(inner).__name__})"


def pass_event(event_id: str, email: str) -> dict:
    username = email.split("@")[0]
    return {
        "openedx_events.learning.data.CoursePassingStatusData": {
            "is_passing": "True",
            "course": {"course_key": COURSE_KEY, "display_name": "Load course"},
            "user": {
                "id": "1",
                "is_active": "True",
                "pii": {"username": username, "email": email, "name": "L"},
            },
        },
        "event_metadata": {
            "id": event_id,
            "event_type": "org.openedx.learning.course.passing.status.updated.v1",
            "minorversion": 0,
            "source": "openedx/lms/web",
            "sourcehost": "lms-load",
            "time": "2026-11-28 10:00:00.000000+00:00",
            "sourcelib": [10, 5, 0],
        },
    }


# -- after the run: every accepted event stored once and acted on once ----------------------------------------


def forget_redis_keys(url: str, prefix: str) -> None:
    """Remove a run's rate-limit counters and Celery queue from a shared Redis."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        for key in client.scan_iter(match=f"*{prefix}*", count=500):
            client.delete(key)
    finally:
        client.close()


def check_events(url: str, accepted: dict[str, str], tag: str, wait: float = 120) -> dict:
    import sqlalchemy as sa

    from network_service.db import make_engine

    engine = make_engine(url)
    like = {"emails": LEARNER_EMAIL.format(tag=tag, n="%")}
    try:
        deadline = time.monotonic() + wait
        with engine.connect() as conn:
            while True:  # the drain acts on the events after the answer: wait until it has
                pending = conn.execute(
                    sa.text("SELECT count(*) FROM completion_event WHERE processed_at IS NULL")
                ).scalar_one()
                conn.rollback()
                if pending == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            stored = Counter(
                conn.execute(
                    sa.text("SELECT event_id FROM completion_event WHERE source = 'openedx'")
                ).scalars()
            )
            invited = Counter(
                conn.execute(
                    sa.text(
                        "SELECT p.email FROM invitation i JOIN person p ON p.id = i.person_id "
                        "WHERE p.email LIKE :emails"
                    ),
                    like,
                ).scalars()
            )
            statuses = dict(
                conn.execute(
                    sa.text(
                        "SELECT status, count(*) FROM completion_event WHERE source = 'openedx' GROUP BY status"
                    )
                ).all()
            )
    finally:
        engine.dispose()
    missing = [event_id for event_id in accepted if stored[event_id] != 1]
    not_invited = [email for email in accepted.values() if invited[email] != 1]
    return {
        "accepted": len(accepted),
        "stored": sum(stored[event_id] for event_id in accepted),
        "unprocessed_after_wait": pending,
        "statuses": {str(k): v for k, v in statuses.items()},
        "lost": len(missing),
        "provisioned_not_exactly_once": len(not_invited),
        "examples": (missing + not_invited)[:5],
    }


# -- the run ----------------------------------------------------------------------------------------------


def _latency(values: list[float]) -> dict:
    ordered = sorted(values)
    if not ordered:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "p50_ms": round(1000 * http_load.percentile(ordered, 50), 1),
        "p99_ms": round(1000 * http_load.percentile(ordered, 99), 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


TIMELINE_WINDOW_S = 5.0


def timeline(
    page_times: list[tuple[float, float]],
    began: float,
    warm_up: float = 0.0,
    sampler: MachineSampler | None = None,
    checkpoints: list[dict] | None = None,
) -> list[dict]:
    """The page views by when they began (seconds after the users started, warm-up included), in windows of
    TIMELINE_WINDOW_S: whether the slow ones come all through the run (a queue that is always long) or together
    (a stall: a pause of the workers, of PostgreSQL or of the machine). With ``sampler``, what the machine did
    in each window (its cores busy, stolen by the hypervisor, waiting for the disk, and the server's share);
    with ``checkpoints`` (``CheckpointLog``), the PostgreSQL checkpoints that ended in it (their sync seconds)."""
    windows: dict[int, list[float]] = {}
    for at, seconds in page_times:
        windows.setdefault(int((at - began) // TIMELINE_WINDOW_S), []).append(seconds)
    rows = []
    for number, values in sorted(windows.items()):
        start = began + number * TIMELINE_WINDOW_S
        row = {
            "from_s": number * TIMELINE_WINDOW_S,
            "warm_up": number * TIMELINE_WINDOW_S < warm_up,
            "views": len(values),
            "over_250_ms": sum(1 for v in values if v > 0.25),
            **_latency(values),
        }
        if sampler is not None:
            row["machine"] = sampler.window(start, start + TIMELINE_WINDOW_S)
        if checkpoints is not None:
            row["checkpoint_sync_s"] = [
                c["sync_s"] for c in checkpoints if start <= c["at"] < start + TIMELINE_WINDOW_S
            ]
        rows.append(row)
    return rows


def server_environment(
    config: dict, database_url: str, secret: str, production_redis: str | None = None, tag: str = ""
) -> dict[str, str]:
    """The server's MENTORNET_* settings. ``production_redis``: as in production, rate limits on and counted in
    that Redis, and a Celery broker there (a queue and key prefix of this run's own, ``tag``); the web
    processes' drain thread is then only the fallback for an unreachable broker."""
    if production_redis:
        return {
            "MENTORNET_ENV": "development",  # the demo's mailbox; nothing else differs for the load
            "MENTORNET_SECRET_KEY": config["SECRET_KEY"],
            "MENTORNET_DATABASE_URL": with_application_name(database_url, APPLICATION_NAME),
            "MENTORNET_BASE_URL": config["BASE_URL"],
            "MENTORNET_WEBHOOK_SECRET": secret,
            "MENTORNET_DEMO_MAILBOX": "true",
            "MENTORNET_RATELIMIT_ENABLED": "true",
            "MENTORNET_RATELIMIT_STORAGE_URL": production_redis,
            "MENTORNET_RATELIMIT_KEY_PREFIX": f"mentornet-load-{tag}",
            "MENTORNET_BROKER_URL": production_redis,
            "MENTORNET_CELERY_QUEUE": f"mentornet-load-{tag}",
        }
    return {
        "MENTORNET_ENV": "development",
        "MENTORNET_SECRET_KEY": config["SECRET_KEY"],
        # Named, so that the bench can tell the server's PostgreSQL backends from other test runs' (their CPU)
        "MENTORNET_DATABASE_URL": with_application_name(database_url, APPLICATION_NAME),
        "MENTORNET_BASE_URL": config["BASE_URL"],
        "MENTORNET_WEBHOOK_SECRET": secret,
        "MENTORNET_DEMO_MAILBOX": "true",
        "MENTORNET_OUTBOX_WORKER": "true",
        "MENTORNET_JOBS_IN_PROCESS": "false",
        # Every simulated user comes from 127.0.0.1: per-address limits would measure the limiter.
        "MENTORNET_RATELIMIT_ENABLED": "false",
    }


def run(args: argparse.Namespace, directory: Path) -> dict:
    from network_service.demo import demo_config

    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    database = prepare_database("postgresql", directory, args.postgres_url)
    result: dict = {"database": database.label, "users": args.load_users, "duration_s": args.load_duration}
    platform = Platform()
    server = worker = None
    run_tag = secrets.token_hex(4)  # this run's Celery queue and rate-limit keys in a shared Redis
    try:
        port = free_port(HOST)
        config = demo_config(HOST, port, directory=directory)
        secret = secrets.token_urlsafe(32)
        config.update(DATABASE_URL=database.url, WEBHOOK_SECRET=secret)
        _progress(f"building the demo network and {args.load_users} members in {database.label} ...")
        users = build_world(config, args.load_users, platform)
        result["setup_s"] = round(time.perf_counter() - started, 1)
        redis_url = args.load_redis_url if args.load_production else None
        environment = server_environment(config, database.url, secret, redis_url, run_tag)
        if redis_url:
            result["production"] = {
                "rate_limits": "redis",
                "broker": "redis (Celery)",
                "redis": redis_url,
                "worker_nice": 10 if args.load_worker_nice is None else args.load_worker_nice,
            }
            _progress("starting `mentornet worker --beat` (Celery) ...")
            worker = CeleryWorker(environment, directory / "worker.log", nice=args.load_worker_nice)
            worker.start()
        server = Server(
            database_url=database.url,
            base_url=config["BASE_URL"],
            host=HOST,
            port=port,
            workers=args.load_workers,
            threads=args.load_threads,
            log_path=directory / "server.log",
            environment=environment,
        )
        server.start()
        server.wait_ready()
        result["server"] = {"workers": args.load_workers, "threads_per_worker": args.load_threads}

        tag = secrets.token_hex(3)
        rng = random.Random(args.load_seed)
        processes = max(1, min(args.load_processes, len(users)))
        outcomes = [Outcome() for _ in range(processes)]
        simulated = [
            SimulatedUser(
                user,
                config["BASE_URL"],
                secret,
                platform,
                outcomes[number % processes],
                tag,
                random.Random(rng.random()),
                client=args.load_client,
            )
            for number, user in enumerate(users)
        ]
        result["client"] = {"kind": args.load_client, "processes": processes}
        _progress(
            f"{args.load_users} users for {args.load_warm_up:.0f} s of warm-up and {args.load_duration:.0f} s "
            f"measured (think time about {args.load_think} s), client {args.load_client} in {processes} process(es) ..."
        )
        postgres = PostgresCpu(database.url, APPLICATION_NAME)
        try:
            outcome, elapsed, cpu = simulate(
                simulated,
                processes,
                args.load_duration,
                args.load_think,
                server,
                postgres,
                warm_up=args.load_warm_up,
                worker=worker,
            )
        finally:
            postgres.close()
        result["server_cpu_s"] = round(cpu["server_s"], 1)
        result["cpu"] = cpu
        _progress("waiting for the drain, checking every accepted event ...")
        result["events"] = check_events(database.url, outcome.accepted_events, tag)
        if worker is not None and (
            result["events"]["lost"] or result["events"]["provisioned_not_exactly_once"]
        ):
            print(f"--- Celery worker log (last lines) ---\n{worker.log_tail()}", file=sys.stderr)
        result["memory"] = [
            {"pid": m["pid"], "rss_mb": round(m["rss_kb"] / 1024, 1), "peak_mb": round(m["hwm_kb"] / 1024, 1)}
            for m in server.worker_memory()
        ]
        attempted = sum(
            len(outcome.latencies.get(a, [])) + sum(outcome.errors.get(a, Counter()).values())
            for a in ACTIONS
        )
        for side in ("server", "postgres", "client", "worker"):
            seconds = cpu[f"{side}_s"]
            cpu[f"{side}_ms_per_action"] = (
                round(1000 * seconds / attempted, 2) if attempted and seconds is not None else None
            )
        # answers 429: with the production limits, legitimate traffic must never be limited
        result["rate_limited"] = sum(
            n
            for errors in (*outcome.errors.values(), *outcome.warm_up_errors.values())
            for reason, n in errors.items()
            if "HTTP 429" in reason
        )
        endpoints = {}
        for action in ACTIONS:
            latencies = outcome.latencies.get(action, [])
            errors = outcome.errors.get(action, Counter())
            endpoints[action] = {
                "ok": len(latencies),
                "errors": dict(errors),
                "per_s": round(len(latencies) / elapsed, 1),
                **_latency(latencies),
            }
        result["endpoints"] = endpoints
        result["elapsed_s"] = round(elapsed, 1)
        result["requests_per_s"] = round(sum(e["ok"] for e in endpoints.values()) / elapsed, 1)
        warm_up_pages = [v for a in PAGE_ACTIONS for v in outcome.warm_up_latencies.get(a, [])]
        result["warm_up"] = {
            "seconds": args.load_warm_up,
            "actions": sum(len(v) for v in outcome.warm_up_latencies.values()),
            "errors": {a: dict(e) for a, e in outcome.warm_up_errors.items()},
            "pages": _latency(warm_up_pages),
        }
        # the warm-up's errors count: a 5xx is a failure whenever it happens
        result["server_5xx"] = sum(
            n
            for errors in (*outcome.errors.values(), *outcome.warm_up_errors.values())
            for reason, n in errors.items()
            if re.search(r"HTTP 5\d\d", reason)
        )
        pages = [v for a in PAGE_ACTIONS for v in outcome.latencies.get(a, [])]
        result["pages"] = _latency(pages)
        # CLOCK_MONOTONIC when the users started: lines up the timeline with the server's own logs
        result["started_monotonic"] = cpu.pop("began")
        sampler, checkpoints = cpu.pop("sampler"), cpu.pop("checkpoints")
        result["timeline"] = timeline(
            outcome.page_times, result["started_monotonic"], args.load_warm_up, sampler, checkpoints
        )
        result["postgres_checkpoints"] = (
            None
            if checkpoints is None
            else [{**c, "at_s": round(c.pop("at") - result["started_monotonic"], 1)} for c in checkpoints]
        )
        result["connection_errors"] = outcome.connection_errors[:20]
        result["server_log"] = server_events(server.log_path)
    except Exception:
        if server is not None:
            print(f"--- server log (last lines) ---\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        if server is not None:
            server.stop()
        if worker is not None:
            worker.stop()
            forget_redis_keys(args.load_redis_url, f"mentornet-load-{run_tag}")
        platform.stop()
        database.drop()
    result["targets"] = evaluate(result)
    return result


def simulate(
    simulated: list[SimulatedUser],
    processes: int,
    duration: float,
    think: float,
    server: Server,
    postgres: PostgresCpu,
    warm_up: float = 0.0,
    worker: CeleryWorker | None = None,
) -> tuple[Outcome, float, dict]:
    """Run the users (their threads in ``processes`` processes) for ``warm_up`` + ``duration`` seconds; the merged
    outcome, the measured seconds and where the CPU went meanwhile (server, PostgreSQL, the client, the Celery
    worker if any, the whole machine). The warm-up's actions are in the outcome's ``warm_up_*``; the CPU is
    counted after it."""
    join_after = warm_up + duration + REQUEST_TIMEOUT + 30
    children = []
    if processes > 1:
        # Forked before the clock starts, each with its share of the users (and its own Outcome); they start
        # together when ``go`` is set, with the parent's start time (CLOCK_MONOTONIC is the same for all).
        context = multiprocessing.get_context("fork")
        go, start_at = context.Event(), context.Value("d", 0.0)
        for number in range(processes):
            share = simulated[number::processes]
            receiver, sender = context.Pipe(duplex=False)
            child = context.Process(
                target=_child,
                args=(share, go, start_at, warm_up, duration, think, join_after, sender),
                daemon=True,
            )
            child.start()
            sender.close()
            children.append((child, receiver))
    sampler = MachineSampler(server.worker_cpu_seconds)
    checkpoints = CheckpointLog(postgres_log_path())
    sampler.start()
    started = time.monotonic()
    measure_from = started + warm_up
    if children:
        start_at.value = started
        go.set()
    else:
        users = threading.Thread(
            target=_run_users,
            args=(simulated, measure_from + duration, think, join_after, measure_from),
            daemon=True,
        )
        users.start()
    time.sleep(max(0.0, measure_from - time.monotonic()))
    cpu_before, client_before = server.worker_cpu_seconds(), time.process_time()
    worker_before = worker.cpu_seconds() if worker else 0.0
    busy_before = machine_busy_seconds()
    postgres.start()
    began = time.monotonic()
    if children:
        outcome, child_cpu = Outcome(), 0.0
        for child, receiver in children:
            if not receiver.poll(join_after + 30):
                raise RuntimeError(f"a client process ({child.pid}) sent no results")
            part = receiver.recv()
            child.join(10)
            child_cpu += part.pop("cpu_s")
            for name in ("latencies", "warm_up_latencies"):
                for action, values in part[name].items():
                    getattr(outcome, name).setdefault(action, []).extend(values)
            for name in ("errors", "warm_up_errors"):
                for action, errors in part[name].items():
                    getattr(outcome, name).setdefault(action, Counter()).update(errors)
            outcome.accepted_events.update(part["accepted_events"])
            outcome.page_times.extend(part["page_times"])
            outcome.connection_errors.extend(part["connection_errors"])
        outcome.connection_errors.sort(key=lambda e: e["after_s"])
    else:
        child_cpu = 0.0
        users.join(join_after)
        outcome = simulated[0].outcome
    elapsed = time.monotonic() - began
    sampler.stop()
    postgres_s = postgres.stop() if postgres.available else None
    busy = machine_busy_seconds() - busy_before
    server_s = server.worker_cpu_seconds() - cpu_before
    worker_s = worker.cpu_seconds() - worker_before if worker else None
    client_s = time.process_time() - client_before + child_cpu
    cpu = {
        "server_s": round(server_s, 2),
        # None: no PostgreSQL server process found on this machine (a remote database)
        "postgres_s": round(postgres_s, 2) if postgres_s is not None else None,
        "postgres_backends": postgres.backends,
        "postgres_backends_exited": postgres.exited,
        # every process of the bench (the simulated users, the LTI platform's key set, this accounting)
        "client_s": round(client_s, 2),
        "monitor_s": round(
            postgres.monitor_cpu, 2
        ),  # the /proc sampling for PostgreSQL's share (in client_s)
        "machine_busy_s": round(busy, 2),  # all cores, everything (other users of the machine too)
        "machine_capacity_s": round((os.cpu_count() or 1) * elapsed, 1),
        "worker_s": round(worker_s, 2) if worker_s is not None else None,  # `mentornet worker` (Celery)
    }
    cpu["other_s"] = round(busy - server_s - (postgres_s or 0.0) - client_s - (worker_s or 0.0), 2)
    cpu["began"] = started
    cpu["sampler"], cpu["checkpoints"] = sampler, checkpoints.completed()
    return outcome, elapsed, cpu


def _run_users(
    simulated: list[SimulatedUser],
    deadline: float,
    think: float,
    join_after: float,
    measure_from: float = 0.0,
) -> None:
    threads = [
        threading.Thread(target=u.run, args=(deadline, think, measure_from), daemon=True) for u in simulated
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(join_after)


def _child(
    share, go, start_at, warm_up: float, duration: float, think: float, join_after: float, sender
) -> None:
    """A client process: its users' threads, then their outcome and this process's CPU after the warm-up
    through ``sender``."""
    go.wait()
    measure_from = start_at.value + warm_up
    cpu_at_start: list[float] = []
    timer = threading.Timer(
        max(0.0, measure_from - time.monotonic()), lambda: cpu_at_start.append(time.process_time())
    )
    timer.start()
    _run_users(share, measure_from + duration, think, join_after, measure_from)
    timer.join()
    outcome = share[0].outcome
    with outcome.lock:
        sender.send(
            {
                "latencies": outcome.latencies,
                "errors": outcome.errors,
                "warm_up_latencies": outcome.warm_up_latencies,
                "warm_up_errors": outcome.warm_up_errors,
                "accepted_events": outcome.accepted_events,
                "page_times": outcome.page_times,
                "connection_errors": outcome.connection_errors,
                "cpu_s": time.process_time() - cpu_at_start[0],
            }
        )
    sender.close()


# -- --cost: what one action costs, one request at a time -------------------------------------------------------


def cost_run(args: argparse.Namespace, directory: Path) -> dict:
    """Each action of the mix ``--cost-n`` times in a row by one user at a time (users taken in turn), against
    one worker with one thread: CPU per action of the server, of PostgreSQL and of the client, and wall time.

    Nothing runs concurrently, so the CPU figures are the work of one action (plus the worker's background
    drain for completion events, which acts on them right away); the first three users do every action once
    before, not counted (templates compiled, caches filled as in a running server).
    """
    from network_service.demo import demo_config

    directory.mkdir(parents=True, exist_ok=True)
    database = prepare_database("postgresql", directory, args.postgres_url)
    result: dict = {"database": database.label, "n": args.cost_n, "client": args.load_client}
    platform = Platform()
    server = None
    try:
        port = free_port(HOST)
        config = demo_config(HOST, port, directory=directory)
        secret = secrets.token_urlsafe(32)
        config.update(DATABASE_URL=database.url, WEBHOOK_SECRET=secret)
        members = args.load_users if args.cost_mix else 20
        _progress(f"building the demo network and {members} members in {database.label} ...")
        users = build_world(config, members, platform)
        server = Server(
            database_url=database.url,
            base_url=config["BASE_URL"],
            host=HOST,
            port=port,
            workers=1,
            threads=1,
            log_path=directory / "server.log",
            environment=server_environment(config, database.url, secret),
        )
        server.start()
        server.wait_ready()
        outcome = Outcome()
        simulated = [
            SimulatedUser(
                u, config["BASE_URL"], secret, platform, outcome, "cost", random.Random(i), args.load_client
            )
            for i, u in enumerate(users)
        ]
        for user in simulated[:3]:
            for action in ACTIONS:
                user.act(action)
        postgres = PostgresCpu(database.url, APPLICATION_NAME)
        if args.cost_mix:
            result["mix"] = _cost_mix(args, simulated, server, postgres)
            postgres.close()
            result["actions"] = {}
            result["server_log"] = server_events(server.log_path)
            return result
        only = [a.strip() for a in args.cost_only.split(",")] if args.cost_only else list(ACTIONS)
        actions = {}
        for action in only:
            if action not in ACTIONS:
                raise SystemExit(f"--cost-only: no action {action!r} (one of {', '.join(ACTIONS)})")
            _progress(f"{action}: {args.cost_n} times ...")
            time.sleep(1.0)  # the drain of the previous action's events, if any, is done
            errors: Counter = Counter()
            server_before, client_before = server.worker_cpu_seconds(), time.process_time()
            monitor_before = postgres.monitor_cpu
            postgres.start()
            began = time.perf_counter()
            for number in range(args.cost_n):
                user = simulated[number % len(simulated)]
                user.drop_connection_if_idle()
                error = user.act(action)
                if error:
                    errors[error] += 1
            wall = time.perf_counter() - began
            postgres_s = postgres.stop() if postgres.available else None
            n = args.cost_n
            actions[action] = {
                "server_ms": round(1000 * (server.worker_cpu_seconds() - server_before) / n, 2),
                "postgres_ms": round(1000 * postgres_s / n, 2) if postgres_s is not None else None,
                # the bench's own CPU but for the /proc sampling of PostgreSQL's backends
                "client_ms": round(
                    1000
                    * (time.process_time() - client_before - (postgres.monitor_cpu - monitor_before))
                    / n,
                    2,
                ),
                "wall_ms": round(1000 * wall / n, 2),
                "errors": dict(errors),
            }
        postgres.close()
        result["actions"] = actions
        result["server_log"] = server_events(server.log_path)
    except Exception:
        if server is not None:
            print(f"--- server log (last lines) ---\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        if server is not None:
            server.stop()
        platform.stop()
        database.drop()
    return result


def _cost_mix(args, simulated: list, server, postgres) -> dict:
    """``--cost-mix N``: N actions drawn from the mix by its weights, each by a user drawn from all of them, one
    at a time: the writes between the page views leave the caches as cold as under the load run, without its
    concurrency. The worker's CPU is read around each action (in clock ticks, so one action's figure is coarse;
    the sums per action are not)."""
    rng = random.Random(args.load_seed)
    names, weights = list(ACTIONS), list(ACTIONS.values())
    per_action = {name: {"n": 0, "server_s": 0.0, "wall_s": 0.0, "errors": Counter()} for name in names}
    time.sleep(1.0)
    server_began, client_began, monitor_began = (
        server.worker_cpu_seconds(),
        time.process_time(),
        postgres.monitor_cpu,
    )
    postgres.start()
    began = time.perf_counter()
    for _number in range(args.cost_mix):
        action = rng.choices(names, weights)[0]
        user = rng.choice(simulated)
        user.drop_connection_if_idle()
        before_cpu, before_wall = server.worker_cpu_seconds(), time.perf_counter()
        error = user.act(action)
        row = per_action[action]
        row["n"] += 1
        row["server_s"] += server.worker_cpu_seconds() - before_cpu
        row["wall_s"] += time.perf_counter() - before_wall
        if error:
            row["errors"][error] += 1
    wall = time.perf_counter() - began
    postgres_s = postgres.stop() if postgres.available else None
    n = args.cost_mix
    return {
        "n": n,
        "users": len(simulated),
        "server_ms": round(1000 * (server.worker_cpu_seconds() - server_began) / n, 2),
        "postgres_ms": round(1000 * postgres_s / n, 2) if postgres_s is not None else None,
        "client_ms": round(
            1000 * (time.process_time() - client_began - (postgres.monitor_cpu - monitor_began)) / n, 2
        ),
        "wall_ms": round(1000 * wall / n, 2),
        "actions": {
            name: {
                "n": row["n"],
                "server_ms": round(1000 * row["server_s"] / row["n"], 2) if row["n"] else None,
                "wall_ms": round(1000 * row["wall_s"] / row["n"], 2) if row["n"] else None,
                "errors": dict(row["errors"]),
            }
            for name, row in per_action.items()
        },
    }


def render_cost(report: dict) -> str:
    result = report["cost"]
    if "mix" in result:
        return _render_mix(report)
    lines = common.header_lines(report, "mentorNET load mix: CPU per action, one request at a time")
    lines.append(
        f"{result['n']} of each action, 1 worker x 1 thread, {result['database']}, client {result['client']}"
    )
    lines.append("")
    lines.append(
        f"{'action':<18}{'server ms':>11}{'postgres ms':>13}{'client ms':>11}{'wall ms':>10}  errors"
    )
    for action, a in result["actions"].items():
        errors = ", ".join(f"{reason} x{n}" for reason, n in a["errors"].items()) or "-"
        lines.append(
            f"{action:<18}{a['server_ms']:>11}{_fmt_short(a['postgres_ms']):>13}{a['client_ms']:>11}"
            f"{a['wall_ms']:>10}  {errors}"
        )
    return "\n".join(lines)


def _render_mix(report: dict) -> str:
    mix = report["cost"]["mix"]
    lines = common.header_lines(report, "mentorNET load mix: CPU per action, the mix one request at a time")
    lines.append(
        f"{mix['n']} actions drawn by the mix's weights, {mix['users']} users, 1 worker x 1 thread, "
        f"{report['cost']['database']}, client {report['cost']['client']}"
    )
    lines.append(
        f"per action: server {mix['server_ms']} ms, PostgreSQL {_fmt_short(mix['postgres_ms'])} ms, "
        f"client {mix['client_ms']} ms, wall {mix['wall_ms']} ms"
    )
    lines.append("")
    lines.append(f"{'action':<18}{'n':>6}{'server ms':>11}{'wall ms':>10}  errors")
    for action, a in mix["actions"].items():
        errors = ", ".join(f"{reason} x{k}" for reason, k in a["errors"].items()) or "-"
        lines.append(
            f"{action:<18}{a['n']:>6}{_fmt_short(a['server_ms']):>11}{_fmt_short(a['wall_ms']):>10}  {errors}"
        )
    return "\n".join(lines)


def _fmt_short(value) -> str:
    return "-" if value is None else str(value)


def server_events(path: Path) -> dict:
    """What gunicorn's log says happened to its workers: a worker that restarts or is killed drops connections."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return {}
    patterns = {
        "workers_booted": r"Booting worker",
        "worker_timeouts": r"WORKER TIMEOUT",
        "worker_restarts": r"Autorestarting worker|Worker exiting|was sent SIG",
        "tracebacks": r"Traceback \(most recent call last\)",
    }
    return {name: len(re.findall(pattern, text)) for name, pattern in patterns.items()}


def evaluate(result: dict) -> list[dict]:
    events = result["events"]
    rss = max((m["rss_mb"] for m in result["memory"]), default=None)
    p99 = result["pages"]["p99_ms"]
    production = (
        [
            {
                "target": "production limits: no simulated user refused (429)",
                "value": result["rate_limited"],
                "unit": "",
                "pass": result["rate_limited"] == 0,
            }
        ]
        if "production" in result
        else []
    )
    return [
        *production,
        {
            "target": "no 5xx answer",
            "value": result["server_5xx"],
            "unit": "",
            "pass": result["server_5xx"] == 0,
        },
        {
            "target": "no lost completion event, each provisioned exactly once",
            "value": events["lost"] + events["provisioned_not_exactly_once"],
            "unit": "events",
            "pass": events["lost"] == 0 and events["provisioned_not_exactly_once"] == 0,
        },
        {
            "target": f"page views p99 <= {TARGETS['page_p99_ms']:.0f} ms",
            "value": p99,
            "unit": "ms",
            "pass": p99 is not None and p99 <= TARGETS["page_p99_ms"],
        },
        {
            "target": f"worker memory (VmRSS) <= {TARGETS['worker_rss_mb']:.0f} MB",
            "value": rss,
            "unit": "MB",
            "pass": rss is not None and rss <= TARGETS["worker_rss_mb"],
        },
    ]


def render(report: dict) -> str:
    result = report["load"]
    lines = common.header_lines(report, "mentorNET load run")
    lines.append(
        f"{result['users']} users, {result['elapsed_s']} s measured after "
        f"{result.get('warm_up', {}).get('seconds', 0):.0f} s of warm-up, {result['server']['workers']} workers x "
        f"{result['server']['threads_per_worker']} threads, {result['database']}"
    )
    production = result.get("production")
    if production:
        lines.append(
            f"as in production: rate limits counted in {production['rate_limits']}, a {production['broker']} "
            f"worker (`mentornet worker --beat --nice {production.get('worker_nice', 0)}`); answers 429: "
            f"{result['rate_limited']}"
        )
    lines.append("")
    lines.append(f"{'action':<18}{'ok':>7}{'/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}  errors")
    for action, e in result["endpoints"].items():
        errors = ", ".join(f"{reason} x{n}" for reason, n in e["errors"].items()) or "-"
        lines.append(
            f"{action:<18}{e['ok']:>7}{e['per_s']:>8}{_fmt(e['p50_ms'])}{_fmt(e['p99_ms'])}{_fmt(e['max_ms'])}  {errors}"
        )
    pages = result["pages"]
    lines.append(
        f"{'all page views':<18}{'':>7}{'':>8}{_fmt(pages['p50_ms'])}{_fmt(pages['p99_ms'])}{_fmt(pages['max_ms'])}"
    )
    warm = result.get("warm_up")
    if warm and warm["seconds"]:
        pages = warm["pages"]
        errors = (
            ", ".join(f"{a}: {r} x{n}" for a, e in warm["errors"].items() for r, n in e.items())
            or "no errors"
        )
        lines.append(
            f"{'warm-up page views':<18}{'':>7}{'':>8}{_fmt(pages['p50_ms'])}{_fmt(pages['p99_ms'])}"
            f"{_fmt(pages['max_ms'])}  the first {warm['seconds']:.0f} s after the server started "
            f"({warm['actions']} actions, {errors}), not in the figures above"
        )
    if result.get("timeline"):
        lines.append("")
        lines.append(
            f"page views by when they began ({TIMELINE_WINDOW_S:.0f} s windows: views, p50, p99, max ms, over 250 ms;"
            " the machine's cores busy, stolen, in iowait, and the server's share, %; PostgreSQL checkpoints ended)"
        )
        for w in result["timeline"]:
            machine = w.get("machine")
            shares = (
                f"{machine['busy_pct']:>6.0f}{machine['steal_pct']:>5.0f}{machine['iowait_pct']:>5.0f}"
                f"{machine['server_pct']:>5.0f}"
                if machine
                else f"{'':>21}"
            )
            ended = w.get("checkpoint_sync_s") or []
            lines.append(
                f"  {w['from_s']:>5.0f} s {w['views']:>6}{_fmt(w['p50_ms'])}{_fmt(w['p99_ms'])}{_fmt(w['max_ms'])}"
                f"{w['over_250_ms']:>7}{shares}"
                + "".join(f"  checkpoint (sync {sync:.2f} s)" for sync in ended)
                + ("  (warm-up)" if w.get("warm_up") else "")
            )
        if result.get("postgres_checkpoints") is None:
            lines.append("  (no PostgreSQL log readable here: checkpoints not shown)")
    lines.append("")
    lines.append(f"throughput: {result['requests_per_s']} successful actions/s")
    cpu = result.get("cpu")
    if cpu:
        client = result.get("client", {})
        pg = "-" if cpu["postgres_s"] is None else cpu["postgres_s"]
        lines.append(
            f"CPU over the run (s; ms per action): server {cpu['server_s']} ({cpu['server_ms_per_action']}), "
            f"PostgreSQL {pg} ({cpu['postgres_ms_per_action']}), "
            f"client {cpu['client_s']} ({cpu['client_ms_per_action']}; {client.get('kind')} in "
            f"{client.get('processes')} process(es)), "
            + (
                f"Celery worker {cpu['worker_s']} ({cpu['worker_ms_per_action']}), "
                if cpu.get("worker_s") is not None
                else ""
            )
            + f"other {cpu['other_s']}; "
            f"machine busy {cpu['machine_busy_s']} of {cpu['machine_capacity_s']}"
        )
    events = result["events"]
    lines.append(
        f"completion events: {events['accepted']} accepted, {events['lost']} lost, "
        f"{events['provisioned_not_exactly_once']} not provisioned exactly once, statuses {events['statuses']}"
    )
    log = result.get("server_log", {})
    lines.append(
        "server log: " + ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in log.items())
        + "".join(f"\n  connection error: {e}" for e in result.get("connection_errors", []))
    )  # fmt: skip
    memory = ", ".join(f"{m['rss_mb']} MB (peak {m['peak_mb']})" for m in result["memory"])
    lines.append(f"worker memory after the run (VmRSS): {memory}")
    lines.append("")
    for target in result["targets"]:
        lines.append(f"  [{'PASS' if target['pass'] else 'FAIL'}] {target['target']}: {target['value']}")
    return "\n".join(lines)


def _fmt(value) -> str:
    return f"{'-' if value is None else value:>9}"


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def add_arguments(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """Standalone: --users, --duration, ...; inside bench/run.py (prefix "load-"): --load-users, ..."""
    parser.add_argument(f"--{prefix}users", dest="load_users", type=int, default=200, help="users at once")
    parser.add_argument(
        f"--{prefix}duration",
        dest="load_duration",
        type=float,
        default=60.0,
        help="measured seconds of load, after the warm-up (60)",
    )
    parser.add_argument(
        f"--{prefix}warm-up",
        dest="load_warm_up",
        type=float,
        default=WARM_UP_SECONDS,
        help=f"seconds of load before the measured part, reported apart ({WARM_UP_SECONDS:.0f}; 0: none)",
    )
    parser.add_argument(
        f"--{prefix}think", dest="load_think", type=float, default=1.0, help="mean seconds between actions"
    )
    parser.add_argument(
        f"--{prefix}workers", dest="load_workers", type=int, default=2, help="gunicorn workers"
    )
    parser.add_argument(
        f"--{prefix}threads", dest="load_threads", type=int, default=8, help="threads per worker"
    )
    parser.add_argument(f"--{prefix}seed", dest="load_seed", type=int, default=9)
    parser.add_argument(
        f"--{prefix}client",
        dest="load_client",
        choices=CLIENTS,
        default="fast",
        help="fast: http.client keep-alive connections (default); requests: python-requests, the same requests",
    )
    parser.add_argument(
        f"--{prefix}production",
        dest="load_production",
        action="store_true",
        help="as in production: rate limits on, counted in Redis, and a Celery worker on a Redis broker",
    )
    parser.add_argument(
        f"--{prefix}redis-url",
        dest="load_redis_url",
        default="redis://127.0.0.1:6379/0",
        help="--production: the Redis for the limits and the broker (keys of the run's own, removed after)",
    )
    parser.add_argument(
        f"--{prefix}worker-nice",
        dest="load_worker_nice",
        type=int,
        default=None,
        help="--production: `mentornet worker --nice N` (default: the command's own, 10; 0: the web's priority)",
    )
    parser.add_argument(
        f"--{prefix}processes",
        dest="load_processes",
        type=int,
        default=2,
        help="client processes the users are spread over (2)",
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument(
        "--cost",
        action="store_true",
        help="instead of the load run: CPU per action (server, PostgreSQL, client), one request at a time",
    )
    parser.add_argument("--cost-n", type=int, default=60, help="--cost: times each action is done (60)")
    parser.add_argument("--cost-only", default="", help='--cost: these actions only ("home,lti launch")')
    parser.add_argument(
        "--cost-mix",
        type=int,
        default=0,
        metavar="N",
        help="--cost: instead of each action in a row, N actions drawn from the mix by --users users, one at a "
        "time (the caches as cold as under load, without the concurrency)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = common.new_report(vars(args) | {"postgres_url": hide_password(args.postgres_url)})
    began = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="mentornet-load-"))
    if args.cost:
        try:
            report["cost"] = cost_run(args, tmp)
        except Exception:
            traceback.print_exc()
            return 2
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        report["duration_s"] = round(time.perf_counter() - began, 1)
        print()
        print(render_cost(report))
        if not args.no_save:
            path = common.save(report, "-load-cost")
            print(f"\nresults: {path.relative_to(common.REPO)} (and bench/results/latest-load-cost.json)")
        actions = report["cost"]["actions"] or report["cost"]["mix"]["actions"]
        return 0 if not any(a["errors"] for a in actions.values()) else 1
    try:
        report["load"] = run(args, tmp)
    except Exception:
        traceback.print_exc()
        return 2
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["machine"]["loadavg_after"] = common.loadavg()
    report["duration_s"] = round(time.perf_counter() - began, 1)
    report["ok"] = all(t["pass"] for t in report["load"]["targets"])
    print()
    print(render(report))
    if not args.no_save:
        path = common.save(report, "-load")
        print(f"\nresults: {path.relative_to(common.REPO)} (and bench/results/latest-load.json)")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
