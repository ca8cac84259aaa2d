"""Content-Security-Policy without inline code on every page, the security headers on every kind of answer,
the session started afresh at sign-in, and the session cookie's flags."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from network_service.app import create_app
from network_service.db import db
from tests.databases import app_config
from tests.helpers import csrf_from, sign_in_as
from tests.security_world import demo_world, fill, routes  # noqa: F401 - fixture

MAX_PAGES = 600


class InlineCode(HTMLParser):
    """Collects what a strict CSP (script-src 'self'; style-src 'self') would block, and the page's links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.links: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        for name, _value in attrs:
            if name == "style":
                self.problems.append(f"<{tag} style=...>")
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script" and not names.get("src"):
            self.problems.append("<script> without src")
        if tag == "a" and names.get("href"):
            self.links.append(names["href"])
        for name in ("href", "src", "action", "formaction"):
            if (names.get(name) or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:...>")


def _same_site_get_links(base: str, hrefs: list[str]) -> list[str]:
    found = []
    for href in hrefs:
        url = urlsplit(urljoin(base, href))
        if (
            url.scheme in ("http", "https")
            and url.netloc not in ("localhost", "")
            or url.scheme
            not in (
                "http",
                "https",
                "",
            )
        ):
            continue
        path = url.path + (f"?{url.query}" if url.query else "")
        if path.startswith(("/sign-out", "/mentornet-static/")):
            continue
        found.append(path)
    return found


@pytest.mark.parametrize("label", ["coordinator", "site_admin"])
def test_no_inline_script_or_style_on_any_page(demo_world, label):  # noqa: F811
    """Every GET route (filled with the demo network's objects), then every link found on those pages."""
    client = demo_world.clients[label]
    queue = []
    for rule, method in routes(demo_world.app):
        if method == "GET" and not rule.rule.startswith(("/api/", "/bridge/", "/mentornet-static/")):
            queue.append(fill(demo_world, rule)[0])
    seen: set[str] = set()
    problems: list[str] = []
    pages = 0
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        assert response.status_code < 500, f"{path} -> {response.status_code}"
        if response.mimetype != "text/html":
            continue
        pages += 1
        csp = response.headers.get("Content-Security-Policy", "")
        if "script-src 'self'" not in csp or "unsafe-inline" in csp or "style-src 'self'" not in csp:
            problems.append(f"{path}: Content-Security-Policy is {csp!r}")
        parser = InlineCode()
        parser.feed(response.get_data(as_text=True))
        problems += [f"{path}: {problem}" for problem in parser.problems]
        queue += _same_site_get_links("http://localhost" + path, parser.links)
    assert pages > 60, f"only {pages} pages were rendered"
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_checker_finds_inline_code():
    parser = InlineCode()
    parser.feed(
        '<p style="color:red" onclick="x()">a</p><script>alert(1)</script><script src="/s.js"></script>'
        '<style>p{}</style><a href="javascript:alert(1)">x</a>'
    )
    assert len(parser.problems) == 5


@pytest.fixture
def https_app(app, database_url):  # app: the schema exists
    application = create_app(app_config(database_url, BASE_URL="https://mentornet.example.org"))
    yield application
    db.dispose(application)


EXPECTED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@pytest.mark.parametrize(
    "path", ["/sign-in", "/api/v1/directory", "/nowhere", "/api/v1/me", "/mentornet-static/css/main.css"]
)
def test_security_headers_on_every_kind_of_answer(https_app, path):
    response = https_app.test_client().get(path, base_url="https://mentornet.example.org")
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers.get(name) == value, (path, name)
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "unsafe" not in csp
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_no_hsts_over_plain_http(client):
    assert "Strict-Transport-Security" not in client.get("/sign-in").headers


def _session_cookie(response) -> str:
    cookies = [
        value for value in response.headers.getlist("Set-Cookie") if value.startswith("mentornet_session=")
    ]
    assert cookies, "no session cookie set"
    return cookies[-1]


def test_the_session_cookie_flags_over_https(https_app):
    response = https_app.test_client().get("/sign-in", base_url="https://mentornet.example.org")
    cookie = _session_cookie(response)
    assert "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Domain=" not in cookie  # host-only


def test_the_session_cookie_flags_over_http(client):
    cookie = _session_cookie(client.get("/sign-in"))
    assert "; HttpOnly" in cookie and "SameSite=Lax" in cookie and "; Secure" not in cookie


def test_signed_in_pages_are_not_cached(client, run, world):
    sign_in_as(client, run, "mentor@example.org")
    assert client.get("/profile").headers["Cache-Control"] == "no-store"


def test_the_session_cookie_is_signed_again_once_it_is_older_than_the_refresh_interval(
    client, run, world, monkeypatch
):
    from network_service import sessions

    sign_in_as(client, run, "mentor@example.org")
    client.get("/profile")  # its form puts a CSRF token in the session: a change, the cookie is set
    # a cookie signed moments ago is not signed again for a page that changes nothing in the session
    assert not [v for v in client.get("/profile").headers.getlist("Set-Cookie") if v.startswith("mentornet_")]
    monkeypatch.setattr(sessions, "COOKIE_REFRESH", dt.timedelta(0))  # as if it were older than that
    cookie = _session_cookie(client.get("/profile"))
    assert "Expires=" in cookie  # a permanent session with the configured lifetime, not forever
    assert client.get("/profile").status_code == 200  # the new cookie is the same signed-in session


def test_sign_in_rotates_the_session_against_fixation(app, client, run, world):
    """An attacker who planted (or read) the session cookie before sign-in gains nothing: the signed-in session
    is a new one, and the CSRF token of the old one no longer works."""
    page = client.get("/sign-in").get_data(as_text=True)
    planted = client.get_cookie("mentornet_session").value
    old_token = csrf_from(page)
    sign_in_as(client, run, "mentor@example.org")
    assert client.get_cookie("mentornet_session").value != planted
    with client.session_transaction() as flask_session:
        assert flask_session["person_id"] == world.mentor_id and flask_session.get("nonce")
        assert (
            flask_session.get("csrf_token") is None
            or csrf_from(client.get("/profile").get_data(as_text=True)) != old_token
        )

    attacker = app.test_client()
    attacker.set_cookie("mentornet_session", planted)
    response = attacker.get("/profile")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    # the victim's pre-sign-in CSRF token is dead in the new session
    refused = client.post("/profile", data={"csrf_token": old_token, "display_name": "Hacked"})
    assert refused.status_code == 400


def test_sign_out_empties_the_session(client, run, world):
    sign_in_as(client, run, "mentor@example.org")
    token = csrf_from(client.get("/profile").get_data(as_text=True))
    client.post("/sign-out", data={"csrf_token": token})
    with client.session_transaction() as flask_session:
        assert "person_id" not in flask_session
    assert re.search("/sign-in", client.get("/profile").headers["Location"])


def _what_a_browser_sends(referrer_policy: str, page_url: str) -> dict[str, str]:
    """The Referer and Origin a browser puts on a same-origin form post from ``page_url`` under the page's
    Referrer-Policy (Fetch standard: under no-referrer there is no Referer and the Origin is "null")."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(page_url))
    if referrer_policy == "no-referrer":
        return {"Origin": "null"}
    if referrer_policy in ("origin", "strict-origin"):
        return {"Origin": origin, "Referer": origin + "/"}
    return {"Origin": origin, "Referer": page_url}


def test_forms_work_over_https_with_the_referrer_policy_pages_send(https_app):
    # Flask-WTF refuses an https post without a same-origin Referer (WTF_CSRF_SSL_STRICT). Under the earlier
    # Referrer-Policy: no-referrer browsers sent none, so every form of an https deployment answered 400.
    client = https_app.test_client()
    page_url = "https://mentornet.example.org/sign-in"
    page = client.get(page_url)
    headers = _what_a_browser_sends(page.headers["Referrer-Policy"], page_url)
    response = client.post(
        page_url,
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "email": "someone@example.org"},
        headers=headers,
    )
    assert response.status_code in (200, 303), response.get_data(as_text=True)[:500]
    # the same post from another site (a stolen token, say) is still refused
    page = client.get(page_url)
    response = client.post(
        page_url,
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "email": "someone@example.org"},
        headers={"Origin": "https://evil.example", "Referer": "https://evil.example/x"},
    )
    assert response.status_code == 400


def _headers_as_setdefault_set_them(
    response, *, https: bool, frame_ancestors=None, form_action=None, private=False
):
    """The hook as it was written with ``Headers.setdefault`` (the reference for the hook's faster form)."""
    from network_service.security import CSP

    policy = CSP
    if form_action:
        policy = policy.replace("form-action 'self'", f"form-action 'self' {form_action}")
    if frame_ancestors:
        policy = policy.replace("frame-ancestors 'none'", f"frame-ancestors {frame_ancestors}")
        response.headers.setdefault("Content-Security-Policy", policy)
    else:
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if https:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if private:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@pytest.mark.parametrize("https", [False, True])
@pytest.mark.parametrize("framed", [False, True])
@pytest.mark.parametrize("signed_in", [False, True])
@pytest.mark.parametrize(
    "preset",
    [
        [],
        [("x-frame-options", "SAMEORIGIN"), ("Cache-Control", "private, max-age=60")],
        [("Content-Security-Policy", "default-src 'none'"), ("referrer-policy", "no-referrer")],
        [("Strict-Transport-Security", "max-age=1"), ("Permissions-Policy", "camera=(self)")],
    ],
)
def test_security_headers_are_set_exactly_as_setdefault_would(
    app, https_app, https, framed, signed_in, preset
):
    """Every header, its value and its place in the list, and the ones a view set itself kept."""
    from flask import Response, g, session

    application = https_app if https else app
    hook = next(f for f in application.after_request_funcs[None] if f.__name__ == "_secure_headers")
    with application.test_request_context("/x"):
        if framed:
            g.frame_ancestors, g.form_action = "https://lms.example.org", "https://lms.example.org/return"
        if signed_in:
            session["person_id"] = 1
        ours = hook(Response("x", headers=list(preset)))
        reference = _headers_as_setdefault_set_them(
            Response("x", headers=list(preset)),
            https=https,
            frame_ancestors="https://lms.example.org" if framed else None,
            form_action="https://lms.example.org/return" if framed else None,
            private=signed_in,
        )
    assert list(ours.headers) == list(reference.headers)
