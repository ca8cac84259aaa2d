"""The demo database builds from scratch with every module's part, and shows a lively network."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from network_service.demo import DEMO_MODULES, build_demo, demo_config


def test_the_demo_builds_a_lively_network(tmp_path):
    config = demo_config("127.0.0.1", 5999, tmp_path)
    people = build_demo(config)
    assert ("Coordinator", "coordinator@example.org") in people

    engine = sa.create_engine(config["DATABASE_URL"])
    try:
        with engine.connect() as connection:

            def count(table: str, where: str = "1=1") -> int:
                return connection.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one()  # noqa: S608

            assert count("membership", "status = 'active'") >= 5
            assert count("agreement") >= 2  # a revised agreement, most members accepted it again
            assert count("meeting") >= 3
            assert count("rsvp") >= 2
            assert count("notification") >= 1
            assert count("channel") >= 2 and count("message") >= 5
            assert count("help_request") >= 3 and count("help_response") >= 1
            # what a visitor sees now: an open help request, a meeting still to come, threads with replies
            assert count("help_request", "status = 'open'") >= 1
            assert (
                connection.execute(
                    sa.text("SELECT count(*) FROM meeting WHERE starts_at > :now AND cancelled_at IS NULL"),
                    {"now": dt.datetime.now(dt.UTC).replace(tzinfo=None)},
                ).scalar_one()
                >= 1
            )
            assert count("message", "parent_id IS NOT NULL") >= 1
            assert count("goal") >= 2 and count("resource") >= 3
            assert count("directory_entry") >= 30
            assert count("network_application", "status = 'pending'") >= 1  # growth: someone applied
            assert count("network_partner", "status = 'accepted'") >= 1
            # most members said yes to sharing their profile when they joined; one has not chosen yet
            sharing = "purpose = 'profile_sharing' AND given AND via = 'join'"
            assert count("consent_record", sharing) >= 4
            assert (
                count(
                    "consent_record", "person_id = (SELECT id FROM person WHERE email = 'jonas@example.org')"
                )
                == 0
            )
            assert (
                count("outbound_email", "status = 'sent'") >= 1
            )  # the graduate's invitation, in the mailbox
    finally:
        engine.dispose()
    assert len(DEMO_MODULES) == len(set(DEMO_MODULES))
