"""The third-party-cookie fallback of the launch: LTI platform storage (the state proven through the platform's
frame with lti.put_data / lti.get_data) and, when neither the cookie nor the storage works, the same login again
in a window of its own. Over HTTP with the Flask client; the browser side is tests/browser/test_lti_storage.py."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from lti_bridge.lti.models import LtiNonce
from network_service.db import session
from tests.test_lti_attacks import _counts, assert_refused

pytest_plugins = ("tests.lti_platform",)

OUR_ORIGIN = "http://localhost"


def _attr(body: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', body)
    assert match, (name, body)
    return html.unescape(match.group(1))


def _storage_login(client, platform, target="post_message_forwarding"):
    """The login with lti_storage_target: the page that stores the proof, then the platform's checks."""
    response = client.get("/lti/login", query_string=platform.login_params(lti_storage_target=target))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_data(as_text=True)
    query = platform.authorize(_attr(body, "data-next"))
    return response, body, query


def _browser_without_cookies(app):
    return app.test_client()  # a browser that dropped the third-party state cookie


def _spent(run, state_nonce: str) -> bool:
    return (
        run(lambda: session.scalar(sa.select(LtiNonce.used_at).where(LtiNonce.value == state_nonce)))
        is not None
    )


def test_login_with_a_storage_target_stores_the_state_proof_in_the_platforms_frame(client, registered):
    response, body, query = _storage_login(client, registered)
    assert _attr(body, "data-lti-storage") == "login"
    assert _attr(body, "data-platform-origin") == registered.base_url  # the OIDC auth URL's origin
    assert _attr(body, "data-storage-target") == "post_message_forwarding"
    assert _attr(body, "data-key") == f"state_{query['state']}"
    assert len(_attr(body, "data-value")) == 64 and _attr(body, "data-value") != query["state"]
    assert "js/lti-storage.js" in body and "<script>" not in body  # static script only (strict CSP)
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers
    # The cookie is still set: a browser that keeps it needs no storage at all.
    assert any(h.startswith("mentornet_lti_state=") for h in response.headers.getlist("Set-Cookie"))


def test_login_ignores_a_storage_target_with_odd_characters(client, registered):
    response = client.get(
        "/lti/login", query_string=registered.login_params(lti_storage_target='x" onload="')
    )
    assert response.status_code == 302


def test_launch_without_the_cookie_reads_the_proof_back_and_posts_it_from_our_page(
    app, client, registered, run
):
    _response, body, query = _storage_login(client, registered)
    proof = _attr(body, "data-value")
    browser = _browser_without_cookies(app)
    token = registered.id_token(query["nonce"])
    page = browser.post("/lti/launch", data={"id_token": token, "state": query["state"]})
    text = page.get_data(as_text=True)
    assert page.status_code == 200, text
    assert _attr(text, "data-lti-storage") == "launch"
    assert _attr(text, "data-key") == f"state_{query['state']}"
    assert _attr(text, "data-platform-origin") == registered.base_url
    assert 'action="/lti/launch/storage"' in text and "data-lti-relaunch" in text
    assert "frame-ancestors *" in page.headers["Content-Security-Policy"]
    assert not _spent(run, query["nonce"])  # nothing is decided before the proof comes back

    launched = browser.post(
        "/lti/launch/storage",
        data={"id_token": token, "state": query["state"], "lti_storage_proof": proof},
        headers={"Origin": OUR_ORIGIN},
    )
    # The launch is checked and spent; the frame keeps no cookie of ours, so the pages after it (here: confirm
    # the e-mail address once) open with the same login in a window of its own.
    done = launched.get_data(as_text=True)
    assert launched.status_code == 200, done
    assert "data-lti-relaunch" in done and "frame-ancestors *" in launched.headers["Content-Security-Policy"]
    assert _spent(run, query["nonce"])
    relaunch = html.unescape(re.search(r'<a href="([^"]+)" target="_blank"', done).group(1))
    assert parse_qs(urlsplit(relaunch).query)["login_hint"] == ["user-42"]


def test_a_storage_launch_made_for_the_embedded_panel_lands_there(app, client, run, registered):
    from lti_bridge.lti.registrations import find_platform

    run(lambda: setattr(find_platform(registered.issuer, registered.client_id), "trust_email", True))
    target = "http://localhost/embed/panel"
    response = client.get(
        "/lti/login",
        query_string=registered.login_params(lti_storage_target="_parent", target_link_uri=target),
    )
    body = response.get_data(as_text=True)
    query = registered.authorize(_attr(body, "data-next"))
    token = registered.id_token(
        query["nonce"],
        email="panel@example.org",
        **{"https://purl.imsglobal.org/spec/lti/claim/target_link_uri": target},
    )
    launched = _browser_without_cookies(app).post(
        "/lti/launch/storage",
        data={"id_token": token, "state": query["state"], "lti_storage_proof": _attr(body, "data-value")},
        headers={"Origin": OUR_ORIGIN},
    )
    assert launched.status_code == 303 and "/embed/panel" in launched.headers["Location"]


