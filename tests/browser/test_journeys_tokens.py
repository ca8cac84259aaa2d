"""A member makes an API token on the devices page at 360 px and 1280 px: the form's field is labelled, the secret
is shown once in a labelled, described, read-only field (with a Copy button where the browser has a clipboard),
and the page after it lists the token by name only. Every page is checked like the others (weight, other hosts,
axe-core, structure, no sideways scrolling)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from network_service.db import session
from network_service.networks.operations import get_network
from tests import helpers
from tests.browser.journeys import sign_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_member_makes_an_api_token_and_sees_it_once(new_tour, outbox, live, width):
    email = f"token-maker-{width}@example.org"
    with live.app.test_request_context():
        helpers.add_member(get_network("test-net"), email, "Tomas Token")
        session.commit()
    tour = new_tour()
    page = tour.page
    sign_in(tour, outbox, email)
    page.goto("/profile/sessions")
    tour.check("devices-no-tokens")

    submit(tour, "Make the token")  # no name: said next to the field
    tour.check("devices-token-no-name", status=422)
    expect(page.get_by_label("Name of the new token")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Name of the new token").fill("Calendar script")
    submit(tour, "Make the token")
    tour.check("devices-token-made")
    secret = page.get_by_label("Your new API token")
    expect(secret).to_have_attribute("readonly", "")
    expect(secret).to_have_accessible_description(
        "This is the only time it is shown: mentorNET keeps no copy it could show you later. Keep it somewhere "
        "safe; anyone who has it can act as you through the API. If you lose it, revoke it below and make a new "
        "one."
    )
    value = secret.input_value()
    assert len(value) > 20
    # the Copy button is described by what the field is, never by the secret (read aloud at every focus)
    copy = page.get_by_role("button", name="Copy")
    expect(copy).to_have_count(1)
    expect(copy).to_have_accessible_description(
        "This is the only time it is shown: mentorNET keeps no copy it could show you later. Keep it somewhere "
        "safe; anyone who has it can act as you through the API. If you lose it, revoke it below and make a new "
        "one."
    )
    expect(page.get_by_role("status")).to_contain_text("it will not be shown again")

    page.goto("/profile/sessions")
    tour.check("devices-token-listed")
    expect(page.get_by_role("main")).to_contain_text("Calendar script")
    expect(page.get_by_label("Your new API token")).to_have_count(0)
    assert value not in page.content()
