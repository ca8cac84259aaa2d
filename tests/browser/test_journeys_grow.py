"""The growth journeys at 360 px and 1280 px: a visitor searches the directory without signing in; a
Meta-Mentor opens the insights and sends a friendly nudge to a member going quiet."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from network_service.accounts.models import Person
from network_service.db import session, utcnow
from network_service.directory.models import DirectoryEntry
from network_service.directory.operations import create_entry
from network_service.insights.models import InsightNudge
from network_service.networks.models import Level, Membership, Role
from network_service.networks.operations import get_network
from tests import helpers
from tests.browser.journeys import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.live]


def _admin(live) -> Person:
    admin = session.scalar(sa.select(Person).where(Person.email == "directory-admin@example.org"))
    if admin is None:
        admin = Person(email="directory-admin@example.org", display_name="Dana Admin", is_site_admin=True)
        session.add(admin)
        session.flush()
    return admin


def test_visitor_searches_the_directory(new_tour, live, width):
    city = {"360px": "Thessaloniki", "1280px": "Kraków"}[width]
    with live.app.test_request_context():
        admin = _admin(live)
        if not session.scalar(sa.select(DirectoryEntry.id).where(DirectoryEntry.city == city)):
            create_entry(
                admin, name=f"Welcome Point {city}", country="GR" if width == "360px" else "PL", city=city,
                languages=["Arabic", "English"], services=["housing", "legal"],
                description="Advice on **housing** and residence law, in Arabic and English.",
            )  # fmt: skip
            create_entry(
                admin, name=f"Language Café {city}", country="GR" if width == "360px" else "PL", city=city,
                languages=["Ukrainian"], services=["language_courses"], description="Weekly language café.",
            )  # fmt: skip
        session.commit()

    tour = new_tour()
    page = tour.page
    page.goto("/")
    tour.check("landing")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Directory").click()
    tour.check("directory")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Directory of organisations supporting migrants"
    )
    page.get_by_role("search").get_by_label("Search").fill(f'housing "{city}"')
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("search").get_by_role("button", name="Search").click()
    tour.check("directory-results")
    results = page.locator(".directory-results")
    expect(results).to_contain_text(f"Welcome Point {city}")
    expect(results).not_to_contain_text(f"Language Café {city}")
    with page.expect_navigation(wait_until="load"):
        results.get_by_role("link", name=f"Welcome Point {city}").click()
    tour.check("directory-entry")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome Point {city}")


def test_meta_mentor_nudges_a_quiet_member(new_tour, outbox, live, width, request):
    meta = f"nudge-meta-{width}@example.org"
    quiet_name = {"360px": "Quentin Quiet", "1280px": "Qamar Quiet"}[width]
    with live.app.test_request_context():
        network = get_network("test-net")
        helpers.add_member(network, meta, "Mira Meta", role=Role.meta_mentor, level=Level.experienced)
        quiet = helpers.add_member(network, f"quiet-{width}@example.org", quiet_name)
        membership = session.scalar(sa.select(Membership).where(Membership.person_id == quiet.id))
        membership.joined_at = utcnow() - dt.timedelta(days=60)  # joined two months ago, never active since
        session.commit()
        quiet_id = quiet.id

    tour = new_tour()
    page = tour.page
    sign_in(tour, outbox, meta)
    page.goto("/networks/test-net")
    tour.check("network-leader")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("navigation", name="Sections of Test Network").get_by_role(
            "link", name="Insights"
        ).click()
    tour.check("insights")
    expect(page.get_by_role("heading", level=1)).to_have_text("Insights of Test Network")
    expect(page.locator("figure svg").first).to_be_visible()
    quiet_item = page.locator("li", has_text=quiet_name)
    expect(quiet_item).to_be_visible()
    with page.expect_navigation(wait_until="load"):
        quiet_item.get_by_role("button", name="Send a friendly nudge").click()
    tour.check("insights-nudged")

    with live.app.app_context():
        nudges = session.scalars(sa.select(InsightNudge).where(InsightNudge.person_id == quiet_id)).all()
        assert len(nudges) == 1


def test_site_admin_links_a_course_and_its_graduates_are_invited(new_tour, outbox, live, width):
    """Linking a course is the site administrators' (docs/permissions.md): passes of a course no network had
    linked wait on "Unlinked passes"; linking it invites them, and the coordinator then sees the funnel."""
    from network_service.courses.operations import provision_graduate

    course = f"course-v1:Partner+MENTOR+{width}"
    graduate = f"late-graduate-{width}@example.org"
    with live.app.test_request_context():
        admin = _admin(live)
        provision_graduate(course, {"email": graduate, "name": "Lina Late"}, f"evt-{width}", "test")
        session.commit()
        admin_email = admin.email

    tour = new_tour()
    page = tour.page
    sign_in(tour, outbox, admin_email)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Unlinked passes").click()
    tour.check("unlinked-passes")
    card = page.locator("section.card", has_text=course)
    expect(card).to_contain_text("1 pass")
    card.get_by_label("Network").select_option(label="Test Network")
    with page.expect_navigation(wait_until="load"):
        card.get_by_role("button", name="Link and invite").click()
    tour.check("unlinked-linked")
    expect(page.locator("section.card", has_text=course)).to_have_count(0)
    assert outbox(graduate, "invitation", "/invitations/").startswith(live.base_url)
