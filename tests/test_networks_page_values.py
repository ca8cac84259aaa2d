"""The network page (``/networks/<slug>``) below its navigation is kept under exactly the values it shows
(networks/views.py ``_overview_html``): every change to what it shows appears at once, a write that changes
nothing it shows (an invitee, seen only by those who may invite) costs no new rendering, and what one viewer may
see never reaches another."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import template_rendered

from network_service.accounts.models import Person
from network_service.db import session
from network_service.growth.operations import decide_partner, request_partnership
from network_service.networks.models import Level, Role
from network_service.networks.operations import get_network, invite_person, publish_agreement
from network_service.privacy.operations import PROFILE_SHARING, set_consent
from tests.helpers import act_as_person, add_member, without_csrf_tokens


@pytest.fixture(autouse=True)
def cache_on(page_cache_on):
    """With the page cache on, as in production (conftest's ``page_cache_on``)."""


@pytest.fixture
def renders(app):
    """How many times networks/_overview.html is rendered."""
    seen = []

    def count(sender, template, context, **extra):
        if template.name == "networks/_overview.html":
            seen.append(context)

    template_rendered.connect(count, app)
    yield seen
    template_rendered.disconnect(count, app)


def _page(client, slug: str) -> str:
    response = client.get(f"/networks/{slug}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _coordinator(world) -> Person:
    return session.get(Person, world.coordinator_id)


def test_a_write_nothing_shown_depends_on_costs_no_rendering(client, run, world, renders):
    act_as_person(client, world.mentor_id)
    first = _page(client, world.slug)
    assert "Mina Mentor" in first and len(renders) == 1
    run(lambda: invite_person(get_network(world.slug), "newcomer@example.org", actor=_coordinator(world)))
    again = _page(client, world.slug)  # the invitee bumped the page cache's versions
    assert without_csrf_tokens(again) == without_csrf_tokens(first) and len(renders) == 1
    assert "newcomer@example.org" not in again

    act_as_person(client, world.coordinator_id)  # who may invite sees the invitee (rendered for them)
    assert "newcomer@example.org" in _page(client, world.slug)


def test_every_change_to_what_the_page_shows_appears_at_once(client, run, world, renders):
    act_as_person(client, world.mentor_id)
    page = _page(client, world.slug)
    assert "Members (3)" in page and "Partner organisations" not in page

    run(lambda: add_member(get_network(world.slug), "nora@example.org", "Nora Newcomer"))
    page = _page(client, world.slug)
    assert "Members (4)" in page and "Nora Newcomer" in page

    def partner():
        network = get_network(world.slug)
        decide_partner(
            request_partnership(network, _coordinator(world), new_name="Zeta Helpers", country="DE"),
            _coordinator(world),
            accept=True,
        )

    run(partner)
    page = _page(client, world.slug)
    assert "Partner organisations" in page and "Zeta Helpers" in page

    run(
        lambda: publish_agreement(
            get_network(world.slug), "New rules", "Be kind, always.", actor=_coordinator(world)
        )
    )
    page = _page(client, world.slug)
    assert "New rules" in page and "Version 2" in page and "Be kind, always." in page

    def rename_and_region():
        person = session.scalar(sa.select(Person).where(Person.email == "nora@example.org"))
        person.display_name = "Nora Renamed"
        person.region = "Neukölln"
        set_consent(person, PROFILE_SHARING, True, actor=person)

    run(rename_and_region)
    page = _page(client, world.slug)
    assert "Nora Renamed" in page and "Neukölln" in page

    def network_region():
        get_network(world.slug).region = "Brandenburg"

    run(network_region)
    assert "Region: Brandenburg" in _page(client, world.slug)


def test_own_fields_only_for_oneself_and_the_forms_only_for_who_may_appoint(client, run, world):
    def private_member():
        person = add_member(
            get_network(world.slug), "pia@example.org", "Pia Private", Role.mentor, Level.novice
        )
        person.region = "Secret Quarter"  # not shared: only Pia sees it
        return person.id

    pia = run(private_member)
    act_as_person(client, pia)
    own = _page(client, world.slug)
    assert "Secret Quarter" in own and 'name="person_id"' not in own
    act_as_person(client, world.mentor_id)
    other = _page(client, world.slug)
    assert "Pia Private" in other and "Secret Quarter" not in other
    act_as_person(client, world.coordinator_id)  # the coordinator may appoint: the forms, never Pia's region
    meta = _page(client, world.slug)
    assert f'name="person_id" value="{pia}"' in meta and "Secret Quarter" not in meta
    act_as_person(client, pia)
    assert without_csrf_tokens(_page(client, world.slug)) == without_csrf_tokens(own)  # a new session
