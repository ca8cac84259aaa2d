"""Headless Debian Chromium, driven by Playwright, against one live mentorNET on 127.0.0.1 for the session.

Chromium comes from Debian's `chromium` package (`make test` installs it); Playwright never downloads a browser.
Without Chromium or Playwright these tests are skipped, unless MENTORNET_TEST_REQUIRE_BROWSER is set (as
`make test-sqlite` does), where they fail instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from network_service.db import session
from network_service.networks.models import Level, Origin, Role
from network_service.networks.operations import get_network, invite_person
from tests import helpers
from tests.browser import support
from tests.live import live_service

CHROMIUM = os.environ.get("MENTORNET_TEST_CHROMIUM", "/usr/bin/chromium")
REQUIRED = bool(os.environ.get("MENTORNET_TEST_REQUIRE_BROWSER"))


def _unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (MENTORNET_TEST_REQUIRE_BROWSER is set)", pytrace=False)
    pytest.skip(reason)


# Package scope, not session: while Playwright's sync API is running, asyncio sees an event loop running in the
# main thread, and Django (tests/test_openedx_forwarder.py) then refuses synchronous database calls. The browser
# stops when the last test of tests/browser is done.
@pytest.fixture(scope="package")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed: pip install -e '.[test]'")
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"no Chromium at {CHROMIUM}: apt-get install chromium (or run make test as root)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="package")
def live(tmp_path_factory):
    """One real server (werkzeug, threaded) with its own database for all the browser tests; each test uses its
    own people so the tests do not depend on each other's order. No outbox worker: the e-mails stay in the
    outbox with their bodies (a sent mail's body is erased), where the tests read the links."""
    with live_service(tmp_path_factory.mktemp("browser"), smtp_running=False, OUTBOX_WORKER=False) as service:
        yield service


@pytest.fixture(params=sorted(support.VIEWPORTS), ids=lambda width: width)
def width(request) -> str:
    return request.param


@pytest.fixture
def new_tour(browser, live, width, request):
    """``new_tour(javascript=True)`` → a Tour on a fresh page in a fresh context at the test's width."""
    contexts = []

    def make(*, javascript: bool = True, journey: str | None = None) -> support.Tour:
        context = browser.new_context(
            **support.VIEWPORTS[width],
            java_script_enabled=javascript,
            locale="en-GB",
            timezone_id="Europe/Rome",
            base_url=live.base_url,
        )
        context.set_default_timeout(support.TIMEOUT_MS)
        context.set_default_navigation_timeout(support.NAVIGATION_TIMEOUT_MS)
        guard = support.Guard(live.base_url)
        context.route("**/*", guard)
        contexts.append((context, guard))
        page = context.new_page()
        return support.Tour(
            page,
            journey=journey or request.node.originalname,
            width=width,
            guard=guard,
            javascript=javascript,
        )

    yield make
    for context, guard in contexts:
        context.close()
        assert not guard.foreign, f"requests to another host: {guard.foreign}"


@pytest.fixture
def outbox(live):
    """``outbox(to, kind)`` → the newest link of that kind sent to that address, read from the outbox table."""

    def newest_link(to: str, kind: str, path_part: str) -> str:
        with live.app.app_context():
            sent = helpers.mails(to=to, kind=kind)
            assert sent, f"no {kind} e-mail to {to}"
            return helpers.link_in(sent[-1].body_text, path_part)

    return newest_link


@pytest.fixture
def coordinator(live, width, request) -> str:
    """The e-mail address of a coordinator of the test network of this test alone (sign-in links are limited
    per person and hour, so the tests do not share one)."""
    email = f"{request.node.originalname[5:25]}-{width}@example.org".replace("_", "-")
    with live.app.test_request_context():
        helpers.add_member(
            get_network("test-net"),
            email,
            {"360px": "Sam Okafor", "1280px": "Lea Brunner"}[width],
            role=Role.coordinator,
            level=Level.experienced,
        )
        session.commit()
    return email


@pytest.fixture
def invite_graduate(live, outbox):
    """Invite someone into the test network through the operations, as graduate provisioning does; returns
    the invitation link from the e-mail."""

    def invite(email: str, name: str = "") -> str:
        with live.app.test_request_context():
            invite_person(
                get_network("test-net"), email, actor=None, display_name=name, origin=Origin.graduate
            )
            session.commit()
        link = outbox(email, "invitation", "/invitations/")
        assert link.startswith(live.base_url)
        return link

    return invite


def pytest_terminal_summary(terminalreporter):
    if not support.MEASURED:
        return
    path = support.write_results()
    terminalreporter.section("page weight (first load, every response)")
    for line in support.summary_lines():
        terminalreporter.write_line(line)
    terminalreporter.write_line(
        f"budget {support.BUDGET_BYTES} bytes compressed; all {len(support.MEASURED)} loads in "
        f"{Path(path).relative_to(support.ROOT)}"
    )
