"""Demo help requests: an urgent open request in Arabic and German answered by one mentor, a resolved one,
and an open one nobody has answered yet. No personal data of migrants: situations, not people."""

from __future__ import annotations

import datetime as dt

from network_service.accounts.models import Person
from network_service.db import session, utcnow
from network_service.help import operations
from network_service.help.models import HelpStatus, Urgency
from network_service.networks.models import Network


def _backdate(request, hours: float) -> None:
    """Demo requests look lived-in: created some hours ago, answers in between."""
    shift = dt.timedelta(hours=hours)
    request.created_at = utcnow() - shift
    for response in request.responses:
        response.created_at = response.created_at - shift + dt.timedelta(hours=hours / 3)
    if request.first_response_at:
        request.first_response_at = request.created_at + dt.timedelta(hours=hours / 3)
    if request.resolved_at:
        request.resolved_at = request.created_at + dt.timedelta(hours=hours * 2 / 3)


def seed_demo(network: Network, people: dict[str, Person]) -> None:
    meta = people["Meta-Mentor"]
    office = people["Network office"]
    experienced = people["Experienced mentor"]
    novice = people.get("Novice mentor") or people["Coordinator"]

    urgent = operations.create_request(
        network,
        novice,
        topic="Appointment at the immigration office tomorrow: who can interpret?",
        body=(
            "A family I accompany has an appointment at the immigration office tomorrow morning about the "
            "extension of their residence permit. They speak Arabic; my Arabic is not good enough for this.\n\n"
            "- Who could come along, or join by phone for 30 minutes?\n"
            "- Which documents should they bring besides passports and the current permit?"
        ),
        languages=["Arabic", "German"],
        region="Berlin",
        tags=["residence permit", "interpreting"],
        urgency=Urgency.urgent,
    )
    operations.respond(
        urgent,
        experienced,
        "I can join by phone between 9 and 11. Bring the rental contract, proof of income and the biometric "
        "photos; the office often asks for them. Send me the time in a private message.",
    )
    _backdate(urgent, 5)

    resolved = operations.create_request(
        network,
        office,
        topic="Recognition of a nursing diploma from Ukraine",
        body=(
            "A mentee trained as a nurse in Ukraine. Where does the recognition start, and does anyone know "
            "how long it takes in Brandenburg at the moment?"
        ),
        languages=["Ukrainian", "German"],
        region="Potsdam",
        tags=["recognition of diplomas"],
        urgency=Urgency.normal,
    )
    operations.respond(
        resolved,
        experienced,
        "Start with the recognition counselling service (IQ network); they check the documents for free and "
        "tell you which authority decides. Last year it took about four months for nurses.",
    )
    operations.respond(resolved, meta, "The state office also accepts the application online now.")
    operations.resolve(resolved, office, HelpStatus.resolved)
    _backdate(resolved, 24 * 9)

    waiting = operations.create_request(
        network,
        meta,
        topic="Good German courses for beginners in the evening?",
        body=(
            "Two of the people our mentors accompany work during the day. Does anyone know integration courses "
            "in the evening in Berlin-Neukölln with places free this term?"
        ),
        languages=["German", "English"],
        region="Berlin",
        tags=["language courses"],
        urgency=Urgency.low,
    )
    _backdate(waiting, 30)
    session.flush()
