"""The LMS goes silent or slow in the middle of a reconciliation: a real TCP proxy between the client and the
stand-in LMS black-holes a request or makes the answer trickle in a byte at a time.

The run ends (bounded by the client's timeouts and attempts, or its own time budget), keeps the pages it did,
and the next run goes on from the page that failed (its cursor) and invites nobody twice.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from lti_bridge.lms import OpenEdxClient
from lti_bridge.models import ReconcileCursor
from lti_bridge.reconcile import ReconcileStopped, reconcile_course
from network_service.courses.models import CompletionEvent
from network_service.db import session
from tests.fake_lms import FakeLms, _encode_cursor, rows_for
from tests.fault_proxy import FaultProxy
from tests.helpers import COURSE, mails

# Seven learners, two to a page: four pages. Four passed.
LEARNERS = [
    ("grace", True, 0.91),
    ("bob", False, 0.30),
    ("fred", True, 0.83),
    ("kate", False, 0.19),
    ("ada", True, 0.77),
    ("linus", True, 0.95),
    ("mary", False, 0.55),
]
PASSED = ["grace", "fred", "ada", "linus"]
PAGE_3 = f"cursor={_encode_cursor(4)}".encode()


@pytest.fixture
def lms():
    with FakeLms() as server:
        server.grades[COURSE] = rows_for(COURSE, LEARNERS)
        yield server


@pytest.fixture
def proxy(lms):
    port = int(lms.url.rsplit(":", 1)[1])
    with FaultProxy("127.0.0.1", port) as proxy:
        yield proxy


# A healthy LMS on 127.0.0.1 answers in milliseconds, but on a starved machine (both suites at once on 2 cores, a
# browser too) an answer can take a second or more. The default timeouts are far above that; a test that needs a
# short timeout to run into (a black hole) sets it, and its healthy requests then have a retry to fall back on.
def _client(lms, proxy, sleeps, **options) -> OpenEdxClient:
    options = {"timeout": (5.0, 5.0), "attempts": 2, "backoff": 0.01, "sleep": sleeps.append, **options}
    return OpenEdxClient(f"http://127.0.0.1:{proxy.port}", lms.client_id, lms.client_secret, **options)


def _reconciled(run) -> list[str]:
    events = run(
        lambda: session.scalars(sa.select(CompletionEvent).where(CompletionEvent.source == "reconcile")).all()
    )
    return sorted(event.identity["username"] for event in events)


def _cursor(run):
    return run(lambda: session.get(ReconcileCursor, COURSE))


def _resume_and_finish(run, lms, proxy) -> None:
    proxy.forward()
    report = run(reconcile_course, COURSE, _client(lms, proxy, []))
    assert report.resumed_after == 2 and report.pages == 2  # pages 3 and 4 only
    assert (report.provisioned, report.errors) == (2, 0)
    assert _reconciled(run) == sorted(PASSED)
    assert _cursor(run) is None  # done: the next run starts from the first page
    for name in PASSED:  # nobody invited twice
        assert len(run(lambda name=name: mails(to=f"{name}@example.org"))) == 1


def test_a_black_holed_lms_ends_the_run_and_the_next_run_resumes_from_its_cursor(run, world, lms, proxy):
    proxy.cut_on(PAGE_3, then="blackhole")  # page 3's request is taken and never answered, nor any after it
    sleeps: list[float] = []
    # Each attempt at page 3 waits out the read timeout: short enough for the test, long enough (with a retry)
    # that the token request and pages 1 and 2 are not given up on a starved machine.
    with pytest.raises(ReconcileStopped) as caught:
        run(reconcile_course, COURSE, _client(lms, proxy, sleeps, timeout=(5.0, 1.5)))
    assert proxy.tripped.is_set()
    assert "failed 2 times; last: no answer within 1.5 s" in str(caught.value)
    assert caught.value.report.pages == 2 and caught.value.report.provisioned == 2
    assert _reconciled(run) == ["fred", "grace"]  # pages 1 and 2 are kept
    cursor = _cursor(run)
    assert cursor.pages_done == 2 and PAGE_3.decode() in cursor.next_url
    _resume_and_finish(run, lms, proxy)


def test_a_slow_drip_answer_is_cut_off_by_the_total_timeout(lms, proxy):
    from lti_bridge.lms import LmsError

    client = _client(lms, proxy, [], total_timeout=1.5)
    pages = client.grade_pages(COURSE)
    next(pages), next(pages)
    # Then the LMS answers at one byte per 0.05 s: each byte far within the read timeout (5 s, so that even a
    # starved dripping thread cannot run into it), the whole answer (several hundred bytes) far beyond the total
    # timeout (1.5 s). The status line and headers drip too: the total timeout covers them (lms._Watchdog), so
    # each attempt ends after about 1.5 s, not after the ~10 s the headers alone take to trickle in (as before
    # the watchdog: 18 s for the two attempts).
    proxy.drip(0.05)
    started = time.monotonic()
    with pytest.raises(LmsError, match="failed 2 times; last: the answer took longer than 1.5 s"):
        next(pages)
    # A bound on behaviour, not a speed target: 2 attempts of 1.5 s, with ample room for a busy machine, and
    # well below the 18 s without the watchdog.
    assert time.monotonic() - started < 10


def test_a_dripping_lms_stops_the_run_which_resumes_later(run, world, lms, proxy):
    proxy.cut_on(PAGE_3, then="refuse")  # a first run stops after page 2
    with pytest.raises(ReconcileStopped):
        run(reconcile_course, COURSE, _client(lms, proxy, []))
    # The next run meets an LMS that drips: its answers (hundreds of bytes at 0.02 s each) take far longer
    # than the total timeout of 2.5 s, so the run stops, and the cursor stays where it was. (The read timeout,
    # 5 s, is above the total timeout: a starved dripping thread cannot make the run stop for another reason.)
    proxy.drip(0.02)
    with pytest.raises(ReconcileStopped) as caught:
        run(reconcile_course, COURSE, _client(lms, proxy, [], total_timeout=2.5))
    assert "took longer than 2.5 s" in str(caught.value)
    assert _cursor(run).pages_done == 2
    _resume_and_finish(run, lms, proxy)


def test_a_run_stops_when_its_time_budget_is_used_up_and_the_next_goes_on(run, world, lms, proxy):
    proxy.forward(delay=0.2)  # a slow LMS: every chunk a fifth of a second late
    with pytest.raises(ReconcileStopped) as caught:
        run(reconcile_course, COURSE, _client(lms, proxy, [], timeout=(2.0, 2.0)), budget=0.0)
    assert "time budget of 0 s" in str(caught.value)
    assert caught.value.report.pages == 1
    assert _cursor(run).pages_done == 1
    proxy.forward()
    report = run(reconcile_course, COURSE, _client(lms, proxy, []))
    assert (report.resumed_after, report.pages, report.provisioned) == (1, 3, 3)
    assert _reconciled(run) == sorted(PASSED) and _cursor(run) is None


def test_the_watchdog_leaves_an_answer_alone_once_it_is_complete():
    """The timer of an attempt that ends just after the answer came in whole neither cuts the connection nor
    counts the answer as too slow (it would be asked again: for a POST, sent twice)."""
    import socket as socketlib

    from lti_bridge.lms import _Watchdog

    left, right = socketlib.socketpair()
    try:
        # The answer is watched and complete before the timer starts, so the timer surely runs out after
        # done(): a starved test thread cannot let it run out first (which is a real "too slow").
        watchdog = _Watchdog(0.05)
        watchdog.watch(left)
        watchdog.done()
        with watchdog:
            watchdog._timer.join(timeout=60)
            assert not watchdog._timer.is_alive()  # the timer ran out after done()
        assert not watchdog.fired
        right.sendall(b"still open")
        assert left.recv(16) == b"still open"  # not shut down
    finally:
        left.close()
        right.close()
