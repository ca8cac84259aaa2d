"""Demo history for the insights: the network started months ago, members joined month by month, some stayed
active, one went quiet and one never started. Activity is backdated with direct inserts (the operations always
stamp "now"); only volunteers appear, no data of migrants."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.accounts.operations import get_or_create_person
from network_service.conversations.models import Message
from network_service.conversations.operations import create_default_channels
from network_service.db import session, utcnow
from network_service.help.models import HelpRequest, HelpResponse, HelpStatus
from network_service.networks.models import Level, Membership, MembershipStatus, Network, Origin, Role
from network_service.networks.operations import accept_agreement, current_agreement

# label in DEMO_PEOPLE -> days since joining
JOINED_DAYS_AGO = {
    "Coordinator": 270,
    "Meta-Mentor": 265,
    "Network office": 240,
    "Experienced mentor": 200,
    "Novice mentor": 75,
}

# (name, e-mail, days since joining, days ago of each message they wrote)
VOLUNTEERS = [
    ("Lena Fischer", "lena@example.org", 210, [180, 150, 110, 60, 20, 3]),
    ("Tomasz Nowak", "tomasz@example.org", 160, [140, 120, 45]),  # going quiet
    ("Ines Duarte", "ines@example.org", 120, [100, 95, 40, 12]),
    ("Karim Benali", "karim@example.org", 60, []),  # joined, never started
]

LINES = [
    "Thanks for the tips at the last meeting, they helped a lot.",
    "Does anyone know when the next information evening at the job centre is?",
    "I can take over the Thursday language café next week.",
    "Good news: the school enrolment worked out.",
    "Who is coming to the network meeting?",
    "I shared the checklist for the first appointment in the library.",
]


def seed_demo(network: Network, people: dict[str, Person]) -> None:
    now = utcnow()
    memberships = {
        m.person_id: m
        for m in session.scalars(sa.select(Membership).where(Membership.network_id == network.id))
    }
    for label, days in JOINED_DAYS_AGO.items():
        person = people.get(label)
        if person is not None and person.id in memberships:
            memberships[person.id].joined_at = now - dt.timedelta(days=days)
    channel = create_default_channels(network)[0]
    agreement = current_agreement(network)
    volunteers = {}
    for name, email, joined, messages in VOLUNTEERS:
        person, _created = get_or_create_person(email, display_name=name)
        volunteers[name] = person
        if person.id not in memberships:
            session.add(
                Membership(
                    network=network,
                    person=person,
                    role=Role.mentor,
                    level=Level.novice,
                    status=MembershipStatus.active,
                    origin=Origin.graduate,
                    joined_at=now - dt.timedelta(days=joined),
                )
            )
            session.flush()
            accept_agreement(person, agreement)
        for i, days_ago in enumerate(messages):
            session.add(
                Message(
                    channel_id=channel.id,
                    author_id=person.id,
                    body=LINES[(i + len(name)) % len(LINES)],
                    created_at=now - dt.timedelta(days=days_ago),
                )
            )
    helper = people.get("Experienced mentor")
    for asker, topic, days_ago in (
        ("Tomasz Nowak", "Which documents does the recognition office want for a nursing diploma?", 130),
        ("Ines Duarte", "Where can a family find a free legal advice service on housing?", 98),
        ("Lena Fischer", "How do I register a child for the summer language course?", 26),
    ):
        asked = now - dt.timedelta(days=days_ago)
        request = HelpRequest(
            network=network,
            author_id=volunteers[asker].id,
            topic=topic,
            body="",
            created_at=asked,
            first_response_at=asked + dt.timedelta(hours=5 + days_ago % 20),
            status=HelpStatus.resolved,
            resolved_at=asked + dt.timedelta(days=2),
            response_count=1,
        )
        session.add(request)
        session.flush()
        if helper is not None:
            session.add(
                HelpResponse(
                    request_id=request.id,
                    author_id=helper.id,
                    body="I have done this before: I will send you the list and the office's opening hours.",
                    created_at=request.first_response_at,
                )
            )
    session.flush()
