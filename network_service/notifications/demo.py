"""Demo e-mail choices: the people of the demo network chose differently, so the settings page and the digests
show each frequency. The notifications themselves come from the other modules' demo data (help requests,
messages, meetings), created through their operations and so through ``notify``."""

from __future__ import annotations

from network_service.notifications.models import EmailFrequency
from network_service.notifications.operations import set_frequency

DEMO_CHOICES = {
    "Coordinator": EmailFrequency.daily,
    "Meta-Mentor": EmailFrequency.immediately,  # answers help requests quickly
    "Network office": EmailFrequency.weekly,
    "Experienced mentor": EmailFrequency.daily,
    "Novice mentor": EmailFrequency.immediately,
    "Site administrator": EmailFrequency.never,
}


def seed_demo(network, people: dict) -> None:
    for label, frequency in DEMO_CHOICES.items():
        person = people.get(label)
        if person is not None:
            set_frequency(person, frequency, actor=person, via="demo")
