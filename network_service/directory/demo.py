"""Demo directory: fictional organisations across Europe (names, addresses and numbers are invented; web and
e-mail addresses are on example.org), two suggestions waiting for review, and the demo network's public page."""

from __future__ import annotations

from network_service.accounts.models import Person
from network_service.directory import operations
from network_service.networks.models import Network

# name, country, city, languages, services, description
ORGANISATIONS = [
    (
        "Lindenhof Rechtsberatung",
        "DE",
        "Berlin",
        "de;en;ar;fa",
        "legal",
        "Free advice on asylum procedures, residence permits and family reunification. Walk-in hours on Tuesdays.",
    ),
    (
        "Wohnbrücke Kreuzberg",
        "DE",
        "Berlin",
        "de;tr;ar",
        "housing",
        "Helps newcomers find a flat and understand rental contracts; mediates with landlords.",
    ),
    (
        "Sprachwerkstatt Nordlicht",
        "DE",
        "Hamburg",
        "de;uk;ru",
        "language_courses;education",
        "German courses from A1 to B2, with childcare during the morning classes.",
    ),
    (
        "Arbeitsweg Ruhr",
        "DE",
        "Essen",
        "de;en;ti;ar",
        "employment;education",
        "Recognition of foreign qualifications, CV workshops and job coaching.",
    ),
    (
        "Seelenraum Leipzig",
        "DE",
        "Leipzig",
        "de;fa;ar;ku",
        "psychosocial;health",
        "Counselling for people who have lived through war and flight, with interpreters.",
    ),
    (
        "Gesundheitslotsen Süd",
        "DE",
        "München",
        "de;en;so;ar",
        "health",
        "Volunteers accompany patients to doctors and explain the health insurance system.",
    ),
    (
        "Casa dei Venti",
        "IT",
        "Palermo",
        "it;en;fr;ar",
        "housing;legal",
        "Shelter for young adults and legal orientation on international protection.",
    ),
    (
        "Sportello Ponte Aperto",
        "IT",
        "Bologna",
        "it;en;ur;bn",
        "legal;employment",
        "Help with permits, work contracts and registering with the employment office.",
    ),
    (
        "Scuola Voci Nuove",
        "IT",
        "Torino",
        "it;ar;fr",
        "language_courses",
        "Free Italian lessons in the evening, and conversation groups on Saturdays.",
    ),
    (
        "Rete Salute Mediterranea",
        "IT",
        "Napoli",
        "it;en;fr;wo",
        "health;psychosocial",
        "A clinic without appointment for people without health insurance.",
    ),
    (
        "Fundacja Most Nadziei",
        "PL",
        "Kraków",
        "pl;uk;ru;en",
        "legal;psychosocial",
        "Legal aid and support groups for people who fled Ukraine and Belarus.",
    ),
    (
        "Dom Sąsiedzki Wisła",
        "PL",
        "Warszawa",
        "pl;uk;en",
        "housing;education",
        "Temporary housing for families and after-school homework help.",
    ),
    (
        "Praca Plus Gdańsk",
        "PL",
        "Gdańsk",
        "pl;uk;ru",
        "employment",
        "Job fairs and coaching for work in logistics, care and shipbuilding.",
    ),
    (
        "Kentro Filoxenias Aigaiou",
        "GR",
        "Athens",
        "el;en;ar;fa",
        "legal;housing",
        "Legal information and emergency accommodation for asylum seekers.",
    ),
    (
        "Skala Mathisis",
        "GR",
        "Thessaloniki",
        "el;en;ar;ps",
        "language_courses;education",
        "Greek and English lessons, and preparation for school entry.",
    ),
    (
        "Iatreio Allilengyis Lesvou",
        "GR",
        "Mytilene",
        "el;en;ar;fa",
        "health",
        "A volunteer-run clinic offering basic care and referrals.",
    ),
    (
        "Brückenschlag Steiermark",
        "AT",
        "Graz",
        "de;en;ar;fa;ps",
        "legal;employment",
        "Counselling on asylum, subsidiary protection and access to the labour market.",
    ),
    (
        "Deutschcafé Donaukanal",
        "AT",
        "Wien",
        "de;uk;bs;tr",
        "language_courses",
        "Informal German practice with volunteers, every weekday afternoon.",
    ),
    (
        "Hogar Puente Sur",
        "ES",
        "Málaga",
        "es;en;ar;fr",
        "housing;psychosocial",
        "Supported housing for young people leaving reception centres.",
    ),
    (
        "Asesoría Camino Libre",
        "ES",
        "Madrid",
        "es;en;fr;ar",
        "legal",
        "Lawyers and trainees advising on residence, work and nationality.",
    ),
    (
        "Aulas Abiertas Valencia",
        "ES",
        "Valencia",
        "es;ca;ar;en",
        "language_courses;education",
        "Spanish and Catalan courses, and help with school enrolment.",
    ),
    (
        "Empleo Sin Fronteras",
        "ES",
        "Barcelona",
        "es;ca;ur;en",
        "employment",
        "Training in hospitality and care, with internships at partner companies.",
    ),
    (
        "Maison du Seuil",
        "FR",
        "Lyon",
        "fr;en;ar;ti",
        "housing;legal",
        "Accommodation and legal follow-up for asylum seekers awaiting a decision.",
    ),
    (
        "Parole Partagée",
        "FR",
        "Marseille",
        "fr;ar;en;fa",
        "psychosocial",
        "Listening sessions and art workshops, with interpreters.",
    ),
    (
        "Atelier Emploi Nord",
        "FR",
        "Lille",
        "fr;en;ps;ar",
        "employment;education",
        "Orientation, French for work, and contacts with local employers.",
    ),
    (
        "Santé Solidaire Bordeaux",
        "FR",
        "Bordeaux",
        "fr;en;es",
        "health",
        "Medical consultations and help with opening health coverage.",
    ),
    (
        "Stichting Nieuwe Haven",
        "NL",
        "Rotterdam",
        "nl;en;ar;ti",
        "housing;employment",
        "Guidance for status holders moving into their first home and first job.",
    ),
    (
        "Taalhuis De Brug",
        "NL",
        "Utrecht",
        "nl;en;uk;ar",
        "language_courses",
        "Dutch language coaching in pairs, and preparation for the integration exam.",
    ),
    (
        "Juridisch Loket Oost",
        "NL",
        "Enschede",
        "nl;en;de;ar",
        "legal",
        "Free consultations on residence law, debts and benefits.",
    ),
    (
        "Raum für Ankommen Linz",
        "AT",
        "Linz",
        "de;en;so;fa",
        "psychosocial;education",
        "A meeting place with counselling, women's groups and homework help.",
    ),
    (
        "Kollektiv Neue Nachbarn",
        "DE",
        "Köln",
        "de;en;ar;ku",
        "other;education",
        "Neighbourhood tandems, bicycle repair workshops and help with paperwork.",
    ),
    (
        "Forum Integracji Lublin",
        "PL",
        "Lublin",
        "pl;uk;en",
        "education;other",
        "Intercultural activities for families and Polish lessons for parents.",
    ),
]

