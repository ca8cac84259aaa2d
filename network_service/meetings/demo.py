"""Demo meetings: one that took place with answers, an upcoming online one, an upcoming one in person."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from network_service.accounts.models import Person
from network_service.db import utcnow
from network_service.meetings import operations
from network_service.meetings.models import Meeting
from network_service.networks.models import Network

TIMEZONE = "Europe/Berlin"


def _at(days: int, hour: int, minute: int = 0) -> dt.datetime:
    """Wall-clock time in Berlin ``days`` from today (naive, as the organiser types it)."""
    today = utcnow().astimezone(ZoneInfo(TIMEZONE)).date()
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute))


def seed_demo(network: Network, people: dict[str, Person]) -> list[Meeting]:
    coordinator = people["Coordinator"]
    meta = people["Meta-Mentor"]
    office = people["Network office"]
    experienced = people["Experienced mentor"]
    novice = people.get("Novice mentor")

    planned_at = utcnow() - dt.timedelta(days=30)
    past = operations.create_meeting(
        network,
        operations.MeetingInput(
            title="Kick-off: how we want to work together",
            description=(
                "Our first meeting as a network.\n\n"
                "- Getting to know each other\n"
                "- The network agreement and our communication rules\n"
                "- Which topics do we want to learn about this year?"
            ),
            starts_at=_at(-14, 18),
            ends_at=_at(-14, 20),
            timezone=TIMEZONE,
            place="Nachbarschaftshaus, Room 2, Urbanstraße 21, Berlin",
        ),
        actor=coordinator,
        now=planned_at,
    )
    for person, answer in [(meta, "yes"), (office, "yes"), (experienced, "yes"), (novice, "maybe")]:
        if person is not None:
            operations.set_rsvp(past, person, answer, now=planned_at + dt.timedelta(days=2))

    online = operations.create_meeting(
        network,
        operations.MeetingInput(
            title="Online exchange: appointments at the immigration office",
            description=(
                "Bring your questions and experiences from recent appointments.\n\n"
                "Yusuf explains what has changed in the booking system. Cameras optional."
            ),
            starts_at=_at(6, 18, 30),
            ends_at=_at(6, 19, 45),
            timezone=TIMEZONE,
            online_url="https://meet.jit.si/mentornet-demo-exchange",
        ),
        actor=meta,
    )
    operations.set_rsvp(online, coordinator, "yes")
    operations.set_rsvp(online, experienced, "maybe")

    in_person = operations.create_meeting(
        network,
        operations.MeetingInput(
            title="Summer get-together in the park",
            description="An informal evening. Bring something to share if you like; drinks are on the network.",
            starts_at=_at(20, 17),
            ends_at=_at(20, 20),
            timezone=TIMEZONE,
            place="Park am Gleisdreieck, at the café, Berlin",
        ),
        actor=office,
    )
    operations.set_rsvp(in_person, meta, "yes")
    return [past, online, in_person]
