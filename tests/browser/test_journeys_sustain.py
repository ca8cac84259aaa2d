"""The everyday journeys of the network at 360 px and 1280 px: a mentor writes in a channel and asks for help
(and is offered masking when the request holds a phone number); a Meta-Mentor reads the roadmap and the goals.
Every page is checked like the others (weight, other hosts, axe-core, structure)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from network_service.conversations.models import Message
from network_service.db import session
from network_service.help.models import HelpRequest
from network_service.networks.models import Level, Role
from network_service.networks.operations import get_network
from tests import helpers
from tests.browser.journeys import sign_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.live]


def _member(live, request, width, role: Role, level: Level, name: str) -> str:
    email = f"{request.node.originalname[5:22]}-{role.value}-{width}@example.org".replace("_", "-")
    with live.app.test_request_context():
        person = helpers.add_member(get_network("test-net"), email, name, role=role, level=level)
        person.languages = ["Arabic", "German"]
        session.commit()
    return email


def _open_section(tour, label: str, check: str) -> None:
    page = tour.page
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("navigation", name="Sections of Test Network").get_by_role(
            "link", name=label, exact=False
        ).first.click()
    tour.check(check)


def test_mentor_writes_in_general_and_asks_for_help(new_tour, outbox, live, width, request):
    email = _member(live, request, width, Role.mentor, Level.novice, "Nour Haddad")
    tour = new_tour()
    page = tour.page
    sign_in(tour, outbox, email)
    page.goto("/networks/test-net")
    tour.check("network-member")

    _open_section(tour, "Conversations", "conversations")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="general").first.click()
    tour.check("channel")
    text = f"Hello everyone, I am new here ({width}). Who knows the **school enrolment** rules?"
    page.get_by_label("Message").fill(text)
    submit(tour, "Send")
    tour.check("channel-posted")
    expect(page.get_by_text("school enrolment", exact=False).first).to_be_visible()

    _open_section(tour, "Help", "help")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Ask for help").click()
    tour.check("help-new")
    page.get_by_label("What do you need help with?").fill(
        f"Someone to come along to the job centre ({width})"
    )
    page.get_by_label("Details (optional)").fill("The appointment is on Monday. Call me on 0151 2345678.")
    page.get_by_label("Arabic").check()
    page.get_by_label("How urgent is it?").select_option(index=2)
    submit(tour, "Post request")
    # A phone number: the request comes back with the finding and the offer to mask it; nothing is posted yet.
    tour.check("help-findings", status=422)
    expect(page.get_by_role("button", name="Mask and post")).to_be_visible()
    submit(tour, "Mask and post")
    tour.check("help-request")
    expect(page.get_by_role("heading", level=1)).to_contain_text("job centre")

    with live.app.app_context():
        posted = session.scalar(sa.select(Message.body).where(Message.body == text))
        asked = session.scalars(sa.select(HelpRequest).where(HelpRequest.topic.contains(width))).one()
        assert posted == text
        assert "2345678" not in asked.body and asked.masked


def test_meta_mentor_reads_the_roadmap_and_the_goals(new_tour, outbox, live, width, request):
    email = _member(live, request, width, Role.meta_mentor, Level.experienced, "Yusuf Haddad")
    tour = new_tour()
    page = tour.page
    sign_in(tour, outbox, email)
    page.goto("/networks/test-net")
    tour.check("network-leader")

    _open_section(tour, "Roadmap", "roadmap")
    expect(page.get_by_role("heading", level=1)).to_have_text("Roadmap of Test Network")
    expect(page.get_by_role("heading", level=2).first).to_contain_text("Phase 1")

    _open_section(tour, "Goals", "goals")
    _open_section(tour, "Meetings", "meetings")
    _open_section(tour, "Resources", "resources")


def test_a_direct_message_typed_before_choosing_the_person_is_kept(new_tour, outbox, live, width, request):
    """The new direct message page chooses people with a search by GET (each choice loads the page again):
    js/draft.js keeps what was typed below it in the tab until it is sent."""
    email = _member(live, request, width, Role.mentor, Level.novice, "Rania Saleh")
    with live.app.test_request_context():
        helpers.add_member(
            get_network("test-net"), f"tomasz-draft-{width}@example.org", f"Tomasz Draftwidth{width[:-2]}"
        )
        session.commit()
    tour = new_tour()
    page = tour.page
    sign_in(tour, outbox, email)
    page.goto("/networks/test-net/conversations/direct/new")
    tour.check("direct-new")
    text = f"Could we meet before the training on Friday? ({width})"
    page.get_by_label("Message").fill(text)
    page.get_by_label("Part of their name").fill(f"Draftwidth{width[:-2]}")
    submit(tour, "Search")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name=f"Choose Tomasz Draftwidth{width[:-2]}").click()
    tour.check("direct-new-chosen")
    expect(page.get_by_role("list", name="Chosen")).to_contain_text("Tomasz")
    expect(page.get_by_label("Message")).to_have_value(text)
    submit(tour, "Send")
    expect(page.get_by_text("Could we meet before the training", exact=False).first).to_be_visible()
    assert (
        page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('mentornet-draft:')).length") == 0
    )
    with live.app.app_context():
        assert session.scalar(sa.select(sa.func.count(Message.id)).where(Message.body == text)) == 1
