"""A network with one person in every role and state, for the organise tests and the permission matrix."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.accounts.operations import add_site_admin, create_api_token, get_or_create_person
from network_service.db import session, utcnow
from network_service.networks.models import Level, Membership, MembershipStatus, Network, Origin, Role
from network_service.networks.operations import create_network, get_organisation_by_name
from tests.helpers import add_member, build_world, sign_in_as

# label -> e-mail; every label is a way of standing towards the test network
PEOPLE = {
    "anonymous": None,
    "outsider": "outsider@example.org",  # an active member of another network
    "novice": "mentor@example.org",
    "experienced": "exp@example.org",
    "office": "office@example.org",
    "meta_mentor": "meta@example.org",
    "coordinator": "coord@example.org",
    "site_admin": "admin@example.org",
    "suspended": "suspended@example.org",
    "invited": "invited@example.org",  # invited, not joined
}
MEMBERS = ("novice", "experienced", "office", "meta_mentor", "coordinator")
NOT_MEMBERS = ("anonymous", "outsider", "suspended", "invited")


@dataclasses.dataclass
class RolesWorld:
    network_id: int
    slug: str
    ids: dict[str, int]
    other_slug: str


def build_roles_world() -> RolesWorld:
    world = build_world()
    network = session.get(Network, world.network_id)
    add_member(network, "exp@example.org", "Ebo Experienced", Role.mentor, Level.experienced)
    add_member(network, "office@example.org", "Olga Office", Role.office, Level.experienced)
    suspended = add_member(network, "suspended@example.org", "Sven Suspended")
    session.scalar(
        sa.select(Membership).where(Membership.person_id == suspended.id, Membership.network_id == network.id)
    ).status = MembershipStatus.suspended
    invited, _created = get_or_create_person("invited@example.org", display_name="Ines Invited")
    session.add(
        Membership(network=network, person=invited, status=MembershipStatus.invited, origin=Origin.invited)
    )
    other_coordinator, _created = get_or_create_person("other-coord@example.org", display_name="Otto Other")
    other = create_network(
        "other-net", "Other Network", get_organisation_by_name("Test Org"), coordinator=other_coordinator
    )
    add_member(other, "outsider@example.org", "Oscar Outsider")
    add_site_admin("admin@example.org")
    session.flush()
    ids = {
        label: session.scalar(sa.select(Person.id).where(Person.email == email))
        for label, email in PEOPLE.items()
        if email
    }
    return RolesWorld(network.id, network.slug, ids, other.slug)


@pytest.fixture
def roles(run):
    return run(build_roles_world)


@pytest.fixture
def client_as(app, run, roles):
    """``client_as(label)``: a test client signed in as that person (anonymous: not signed in), made once."""
    clients: dict = {}

    def make(label: str):
        if label not in clients:
            client = app.test_client()
            if PEOPLE[label]:
                sign_in_as(client, run, PEOPLE[label])
            clients[label] = client
        return clients[label]

    return make


@pytest.fixture
def bearer_as(run, roles):
    tokens: dict = {}

    def make(label: str) -> dict:
        if PEOPLE[label] is None:
            return {}
        if label not in tokens:

            def create():
                person = session.scalar(sa.select(Person).where(Person.email == PEOPLE[label]))
                return create_api_token(person, "test")[1]

            tokens[label] = run(create)
        return {"Authorization": f"Bearer {tokens[label]}"}

    return make


def set_status(run, roles: RolesWorld, label: str, status: MembershipStatus) -> None:
    def change():
        membership = session.scalar(
            sa.select(Membership).where(
                Membership.network_id == roles.network_id, Membership.person_id == roles.ids[label]
            )
        )
        membership.status = status
        membership.joined_at = membership.joined_at or utcnow()

    run(change)
