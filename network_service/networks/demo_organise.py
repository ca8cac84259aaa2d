"""Demo data for organising a network: the office's contact, version 2 of the agreement with a change note,
accepted by most members and not yet by one (who sees the banner)."""

from __future__ import annotations

import datetime as dt

from network_service.accounts.models import Person
from network_service.db import session
from network_service.networks import operations, organise
from network_service.networks.models import Network

AGREEMENT_V2 = """\
We are volunteers who accompany newcomers. These rules keep our network friendly, safe and useful.

1. We support each other in our mentoring and answer help requests when we can.
2. We keep the personal data of the people we mentor out of the network: no names, phone numbers, addresses, \
photos or case details that identify anyone. Describe situations in general terms.
3. We treat each other with respect, whatever our language, origin or experience.
4. We answer messages addressed to us within a week, even if only to say that we cannot help.
5. We meet at least once a quarter and tell the network office when we cannot take part for a while.
6. In legal or medical questions we point to professional counselling and do not give advice ourselves.
7. We follow the communication rules of the network and the guidance of the Meta-Mentor.

**Communication rules:** write in simple language; say which language you can answer in; use the help requests \
for questions, conversations for exchange, and the network office for anything about the organisation."""

CHANGE_NOTE = (
    "Rule 2 now also mentions photos and asks us to describe situations in general terms. "
    "New: rule 4 (answer within a week) and rule 6 (legal and medical questions go to professional counselling). "
    "The communication rules are now part of the agreement."
)


def seed_demo(network: Network, people: dict[str, Person]) -> None:
    """``people``: label -> Person as in ``network_service.demo.DEMO_PEOPLE``; all of them active members
    (the site administrator aside) who accepted version 1."""
    coordinator = people["Coordinator"]
    organise.update_settings(
        network,
        coordinator,
        languages=["German", "Arabic", "Ukrainian", "English"],
        region="Berlin and Brandenburg",
        contact_email="office@example.org",
        contact_phone="+49 30 0000 0000",
        contact_hours="Monday to Thursday, 10:00 to 14:00",
    )
    agreement = operations.publish_agreement(
        network,
        "Network agreement and communication rules",
        AGREEMENT_V2,
        actor=people["Meta-Mentor"],
        change_note=CHANGE_NOTE,
    )
    # Published four days ago, so the first automatic reminder is due for whoever has not accepted yet.
    agreement.created_at = agreement.created_at - dt.timedelta(days=4)
    for label in ("Coordinator", "Network office", "Experienced mentor"):
        if label in people:
            organise.accept_current(people[label], network, version=agreement.version, accept=True)
    # The novice mentor has not accepted yet: they see the banner, and the office sees them on the list.
    session.flush()
