"""LTI 1.3 tool: login initiation, a valid launch, identities, and the platform's key set."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from lti_bridge.lti.models import LtiIdentity, LtiNonce
from lti_bridge.lti.platform_keys import PlatformKeyCache
from lti_bridge.lti.registrations import find_platform
from network_service.accounts.models import Person
from network_service.db import session
from tests.helpers import csrf_from, link_in, mails, path_of

pytest_plugins = ("tests.lti_platform",)  # the stand-in platform and its fixtures


def post_launch(client, id_token: str, state: str):
    return client.post("/lti/launch", data={"id_token": id_token, "state": state})


def _session_person(client):
    with client.session_transaction() as browser_session:
        return browser_session.get("person_id")


def _identities(run):
    return run(lambda: list(session.scalars(sa.select(LtiIdentity).order_by(LtiIdentity.id))))


# -- login initiation ----------------------------------------------------------------------------------


def test_login_redirects_to_the_platform_with_every_parameter_and_binds_state_to_the_browser(
    client, registered, run
):
    response = client.post("/lti/login", data=registered.login_params())
    assert response.status_code == 302
    query = registered.authorize(
        response.headers["Location"]
    )  # checks scope, response_type, mode, prompt, ...
    assert query["lti_message_hint"] == "resource-link-7"
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("mentornet_lti_state="))
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"secure", "httponly", "samesite=none", "path=/lti/"} <= attributes
    assert query["state"] not in cookie  # signed, and the nonce never reaches the browser's cookie
    login = run(lambda: session.scalar(sa.select(LtiNonce)))
    assert login.value == query["nonce"] and login.used_at is None
    assert response.headers["Cache-Control"] == "no-store"


def test_login_keeps_the_platforms_own_query_parameters(client, platform, run):
    def register():
        platform.register()
        find_platform(platform.issuer, platform.client_id).oidc_auth_url = platform.auth_url + "?tenant=7"

    run(register)
    response = client.get("/lti/login", query_string=platform.login_params())
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["tenant"] == ["7"] and query["scope"] == ["openid"]


def test_login_for_an_unregistered_issuer_is_refused_with_the_command_to_run(client, registered):
    response = client.get("/lti/login", query_string=registered.login_params(iss="https://other.example"))
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "https://other.example" in body and "mentornet lti platform add" in body
    assert "mentornet_lti_state" not in response.headers.get("Set-Cookie", "")


def test_login_without_client_id_when_an_issuer_has_several_registrations_explains_which_is_missing(
    client, registered, run
):
    run(lambda: registered.register(client_id="second-client"))
    params = registered.login_params()
    del params["client_id"]
    response = client.get("/lti/login", query_string=params)
    assert response.status_code == 400
    assert "client_id" in response.get_data(as_text=True)
    # naming the client id picks the registration
    response = client.get("/lti/login", query_string=registered.login_params(client_id="second-client"))
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["client_id"] == ["second-client"]


def test_login_without_client_id_finds_the_only_registration_of_the_issuer(client, registered):
    params = registered.login_params()
    del params["client_id"]
    assert client.get("/lti/login", query_string=params).status_code == 302


def test_login_refuses_a_target_outside_this_site(client, registered):
    response = client.get(
        "/lti/login", query_string=registered.login_params(target_link_uri="https://evil.example/lti/launch")
    )
    assert response.status_code == 400
    assert "target_link_uri" in response.get_data(as_text=True)


def test_login_needs_iss_and_login_hint(client, registered):
    assert client.get("/lti/login", query_string={"login_hint": "x"}).status_code == 400
    params = registered.login_params()
    del params["login_hint"]
    assert client.get("/lti/login", query_string=params).status_code == 400


# -- a valid launch ------------------------------------------------------------------------------------


def test_launch_from_a_platform_trusted_with_emails_signs_the_learner_in_and_links_the_identity(
    client, platform, run
):
    run(lambda: platform.register(trust_email=True))
    query = platform.begin_login(client)
    token = platform.id_token(query["nonce"], email="Learner@Example.org", name="Lea Learner")
    response = post_launch(client, token, query["state"])

    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == "/"
    person = run(lambda: session.scalar(sa.select(Person).where(Person.email == "learner@example.org")))
    assert person is not None and person.display_name == "Lea Learner"
    assert _session_person(client) == person.id
    [identity] = _identities(run)
    assert (identity.sub, identity.person_id) == ("lms-user-1", person.id)
    assert identity.email_claimed == "Learner@Example.org"
    assert any(
        h.startswith("mentornet_lti_state=;") for h in response.headers.getlist("Set-Cookie")
    )  # the login is over: its cookie goes
    assert run(lambda: session.scalar(sa.select(LtiNonce.used_at))) is not None
    assert client.get("/").status_code == 200


def test_trusted_email_links_to_the_existing_account_with_that_address(client, platform, run, world):
    run(lambda: platform.register(trust_email=True))
    query = platform.begin_login(client)
    post_launch(client, platform.id_token(query["nonce"], email="mentor@example.org"), query["state"])
    assert _session_person(client) == world.mentor_id
    assert _identities(run)[0].person_id == world.mentor_id


def test_a_second_launch_of_the_same_learner_reuses_the_identity(client, platform, run):
    run(lambda: platform.register(trust_email=True))
    for _ in range(2):
        query = platform.begin_login(client)
        response = post_launch(
            client, platform.id_token(query["nonce"], email="learner@example.org"), query["state"]
        )
        assert response.status_code == 303
    assert len(_identities(run)) == 1
    assert run(lambda: session.scalar(sa.select(sa.func.count(Person.id)))) == 1


def test_a_learner_whose_identity_another_launch_inserted_first_uses_that_identity(
    client, platform, run, monkeypatch
):
    """Two tabs launch a new learner at once: the second one's INSERT finds the row there (ON CONFLICT DO
    NOTHING, no savepoint) and the launch goes on with the identity the first one made."""
    from lti_bridge.lti import identity as identities

    run(lambda: platform.register(trust_email=True))
    query = platform.begin_login(client)
    post_launch(client, platform.id_token(query["nonce"], email="learner@example.org"), query["state"])
    [first] = _identities(run)

    real_find, found = identities._find, []

    def find_after_the_other_tab(platform_id, sub):
        found.append(sub)
        return None if len(found) == 1 else real_find(platform_id, sub)  # not there yet when first asked

    monkeypatch.setattr(identities, "_find", find_after_the_other_tab)
    query = platform.begin_login(client)
    response = post_launch(
        client, platform.id_token(query["nonce"], email="learner@example.org"), query["state"]
    )
    assert response.status_code == 303 and len(found) == 2
    [identity] = _identities(run)
    assert (identity.id, identity.person_id) == (first.id, first.person_id)
    assert _session_person(client) == first.person_id


def test_several_logins_in_flight_in_one_browser_each_launch(client, platform, run):
    run(lambda: platform.register(trust_email=True))
    first, second = platform.begin_login(client), platform.begin_login(client)
    for query in (second, first):
        token = platform.id_token(query["nonce"], email="learner@example.org")
        assert post_launch(client, token, query["state"]).status_code == 303


def test_trusted_platform_without_email_asks_the_learner_to_confirm(client, platform, run):
    run(lambda: platform.register(trust_email=True))
    query = platform.begin_login(client)
    response = post_launch(client, platform.id_token(query["nonce"]), query["state"])
    assert response.headers["Location"] == "/lti/confirm-email"
    [identity] = _identities(run)
    assert identity.person_id is None and identity.email_claimed is None  # nothing the platform did not share
    assert run(lambda: session.scalar(sa.select(sa.func.count(Person.id)))) == 0


def test_a_new_identity_changes_no_cache_version(client, platform, run):
    """A first launch that links no person writes only its identity (and nonces, sessions): no cached page
    reads them, so no domain gets a new version (every domain did, before lti_identity was listed)."""
    from network_service import page_cache

    run(lambda: platform.register(trust_email=True))

    def versions():
        return dict(session.connection().exec_driver_sql("SELECT name, token FROM cache_version").all())

    before = run(versions)
    query = platform.begin_login(client)
    response = post_launch(client, platform.id_token(query["nonce"]), query["state"])
    assert response.headers["Location"] == "/lti/confirm-email"
    assert len(_identities(run)) == 1
    assert run(versions) == before and set(before) >= set(page_cache.GLOBAL_VERSIONS)


def test_untrusted_email_is_confirmed_once_by_a_mailed_link_then_launches_sign_in_directly(
    client, registered, run
):
    query = registered.begin_login(client)
    response = post_launch(
        client, registered.id_token(query["nonce"], email="lea@example.org"), query["state"]
    )
    assert response.status_code == 303 and response.headers["Location"] == "/lti/confirm-email"
    assert _session_person(client) is None  # a claimed, unverified address signs no one in
    assert run(lambda: session.scalar(sa.select(sa.func.count(Person.id)))) == 0

    page = client.get("/lti/confirm-email")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'value="lea@example.org"' in html
    sent = client.post("/lti/confirm-email", data={"email": "lea@example.org", "csrf_token": csrf_from(html)})
    assert sent.status_code == 200 and "lea@example.org" in sent.get_data(as_text=True)
    assert _identities(run)[0].person_id is None  # not before the link is used

    mail = run(lambda: mails(to="lea@example.org", kind="sign_in")[-1])
    link = path_of(link_in(mail.body_text, "/sign-in/"))
    confirm = client.get(link).get_data(as_text=True)
    signed_in = client.post(link, data={"csrf_token": csrf_from(confirm)})
    assert signed_in.status_code == 302 and signed_in.headers["Location"].startswith("/lti/link/")
    linked = client.get(signed_in.headers["Location"])
    assert linked.status_code == 302 and linked.headers["Location"] == "/"

    person = run(lambda: session.scalar(sa.select(Person).where(Person.email == "lea@example.org")))
    assert _identities(run)[0].person_id == person.id
    # the next launch signs in at once
    with client.session_transaction() as browser_session:
        browser_session.clear()
    query = registered.begin_login(client)
    response = post_launch(client, registered.id_token(query["nonce"]), query["state"])
    assert response.headers["Location"] == "/" and _session_person(client) == person.id


def test_the_mailed_link_links_nothing_in_another_browser(app, client, registered, run):
    query = registered.begin_login(client)
    post_launch(client, registered.id_token(query["nonce"]), query["state"])
    html = client.get("/lti/confirm-email").get_data(as_text=True)
    client.post("/lti/confirm-email", data={"email": "victim@example.org", "csrf_token": csrf_from(html)})
    mail = run(lambda: mails(to="victim@example.org", kind="sign_in")[-1])
    link = path_of(link_in(mail.body_text, "/sign-in/"))

    victim = app.test_client()  # the address's owner opens the mail in their own browser
    confirm = victim.get(link).get_data(as_text=True)
    next_url = victim.post(link, data={"csrf_token": csrf_from(confirm)}).headers["Location"]
    response = victim.get(next_url)
    assert response.status_code == 403
    assert _identities(run)[0].person_id is None


def test_confirm_page_without_a_launch_says_to_launch_again(client):
    response = client.get("/lti/confirm-email")
    assert response.status_code == 400
    assert "launch" in response.get_data(as_text=True).lower()


# -- the platform's key set ----------------------------------------------------------------------------


def test_the_platform_key_set_is_fetched_once_and_cached(client, platform, run):
    run(lambda: platform.register(trust_email=True))
    for _ in range(3):
        query = platform.begin_login(client)
        token = platform.id_token(query["nonce"], email="learner@example.org")
        assert post_launch(client, token, query["state"]).status_code == 303
    assert platform.jwks_requests == 1


def test_a_rotated_platform_key_is_fetched_once_and_the_launch_succeeds(client, platform, run):
    run(lambda: platform.register(trust_email=True))
    query = platform.begin_login(client)
    post_launch(client, platform.id_token(query["nonce"], email="learner@example.org"), query["state"])
    platform.rotate_key()
    query = platform.begin_login(client)
    response = post_launch(
        client, platform.id_token(query["nonce"], email="learner@example.org"), query["state"]
    )
    assert response.status_code == 303
    assert platform.jwks_requests == 2


def test_unknown_kids_do_not_refetch_more_than_once_in_a_short_while(app, client, platform, run):
    app.extensions["mentornet.lti.platform_keys"] = PlatformKeyCache(min_refetch_seconds=60)
    run(lambda: platform.register(trust_email=True))
    query = platform.begin_login(client)
    post_launch(client, platform.id_token(query["nonce"], email="learner@example.org"), query["state"])
    for _ in range(3):
        query = platform.begin_login(client)
        response = post_launch(client, platform.id_token(query["nonce"], kid="made-up"), query["state"])
        assert response.status_code == 401
    assert platform.jwks_requests == 1


def test_unusable_entries_of_a_platforms_key_set_are_skipped(platform, monkeypatch):
    good = platform.jwks()["keys"][0]
    broken = [
        {"kty": "EC", "kid": "ec-key", "crv": "P-256", "x": "x", "y": "y"},
        {"kty": "RSA", "kid": "encryption", "use": "enc", "n": good["n"], "e": good["e"]},
        {"kty": "RSA", "kid": "garbled", "n": "!!", "e": "AQAB"},
        {"kty": "RSA", "n": good["n"], "e": good["e"]},
        "not-a-key",
    ]
    monkeypatch.setattr(platform, "jwks", lambda: {"keys": [*broken, good]})
    cache = PlatformKeyCache()
    assert cache.key_for(platform.jwks_url, good["kid"]) is not None
    assert cache.key_for(platform.jwks_url, "garbled") is None
    assert cache.key_for(platform.jwks_url, "encryption") is None


def test_the_kept_cookie_signers_follow_a_change_of_the_secret_key(app, client, platform, run):
    """The views keep their signers per key: a state cookie signed before SECRET_KEY changed no longer counts."""
    run(lambda: platform.register(trust_email=True))
    query = platform.begin_login(client)
    old_key = app.secret_key
    app.secret_key = "another-key-" + "y" * 40
    try:
        response = post_launch(
            client, platform.id_token(query["nonce"], email="k@example.org"), query["state"]
        )
    finally:
        app.secret_key = old_key
    assert response.status_code == 403 and 'data-lti-check="state"' in response.get_data(as_text=True)
