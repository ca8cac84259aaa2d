"""Rate limits: sign-in and other secret links, the JSON API (per credential, and per client address for bad
credentials), 429 with Retry-After and a problem document, and Redis shared by several application instances.

The limits are off in the test suite's shared app; each test here builds its own app with them on."""

from __future__ import annotations

import secrets

import pytest
import redis
import sqlalchemy as sa

from network_service import security
from network_service.app import create_app
from network_service.courses.models import CompletionEvent
from network_service.db import db

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_sign_in_links_are_limited_with_retry_after_and_a_page(limited_app):
    client = limited_app().test_client()
    statuses = [client.get(f"/sign-in/{secrets.token_urlsafe(16)}").status_code for _ in range(21)]
    assert statuses[:20] == [410] * 20 and statuses[20] == 429
    response = client.get("/sign-in/whatever")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.mimetype == "text/html"
    assert "Too Many Requests" in response.get_data(as_text=True)


def test_invitation_and_unsubscribe_links_are_limited(limited_app):
    client = limited_app().test_client()
    for path in ("/invitations/{}", "/notifications/unsubscribe/{}"):
        statuses = [client.get(path.format(secrets.token_urlsafe(12))).status_code for _ in range(21)]
        assert 429 not in statuses[:20] and statuses[20] == 429, (path, statuses)


