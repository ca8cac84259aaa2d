"""The launch in a course page's frame when the browser drops the tool's cookies there: Chromium, a platform page
on another site (http://localhost:<port>) that frames mentorNET (http://127.0.0.1:<port>) and offers LTI platform
storage from a frame of its own, and the "new window" fallback when it offers none.

Headless Chromium (Debian's build) already drops unpartitioned third-party cookies in such a frame and keeps
partitioned ones (checked by hand: of two SameSite=None cookies set in the frame, only the Partitioned one came
back). The state cookie and the frame session are partitioned, so they work there. A browser that blocks all
third-party cookies, partitioned ones too (Safari), is simulated the deterministic way: every request mentorNET
gets from inside a frame has its Cookie header removed before the application sees it; top-level requests keep
theirs."""

from __future__ import annotations

import html
import json
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from werkzeug.wrappers import Request, Response

from lti_bridge.lti.models import LtiIdentity, LtiNonce
from lti_bridge.lti.platform_keys import PlatformKeyCache
from network_service.db import session
from tests.lti_platform import CLAIM, TestPlatform

pytestmark = [pytest.mark.browser, pytest.mark.live]

PLATFORM_JS = """
// The platform's side of LTI Client Side postMessages: capabilities from the course page, storage in a frame.
window.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.subject === "lti.capabilities") {
    event.source.postMessage({subject: "lti.capabilities.response", message_id: data.message_id,
      supported_messages: [{subject: "lti.put_data", frame: "post_message_forwarding"},
                           {subject: "lti.get_data", frame: "post_message_forwarding"}]}, event.origin);
  } else if (data.subject === "storage-ready") {
    // The tool's frame comes once the storage frame listens, as on a platform whose storage frame is part of
    // the course page: a tool asking before that would get no answer (on a starved machine the storage frame
    // can load after the tool's login page, which then rightly falls back to the new window).
    var waiting = document.getElementById("tool-frame");
    if (waiting) { document.body.appendChild(waiting.content.cloneNode(true)); waiting.remove(); }
  }
});
"""

STORAGE_JS = """
var stored = {};
window.addEventListener("message", function (event) {
  var data = event.data || {};
  var key = event.origin + " " + data.key;  // per tool origin, as the spec asks
  if (data.subject === "lti.put_data") {
    stored[key] = data.value;
    event.source.postMessage({subject: "lti.put_data.response", message_id: data.message_id, key: data.key,
      value: data.value}, event.origin);
  } else if (data.subject === "lti.get_data") {
    if (key in stored) {
      event.source.postMessage({subject: "lti.get_data.response", message_id: data.message_id, key: data.key,
        value: stored[key]}, event.origin);
    } else {
      event.source.postMessage({subject: "lti.get_data.response", message_id: data.message_id, key: data.key,
        error: {code: "bad_request", message: "no such key"}}, event.origin);
    }
  }
});
window.parent.postMessage({subject: "storage-ready"}, "*");
"""


class FramingPlatform(TestPlatform):
    """The stand-in platform on another site: a course page framing the tool, its storage frame, its OIDC
    endpoint answering with the auto-posting launch form."""

    def __init__(self, tool_base_url: str):
        super().__init__(issuer="", client_id="framing-client")
        self.base_url = self.base_url.replace("127.0.0.1", "localhost")  # another site than the tool's
        self.issuer = self.base_url
        self.tool = tool_base_url
        self.storage = True

    @Request.application
    def _wsgi(self, request: Request) -> Response:
        if request.path == "/jwks":
            return Response(json.dumps(self.jwks()), mimetype="application/json")
        if request.path == "/platform.js":
            return Response(PLATFORM_JS, mimetype="text/javascript")
        if request.path == "/storage.js":
            return Response(STORAGE_JS, mimetype="text/javascript")
        if request.path == "/storage-frame":
            return Response('<script src="/storage.js"></script>', mimetype="text/html")
        if request.path == "/course":
            params = {
                "iss": self.issuer,
                "login_hint": "learner-1",
                "target_link_uri": f"{self.tool}/lti/launch",
                "client_id": self.client_id,
            }
            if self.storage:
                params["lti_storage_target"] = "post_message_forwarding"
            frames = f'<iframe name="tool" title="mentorNET" src="{html.escape(self.tool)}/lti/login?{html.escape(urlencode(params))}"></iframe>'
            if self.storage:  # the tool's frame is added once the storage frame is ready (PLATFORM_JS)
                frames = (
                    '<iframe name="post_message_forwarding" src="/storage-frame"></iframe>'
                    f'<template id="tool-frame">{frames}</template>'
                )
            return Response(
                f'<!doctype html><title>Course</title><script src="/platform.js"></script>{frames}',
                mimetype="text/html",
            )
        if request.path == "/auth":
            query = request.args
            token = self.id_token(
                query["nonce"],
                sub="framed-learner",
                email="framed@example.org",
                **{CLAIM + "target_link_uri": f"{self.tool}/lti/launch"},
            )
            form = (
                f'<form method="post" action="{html.escape(query["redirect_uri"])}">'
                f'<input type="hidden" name="id_token" value="{token}">'
                f'<input type="hidden" name="state" value="{html.escape(query["state"])}"></form>'
                "<script>document.forms[0].submit()</script>"
            )
            return Response(form, mimetype="text/html")
        return Response("not found", status=404)


