"""The federation journey at 360 px and 1280 px: a coordinator who runs a federation and a member network invites
the network, accepts for it, shares a channel, and opens the federated dashboard (charts with data tables)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from network_service.accounts.models import Person
from network_service.db import session
from network_service.federations.models import FederationLink, LinkStatus, SharedChannel
from network_service.networks.operations import create_network, create_organisation
from tests.browser.journeys import sign_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_coordinator_builds_a_federation(new_tour, outbox, live, width, coordinator):
    slug = f"fed-{width}"
    name = f"Federation {width}"
    with live.app.test_request_context():
        person = session.scalar(sa.select(Person).where(Person.email == coordinator))
        create_network(slug, name, create_organisation(f"Federation Org {width}", "BE"), coordinator=person)
        session.commit()

    tour = new_tour()
    page = tour.page
    sign_in(tour, outbox, coordinator)
    page.goto(f"/networks/{slug}")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("navigation", name=f"Sections of {name}").get_by_role(
            "link", name="Federation"
        ).click()
    tour.check("federation")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Federation of {name}")
    page.get_by_label("Address of the network to invite").fill("test-net")
    submit(tour, "Invite the network")
    tour.check("federation-invited")
    expect(page.get_by_role("main")).to_contain_text("invited, waiting for the member network")

    page.goto("/networks/test-net/federation")
    tour.check("federation-member")
    page.locator("li", has_text=name).get_by_role("button", name="Accept").click()
    page.wait_for_load_state("load")
    tour.check("federation-accepted")
    page.get_by_label("Channel", exact=True).select_option(label="general")
    page.get_by_label("Share with").first.select_option(label=name)
    submit(tour, "Share the channel")
    tour.check("federation-shared")

    page.goto(f"/networks/{slug}/federation")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Federated dashboard").click()
    tour.check("federated-dashboard")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Federated dashboard of {name}")
    expect(page.locator("figure svg").first).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("Test Network")

    with live.app.app_context():
        link = session.scalar(
            sa.select(FederationLink)
            .join(FederationLink.federation)
            .where(FederationLink.federation.has(slug=slug))
        )
        assert link.status == LinkStatus.active
        assert (
            session.scalar(
                sa.select(sa.func.count(SharedChannel.id)).where(
                    SharedChannel.federation_id == link.federation_id
                )
            )
            == 1
        )