def test_the_api_answers_429_with_retry_after_and_a_problem(limited_app):
    client = limited_app(RATELIMIT_API="3 per minute").test_client()
    statuses = [client.get("/api/v1/directory").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/directory")
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 429 and response.json["title"] == "Too Many Requests"
    assert int(response.headers["Retry-After"]) > 0
    # another credential has its own budget: a bearer token is judged (401), not refused for the address's use
    other = client.get("/api/v1/me", headers={"Authorization": "Bearer some-token"})
    assert other.status_code == 401


def test_guessing_api_tokens_is_limited_per_client_address(limited_app):
    client = limited_app().test_client()
    statuses = [
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {secrets.token_urlsafe(24)}"}).status_code
        for _ in range(21)
    ]
    assert statuses[:20] == [401] * 20 and statuses[20] == 429
    # the bad guesses of one address do not lock out another
    elsewhere = client.get("/api/v1/directory", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert elsewhere.status_code == 200


def test_the_api_budget_is_per_token_then_person_then_address(app):
    api = "/api/v1/me"
    with app.test_request_context(api, headers={"Authorization": "Bearer one"}):
        first = security.api_rate_key()
    with app.test_request_context(api, headers={"Authorization": "Bearer one"}):
        assert security.api_rate_key() == first
    with app.test_request_context(api, headers={"Authorization": "Bearer two"}):
        assert security.api_rate_key() != first
    with app.test_request_context(api, environ_base={"REMOTE_ADDR": "192.0.2.1"}):
        assert security.api_rate_key() == "address:192.0.2.1"
    # a page reads no bearer token: a made-up header must not buy a budget of its own
    with app.test_request_context(
        "/profile", headers={"Authorization": "Bearer one"}, environ_base={"REMOTE_ADDR": "192.0.2.1"}
    ):
        assert security.api_rate_key() == "address:192.0.2.1"
    assert "one" not in first  # the token itself is never a storage key


def test_storage_comes_from_the_setting_then_the_broker_then_memory():
    assert security.rate_limit_storage({"RATELIMIT_STORAGE_URL": "redis://h:1/2"}) == "redis://h:1/2"
    assert security.rate_limit_storage({"BROKER_URL": "redis://broker:6379/1"}) == "redis://broker:6379/1"
    assert security.rate_limit_storage({"BROKER_URL": "amqp://rabbit//"}) == "memory://"
    assert security.rate_limit_storage({}) == "memory://"


def _redis_or_skip() -> redis.Redis:
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return connection


def test_two_instances_share_the_limit_in_redis(limited_app, monkeypatch):
    connection = _redis_or_skip()
    # A healthy Redis answers in milliseconds, but on a starved machine an answer may take over the 1 s after
    # which an instance gives up on it and counts in memory: the two would then no longer share one limit.
    monkeypatch.setattr(security, "LIMIT_STORAGE_TIMEOUT", 15.0)
    prefix = f"mentornet-test-{secrets.token_hex(4)}"
    first = limited_app(RATELIMIT_STORAGE_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix).test_client()
    second = limited_app(RATELIMIT_STORAGE_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix).test_client()
    try:
        statuses = []
        for number in range(21):
            client = first if number % 2 else second
            statuses.append(client.get(f"/sign-in/{secrets.token_urlsafe(12)}").status_code)
        assert statuses[:20] == [410] * 20 and statuses[20] == 429
        assert first.get("/sign-in/x").status_code == 429
        assert second.get("/sign-in/x").status_code == 429
        assert list(connection.scan_iter(f"*{prefix}*")), "the counters are not in Redis"
        # another key prefix (another service on the same Redis) counts apart
        apart = limited_app(RATELIMIT_STORAGE_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix + "-b").test_client()
        assert apart.get("/sign-in/x").status_code == 410
    finally:
        for key in connection.scan_iter(f"*{prefix}*"):
            connection.delete(key)


def test_redis_unreachable_never_fails_a_request(limited_app):
    client = limited_app(RATELIMIT_STORAGE_URL="redis://127.0.0.1:1/0").test_client()
    statuses = [client.get("/api/v1/directory").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert client.get("/sign-in/x").status_code == 410


def test_guessing_the_webhook_secrets_is_limited_and_signed_traffic_never(limited_app):
    import json

    from tests import bridge_payloads as payloads

    client = limited_app().test_client()
    for path in ("/bridge/openedx/events", "/bridge/xapi/statements"):
        statuses = [
            client.post(path, data=b"{}", headers={"Content-Type": "application/json"}).status_code
            for _ in range(31)
        ]
        assert statuses[:30] == [401] * 30 and statuses[30] == 429, (path, statuses)
        refused = client.post(path, data=b"{}", headers={"Content-Type": "application/json"})
        assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
        assert int(refused.headers["Retry-After"]) > 0

    # a source that signs its events is never slowed down, however many it sends (another client address)
    application = limited_app()
    signed = application.test_client()
    stored = []
    try:
        for number in range(40):
            body = json.dumps(payloads.passing_status(email=f"learner{number}@example.org")).encode()
            response = signed.post(
                "/bridge/openedx/events",
                data=body,
                headers={
                    "Content-Type": "application/json",
                    payloads.SIGNATURE_HEADER: payloads.sign(body, payloads.WEBHOOK_SECRET),
                },
                environ_base={"REMOTE_ADDR": "192.0.2.10"},
            )
            assert response.status_code == 202, (number, response.status_code)
            stored.append(response.get_json()["id"])
    finally:
        # this app commits for real (no test transaction): later tests must not find these events waiting
        with application.app_context(), db.engine.begin() as connection:
            connection.execute(sa.delete(CompletionEvent.__table__).where(CompletionEvent.id.in_(stored)))


def test_production_without_a_shared_store_says_so_at_start(tmp_path, caplog):
    settings = {
        "ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite'}",
        "OUTBOX_WORKER": False,
        "JOBS_IN_PROCESS": False,
    }
    warning = "Rate limits are counted in each process's memory"
    apps = [create_app(settings, use_environment=False)]
    assert warning in caplog.text
    caplog.clear()
    apps.append(
        create_app({**settings, "RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379/0"}, use_environment=False)
    )
    apps.append(create_app({**settings, "ENV": "development"}, use_environment=False))
    assert warning not in caplog.text
    for application in apps:
        db.dispose(application)


def test_posting_is_limited_per_person_not_per_shared_address(limited_app):
    """Found by bench/load.py --production: posting counted 30 a minute per client address, so every mentor
    behind one address (an organisation's office, a mobile network's NAT) shared those 30. Each person has
    their own 30 now, whatever the address."""
    from network_service.accounts.models import DeviceSession, Person
    from network_service.accounts.operations import get_or_create_person
    from network_service.db import session
    from tests.helpers import act_as_person, csrf_from

    application = limited_app()
    emails = [f"poster-{secrets.token_hex(4)}@example.org" for _ in range(2)]
    with application.app_context():
        ids = [get_or_create_person(email, display_name="Poster")[0].id for email in emails]
        session.commit()
    try:
        clients = []
        for person_id in ids:
            client = application.test_client()
            act_as_person(client, person_id)
            token = csrf_from(client.get("/profile").get_data(as_text=True))
            clients.append((client, token))

        def post(client, token) -> int:  # to a network that does not exist: counted, nothing written
            response = client.post(
                "/networks/no-such-network/conversations/c/general",
                data={"csrf_token": token, "body": "Hello"},
                environ_base={"REMOTE_ADDR": "198.51.100.7"},  # both from one address
            )
            return response.status_code

        first = [post(*clients[0]) for _ in range(16)]
        second = [post(*clients[1]) for _ in range(16)]
        assert 429 not in first + second, (first, second)  # 32 from the address, 16 each
        more = [post(*clients[0]) for _ in range(15)]
        assert more[:14] == [404] * 14 and more[14] == 429  # the person's own 31st
        refused = clients[0][0].post(
            "/networks/no-such-network/conversations/c/general",
            data={"csrf_token": clients[0][1], "body": "Hello"},
            environ_base={"REMOTE_ADDR": "198.51.100.7"},
        )
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        # the message is kept, ready to send again
        assert 'name="body" value="Hello"' in refused.get_data(as_text=True)
    finally:
        with application.app_context():
            session.execute(sa.delete(DeviceSession).where(DeviceSession.person_id.in_(ids)))
            session.execute(sa.delete(Person).where(Person.id.in_(ids)))
            session.commit()


def test_requests_no_limit_applies_to_skip_the_limiter_and_no_limited_one_does(limited_app):
    """``security._no_limit_applies`` lets a page view skip Flask-Limiter's bookkeeping. For every route and
    method, it must say "no limit" only where Flask-Limiter itself resolves no limit (endpoint, blueprint,
    application or default limits that apply to the method): a wrong answer would switch a limit off."""
    from flask import request
    from flask_limiter.util import get_qualified_name

    application = limited_app()
    limiter = application.extensions["mentornet.limiter"]
    skipped = limited = 0
    for rule in application.url_map.iter_rules():
        view = application.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"OPTIONS"}):
            with application.test_request_context(method=method):
                request.url_rule = rule
                defaults, decorated = limiter.limit_manager.resolve_limits(
                    application, rule.endpoint, request.blueprint, get_qualified_name(view), False, True
                )
                applies = [each for each in [*defaults, *decorated] if not each.method_exempt]
                applies += limiter.limit_manager.application_limits
                if security._no_limit_applies():
                    assert not applies, (rule.rule, method, applies)
                    skipped += 1
                else:
                    limited += 1
                    assert applies or rule.endpoint.startswith("api_"), (rule.rule, method)
    # what the filter is for: the pages (and the form posts with no limit of their own) skip the limiter
    assert skipped > 200 and limited > 100, (skipped, limited)
    for endpoint, (_limit, methods) in security.RATE_LIMITS.items():
        for method in methods:
            with application.test_request_context(method=method):
                request.url_rule = next(application.url_map.iter_rules(endpoint))
                assert not security._no_limit_applies(), (endpoint, method)
