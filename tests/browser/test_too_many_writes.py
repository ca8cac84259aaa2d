"""The page of a form refused by a per-person limit (429) in a real browser at 360 px: the checks every journey
page passes (axe, one h1, no sideways scrolling, every field labelled, no inline style), then the keyboard alone:
Tab goes through the kept fields in the form's order to "Send again", a field is changed, and Enter sends it.

Its own live server, with the rate limits on (the package's server has them off, as every test app does)."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from network_service.db import session
from network_service.meetings.views import MEETING_RATE_LIMIT
from network_service.networks.models import Level, Role
from network_service.networks.operations import get_network
from tests import helpers
from tests.browser import support
from tests.browser.journeys import sign_in, submit
from tests.live import live_service

pytestmark = [pytest.mark.browser, pytest.mark.live]

WIDTH = "360px"


@pytest.fixture(scope="module")
def limited_live(tmp_path_factory):
    with live_service(
        tmp_path_factory.mktemp("too-many"), smtp_running=False, OUTBOX_WORKER=False, RATELIMIT_ENABLED=True
    ) as service:
        yield service


@pytest.fixture
def tour(browser, limited_live):
    context = browser.new_context(
        **support.VIEWPORTS[WIDTH], locale="en-GB", timezone_id="Europe/Rome", base_url=limited_live.base_url
    )
    context.set_default_timeout(support.TIMEOUT_MS)
    context.set_default_navigation_timeout(support.NAVIGATION_TIMEOUT_MS)
    guard = support.Guard(limited_live.base_url)
    context.route("**/*", guard)
    yield support.Tour(context.new_page(), journey="too-many-writes", width=WIDTH, guard=guard)
    context.close()
    assert not guard.foreign, f"requests to another host: {guard.foreign}"


def test_a_refused_meeting_is_kept_and_sent_again_with_the_keyboard_at_360px(tour, limited_live):
    email = "too-many-writes@example.org"
    with limited_live.app.test_request_context():
        helpers.add_member(
            get_network("test-net"), email, "Amina Haddad", role=Role.coordinator, level=Level.experienced
        )
        session.commit()

    def outbox(to, kind, path_part):
        with limited_live.app.app_context():
            return helpers.link_in(helpers.mails(to=to, kind=kind)[-1].body_text, path_part)

    page = tour.page
    sign_in(tour, outbox, email)
    page.goto("/networks/test-net/meetings/new")
    tour.check("meeting-form")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    for _ in range(
        int(MEETING_RATE_LIMIT.split()[0])
    ):  # the hour's budget, spent on a network that is not there
        answer = page.request.post("/networks/no-such-network/meetings/new", form={"csrf_token": token})
        assert answer.status == 404, answer.status

    page.get_by_label("Title").fill("Exchange on housing")
    page.get_by_label("What is it about? (optional)").fill(
        "Bring your questions.\nWe meet in the small room."
    )
    page.get_by_label("Date").fill((dt.date.today() + dt.timedelta(days=7)).isoformat())
    page.get_by_label("Starts at").fill("18:00")
    page.get_by_label("Ends at").fill("19:30")
    page.get_by_label("Meeting link").fill("https://meet.example.org/housing")
    submit(tour, "Plan the meeting")
    tour.check("too-many-writes", status=429)  # axe, one h1, labelled fields, nothing wider than 360 px
    expect(page.get_by_role("heading", level=1)).to_have_text("Too many in a short time")
    send_again = page.get_by_role("button", name="Send again")
    expect(send_again).to_have_accessible_description(
        page.locator("#kept-wait").inner_text()  # the wait, read out with the button
    )

    # the keyboard alone: from the title, Tab goes through the kept fields in the form's order to the button
    title = page.get_by_label("Title")
    title.focus()
    order, presses = [], 0
    while "Send again" not in order and presses < 30:
        page.keyboard.press("Tab")
        presses += 1
        focused = page.evaluate(
            "() => document.activeElement.name || document.activeElement.textContent.trim()"
        )
        if not order or order[-1] != focused:  # a date or time input is several stops (day, month, year)
            order.append(focused)
    assert order == [
        "description",
        "date",
        "start_time",
        "end_time",
        "timezone",
        "timezone_other",
        "online_url",
        "place",
        "Send again",
    ], order
    for _ in range(presses):
        page.keyboard.press("Shift+Tab")
    expect(title).to_be_focused()
    page.keyboard.press("End")
    page.keyboard.type(", second round")

    limited_live.app.extensions["mentornet.limiter"].reset()  # a fresh budget, as when the hour has passed
    send_again.focus()
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    tour.check("meeting-sent-again")
    expect(page.get_by_role("heading", level=1)).to_have_text("Exchange on housing, second round")
