"""The checks themselves can fail: axe-core reports a broken page, the guard stops a request to another host,
the meter refuses a page over budget, the structure check sees a second h1."""

from __future__ import annotations

import base64
import os

import pytest

from tests.browser import support

pytestmark = [pytest.mark.browser, pytest.mark.live]

BROKEN = """<!doctype html><html lang="en"><head><title>Broken</title></head><body>
<main id="main"><h1>One</h1><h1>Two</h1>
<img src="/mentornet-static/css/main.css">
<p><input type="text"></p>
<img src="http://example.org/tracker.png" alt="">
</main></body></html>"""


@pytest.fixture
def context(browser, live):
    context = browser.new_context(**support.VIEWPORTS["360px"], base_url=live.base_url)
    context.set_default_timeout(support.TIMEOUT_MS)
    guard = support.Guard(live.base_url)
    context.route("**/*", guard)
    yield context, guard
    context.close()


def test_axe_reports_the_violations_with_rule_impact_and_target(context):
    browser_context, _guard = context
    page = browser_context.new_page()
    page.goto("/")  # the real CSP applies: axe still runs
    page.set_content(BROKEN)
    with pytest.raises(AssertionError) as failure:
        support.assert_no_axe_violations(page, "broken")
    message = str(failure.value)
    assert "- image-alt [critical]" in message
    assert "- label [critical]" in message
    assert "at img" in message and "at input" in message


def test_the_guard_aborts_and_remembers_requests_to_another_host(context):
    browser_context, guard = context
    page = browser_context.new_page()
    # On about:blank: on one of our pages the CSP (img-src 'self') would stop the request before the guard.
    page.set_content(BROKEN)
    page.wait_for_load_state("load")
    assert guard.foreign == ["http://example.org/tracker.png"]


def test_the_structure_check_sees_a_second_h1(context):
    browser_context, _guard = context
    page = browser_context.new_page()
    page.goto("/")
    page.set_content(BROKEN)
    with pytest.raises(AssertionError, match="'h1': 2"):
        support.check_structure(page, "broken")


def test_a_page_over_budget_fails(context, live):
    browser_context, guard = context
    noise = base64.b64encode(os.urandom(200_000)).decode()  # random: gzip cannot shrink it below the budget
    html = f'<!doctype html><html lang="en"><title>Heavy</title><main id="main"><h1>Heavy</h1><p>{noise}</p></main>'
    browser_context.route(
        f"{live.base_url}/heavy", lambda route: route.fulfill(body=html, content_type="text/html")
    )
    page = browser_context.new_page()
    tour = support.Tour(page, journey="checks", width="360px", guard=guard)
    page.goto("/heavy")
    with pytest.raises(AssertionError, match="over the budget of 100000"):
        tour.check("heavy")
    support.MEASURED.remove(next(m for m in support.MEASURED if m["page"] == "heavy"))
