"""People and data shared by the conversations and moderation tests."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.accounts.operations import add_site_admin, create_api_token, get_or_create_person
from network_service.conversations import operations
from network_service.conversations.models import Channel
from network_service.db import session
from network_service.networks.models import Level, Network, Role
from network_service.networks.operations import create_network, get_organisation_by_name
from tests.helpers import add_member, csrf_from

EMAILS = {
    "coordinator": "coord@example.org",
    "meta_mentor": "meta@example.org",
    "office": "office@example.org",
    "experienced": "exp@example.org",
    "novice": "mentor@example.org",
    "outsider": "out@example.org",
    "admin": "root@example.org",
}
NAMES = {
    "coordinator": "Carla Coordinator",
    "meta_mentor": "Marco Meta",
    "office": "Olga Office",
    "experienced": "Eva Experienced",
    "novice": "Mina Mentor",
    "outsider": "Otto Outsider",
    "admin": "",
}


@dataclasses.dataclass
class Cast:
    slug: str
    network_id: int
    ids: dict[str, int]
    general: str


def build_cast(world) -> Cast:
    network = session.get(Network, world.network_id)
    add_member(network, EMAILS["office"], NAMES["office"], Role.office, Level.experienced)
    add_member(network, EMAILS["experienced"], NAMES["experienced"], Role.mentor, Level.experienced)
    other = create_network("other-net", "Other Network", get_organisation_by_name("Test Org"))
    add_member(other, EMAILS["outsider"], NAMES["outsider"])
    add_site_admin(EMAILS["admin"])
    general = operations.create_default_channels(network)[0]
    ids = {
        label: session.scalar(sa.select(Person.id).where(Person.email == email))
        for label, email in EMAILS.items()
    }
    return Cast(network.slug, network.id, ids, general.slug)


def person(label: str) -> Person:
    return session.scalar(sa.select(Person).where(Person.email == EMAILS[label]))


def network(cast: Cast) -> Network:
    return session.get(Network, cast.network_id)


def general_channel(cast: Cast) -> Channel:
    """The cast's open channel "general" (inside an app context)."""
    return session.scalar(
        sa.select(Channel).where(Channel.network_id == cast.network_id, Channel.slug == cast.general)
    )


def bearer_for(run, label: str) -> dict:
    def create():
        someone, _created = get_or_create_person(EMAILS[label])
        return create_api_token(someone, "test")[1]

    return {"Authorization": f"Bearer {run(create)}"}


# The conversations pages' address and a form post with the page's CSRF token.
def base(cast) -> str:
    return f"/networks/{cast.slug}/conversations"


def post_form(client, page_url: str, data: dict, action: str | None = None):
    html = client.get(page_url).get_data(as_text=True)
    return client.post(action or page_url, data={**data, "csrf_token": csrf_from(html)})
