"""Builders shared by the meetings tests: every role of a network, another network, and meetings at set times."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.accounts.operations import create_api_token, get_or_create_person
from network_service.db import session, utcnow
from network_service.meetings import operations
from network_service.meetings.models import Meeting
from network_service.networks.models import Level, Network, Role
from network_service.networks.operations import create_network, get_network, get_organisation_by_name
from tests.helpers import add_member, build_world

ROLES = {
    "coordinator": "coord@example.org",
    "meta_mentor": "meta@example.org",
    "office": "office@example.org",
    "experienced": "expert@example.org",
    "novice": "mentor@example.org",
    "admin": "admin@example.org",
    "outsider": "other@example.org",
}


def build_meetings_world():
    world = build_world()
    network = session.get(Network, world.network_id)
    add_member(network, ROLES["office"], "Olga Office", Role.office, Level.experienced)
    add_member(network, ROLES["experienced"], "Ezra Expert", Role.mentor, Level.experienced)
    admin, _ = get_or_create_person(ROLES["admin"], display_name="Ada Admin")
    admin.is_site_admin = True
    other_coordinator, _ = get_or_create_person("othercoord@example.org", display_name="Otto Other")
    other = create_network(
        "other-net", "Other Network", get_organisation_by_name("Test Org"), coordinator=other_coordinator
    )
    add_member(other, ROLES["outsider"], "Oscar Outsider")
    session.flush()
    return world


def person(email: str) -> Person:
    return session.scalar(sa.select(Person).where(Person.email == email))


def token_for(run, email: str) -> str:
    return run(lambda: create_api_token(person(email), "test")[1])


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def plan(
    slug: str = "test-net",
    organiser: str = ROLES["coordinator"],
    *,
    starts_in: dt.timedelta = dt.timedelta(days=3),
    hours: float = 2,
    now: dt.datetime | None = None,
    **fields,
) -> Meeting:
    """A meeting starting ``starts_in`` after ``now`` (default: the real now), planned in UTC."""
    now = now or utcnow()
    start = (now + starts_in).replace(second=0, microsecond=0)
    data = operations.MeetingInput(
        title=fields.pop("title", "Monthly exchange"),
        description=fields.pop("description", "We share **experience**."),
        starts_at=start,
        ends_at=start + dt.timedelta(hours=hours),
        timezone=fields.pop("timezone", "Europe/Berlin"),
        online_url=fields.pop("online_url", "https://meet.example.org/exchange"),
        place=fields.pop("place", ""),
    )
    return operations.create_meeting(
        get_network(slug), data, actor=person(organiser), now=min(now, start - dt.timedelta(minutes=1))
    )
