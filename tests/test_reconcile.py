"""Reconciliation against a stand-in Open edX LMS over real HTTP: passes no push delivered still end in one
invitation, and the LMS's failures (expired tokens, 5xx, hangs) are retried or reported clearly."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
import sqlalchemy as sa

from lti_bridge.lms import LmsConfigurationError, LmsError, OpenEdxClient
from lti_bridge.reconcile import ReconcileStopped, reconcile_course
from lti_bridge.signing import SIGNATURE_HEADER, sign
from network_service.courses.models import CompletionEvent, CompletionRule
from network_service.courses.operations import link_course
from network_service.db import session
from network_service.errors import NotFound
from network_service.networks.models import Network
from network_service.privacy.operations import purge_completion_payloads
from network_service.privacy.pseudonyms import learner_pseudonym
from tests import bridge_payloads
from tests.databases import WEBHOOK_SECRET
from tests.fake_lms import FakeLms, certificate, grade, rows_for
from tests.helpers import COURSE, act_on_received, mails

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
NOT_PASSED = ["bob", "kate", "mary"]


@pytest.fixture
def lms():
    with FakeLms() as server:
        server.grades[COURSE] = rows_for(COURSE, LEARNERS)
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def lms_client(lms, sleeps):
    """A client of the stand-in LMS whose back-off is recorded instead of slept through. Its timeouts are far
    above what a healthy LMS on 127.0.0.1 needs even on a starved machine: the tests count requests and
    back-offs, and a healthy answer given up on would be retried, one more of each."""

    def make(**options) -> OpenEdxClient:
        options = {"timeout": (10.0, 10.0), "sleep": sleeps.append, **options}
        return OpenEdxClient(lms.url, lms.client_id, lms.client_secret, **options)

    return make


def reconcile(run, client, course=COURSE):
    return run(reconcile_course, course, client)


def reconcile_events(run) -> dict[str, CompletionEvent]:
    events = run(
        lambda: session.scalars(sa.select(CompletionEvent).where(CompletionEvent.source == "reconcile")).all()
    )
    return {event.identity["username"]: event for event in events}


def invited(run, username: str) -> int:
    return len(run(lambda: mails(to=f"{username}@example.org")))


def relink(run, world, **options):
    run(lambda: link_course(COURSE, session.get(Network, world.network_id), actor=None, **options))


def _pushed(client, run, *args, **kwargs) -> None:
    """Open edX pushed a pass (signed, as its webhook does) and the drain acted on it."""
    body = json.dumps(bridge_payloads.passing_status(*args, **kwargs)).encode()
    response = client.post(
        "/bridge/openedx/events",
        data=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, WEBHOOK_SECRET)},
    )
    assert response.get_json()["status"] == "received" and act_on_received(run) == 1


# -- finding the passes ----------------------------------------------------------------------------------


def test_reconciliation_invites_a_pass_no_push_delivered_exactly_once(run, world, lms, lms_client):
    client = lms_client()
    report = reconcile(run, client)
    assert (report.seen, report.passed, report.provisioned, report.already_provisioned) == (7, 4, 4, 0)
    assert report.errors == 0
    events = reconcile_events(run)
    assert sorted(events) == sorted(PASSED)
    grace = events["grace"]
    # one event per course and learner, naming the learner by their keyed pseudonym only
    pseudonym = run(lambda: learner_pseudonym("openedx", "grace"))
    assert grace.event_id == f"openedx-reconcile:{COURSE}:{pseudonym}" and grace.status.value == "invited"
    assert "grace" not in grace.event_id
    assert grace.identity == {"platform": "openedx", "username": "grace", "email": "grace@example.org"}
    assert grace.grade == pytest.approx(0.91)
    mail_count = len(run(lambda: mails()))

    again = reconcile(run, client)
    assert (again.passed, again.provisioned, again.already_provisioned) == (4, 0, 4)
    assert len(run(lambda: mails())) == mail_count
    assert all(invited(run, name) == 1 for name in PASSED)
    assert len(reconcile_events(run)) == 4


def test_learners_who_did_not_pass_are_skipped(run, world, lms, lms_client):
    reconcile(run, lms_client())
    events = reconcile_events(run)
    for name in NOT_PASSED:
        assert name not in events
        assert invited(run, name) == 0


def test_a_learner_invited_by_a_push_is_not_invited_again(client, run, world, lms, lms_client):
    _pushed(client, run)  # grace, pushed by the forwarder

    report = reconcile(run, lms_client())
    assert report.already_provisioned == 1 and report.provisioned == 3
    assert "grace" not in reconcile_events(run)  # skipped up front, not even stored again
    assert invited(run, "grace") == 1


def test_a_learner_who_changed_e_mail_since_the_push_is_known_by_username(
    client, run, world, lms, lms_client
):
    _pushed(client, run, email="grace.old@example.org")

    report = reconcile(run, lms_client())  # the LMS now says grace@example.org
    assert report.already_provisioned == 1
    assert "grace" not in reconcile_events(run)
    assert invited(run, "grace") == 0


def _after_the_retention_period(run) -> None:
    """Every stored completion event becomes 91 days old, and the daily retention job runs."""

    def age():
        for event in session.scalars(sa.select(CompletionEvent)):
            event.received_at -= dt.timedelta(days=91)
        session.flush()
        return purge_completion_payloads()

    assert run(age)


def _change_lms_emails(lms) -> None:
    """The learners changed their e-mail addresses in the LMS: only their usernames still say who they are."""
    for row in lms.grades[COURSE]:
        row["email"] = row["username"] + ".new@example.org"


def test_a_rerun_after_the_retention_period_invites_nobody_again(run, world, lms, lms_client):
    client = lms_client()
    assert reconcile(run, client).provisioned == 4
    _after_the_retention_period(run)
    events = run(
        lambda: session.scalars(sa.select(CompletionEvent).where(CompletionEvent.source == "reconcile")).all()
    )
    for event in events:  # the usernames are gone from the events, in clear
        assert set(event.identity) == {"platform", "pseudonym"} and event.payload is None
        assert event.event_id == f"openedx-reconcile:{COURSE}:{event.identity['pseudonym']}"
    assert sorted(e.identity["pseudonym"] for e in events) == sorted(
        run(lambda: [learner_pseudonym("openedx", name) for name in PASSED])
    )
    _change_lms_emails(lms)
    mail_count = len(run(lambda: mails()))

    again = reconcile(run, client)
    assert (again.passed, again.provisioned, again.already_provisioned, again.errors) == (4, 0, 4, 0)
    assert len(run(lambda: mails())) == mail_count
    assert len(run(lambda: session.scalars(sa.select(CompletionEvent)).all())) == 4


def test_a_learner_pushed_long_ago_is_known_by_pseudonym_after_changing_e_mail(
    client, run, world, lms, lms_client
):
    _pushed(client, run, email="grace.old@example.org")
    _after_the_retention_period(run)
    pushed = run(lambda: session.scalars(sa.select(CompletionEvent)).one())
    assert pushed.identity == {
        "platform": "openedx",
        "pseudonym": run(lambda: learner_pseudonym("openedx", "grace")),
    }
    _change_lms_emails(
        lms
    )  # the LMS now says grace.new@example.org: neither her username nor address is stored

    report = reconcile(run, lms_client())
    assert report.already_provisioned == 1 and report.provisioned == 3
    assert "grace" not in reconcile_events(run)
    assert invited(run, "grace.old") == 1 and invited(run, "grace.new") == 0


def test_a_pass_that_expired_waiting_for_an_e_mail_is_acted_on_when_the_lms_shares_it(
    run, world, lms, lms_client
):
    for row in lms.grades[COURSE]:
        row["email"] = ""  # the LMS shares no addresses yet
    client = lms_client()
    report = reconcile(run, client)
    assert report.provisioned == 0 and report.errors == 4  # each waits for an address
    _after_the_retention_period(run)
    expired = run(lambda: session.scalars(sa.select(CompletionEvent)).all())
    assert {e.status.value for e in expired} == {"expired"} and all(
        "email" not in e.identity for e in expired
    )

    lms.grades[COURSE] = rows_for(COURSE, LEARNERS)  # now it does
    again = reconcile(run, client)
    assert again.errors == 0 and again.already_provisioned == 4  # the same events, opened again and acted on
    assert all(invited(run, name) == 1 for name in PASSED)
    events = run(lambda: session.scalars(sa.select(CompletionEvent)).all())
    assert len(events) == 4 and {e.status.value for e in events} == {"invited"}


def test_a_learner_already_in_the_network_is_not_invited(run, world, lms, lms_client):
    lms.grades[COURSE].append(
        grade("mina", passed=True, percent=0.9, course=COURSE, email="Mentor@Example.org")
    )
    report = reconcile(run, lms_client())
    assert report.already_provisioned == 1 and report.provisioned == 4
    assert "mina" not in reconcile_events(run)
    assert run(lambda: mails(to="mentor@example.org")) == []


def test_pagination_walks_every_page(run, world, lms, lms_client):
    report = reconcile(run, lms_client())
    assert report.pages == 4
    grade_requests = lms.requests_to("/api/grades/")
    assert len(grade_requests) == 4
    assert [bool(request.query.get("cursor")) for request in grade_requests] == [False, True, True, True]
    assert "linus" in reconcile_events(run)  # on the last page but one
    assert invited(run, "linus") == 1


def test_next_links_are_followed_on_the_configured_address_only(run, world, lms, lms_client):
    lms.link_origin = "http://lms-internal.invalid:8000"  # what a misconfigured proxy makes the LMS write
    report = reconcile(run, lms_client(attempts=1))
    assert report.pages == 4 and report.provisioned == 4


def test_min_grade_rule_decides_by_percent(run, world, lms, lms_client):
    relink(run, world, rule=CompletionRule.min_grade, min_grade=0.8)
    lms.grades[COURSE].append(grade("nina", passed=False, percent=0.85, course=COURSE))
    report = reconcile(run, lms_client())
    events = reconcile_events(run)
    assert sorted(events) == ["fred", "grace", "linus", "nina"]  # ada passed with 0.77: below the minimum
    assert report.passed == 4 and events["nina"].kind == "grade"


def test_certificate_rule_provisions_only_learners_with_a_passing_certificate(run, world, lms, lms_client):
    relink(run, world, rule=CompletionRule.certificate)
    lms.certificates[("grace", COURSE)] = certificate("grace", COURSE, grade="0.93")
    lms.certificates[("ada", COURSE)] = certificate("ada", COURSE, status="notpassing")
    lms.certificates[("bob", COURSE)] = certificate("bob", COURSE)  # not passed: never looked up

    report = reconcile(run, lms_client())
    events = reconcile_events(run)
    assert list(events) == ["grace"]
    assert events["grace"].kind == "certificate" and events["grace"].grade == pytest.approx(0.93)
    assert (report.passed, report.provisioned) == (1, 1)
    looked_up = sorted(request.path.split("/")[5] for request in lms.requests_to("/api/certificates/"))
    assert looked_up == ["ada", "fred", "grace", "linus"]
    assert invited(run, "fred") == 0


def test_a_course_without_a_link_is_a_clear_error(run, world, lms, lms_client):
    with pytest.raises(NotFound, match="No course link for course-v1:Other"):
        reconcile(run, lms_client(), course="course-v1:Other+X+1")
    assert lms.requests == []


# -- tokens -------------------------------------------------------------------------------------------------


def test_the_token_is_reused_across_pages(run, world, lms, lms_client):
    reconcile(run, lms_client())
    [token_request] = lms.token_requests
    assert token_request.form == {"grant_type": "client_credentials", "token_type": "jwt"}
    authorizations = {request.authorization for request in lms.requests_to("/api/")}
    assert len(authorizations) == 1 and authorizations.pop().startswith("JWT eyJ.fake-1-")


def test_a_token_is_renewed_shortly_before_it_expires(lms, lms_client):
    now = [1000.0]
    client = lms_client(clock=lambda: now[0])
    list(client.course_grades(COURSE))
    now[0] += lms.expires_in * 0.8  # still well inside its lifetime
    list(client.course_grades(COURSE))
    assert len(lms.token_requests) == 1
    now[0] += lms.expires_in * 0.15  # inside the last tenth: renewed before the LMS would refuse it
    list(client.course_grades(COURSE))
    assert len(lms.token_requests) == 2


def test_an_expired_token_is_fetched_again_once_and_the_walk_continues(run, world, lms, lms_client):
    lms.expire_token_once()
    report = reconcile(run, lms_client())
    assert report.pages == 4 and report.provisioned == 4
    assert len(lms.token_requests) == 2
    first_page = [request for request in lms.requests_to("/api/grades/") if not request.query]
    assert [request.status for request in first_page] == [401, 200]


def test_a_401_that_persists_with_a_fresh_token_stops_instead_of_looping(lms, lms_client):
    lms.fail(401, times=None, path="/api/grades/")
    with pytest.raises(LmsError, match="401 even with a fresh token"):
        list(lms_client().course_grades(COURSE))
    assert len(lms.token_requests) == 2


def test_wrong_client_credentials_are_reported_without_retrying_or_revealing_the_secret(lms):
    client = OpenEdxClient(lms.url, lms.client_id, "not-the-secret", sleep=lambda _delay: None)
    with pytest.raises(LmsError) as caught:
        list(client.course_grades(COURSE))
    message = str(caught.value)
    assert "refused the client credentials (HTTP 401, invalid_client)" in message
    assert f"{lms.url}/oauth2/access_token" in message
    assert "not-the-secret" not in message and "not-the-secret" not in repr(client)
    assert len(lms.token_requests) == 1


# -- retries ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "path"),
    [(503, "/api/grades/"), (502, "/api/grades/"), (429, "/api/grades/"), (503, "/oauth2/access_token")],
)
def test_server_errors_are_retried_with_back_off_then_succeed(
    run, world, lms, lms_client, sleeps, status, path
):
    lms.fail(status, times=2, path=path)
    report = reconcile(run, lms_client(backoff=0.01))
    assert report.pages == 4 and report.provisioned == 4
    assert sleeps == [0.01, 0.02]
    assert [request.status for request in lms.requests_to(path)][:3] == [status, status, 200]


def test_persistent_server_errors_stop_clearly_and_keep_the_pages_already_done(run, world, lms, lms_client):
    lms.fail(503, times=None, path="/api/grades/", from_page=2)
    with pytest.raises(ReconcileStopped) as caught:
        reconcile(run, lms_client(backoff=0.01, attempts=3))
    message = str(caught.value)
    assert f"GET {lms.url}/api/grades/v1/courses/{COURSE}/?cursor=" in message
    assert "failed 3 times; last: HTTP 503" in message
    assert caught.value.report.pages == 2 and caught.value.report.provisioned == 2
    assert sorted(reconcile_events(run)) == ["fred", "grace"]  # committed: survived the failure

    lms.heal()
    report = reconcile(run, lms_client())
    # The rerun goes on from the page that failed (its cursor), not from the first page again
    assert (report.resumed_after, report.pages, report.provisioned, report.already_provisioned) == (
        2,
        2,
        2,
        0,
    )
    assert all(invited(run, name) == 1 for name in PASSED)


def test_a_hanging_lms_times_out_and_is_retried(run, world, lms, lms_client, sleeps, caplog):
    caplog.set_level(logging.WARNING, logger="lti_bridge.lms")
    lms.hang(3.0, path="/api/grades/")
    report = reconcile(run, lms_client(timeout=(2.0, 1.0), backoff=0.01))
    assert report.pages == 4 and report.provisioned == 4
    # The hung grade page (the first one, its first attempt) is given up after the read timeout and asked once
    # more. Only that attempt is looked at: on a starved machine (both suites run at once on 2 cores) any other
    # request, the hung page's retry included, can also be slower than a read timeout and be retried, which is
    # right, and not what this test is about.
    first_page = f"GET {lms.url}/api/grades/v1/courses/{COURSE}/: "
    retried = [record.getMessage() for record in caplog.records if first_page in record.getMessage()]
    assert retried and "no answer within 1 s" in retried[0] and "(attempt 1 of 4)" in retried[0], retried
    assert sleeps and sleeps[0] == 0.01  # the back-off was asked for (and recorded), not slept through


def test_an_unreachable_lms_is_a_clear_error_naming_the_url(lms_client):
    client = OpenEdxClient("http://127.0.0.1:9", "id", "secret", attempts=2, sleep=lambda _delay: None)
    with pytest.raises(
        LmsError, match=r"POST http://127.0.0.1:9/oauth2/access_token failed 2 times; last: could"
    ):
        list(client.course_grades(COURSE))


def test_logs_never_show_the_secret_or_a_token(run, world, lms, lms_client, caplog):
    caplog.set_level(logging.DEBUG)
    lms.expire_token_once()
    lms.fail(503, times=1, path="/api/grades/")
    reconcile(run, lms_client(backoff=0.01))
    assert "retrying" in caplog.text and "new token" in caplog.text
    issued = {request.authorization.removeprefix("JWT ") for request in lms.requests_to("/api/")}
    for secret in (lms.client_secret, *issued):
        assert secret not in caplog.text


# -- settings -------------------------------------------------------------------------------------------------


def test_missing_settings_are_named():
    with pytest.raises(LmsConfigurationError) as caught:
        OpenEdxClient.from_config({"OPENEDX_LMS_URL": "https://lms.example.org", "OPENEDX_CLIENT_ID": "id"})
    assert "MENTORNET_OPENEDX_CLIENT_SECRET" in str(caught.value)
    assert "MENTORNET_OPENEDX_CLIENT_ID" not in str(caught.value)


def test_production_refuses_to_send_the_secret_over_plain_http():
    settings = {"OPENEDX_CLIENT_ID": "id", "OPENEDX_CLIENT_SECRET": "secret", "ENV": "production"}
    with pytest.raises(LmsConfigurationError, match="https"):
        OpenEdxClient.from_config({**settings, "OPENEDX_LMS_URL": "http://lms.example.org"})
    assert OpenEdxClient.from_config({**settings, "OPENEDX_LMS_URL": "https://lms.example.org/"}).lms_url == (
        "https://lms.example.org"
    )


# -- the command ----------------------------------------------------------------------------------------------


@pytest.fixture
def mentornet(app, mentornet, lms, monkeypatch):
    """``mentornet ARGS...`` in-process against the test app, configured for the stand-in LMS."""
    monkeypatch.setitem(app.config, "OPENEDX_LMS_URL", lms.url)
    monkeypatch.setitem(app.config, "OPENEDX_CLIENT_ID", lms.client_id)
    monkeypatch.setitem(app.config, "OPENEDX_CLIENT_SECRET", lms.client_secret)
    return mentornet


def test_command_reconciles_every_linked_openedx_course_and_prints_the_report(run, world, lms, mentornet):
    other = "course-v1:TestOrg+SECOND+2026"

    def link_more():
        network = session.get(Network, world.network_id)
        link_course(other, network, actor=None)
        link_course("lti:moodle.example.org:course-7", network, actor=None)

    run(link_more)
    lms.grades[other] = rows_for(other, [("zoe", True, 0.8)])
    result = mentornet("bridge", "reconcile")
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert (
        f"{COURSE} (rule passed): 4 page(s), 7 learner(s) seen, 4 passed, 4 newly provisioned, "
        "0 already provisioned, 0 error(s)" in result.output
    )
    assert (
        f"{other} (rule passed): 1 page(s), 1 learner(s) seen, 1 passed, 1 newly provisioned" in result.output
    )
    assert not lms.requests_to("lti:")
    assert invited(run, "zoe") == 1


def test_command_exits_1_cleanly_when_the_lms_fails(run, world, lms, mentornet):
    lms.fail(403, times=None, path="/api/grades/")
    result = mentornet("bridge", "reconcile", "--course", COURSE)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert f"{COURSE} (rule passed): 0 page(s)" in result.output
    assert f"GET {lms.url}/api/grades/v1/courses/{COURSE}/ answered HTTP 403" in result.output
    assert "global staff" in result.output


def test_command_without_settings_says_which_are_missing(app, run, world, mentornet, monkeypatch):
    monkeypatch.setitem(app.config, "OPENEDX_CLIENT_SECRET", None)
    result = mentornet("bridge", "reconcile")
    assert result.exit_code == 1 and "MENTORNET_OPENEDX_CLIENT_SECRET" in result.output
    assert "Traceback" not in result.output


def test_command_for_a_course_without_a_link_fails_cleanly(run, world, mentornet):
    result = mentornet("bridge", "reconcile", "--course", "course-v1:Other+X+1")
    assert result.exit_code == 1 and "No course link for course-v1:Other+X+1" in result.output


# -- the periodic job ------------------------------------------------------------------------------------


def test_reconciliation_is_a_periodic_job_once_an_lms_is_configured(app, database_url, lms, run, world):
    from lti_bridge.plugin import _reconcile_all
    from network_service.app import create_app
    from network_service.db import db
    from network_service.jobs import jobs_of
    from tests.databases import app_config

    assert "bridge.reconcile" not in jobs_of(app)
    configured = create_app(
        app_config(
            database_url,
            OPENEDX_LMS_URL=lms.url,
            OPENEDX_CLIENT_ID=lms.client_id,
            OPENEDX_CLIENT_SECRET=lms.client_secret,
        )
    )
    assert "bridge.reconcile" in jobs_of(configured)
    db.dispose(configured)

    app.config.update(
        OPENEDX_LMS_URL=lms.url, OPENEDX_CLIENT_ID=lms.client_id, OPENEDX_CLIENT_SECRET=lms.client_secret
    )
    try:
        outcome = run(_reconcile_all)
    finally:
        app.config.update(OPENEDX_LMS_URL=None, OPENEDX_CLIENT_ID=None, OPENEDX_CLIENT_SECRET=None)
    assert "4 newly provisioned" in outcome
    assert all(invited(run, username) == 1 for username in PASSED)
