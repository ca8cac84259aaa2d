"""The Open edX plugin app, run as the LMS runs it: real openedx-events signals, real HTTP to a stand-in bridge.

Django is set up here the way the LMS does it for plugin apps: edx-django-utils finds the app through the
``lms.djangoapp`` entry point, adds its settings and connects its receivers.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import subprocess
import sys
import threading
import time
import types
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import django
import pytest
from django.conf import settings

LMS = "lms.djangoapp"
APP_PATH = "mentornet_xblock.forwarder.apps.ForwarderConfig"
SECRET = "forwarder-test-secret"
REDIS_URL = "redis://127.0.0.1:6379/0"

if not settings.configured:
    from edx_django_utils.plugins import add_plugins, get_plugin_apps

    # A stand-in for lms/envs/common.py: the LMS lets every plugin app add its settings to this module.
    _lms_settings = types.ModuleType("tests_forwarder_lms_settings")
    _lms_settings.DEBUG = False
    _lms_settings.SERVICE_VARIANT = "lms"
    _lms_settings.USE_TZ = True
    # Celery reads its back-off when the task is registered: keep the Celery retry test short.
    _lms_settings.MENTORNET_FORWARDER_RETRY_BACKOFF = 1
    _lms_settings.DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    _lms_settings.INSTALLED_APPS = [
        "django.contrib.contenttypes",
        "django.contrib.auth",
        *get_plugin_apps(LMS),
    ]
    sys.modules[_lms_settings.__name__] = _lms_settings
    add_plugins(_lms_settings.__name__, LMS, "common")
    settings.configure(**{name: value for name, value in vars(_lms_settings).items() if name.isupper()})
    django.setup()

from celery import current_app as celery_current_app  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import override_settings  # noqa: E402
from edx_django_utils.plugins import connect_plugin_receivers, get_plugin_apps  # noqa: E402
from opaque_keys.edx.keys import CourseKey  # noqa: E402
from openedx_events.learning.data import (  # noqa: E402
    CertificateData,
    CourseData,
    CoursePassingStatusData,
    UserData,
    UserPersonalData,
)
from openedx_events.learning.signals import CERTIFICATE_CREATED, COURSE_PASSING_STATUS_UPDATED  # noqa: E402

from lti_bridge import signing  # noqa: E402
from mentornet_xblock.forwarder import conf, dispatch  # noqa: E402
from mentornet_xblock.forwarder.background import BackgroundSender, RetryPolicy  # noqa: E402
from mentornet_xblock.forwarder.delivery import Delivery, post  # noqa: E402
from mentornet_xblock.forwarder.settings import production  # noqa: E402

# What the LMS's plugins app does in its ready(): connect every plugin app's receivers.
connect_plugin_receivers(LMS)

COURSE_KEY = "course-v1:MentorOrg+MENTOR101+2026"
COURSE_START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


# --- the stand-in bridge -------------------------------------------------------------------------------------


class Bridge:
    """A real HTTP server on 127.0.0.1 that records every POST and answers as it is told.

    ``script`` holds the answers for the next requests, in order: a status code, ``"drop"`` (close the
    connection without answering) or ``"hang"`` (answer only when released). After the script: 202.
    """

    def __init__(self):
        self.requests: list[tuple[bytes, dict[str, str]]] = []
        self.script: list[int | str] = []
        self.released = threading.Event()
        self._lock = threading.Lock()
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with bridge._lock:
                    bridge.requests.append((body, dict(self.headers.items())))
                    answer = bridge.script.pop(0) if bridge.script else 202
                if answer == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if answer == "hang":
                    bridge.released.wait(timeout=30)
                    answer = 202
                reply = json.dumps({"status": answer}).encode()
                self.send_response(answer)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def wait_for_requests(self, count: int, timeout: float = 60.0) -> list[tuple[bytes, dict[str, str]]]:
        wait_until(lambda: len(self.requests) >= count, timeout)
        return self.requests

    def close(self):
        self.released.set()
        self._server.shutdown()
        self._server.server_close()


def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


@pytest.fixture
def bridge():
    server = Bridge()
    yield server
    server.close()


@pytest.fixture
def forwarder(bridge):
    """The forwarder configured for the stand-in bridge, with the in-process sender and quick retries."""
    with override_settings(
        MENTORNET_BRIDGE_URL=bridge.url + "/",
        MENTORNET_WEBHOOK_SECRET=SECRET,
        MENTORNET_FORWARDER_USE_CELERY=False,
        MENTORNET_FORWARDER_MAX_RETRIES=5,
        MENTORNET_FORWARDER_RETRY_BACKOFF=0.02,
    ):
        yield bridge
        bridge.released.set()
        assert dispatch.background_sender().flush(timeout=60), "events still pending after the test"


@pytest.fixture
def sent_metadata():
    """The metadata openedx-events generated for each event sent, in order."""
    seen = []

    def record(metadata, **kwargs):
        seen.append(metadata)

    for signal in (COURSE_PASSING_STATUS_UPDATED, CERTIFICATE_CREATED):
        signal.connect(record, dispatch_uid=f"test-record-{signal.event_type}", weak=False)
    yield seen
    for signal in (COURSE_PASSING_STATUS_UPDATED, CERTIFICATE_CREATED):
        signal.disconnect(dispatch_uid=f"test-record-{signal.event_type}")


# --- events, built from openedx-events' own data classes -----------------------------------------------------


def learner() -> UserData:
    return UserData(
        id=42,
        is_active=True,
        pii=UserPersonalData(username="amina", email="amina@example.org", name="Amina K."),
    )


def course() -> CourseData:
    return CourseData(
        course_key=CourseKey.from_string(COURSE_KEY), display_name="Mentoring migrants", start=COURSE_START
    )


def send_passing_status(is_passing: bool = True) -> None:
    COURSE_PASSING_STATUS_UPDATED.send_event(
        course_passing_status=CoursePassingStatusData(is_passing=is_passing, course=course(), user=learner())
    )


def send_certificate_created() -> None:
    CERTIFICATE_CREATED.send_event(
        certificate=CertificateData(
            user=learner(),
            course=course(),
            mode="honor",
            grade="0.87",
            download_url="",
            name="Amina K.",
            current_status="downloadable",
        )
    )


def expected_metadata(metadata) -> dict:
    # openedx-webhooks writes the UUID and the time with str(), the sourcelib tuple as a JSON list.
    return {
        "event_type": metadata.event_type,
        "id": str(metadata.id),
        "minorversion": 0,
        "source": "openedx/lms/web",
        "sourcehost": metadata.sourcehost,
        "time": str(metadata.time),
        "sourcelib": list(metadata.sourcelib),
    }


LEARNER_JSON = {
    "id": 42,
    "is_active": True,
    "pii": {"username": "amina", "email": "amina@example.org", "name": "Amina K."},
}
COURSE_JSON = {
    "course_key": COURSE_KEY,
    "display_name": "Mentoring migrants",
    "start": "2026-01-05 09:00:00+00:00",
    "end": None,
}


# --- the plugin app as Open edX sees it ----------------------------------------------------------------------


def test_lms_finds_the_plugin_app_through_its_entry_point():
    assert APP_PATH in get_plugin_apps(LMS)


def test_plugin_settings_give_defaults_and_keep_what_the_operator_set():
    from mentornet_xblock.forwarder.settings import common

    lms = types.SimpleNamespace(MENTORNET_BRIDGE_URL="https://mentornet.example.org")
    common.plugin_settings(lms)
    assert lms.MENTORNET_BRIDGE_URL == "https://mentornet.example.org"
    assert lms.MENTORNET_WEBHOOK_SECRET == ""
    assert lms.MENTORNET_FORWARDER_ENABLED is True
    assert lms.MENTORNET_FORWARDER_USE_CELERY is None


def test_production_settings_take_the_lms_yaml_then_the_environment(monkeypatch):
    monkeypatch.setenv("MENTORNET_WEBHOOK_SECRET", "from-the-environment")
    lms = types.SimpleNamespace(
        ENV_TOKENS={
            "MENTORNET_BRIDGE_URL": "https://mentornet.example.org",
            "MENTORNET_FORWARDER_MAX_RETRIES": 3,
        },
        MENTORNET_BRIDGE_URL="",
        MENTORNET_WEBHOOK_SECRET="",
        MENTORNET_FORWARDER_MAX_RETRIES=10,
    )
    production.plugin_settings(lms)
    assert lms.MENTORNET_BRIDGE_URL == "https://mentornet.example.org"
    assert lms.MENTORNET_FORWARDER_MAX_RETRIES == 3
    assert lms.MENTORNET_WEBHOOK_SECRET == "from-the-environment"


def test_mentornet_xblock_imports_without_django():
    code = "import sys, mentornet_xblock; assert 'django' not in sys.modules and 'mentornet_xblock.forwarder' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_celery_is_chosen_only_with_a_broker_and_without_eager_tasks():
    with override_settings(MENTORNET_FORWARDER_USE_CELERY=None, BROKER_URL=""):
        assert conf.current().use_celery is False
    with override_settings(MENTORNET_FORWARDER_USE_CELERY=None, BROKER_URL=REDIS_URL):
        assert conf.current().use_celery is True
    with override_settings(
        MENTORNET_FORWARDER_USE_CELERY=None, BROKER_URL=REDIS_URL, CELERY_ALWAYS_EAGER=True
    ):
        assert conf.current().use_celery is False


# --- what reaches the bridge ---------------------------------------------------------------------------------


def test_pass_is_posted_in_openedx_webhooks_shape_and_signed(forwarder, sent_metadata):
    send_passing_status()

    [(body, headers)] = forwarder.wait_for_requests(1)
    assert json.loads(body) == {
        "openedx_events.learning.data.CoursePassingStatusData": {
            "is_passing": True,
            "course": COURSE_JSON,
            "user": LEARNER_JSON,
        },
        "event_metadata": expected_metadata(sent_metadata[0]),
    }
    assert sent_metadata[0].event_type == "org.openedx.learning.course.passing.status.updated.v1"
    assert headers["Content-Type"] == "application/json"
    assert signing.verify(body, SECRET, headers["X-MentorNET-Signature"])


def test_new_certificate_is_posted_under_the_certificate_data_key(forwarder, sent_metadata):
    send_certificate_created()

    [(body, headers)] = forwarder.wait_for_requests(1)
    assert json.loads(body) == {
        "openedx_events.learning.data.CertificateData": {
            "user": LEARNER_JSON,
            "course": COURSE_JSON,
            "mode": "honor",
            "grade": "0.87",
            "download_url": "",
            "name": "Amina K.",
            "current_status": "downloadable",
            "previous_status": "",
        },
        "event_metadata": expected_metadata(sent_metadata[0]),
    }
    assert signing.verify(body, SECRET, headers["X-MentorNET-Signature"])


def test_a_failing_grade_sends_nothing(forwarder):
    send_passing_status(is_passing=False)

    assert dispatch.background_sender().flush(timeout=60)
    assert forwarder.requests == []


def test_transient_failures_are_retried_with_the_same_signed_body(forwarder):
    forwarder.script = [503, 503, 429, "drop"]

    send_passing_status()

    assert dispatch.background_sender().flush(timeout=60)
    requests = forwarder.requests
    assert len(requests) == 5
    assert len({body for body, _ in requests}) == 1
    assert len({headers["X-MentorNET-Signature"] for _, headers in requests}) == 1
    assert signing.verify(requests[-1][0], SECRET, requests[-1][1]["X-MentorNET-Signature"])


def test_a_bridge_that_keeps_failing_is_given_up_after_the_configured_retries(forwarder, caplog):
    forwarder.script = [503] * 10

    with override_settings(MENTORNET_FORWARDER_MAX_RETRIES=2):
        send_passing_status()
        assert dispatch.background_sender().flush(timeout=60)

    assert len(forwarder.requests) == 3
    assert "giving up on org.openedx.learning.course.passing.status.updated.v1" in caplog.text


def test_a_refusal_is_logged_and_not_retried(forwarder, caplog):
    forwarder.script = [400]

    send_passing_status()

    assert dispatch.background_sender().flush(timeout=60)
    assert len(forwarder.requests) == 1
    assert "the bridge refused" in caplog.text and "HTTP 400" in caplog.text


# --- the learner's request is never held up ------------------------------------------------------------------


def test_signal_returns_at_once_while_the_bridge_hangs(forwarder):
    forwarder.script = ["hang"]
    send_passing_status()
    forwarder.wait_for_requests(1)  # the sender is now stuck waiting for the bridge

    started = time.monotonic()
    send_passing_status()
    send_certificate_created()
    # Blocking would take the 10 s read timeout; the bound leaves room for a busy shared machine.
    assert time.monotonic() - started < 5

    forwarder.released.set()
    assert dispatch.background_sender().flush(timeout=60)
    assert len(forwarder.requests) == 3


def test_full_queue_drops_the_event_with_an_error_and_never_raises(bridge, caplog):
    bridge.script = ["hang"]
    sender = BackgroundSender(capacity=1, policy=lambda: RetryPolicy(0, 0.01, 0.01))

    def event(n: int) -> Delivery:
        return Delivery(
            url=bridge.url + "/bridge/openedx/events", body=b"{}", signature="sha256=0", label=f"event {n}"
        )

    assert sender.submit(event(1))
    bridge.wait_for_requests(1)
    assert sender.submit(event(2))
    assert sender.submit(event(3)) is False
    assert "queue full" in caplog.text and "event 3" in caplog.text

    bridge.released.set()
    assert sender.flush(timeout=60)
    assert len(bridge.requests) == 2


def test_unreachable_bridge_is_a_retryable_outcome():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = post(
        Delivery(url=f"http://127.0.0.1:{port}/bridge/openedx/events", body=b"{}", signature="", label="x")
    )
    assert not outcome.delivered and outcome.retryable


# --- transactions and configuration --------------------------------------------------------------------------


def test_event_inside_a_transaction_is_forwarded_only_after_the_commit(forwarder):
    with transaction.atomic():
        send_passing_status()
        assert dispatch.background_sender().pending == 0

    assert dispatch.background_sender().flush(timeout=60)
    assert len(forwarder.requests) == 1


def test_event_inside_a_rolled_back_transaction_is_not_forwarded(forwarder):
    with pytest.raises(RuntimeError), transaction.atomic():
        send_passing_status()
        raise RuntimeError("grading failed")

    assert dispatch.background_sender().flush(timeout=60)
    assert forwarder.requests == []


def test_missing_url_or_secret_warns_once_and_sends_nothing(forwarder, caplog, monkeypatch):
    monkeypatch.setattr(dispatch, "_warned_unconfigured", False)
    caplog.set_level(logging.WARNING)  # whatever level an earlier test left the root logger at

    with override_settings(MENTORNET_WEBHOOK_SECRET=""):
        send_passing_status()
        send_certificate_created()

    warnings = [record for record in caplog.records if "is not set" in record.getMessage()]
    assert len(warnings) == 1
    assert dispatch.background_sender().flush(timeout=60)
    assert forwarder.requests == []


def test_disabled_forwarder_sends_nothing(forwarder):
    with override_settings(MENTORNET_FORWARDER_ENABLED=False):
        send_passing_status()

    assert dispatch.background_sender().flush(timeout=60)
    assert forwarder.requests == []


# --- with Celery: a real worker on the local Redis -----------------------------------------------------------


@pytest.fixture
def celery_worker():
    """A Celery app on Redis with an embedded worker thread, as an LMS worker would run the task."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError as exc:  # Redis is part of the test environment, like PostgreSQL: fail, never skip
        pytest.fail(f"Redis is not running on 127.0.0.1:6379 ({exc}); start it (see docs/development.md)")
    from celery import Celery
    from celery.contrib.testing.worker import start_worker

    from mentornet_xblock.forwarder import tasks  # noqa: F401 - registers the shared task

    previous_app = celery_current_app._get_current_object()
    app = Celery("mentornet-forwarder-test", broker=REDIS_URL)
    app.conf.update(
        task_default_queue=f"mentornet-forwarder-test-{uuid.uuid4().hex}",
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=False,
    )
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=15, loglevel="WARNING"
        ):
            yield app
    finally:
        previous_app.set_current()
        previous_app.set_default()


