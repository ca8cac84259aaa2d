"""Demo data for joining and growing: the network takes applications, an experienced mentor trained in Athens
has applied, one partner organisation is accepted and another asks to join."""

from __future__ import annotations

from network_service.accounts.models import Person
from network_service.accounts.operations import get_or_create_person, update_profile
from network_service.db import session, utcnow
from network_service.growth import operations
from network_service.growth.models import NetworkPartner, PartnerStatus
from network_service.networks.models import Network
from network_service.networks.operations import create_organisation


def seed_demo(network: Network, people: dict[str, Person]) -> None:
    coordinator = people["Coordinator"]
    operations.set_accepts_applications(network, coordinator, True)
    applicant, _created = get_or_create_person("nikos@example.org", display_name="Nikos Papadakis")
    update_profile(applicant, applicant, languages=["Greek", "English", "German"], region="Potsdam")
    operations.apply(
        network,
        applicant,
        motivation="I mentored newcomers in Athens for four years and moved to Potsdam last spring. "
        "I would like to continue as a volunteer mentor here.",
        experience="mentorNET MOOC (2024) with a volunteer programme in Athens; 4 years of mentoring, mostly housing "
        "and school enrolment.",
        languages=["Greek", "English", "German"],
        region="Potsdam",
    )
    representative, _created = get_or_create_person("partner@example.org", display_name="Lena Brandt")
    bridges = create_organisation(
        "Brücken Potsdam e.V.",
        "DE",
        city="Potsdam",
        website="https://bruecken-potsdam.example.org",
        description="Language cafés and homework help for families who arrived recently.",
    )
    session.add(
        NetworkPartner(
            network=network,
            organisation=bridges,
            status=PartnerStatus.accepted,
            message="We run language cafés in Potsdam and would like to send volunteers to the MOOC.",
            requested_by_id=representative.id,
            decided_by_id=coordinator.id,
            decided_at=utcnow(),
        )
    )
    session.flush()
    operations.request_partnership(
        network,
        representative,
        new_name="Casa Aperta Roma",
        country="IT",
        website="https://casa-aperta.example.org",
        message="We train mentors in Rome and would like to exchange experience with your network.",
    )
