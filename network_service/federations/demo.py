"""Demo federation: "Mentor Networks across Europe", run by the demo coordinator and Meta-Mentor, with the demo
network and two fictional networks of other organisations (Palermo, Thessaloniki) as members. The federation
shares its channel "across borders" (members of every member network read and write there), and the Palermo
network shares a resource that shows under "From the federation" in the Berlin library. Names and addresses are
invented; only volunteers appear, no data of migrants."""

from __future__ import annotations

import datetime as dt

from network_service.accounts.models import Person
from network_service.accounts.operations import get_or_create_person
from network_service.conversations import operations as conversations
from network_service.conversations.models import Message
from network_service.db import session, utcnow
from network_service.directory import operations as directory
from network_service.federations import operations
from network_service.help.models import HelpRequest
from network_service.networks.models import Level, Membership, MembershipStatus, Network, Origin, Role
from network_service.networks.operations import (
    accept_agreement,
    create_network,
    create_organisation,
    current_agreement,
)
from network_service.resources import operations as resources

# slug, name, organisation, country, city, description, coordinator (name, e-mail), mentors (name, e-mail, days)
MEMBERS = [
    (
        "palermo-mentori",
        "Rete Mentori Palermo",
        "Ponte Mentori APS",
        "IT",
        "Palermo",
        "Volunteer mentors who accompany young adults arriving in Sicily.",
        ("Giulia Russo", "giulia@example.org"),
        [("Salvatore Greco", "salvatore@example.org", 150), ("Aminata Diallo", "aminata@example.org", 40)],
    ),
    (
        "thessaloniki-mentors",
        "Thessaloniki Mentor Circle",
        "Gefyra Volunteers",
        "GR",
        "Thessaloniki",
        "Mentors who help newcomers in Northern Greece with school, work and the language.",
        ("Eleni Papadopoulou", "eleni@example.org"),
        [("Nikos Georgiou", "nikos@example.org", 90)],
    ),
]


def _member_network(slug, name, organisation, country, city, description, coordinator, mentors):
    person, _created = get_or_create_person(coordinator[1], display_name=coordinator[0])
    network = create_network(
        slug, name, create_organisation(organisation, country, city=city), coordinator=person,
        description=description,
    )  # fmt: skip
    network.region = city
    now = utcnow()
    agreement = current_agreement(network)
    general = conversations.create_default_channels(network)[0]
    for mentor_name, email, days in mentors:
        mentor, _created = get_or_create_person(email, display_name=mentor_name)
        session.add(
            Membership(
                network=network, person=mentor, role=Role.mentor, level=Level.experienced,
                status=MembershipStatus.active, origin=Origin.invited, joined_at=now - dt.timedelta(days=days),
            )
        )  # fmt: skip
        session.flush()
        accept_agreement(mentor, agreement)
        session.add(
            Message(channel_id=general.id, author_id=mentor.id, body="Ciao a tutti! / Hello everyone!",
                    created_at=now - dt.timedelta(days=min(days, 5)))
        )  # fmt: skip
    session.add(
        HelpRequest(
            network=network, author_id=person.id, topic="Recognition of a nursing diploma",
            body="Who has been through the recognition procedure for a nursing diploma?",
            created_at=now - dt.timedelta(days=6), first_response_at=now - dt.timedelta(days=5),
        )
    )  # fmt: skip
    session.flush()
    return network, person


def seed_demo(network: Network, people: dict[str, Person]) -> None:
    coordinator, meta = people["Coordinator"], people["Meta-Mentor"]
    federation = create_network(
        "mentor-networks-europe",
        "Mentor Networks across Europe",
        create_organisation("Mentoring across Borders", "BE", city="Brussels"),
        coordinator=coordinator,
        description="A federation of volunteer mentor networks: we share what works and learn from each other.",
    )
    session.add(
        Membership(
            network=federation, person=meta, role=Role.meta_mentor, level=Level.experienced,
            status=MembershipStatus.active, origin=Origin.invited, joined_at=utcnow(),
        )
    )  # fmt: skip
    session.flush()
    accept_agreement(meta, current_agreement(federation))
    # Berlin joins by invitation; Palermo asks to join; Thessaloniki is invited and has not answered yet.
    link = operations.invite_member(federation, network.slug, actor=coordinator)
    operations.accept_link(link, actor=coordinator)  # Clara coordinates both networks
    palermo, palermo_coordinator = _member_network(*MEMBERS[0])
    link = operations.request_to_join(palermo, federation.slug, actor=palermo_coordinator)
    operations.accept_link(link, actor=coordinator)
    thessaloniki, _coordinator = _member_network(*MEMBERS[1])
    operations.invite_member(federation, thessaloniki.slug, actor=coordinator)

    channel = conversations.create_channel(
        federation, actor=coordinator, name="across borders",
        description="Mentors of every network of the federation: questions, ideas, good news.",
    )  # fmt: skip
    conversations.post_message(
        channel, actor=coordinator,
        body="Welcome to the federation's shared channel! Tell the others what worked in your network this month.",
    )  # fmt: skip
    operations.share_channel(federation, channel.id, federation.id, actor=coordinator, allow_posting=True)
    conversations.post_message(
        channel, actor=palermo_coordinator,
        body="Hello from Palermo! Our language café with the university students works very well.",
    )  # fmt: skip

    guide = resources.add_link(
        palermo, actor=palermo_coordinator, title="Guide to residence permits in Italy (in 5 languages)",
        url="https://ponte-mentori.example.org/guida-permessi", language="Italian",
        description="A short guide the Palermo mentors wrote for their first meetings.", tags="permits, guide",
    )  # fmt: skip
    operations.share_resource(palermo, guide.id, federation.id, actor=palermo_coordinator)

    directory.update_public_page(
        federation, coordinator, public=True, country="BE", services=["education", "other"],
        how_to_join="Mentor networks that follow the mentorNET roadmap can ask to join: write to the office.",
    )  # fmt: skip