def test_celery_task_posts_the_signed_event_and_retries(celery_worker, bridge, sent_metadata):
    bridge.script = [503]
    with override_settings(
        MENTORNET_BRIDGE_URL=bridge.url,
        MENTORNET_WEBHOOK_SECRET=SECRET,
        MENTORNET_FORWARDER_USE_CELERY=True,
        MENTORNET_FORWARDER_MAX_RETRIES=3,
    ):
        started = time.monotonic()
        send_passing_status()
        # The signal only queues the task; posting and retrying after the 503 would take the bridge's
        # timeouts and the back-off. The bound leaves room for a busy shared machine.
        assert time.monotonic() - started < 8
        requests = bridge.wait_for_requests(2, timeout=60)

    assert dispatch.background_sender().pending == 0  # nothing went through the in-process sender
    first, second = requests
    assert first == second
    body, headers = second
    assert json.loads(body)["event_metadata"]["id"] == str(sent_metadata[0].id)
    assert signing.verify(body, SECRET, headers["X-MentorNET-Signature"])


# --- the whole way: the forwarder in the LMS process posts to a served mentorNET -------------------------------


def test_forwarder_and_bridge_together_invite_the_graduate_once(tmp_path):
    import sqlalchemy as sa

    from network_service.courses.models import CompletionEvent
    from network_service.courses.operations import link_course
    from network_service.db import session
    from network_service.networks.operations import get_network
    from tests.databases import WEBHOOK_SECRET as BRIDGE_SECRET
    from tests.live import live_service

    with live_service(tmp_path) as live:
        with live.app.app_context():
            link_course(COURSE_KEY, get_network("test-net"), actor=None)
            session.commit()
        with override_settings(
            MENTORNET_BRIDGE_URL=live.base_url,
            MENTORNET_WEBHOOK_SECRET=BRIDGE_SECRET,
            MENTORNET_FORWARDER_USE_CELERY=False,
        ):
            send_passing_status()
            send_certificate_created()
            assert dispatch.background_sender().flush(timeout=60)
        [message] = live.smtp.inbox.wait_for(1)
        assert message["To"] == "amina@example.org"
        # The second event may still be waiting for the drain when the first one's mail arrives.
        deadline = time.monotonic() + 60
        with live.app.app_context():
            while True:
                statuses = session.scalars(
                    sa.select(CompletionEvent.status).order_by(CompletionEvent.id)
                ).all()
                if [status.value for status in statuses] == ["invited", "already_member"]:
                    break
                assert time.monotonic() < deadline, f"events not acted on within 60 s: {statuses}"
                session.rollback()
                time.sleep(0.05)
        time.sleep(0.5)
        assert len(live.smtp.inbox.messages) == 1
