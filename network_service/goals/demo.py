"""Demo goals: one goal on its way, one achieved, each with progress reports."""

from __future__ import annotations

import datetime as dt

from network_service.accounts.models import Person
from network_service.goals import operations
from network_service.networks.models import Network


def seed_demo(network: Network, people: dict[str, Person]) -> None:
    coordinator = people["Coordinator"]
    meta_mentor = people["Meta-Mentor"]
    office = people["Network office"]
    today = dt.date.today()

    mentors = operations.create_goal(
        network,
        actor=coordinator,
        title="Welcome the graduates of the spring MOOC as mentors",
        description=(
            "Every graduate of this year's spring MOOC should find a place in the network.\n\n"
            "- a welcome call from the Meta-Mentor within two weeks\n"
            "- a first mentoring match with an experienced mentor alongside\n"
            "- an invitation to the next network meeting"
        ),
        target_value=8,
        unit="new mentors active",
        owner_id=meta_mentor.id,
        due_date=today + dt.timedelta(days=120),
    )
    operations.post_update(
        mentors,
        actor=meta_mentor,
        value=3,
        note="Three graduates had their welcome call and joined the network.",
    )
    operations.post_update(
        mentors,
        actor=meta_mentor,
        value=5,
        note="Two more joined after the info evening. **Tip:** the call works best in the person's own language.",
    )

    guide = operations.create_goal(
        network,
        actor=meta_mentor,
        title="Translate the welcome guide for new mentors",
        description="The guide explains the network's rules and where to find help. Members volunteer to translate.",
        target_value=3,
        unit="languages",
        owner_id=office.id,
        due_date=today - dt.timedelta(days=10),
    )
    operations.post_update(guide, actor=office, value=1, note="The Arabic version is ready.")
    operations.post_update(
        guide, actor=office, value=3, note="Ukrainian and Farsi are done too; all three are in the library."
    )
