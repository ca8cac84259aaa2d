"""PostgreSQL goes away under a served application: a real TCP proxy between the app and the server is cut.

Every page and API answers 503 with Retry-After (a page for people, problem JSON for machines), completion
sources are told to retry, a request cut in the middle of its transaction leaves nothing behind, and once the
database is back the same event is accepted exactly once.
"""

from __future__ import annotations

import uuid

import pytest
import requests
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.accounts.operations import create_api_token
from network_service.accounts.sessions import cookie_data, start_session
from network_service.courses.models import CompletionEvent
from network_service.db import session
from network_service.help.models import HelpRequest
from network_service.notifications.models import Notification
from tests import bridge_payloads as payloads
from tests.conftest import TEST_DATABASE_URL
from tests.fault_proxy import FaultProxy
from tests.live import live_service

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not TEST_DATABASE_URL, reason="stops a PostgreSQL server; set MENTORNET_TEST_DATABASE_URL"
    ),
]

SLUG = "test-net"


@pytest.fixture
def down(tmp_path):
    """A served app whose every database connection goes through a proxy the test can cut."""
    target = sa.engine.make_url(TEST_DATABASE_URL)
    with FaultProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:

        def via_proxy(url: str) -> str:
            return sa.engine.make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(False)

        # No background thread: its commits would trip cut_on(b"COMMIT") before the request does.
        with live_service(tmp_path, database_url_via=via_proxy, OUTBOX_WORKER=False) as live:
            live.proxy = proxy
            yield live


def _signed_in_cookie(live, email: str) -> dict[str, str]:
    """The session cookie a sign-in would set (signed with the app's key, as the real flow does)."""
    with live.app.app_context():
        person = session.scalar(sa.select(Person).where(Person.email == email))
        serializer = live.app.session_interface.get_signing_serializer(live.app)
        device = start_session(person, via="test")
        session.commit()
        value = serializer.dumps(cookie_data(device))
    return {live.app.config["SESSION_COOKIE_NAME"]: value}


def _api_token(live, email: str) -> str:
    with live.app.app_context():
        person = session.scalar(sa.select(Person).where(Person.email == email))
        _token, plain = create_api_token(person, "faults")
        session.commit()
    return plain


def _get_paths(app) -> list[str]:
    """One URL for every GET route, its parameters filled with values of the test world."""
    values = {"slug": SLUG, "network_slug": SLUG}
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint.endswith("static") or rule.rule == "/healthz":
            continue
        arguments = {}
        for name in rule.arguments:
            converter = rule._converters.get(name)  # noqa: SLF001 - werkzeug keeps no public accessor
            is_int = converter is not None and type(converter).__name__ in {
                "IntegerConverter",
                "NumberConverter",
            }
            arguments[name] = 1 if is_int else values.get(name, "x")
        with app.test_request_context():
            from flask import url_for

            try:
                paths.append(url_for(rule.endpoint, **arguments))
            except Exception:  # noqa: BLE001, S112 - a converter we cannot fill; the route is skipped
                continue
    return sorted(set(paths))


def _assert_unavailable(response: requests.Response, *, json_body: bool) -> None:
    assert response.status_code == 503, (response.request.url, response.status_code, response.text[:300])
    assert int(response.headers["Retry-After"]) > 0
    if json_body:
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert response.json()["status"] == 503
    else:
        assert response.headers["Content-Type"].startswith("text/html")
        assert "briefly unavailable" in response.text


