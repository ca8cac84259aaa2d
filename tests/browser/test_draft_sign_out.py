"""A draft kept in the tab (static/js/draft.js) goes when the member signs out there: Chromium acts on the sign-out
answer's ``Clear-Site-Data: "storage"`` (network_service/security.py), so the next person on a shared phone or
office computer does not find it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from network_service.db import session
from network_service.networks.models import Level, Role
from network_service.networks.operations import get_network
from tests import helpers
from tests.browser.journeys import sign_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.live]

DRAFTS = "Object.keys(sessionStorage).filter(k => k.startsWith('mentornet-draft:')).length"


def test_signing_out_forgets_the_draft_kept_in_the_tab(new_tour, outbox, live, width):
    email = f"draft-sign-out-{width}@example.org"
    with live.app.test_request_context():
        helpers.add_member(
            get_network("test-net"), email, "Leyla Demir", role=Role.mentor, level=Level.novice
        )
        session.commit()
    tour = new_tour()
    page = tour.page
    sign_in(tour, outbox, email)
    page.goto("/networks/test-net/conversations/direct/new")
    page.get_by_label("Message").fill("About the family I visit on Tuesdays")
    assert page.evaluate(DRAFTS) == 1  # kept while she chooses the person
    page.goto("/profile")
    submit(tour, "Sign out")
    expect(page.get_by_role("main").get_by_role("link", name="Sign in")).to_be_visible()
    assert page.evaluate(DRAFTS) == 0
