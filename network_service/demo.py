"""The demo: a fresh SQLite database with one organisation's network, its people, and a course graduate."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

DEMO_PEOPLE = [
    # (label, e-mail, name, role, level, languages, expertise, region)
    ("Site administrator", "admin@example.org", "Sam Admin", None, None, ["English"], [], ""),
    (
        "Coordinator",
        "coordinator@example.org",
        "Clara Weber",
        "coordinator",
        "experienced",
        ["German", "English"],
        ["volunteer management"],
        "Berlin",
    ),
    (
        "Meta-Mentor",
        "meta-mentor@example.org",
        "Yusuf Haddad",
        "meta_mentor",
        "experienced",
        ["Arabic", "German", "English"],
        ["asylum procedure", "housing"],
        "Berlin",
    ),
    (
        "Network office",
        "office@example.org",
        "Olena Kovalenko",
        "office",
        "experienced",
        ["Ukrainian", "Polish", "German"],
        ["language courses"],
        "Potsdam",
    ),
    (
        "Experienced mentor",
        "amira@example.org",
        "Amira Saleh",
        "mentor",
        "experienced",
        ["Arabic", "English"],
        ["job search", "recognition of diplomas"],
        "Berlin",
    ),
    (
        "Novice mentor",
        "jonas@example.org",
        "Jonas Becker",
        "mentor",
        "novice",
        ["German", "Italian"],
        ["school enrolment"],
        "Berlin",
    ),
]
# Who has not yet said yes or no to sharing their profile (they see the reminder; the others said yes when they
# joined, so the members' cards and the matching show a lively network).
DEMO_SHARING_NOT_CHOSEN = {"jonas@example.org"}
DEMO_COURSE = "course-v1:TogetherEV+MENTOR101+2026"
DEMO_GRADUATE = "graduate@example.org"


def demo_config(host: str, port: int, directory: Path | None = None) -> dict[str, Any]:
    directory = (directory or Path.cwd() / "instance").resolve()
    directory.mkdir(parents=True, exist_ok=True)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104  # nosec B104  # a display name, nothing binds
    return {
        "ENV": "development",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": f"sqlite:///{directory / 'demo.sqlite'}",
        "BASE_URL": f"http://{shown_host}:{port}",
        "DEMO_MAILBOX": True,
        "SMTP_URL": None,
        "RATELIMIT_STORAGE_URL": "memory://",  # one process: no Redis needed
    }


# Each domain module seeds its part of the lively demo network, in this order (e-mail choices first, so the
# notifications the other modules create follow them).
DEMO_MODULES = (
    "network_service.notifications.demo",
    "network_service.conversations.demo",
    "network_service.meetings.demo",
    "network_service.help.demo",
    "network_service.goals.demo",
    "network_service.resources.demo",
    "network_service.directory.demo",
    "network_service.insights.demo",
    "network_service.federations.demo",  # after conversations, resources and the directory
    "network_service.growth.demo",
    # last: it publishes agreement version 2, which one member has not accepted yet (and so cannot post)
    "network_service.networks.demo_organise",
)


def module_seeds():
    from importlib import import_module

    return [import_module(name).seed_demo for name in DEMO_MODULES]


def build_demo(config: dict[str, Any]) -> list[tuple[str, str]]:
    """Recreate the demo database; returns (role label, e-mail) for each person one can sign in as."""
    from network_service import migrations
    from network_service.accounts.operations import add_site_admin, get_or_create_person, update_profile
    from network_service.app import create_app
    from network_service.courses.models import CompletionRule
    from network_service.courses.operations import link_course, provision_graduate
    from network_service.db import db, session, utcnow
    from network_service.mail.operations import deliver_due
    from network_service.networks.models import Level, Membership, MembershipStatus, Origin, Role
    from network_service.networks.operations import (
        accept_agreement,
        create_network,
        create_organisation,
        current_agreement,
    )
    from network_service.privacy.operations import PROFILE_SHARING, set_consent

    if config["DATABASE_URL"].startswith("sqlite:///"):  # another database is prepared by whoever passes it
        database = Path(config["DATABASE_URL"].removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)

    app = create_app({**config, "OUTBOX_WORKER": False}, use_environment=False)
    with app.app_context():
        migrations.upgrade(app)
        organisation = create_organisation(
            "Together e.V.",
            "DE",
            city="Berlin",
            website="https://example.org",
            description="Supports newcomers in Berlin with volunteer mentoring.",
        )
        people = {}
        for _label, email, name, _role, _level, languages, expertise, region in DEMO_PEOPLE:
            person, _created = get_or_create_person(email, display_name=name)
            update_profile(person, person, languages=languages, expertise=expertise, region=region)
            people[email] = person
        add_site_admin("admin@example.org")
        network = create_network(
            "berlin-mentors",
            "Berlin Mentor Network",
            organisation,
            coordinator=people["coordinator@example.org"],
            description="Volunteer mentors who accompany newcomers in Berlin and Brandenburg.",
        )
        for _label, email, _name, role, level, *_rest in DEMO_PEOPLE:
            if role in (None, "coordinator"):
                continue
            session.add(
                Membership(
                    network=network,
                    person=people[email],
                    role=Role(role),
                    level=Level(level),
                    status=MembershipStatus.active,
                    origin=Origin.invited,
                    joined_at=utcnow(),
                )
            )
        agreement = current_agreement(network)
        for email, person in people.items():
            if email != "admin@example.org":
                accept_agreement(person, agreement)
                if email not in DEMO_SHARING_NOT_CHOSEN:  # ticked the box when joining
                    set_consent(person, PROFILE_SHARING, True, actor=person, via="join")
        link_course(
            DEMO_COURSE, network, actor=None, rule=CompletionRule.passed, title="Mentoring migrants (MOOC)"
        )
        provision_graduate(
            DEMO_COURSE,
            {"email": DEMO_GRADUATE, "name": "Grace Graduate", "username": "grace"},
            event_id="demo-graduate-1",
            source="demo",
        )
        by_label = {label: people[email] for label, email, *_rest in DEMO_PEOPLE}
        for seed in module_seeds():
            seed(network, by_label)
        session.commit()
        deliver_due()
    db.dispose(app)
    return [(label, email) for label, email, *_rest in DEMO_PEOPLE] + [("Graduate (invited)", DEMO_GRADUATE)]
