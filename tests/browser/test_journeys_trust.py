"""The trust journeys at 360 px and 1280 px: a site administrator reads and filters the audit log (also with a
date it cannot read), a member sees their signed-in devices and signs the others out, and the administrator
signs someone out everywhere. Every page is checked like the others (weight, other hosts, axe-core, structure)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.db import session
from network_service.networks.operations import get_network
from tests import helpers
from tests.browser.journeys import sign_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.live]


def _people(live, width) -> tuple[str, str]:
    admin_email, member_email = f"audit-admin-{width}@example.org", f"device-owner-{width}@example.org"
    with live.app.test_request_context():
        if session.query(Person).filter_by(email=admin_email).first() is None:
            admin = Person(email=admin_email, display_name="Ada Auditor", is_site_admin=True)
            session.add(admin)
            network = get_network("test-net")
            member = helpers.add_member(network, member_email, "Devi Owner")
            session.flush()
            # entries of several kinds: with and without a network, a target, details
            record("network.settings", actor=admin, network=network, fields=["name"])
            record("site_admin.add", actor=None, target=admin)
            record("moderation.suspend", actor=admin, target=member, network=network, reason="spam")
            for n in range(55):  # more than a page: the pager shows; a long detail must wrap at 360 px
                record(
                    "directory.update",
                    actor=admin,
                    fields=["website"],
                    website="https://example.org/" + "x" * 90 + str(n),
                )
        session.commit()
    return admin_email, member_email


def test_site_admin_reads_and_filters_the_audit_log(new_tour, outbox, live, width):
    admin_email, _member = _people(live, width)
    tour = new_tour()
    page = tour.page
    sign_in(tour, outbox, admin_email)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    tour.check("audit-log")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    expect(page.get_by_role("list", name="Audit entries").get_by_role("listitem").first).to_be_visible()
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("navigation", name="More entries").get_by_role("link", name="Older entries").click()
    tour.check("audit-log-older")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Back to the newest").click()
    tour.check("audit-log-newest")

    page.get_by_label("Action").select_option("moderation.suspend")
    page.get_by_label("Network").select_option(label="Test Network")
    submit(tour, "Show")
    tour.check("audit-log-filtered")
    expect(page.get_by_role("heading", level=2, name="Member suspended").first).to_be_visible()

    page.goto("/admin/audit?since=yesterday")  # a date the page cannot read: said next to the field
    tour.check("audit-log-bad-date", status=422)
    expect(page.get_by_label("From")).to_have_attribute("aria-invalid", "true")


def test_member_signs_out_other_devices_and_an_admin_signs_them_out_everywhere(new_tour, outbox, live, width):
    admin_email, member_email = _people(live, width)
    phone = new_tour()
    sign_in(phone, outbox, member_email)
    laptop = new_tour()
    page = laptop.page
    sign_in(laptop, outbox, member_email)
    page.goto("/profile")
    laptop.check("profile")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Your signed-in devices").click()
    laptop.check("devices")
    expect(page.get_by_role("main").get_by_role("listitem")).to_have_count(2)
    submit(laptop, "Sign out all other devices")
    laptop.check("devices-others-signed-out")
    expect(page.get_by_role("status")).to_contain_text("1 other device is signed out.")
    expect(page.get_by_role("main").get_by_role("listitem")).to_have_count(1)
    phone.page.goto("/profile")
    expect(phone.page).to_have_url(f"{live.base_url}/sign-in?next=/profile")

    admin = new_tour()
    sign_in(admin, outbox, admin_email)
    admin.page.goto("/admin/sessions")
    admin.check("admin-sessions")
    submit(admin, "Sign out on every device")
    admin.check("admin-sessions-errors", status=422)
    admin.page.get_by_label("E-mail address of the account").fill(member_email)
    admin.page.get_by_label("Why").fill("the laptop was stolen")
    submit(admin, "Sign out on every device")
    admin.check("admin-sessions-done")
    expect(admin.page.get_by_role("status")).to_contain_text("Devi Owner is signed out on 1 device.")
    page.goto("/profile")
    expect(page).to_have_url(f"{live.base_url}/sign-in?next=/profile")