SUGGESTIONS = [
    (
        "Ankerplatz Bremen",
        "DE",
        "Bremen",
        "de;en;ar",
        "legal;housing",
        "Someone told us they help with flats and papers.",
    ),
    (
        "Punto Incontro Verona",
        "IT",
        "Verona",
        "it;en",
        "language_courses",
        "Italian classes in a parish hall.",
    ),
]


def _slug(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())[:30]


def seed_demo(network: Network, people: dict[str, Person]) -> None:
    admin = people["Site administrator"]
    for number, (name, country, city, languages, services, description) in enumerate(ORGANISATIONS):
        operations.create_entry(
            admin, name=name, country=country, city=city, languages=languages, services=services,
            description=description, website=f"https://{_slug(name)}.example.org",
            contact_email=f"info@{_slug(name)}.example.org", contact_phone=f"+00 555 {1000 + number}",
        )  # fmt: skip
    for name, country, city, languages, services, description in SUGGESTIONS:
        operations.suggest_entry(
            name=name,
            country=country,
            city=city,
            languages=languages,
            services=services,
            description=description,
        )
    operations.update_public_page(
        network,
        people["Coordinator"],
        public=True,
        country="DE",
        services=["education", "psychosocial", "other"],
        how_to_join=(
            "Everyone who has finished our online mentoring course can join.\n\n"
            "1. Finish the course and follow the invitation e-mail.\n"
            "2. Accept the network agreement.\n"
            "3. Come to the next monthly meeting to meet the Meta-Mentors."
        ),
    )