def test_with_the_database_down_every_page_and_api_answers_503_never_500(down):
    cookies = _signed_in_cookie(down, "coord@example.org")
    token = _api_token(down, "coord@example.org")
    paths = _get_paths(down.app)
    assert len(paths) > 40

    down.proxy.refuse()
    http = requests.Session()
    http.cookies.update(cookies)
    unavailable = 0
    for path in paths:
        headers = {"Authorization": f"Bearer {token}"} if path.startswith("/api/") else {}
        response = http.get(down.base_url + path, headers=headers, allow_redirects=False, timeout=60)
        assert response.status_code != 500, (path, response.text[:500])
        if response.status_code == 503:
            unavailable += 1
            _assert_unavailable(response, json_body=path.startswith(("/api/", "/bridge/")))
    assert unavailable > len(paths) // 2

    # The pages people use most, and the API, one by one
    for path in ("/", f"/networks/{SLUG}", f"/networks/{SLUG}/help", "/directory"):
        _assert_unavailable(
            http.get(down.base_url + path, allow_redirects=False, timeout=60), json_body=False
        )
    api = http.get(
        f"{down.base_url}/api/v1/networks/{SLUG}/help-requests",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    _assert_unavailable(api, json_body=True)
    # A browser-like client asking for JSON gets JSON
    _assert_unavailable(
        http.get(f"{down.base_url}/networks/{SLUG}", headers={"Accept": "application/json"}, timeout=60),
        json_body=True,
    )
    health = requests.get(f"{down.base_url}/healthz", timeout=60)
    assert health.status_code == 503 and health.headers["Retry-After"]

    down.proxy.forward()
    assert requests.get(f"{down.base_url}/healthz", timeout=60).status_code == 200
    assert http.get(f"{down.base_url}/networks/{SLUG}", timeout=60).status_code == 200


def test_a_blackholed_database_gives_503_instead_of_hanging(down):
    cookies = _signed_in_cookie(down, "mentor@example.org")
    down.proxy.blackhole()  # connections are taken and never answered
    response = requests.get(
        f"{down.base_url}/networks/{SLUG}/help", cookies=cookies, allow_redirects=False, timeout=120
    )
    _assert_unavailable(response, json_body=False)
    event = payloads.post_signed(down.base_url, payloads.passing_status())
    _assert_unavailable(event, json_body=True)
    down.proxy.forward()
    assert requests.get(f"{down.base_url}/healthz", timeout=60).status_code == 200


def test_completion_sources_are_told_to_retry_and_the_retry_is_accepted_once(down):
    from lti_bridge.models import SourceKind
    from lti_bridge.sources import create_source

    with down.app.app_context():
        lrs, secret = create_source("lrs", SourceKind.xapi)
        username = lrs.username
        session.commit()
    event_id = str(uuid.uuid4())
    payload = payloads.passing_status(event_id)

    # Cut while the request's transaction commits: the row was inserted, the COMMIT never arrives.
    down.proxy.cut_on(b"COMMIT")
    cut = payloads.post_signed(down.base_url, payload)
    assert down.proxy.tripped.is_set()
    _assert_unavailable(cut, json_body=True)
    # Down altogether: signed events, webhook events and xAPI statements all hear "retry later"
    statement = payloads.xapi_passed(actor={"mbox": "mailto:three@example.org"})
    xapi = requests.post(
        f"{down.base_url}/bridge/xapi/statements",
        json=statement,
        auth=(username, secret),
        headers={"X-Experience-API-Version": "1.0.3"},
        timeout=60,
    )
    _assert_unavailable(xapi, json_body=True)
    assert xapi.headers["X-Experience-API-Version"] == "1.0.3"  # xAPI: on every answer
    _assert_unavailable(payloads.post_signed(down.base_url, payload), json_body=True)

    down.proxy.forward()
    with down.app.app_context():
        assert (
            session.scalar(sa.select(sa.func.count()).select_from(CompletionEvent)) == 0
        )  # nothing half-kept
    first = payloads.post_signed(down.base_url, payload)
    again = payloads.post_signed(down.base_url, payload)
    assert (first.status_code, again.status_code) == (202, 202)
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    xapi_again = requests.post(
        f"{down.base_url}/bridge/xapi/statements",
        json=statement,
        auth=(username, secret),
        headers={"X-Experience-API-Version": "1.0.3"},
        timeout=60,
    )
    assert xapi_again.status_code == 200
    with down.app.app_context():
        ids = session.scalars(sa.select(CompletionEvent.event_id)).all()
    assert sorted(ids) == sorted([event_id, statement["id"]])


def test_a_request_cut_mid_transaction_leaves_no_partial_rows(down):
    token = _api_token(down, "mentor@example.org")
    with down.app.app_context():
        notifications_before = session.scalar(sa.select(sa.func.count()).select_from(Notification))
    body = {"topic": "Housing paperwork", "body": "Which office handles this?", "languages": ["Italian"]}
    headers = {"Authorization": f"Bearer {token}"}

    down.proxy.cut_on(b"COMMIT")
    cut = requests.post(
        f"{down.base_url}/api/v1/networks/{SLUG}/help-requests", json=body, headers=headers, timeout=60
    )
    assert down.proxy.tripped.is_set()
    _assert_unavailable(cut, json_body=True)
    assert cut.headers["X-Content-Type-Options"] == "nosniff"  # the secure headers survive the replacement

    down.proxy.forward()
    with down.app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(HelpRequest)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == notifications_before
    retried = requests.post(
        f"{down.base_url}/api/v1/networks/{SLUG}/help-requests", json=body, headers=headers, timeout=60
    )
    assert retried.status_code == 201, retried.text
    with down.app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(HelpRequest)) == 1
        # the request's other rows came with it this time (the others in the network were told)
        assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) > notifications_before