@pytest.fixture
def framing(live):
    platform = FramingPlatform(live.base_url)
    live.app.extensions["mentornet.lti.platform_keys"] = PlatformKeyCache(min_refetch_seconds=0)
    with live.app.app_context():
        platform.register(trust_email=True)
        session.commit()
    yield platform
    platform.stop()


@pytest.fixture
def course_browser(browser, live):
    """A browser that keeps no cookie of mentorNET's inside a frame, not even a partitioned one (Safari): every
    request the browser marks as a frame's (``Sec-Fetch-Dest: iframe``) reaches mentorNET without its Cookie
    header; a window's requests keep theirs."""
    context = browser.new_context()
    context.set_default_timeout(30_000)
    inner = live.app.wsgi_app

    def drop_cookies_in_frames(environ, start_response):
        if environ.get("HTTP_SEC_FETCH_DEST") in ("iframe", "frame"):
            environ.pop("HTTP_COOKIE", None)
        return inner(environ, start_response)

    live.app.wsgi_app = drop_cookies_in_frames
    try:
        yield context
    finally:
        live.app.wsgi_app = inner
        context.close()


def _nonce_spent(live) -> bool:
    with live.app.app_context():
        return session.scalar(sa.select(sa.func.count()).where(LtiNonce.used_at.is_not(None))) > 0


def test_platform_storage_proves_the_state_when_the_frame_gets_no_cookie(live, framing, course_browser):
    page = course_browser.new_page()
    with page.expect_response(lambda r: r.url.endswith("/lti/launch/storage"), timeout=30_000) as answer:
        page.goto(f"{framing.base_url}/course")
    assert answer.value.status == 303  # to the frame check, with the frame session's cookie
    assert answer.value.request.headers.get("cookie") is None
    # Checked and signed in; the frame keeps no cookie of ours (not even the partitioned frame session's), so
    # the check offers the site in a window of its own.
    page.frame_locator('iframe[name="tool"]').get_by_role(
        "link", name="Open mentorNET in a new window"
    ).wait_for()
    with live.app.app_context():
        identity = session.scalar(sa.select(LtiIdentity).where(LtiIdentity.sub == "framed-learner"))
        assert identity is not None and identity.person_id is not None


def test_without_storage_the_frame_offers_the_same_login_in_a_new_window(live, framing, course_browser):
    framing.storage = False
    page = course_browser.new_page()
    page.goto(f"{framing.base_url}/course")
    tool = page.frame_locator('iframe[name="tool"]')
    link = tool.get_by_role("link", name="Open mentorNET in a new window")
    link.wait_for()
    with course_browser.expect_page() as opened:
        link.click()
    window = opened.value
    window.wait_for_load_state()
    window.get_by_text("Sign out").first.wait_for()  # first-party: the cookie stuck, the learner is signed in
    assert window.url.rstrip("/") == live.base_url


@pytest.fixture
def partitioning_browser(browser):
    """Chromium as it is when it blocks third-party cookies but keeps partitioned ones (CHIPS): said explicitly
    with the flag, for builds that do not do so already."""
    from tests.browser.conftest import CHROMIUM

    blocking = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True, args=["--test-third-party-cookie-phaseout"]
    )
    context = blocking.new_context()
    context.set_default_timeout(30_000)
    yield context
    context.close()
    blocking.close()


def test_after_a_launch_in_a_frame_the_whole_site_works_in_the_frame(live, framing, partitioning_browser):
    framing.storage = False
    frame_cookies = []

    def cookies_set_in_the_frame(response):
        if response.frame.parent_frame is not None and response.url.startswith(live.base_url):
            for header in response.headers_array():
                if header["name"].lower() == "set-cookie":
                    frame_cookies.append(header["value"])

    page = partitioning_browser.new_page()
    page.on("response", cookies_set_in_the_frame)
    page.goto(f"{framing.base_url}/course")
    tool = page.frame_locator('iframe[name="tool"]')
    tool.get_by_text("Sign out").first.wait_for()  # the launch's page, signed in, inside the course's frame
    session_cookies = [c for c in frame_cookies if c.startswith(("mentornet_frame=", "mentornet_session="))]
    assert session_cookies and all("Partitioned" in c and "SameSite=None" in c for c in session_cookies)

    # another page, reached by a link inside the frame: still signed in
    tool.get_by_role("link", name="Profile").first.click()
    tool.get_by_role("heading", name="Your profile", exact=True).wait_for()
    tool.get_by_text("Sign out").first.wait_for()
    assert not any(c.startswith("mentornet_session=") for c in frame_cookies)  # no Lax cookie from the frame

    # a form inside the frame (its CSRF token checked): signing out ends the frame session
    tool.get_by_role("button", name="Sign out").first.click()
    expect(tool.get_by_role("button", name="Sign out")).to_have_count(0)
    assert any(c.startswith("mentornet_frame=;") for c in frame_cookies)

    # mentorNET in a window of its own is another site's partition: not signed in by the frame's launch
    window = partitioning_browser.new_page()
    window.goto(live.base_url + "/")
    expect(window.get_by_role("button", name="Sign out")).to_have_count(0)
