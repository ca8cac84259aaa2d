"""The signed-in home page (``/``): what it shows below the header is kept by its content (networks/views.py
``home``), so every change to what it shows appears at once, and what others do never shows up on it."""

from __future__ import annotations

import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.db import session
from network_service.growth.models import ApplicationStatus, NetworkApplication
from network_service.networks.models import Membership, MembershipStatus, Network, Origin, Role
from network_service.networks.operations import create_network, create_organisation, get_network
from tests.goals_roles import count_statements
from tests.helpers import add_member, sign_in_as


def _home(client, **headers) -> str:
    response = client.get("/", headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _membership(person_id: int, slug: str) -> Membership:
    network = get_network(slug)
    return session.scalars(
        sa.select(Membership).where(Membership.person_id == person_id, Membership.network_id == network.id)
    ).one()


def test_the_home_page_follows_every_change_to_what_it_shows(client, run, world):
    sign_in_as(client, run, "mentor@example.org")
    page = _home(client)
    assert "Hello, Mina Mentor" in page and "Test Network" in page and "Mentor, Novice mentor" in page
    assert "Invitations waiting for you" not in page and "My applications" not in page

    def promote():
        _membership(world.mentor_id, world.slug).role = Role.meta_mentor

    run(promote)
    assert "Meta-Mentor, Novice mentor" in _home(client)

    def rename():
        get_network(world.slug).name = "Renamed Network"

    run(rename)
    page = _home(client)
    assert "Renamed Network" in page and "Test Network" not in page

    def invite_elsewhere():
        organisation = create_organisation("Other Org", "DE")
        coordinator = session.get(Person, world.coordinator_id)
        other = create_network("other-net", "Other Network", organisation, coordinator=coordinator)
        session.add(
            Membership(
                network=other,
                person=session.get(Person, world.mentor_id),
                status=MembershipStatus.invited,
                origin=Origin.invited,
            )
        )

    run(invite_elsewhere)
    page = _home(client)
    assert "Invitations waiting for you" in page and "Other Network" in page

    def apply_and_accept():
        session.add(
            NetworkApplication(
                network_id=get_network("other-net").id,
                person_id=world.mentor_id,
                motivation="I mentor already.",
                status=ApplicationStatus.accepted,
            )
        )

    run(apply_and_accept)
    page = _home(client)
    assert "My applications" in page and "accepted" in page

    def leave():
        _membership(world.mentor_id, world.slug).status = MembershipStatus.left

    run(leave)
    page = _home(client)
    assert "Renamed Network" not in page and "You are not an active member of a network yet." in page

    def rename_person():
        session.get(Person, world.mentor_id).display_name = "Mina M."

    run(rename_person)
    assert "Hello, Mina M." in _home(client)


def test_the_home_page_is_in_the_readers_language(client, run, world):
    sign_in_as(client, run, "mentor@example.org")
    assert "My networks" in _home(client)
    german = _home(client, **{"Accept-Language": "de"})
    assert "Meine Netzwerke" in german and "My networks" not in german
    assert "My networks" in _home(client)


def test_others_never_see_one_persons_home_page(client, app, run, world):
    sign_in_as(client, run, "mentor@example.org")
    assert "Hello, Mina Mentor" in _home(client)
    other = app.test_client()
    sign_in_as(other, run, "meta@example.org")
    page = _home(other)
    assert "Hello, Marco Meta" in page and "Mina" not in page and "Meta-Mentor, Experienced mentor" in page


def test_the_home_page_reads_the_same_statements_for_one_network_or_five(app, client, run, world):
    sign_in_as(client, run, "mentor@example.org")
    _home(client)
    with count_statements(app) as one:
        _home(client)

    def join_four_more():
        organisation = create_organisation("Many Org", "FR")
        coordinator = session.get(Person, world.coordinator_id)
        for number in range(4):
            network = create_network(
                f"net-{number}", f"Network {number}", organisation, coordinator=coordinator
            )
            add_member(network, "mentor@example.org", "Mina Mentor")
        assert session.scalar(sa.select(sa.func.count(Network.id))) == 5
        session.flush()

    run(join_four_more)
    _home(client)
    with count_statements(app) as five:
        page = _home(client)
    assert all(f"Network {number}" in page for number in range(4))
    assert len(five) == len(one), (one, five)


def test_the_home_page_reads_its_network_cards_in_one_statement(app, client, run, world):
    # The signed-in person's memberships come without their networks (accounts/sessions.py: a fifth of every
    # page's person statement); the home page's cards then come from one plain-row statement.
    sign_in_as(client, run, "mentor@example.org")
    _home(client)
    with count_statements(app) as statements:
        page = _home(client)
    assert "Test Network" in page and "Test Org" in page
    reading = [s for s in statements if "membership" in s.lower() and "device_session" not in s.lower()]
    assert len(reading) == 1, reading
    assert "organisation" in reading[0].lower()


def test_networks_are_in_name_order_whatever_their_case():
    from network_service.networks.operations import _name_key

    names = ["zeta", "Ärzte helfen", "alpha", "Beta"]
    assert sorted(names, key=lambda name: (_name_key(name), name)) == [
        "alpha",
        "Ärzte helfen",
        "Beta",
        "zeta",
    ]