def test_a_wrong_proof_is_refused_and_spends_nothing(app, client, registered, run):
    _response, _body, query = _storage_login(client, registered)
    before = _counts(run)
    response = _browser_without_cookies(app).post(
        "/lti/launch/storage",
        data={
            "id_token": registered.id_token(query["nonce"]),
            "state": query["state"],
            "lti_storage_proof": "0" * 64,
        },
        headers={"Origin": OUR_ORIGIN},
    )
    body = assert_refused(response, "state", run, before, status=403)
    assert "data-lti-relaunch" in body  # the login is still usable in a new window
    assert not _spent(run, query["nonce"])


def test_the_proof_of_another_login_is_refused(app, client, registered, run):
    _r, other_body, _other = _storage_login(app.test_client(), registered)
    _r, _body, query = _storage_login(client, registered)
    response = _browser_without_cookies(app).post(
        "/lti/launch/storage",
        data={
            "id_token": registered.id_token(query["nonce"]),
            "state": query["state"],
            "lti_storage_proof": _attr(other_body, "data-value"),
        },
        headers={"Origin": OUR_ORIGIN},
    )
    assert_refused(response, "state", run, status=403)


def test_a_replayed_storage_launch_is_refused(app, client, registered, run):
    _r, body, query = _storage_login(client, registered)
    form = {
        "id_token": registered.id_token(query["nonce"]),
        "state": query["state"],
        "lti_storage_proof": _attr(body, "data-value"),
    }
    browser = _browser_without_cookies(app)
    assert browser.post("/lti/launch/storage", data=form, headers={"Origin": OUR_ORIGIN}).status_code == 200
    before = _counts(run)
    again = app.test_client().post("/lti/launch/storage", data=form, headers={"Origin": OUR_ORIGIN})
    assert "already been used" in assert_refused(again, "nonce", run, before)
    # And the first launch page cannot be shown again either: the login is spent.
    page = app.test_client().post("/lti/launch", data={"id_token": form["id_token"], "state": form["state"]})
    assert "data-lti-relaunch" not in assert_refused(page, "state", run, before)


def test_the_proof_posted_by_another_site_is_refused(app, client, registered, run):
    _r, body, query = _storage_login(client, registered)
    form = {
        "id_token": registered.id_token(query["nonce"]),
        "state": query["state"],
        "lti_storage_proof": _attr(body, "data-value"),
    }
    browser = _browser_without_cookies(app)
    for headers in (
        {"Origin": "https://attacker.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
        {},
    ):
        assert_refused(
            browser.post("/lti/launch/storage", data=form, headers=headers), "state", run, status=403
        )
    assert not _spent(run, query["nonce"])
    ours = browser.post("/lti/launch/storage", data=form, headers={"Sec-Fetch-Site": "same-origin"})
    assert ours.status_code == 200 and _spent(run, query["nonce"])


def test_a_proof_for_a_login_that_did_not_use_storage_is_refused(app, client, registered, run):
    query = registered.begin_login(client)  # a plain login: the cookie, no storage target
    response = _browser_without_cookies(app).post(
        "/lti/launch/storage",
        data={
            "id_token": registered.id_token(query["nonce"]),
            "state": query["state"],
            "lti_storage_proof": _attr(_storage_login(app.test_client(), registered)[1], "data-value"),
        },
        headers={"Origin": OUR_ORIGIN},
    )
    assert_refused(response, "state", run, status=403)


def test_without_cookie_or_storage_the_refusal_opens_the_same_login_in_a_new_window(
    app, client, registered, run
):
    query = registered.begin_login(client)
    framed = _browser_without_cookies(app)
    response = framed.post(
        "/lti/launch", data={"id_token": registered.id_token(query["nonce"]), "state": query["state"]}
    )
    body = assert_refused(response, "state", run, status=403)
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]  # visible in the course's frame
    link = re.search(r'<a href="([^"]+)" target="_blank" rel="noopener" data-lti-relaunch>', body)
    assert link, body
    url = html.unescape(link.group(1))
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert params == registered.login_params()
    assert "lti_storage_target" not in params

    # The new window is first-party: the state cookie sticks, and the launch goes through.
    window = app.test_client()
    redirect = window.get(url)
    assert redirect.status_code == 302
    second = registered.authorize(redirect.headers["Location"])
    launched = window.post(
        "/lti/launch", data={"id_token": registered.id_token(second["nonce"]), "state": second["state"]}
    )
    assert launched.status_code == 303
