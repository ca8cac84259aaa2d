"""The page cache's scopes (network_service/page_cache.py, "Scopes"): a write of people, memberships, invitations
or notifications that says whom it is for changes only the versions of those people and networks, so values kept
per viewer survive other people's writes, while the viewer still sees their own and the network's at once — in
this process, and (PostgreSQL) from another worker on its own connection."""

from __future__ import annotations

import os
import re
import secrets

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from network_service import migrations, page_cache
from network_service.accounts.models import Person
from network_service.app import create_app
from network_service.courses import operations as courses
from network_service.db import db, make_engine, session
from network_service.embed.views import panel_url
from network_service.networks.models import Membership, MembershipStatus, Network, Origin, Role
from network_service.networks.operations import create_network, create_organisation, invite_person
from network_service.notifications import operations as notifications
from tests.conv_helpers import build_cast
from tests.databases import app_config, drop_schema, reset_schema, with_private_schema
from tests.goals_roles import count_statements
from tests.helpers import COURSE, add_member, share_profile, sign_in_as

HOME = "/networks/test-net"


@pytest.fixture
def cast(run, world, page_cache_on):
    return run(build_cast, world)


def by_email(email: str) -> Person:
    return session.scalar(sa.select(Person).where(Person.email == email))


def net(slug: str = "test-net") -> Network:
    return session.scalar(sa.select(Network).where(Network.slug == slug))


def versions() -> dict[str, int]:
    return dict(session.connection().exec_driver_sql("SELECT name, token FROM cache_version").all())


def page(client, path: str = HOME) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def unread_notifications(html: str) -> int:
    match = re.search(r'Notifications(?: <span aria-hidden="true">\((\d+)\)</span>)?', html)
    assert match, "no notifications link"
    return int(match.group(1) or 0)


def _graduate_in_a_batch(email: str) -> None:
    """As the Celery worker's drain does: Core INSERTs of the person, membership and invitation."""
    identity = {"email": email, "name": "Greta Graduate"}
    courses.record_completion(event_id=f"evt-{email}", source="test", course_key=COURSE, identity=identity)
    assert courses.process_received(limit=5) == 1


def _graduate_one_by_one(email: str) -> None:
    """Through the ORM (invite_person, as an invitation of a graduate one at a time)."""
    invite_person(net(), email, actor=None, display_name="Greta Graduate", origin=Origin.graduate)


@pytest.mark.parametrize("invite", [_graduate_in_a_batch, _graduate_one_by_one], ids=["batch", "orm"])
def test_a_new_graduate_keeps_everyone_s_navigation_and_shows_in_the_member_list_at_once(
    client, run, cast, app, invite
):
    """A new graduate's person, membership and invitation change the network's members and the graduate's own
    scope only: the Meta-Mentor's badges, banner, sections and header count stay kept (no statement of theirs),
    and the invitee shows in the member list at once."""
    # may invite (sees invitees), may not appoint, shares their profile: the member list is the kept one
    run(lambda: share_profile(by_email("meta@example.org")))
    sign_in_as(client, run, "meta@example.org")
    page(client)
    assert "greta@example.org" not in page(client)
    before = run(versions)
    run(lambda: invite("greta@example.org"))
    after = run(versions)
    with count_statements(app) as statements:
        html = page(client)
    assert "greta@example.org" in html  # the network's invitees: at once
    # the viewer's own kept values were used: the badges and banner (one statement), the header count
    assert not any("agreement_acceptance" in s or "rsvp" in s for s in statements), statements
    assert not any("FROM notification" in s for s in statements), statements
    new_id, network_id = run(lambda: (by_email("greta@example.org").id, net().id))
    meta_id = run(lambda: by_email("meta@example.org").id)
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {
        page_cache.STRUCTURE,
        f"structure@m:{network_id}",
        f"structure@p:{new_id}",
    }, changed
    assert after.get(f"structure@p:{meta_id}") == before.get(f"structure@p:{meta_id}")


def test_my_own_new_membership_shows_at_once(client, run, cast):
    """An INSERT of the viewer's own membership (an invitation into another network) is the viewer's scope:
    the embed panel's networks of the person, kept per person, show it at once."""
    url = run(lambda: panel_url(by_email("mentor@example.org"), None))
    assert "Other Network" not in page(client, url)
    assert "Other Network" not in page(client, url)  # kept
    # only the INSERT (invite_person also retires earlier invitations, an UPDATE that changes every scope)
    run(lambda: session.add(Membership(network=net("other-net"), person=by_email("mentor@example.org"))))
    assert "Other Network" in page(client, url)


def test_a_notification_for_someone_else_keeps_my_count_and_theirs_shows_at_once(client, run, cast, app):
    sign_in_as(client, run, "mentor@example.org")
    mine = unread_notifications(page(client))
    page(client)

    def tell(email):
        notifications.notify(
            [by_email(email)], "help.matched", url=HOME, email=False, topic="x", network=net()
        )

    run(lambda: tell("meta@example.org"))
    with count_statements(app) as statements:
        assert unread_notifications(page(client)) == mine
    assert not any("FROM notification" in s for s in statements), statements
    run(lambda: tell("mentor@example.org"))
    assert unread_notifications(page(client)) == mine + 1


def test_a_new_member_of_another_network_keeps_this_network_s_member_list(client, run, cast, app):
    run(lambda: share_profile(by_email("meta@example.org")))  # the member list kept for them too
    sign_in_as(client, run, "meta@example.org")
    page(client)
    page(client)
    run(lambda: add_member(net("other-net"), "olga@example.org", "Olga Other"))
    # add_member also accepts the agreement (an unattributed write): an invitation alone is the new member's
    run(lambda: invite_person(net("other-net"), "otto@example.org", actor=None, display_name="Otto Other"))
    page(client)
    with count_statements(app) as warm:
        page(client)
    run(lambda: invite_person(net("other-net"), "oona@example.org", actor=None, display_name="Oona Other"))
    with count_statements(app) as statements:
        html = page(client)
    assert "oona@example.org" not in html
    assert len(statements) == len(warm), (statements, warm)  # this network's member list was kept


_SECTION_LINK = re.compile(r'<li><a href="/networks/test-net/?([a-z-]*)"')


def test_each_viewer_gets_their_own_navigation(app, run, cast):
    """The navigation is kept per viewer (and, shown alike, shared): the coordinator's sections never reach a
    mentor of the same network in the same language, nor the other way round."""
    coordinator, mentor = app.test_client(), app.test_client()
    sign_in_as(coordinator, run, "coord@example.org")
    sign_in_as(mentor, run, "mentor@example.org")
    for _round in range(2):  # computed, then kept
        led = set(_SECTION_LINK.findall(page(coordinator)))
        mine = set(_SECTION_LINK.findall(page(mentor)))
        assert {"settings", "moderation"} <= led, led
        assert not {"settings", "moderation"} & mine, mine


def test_how_each_kind_of_write_is_attributed(app, database_url):
    """On an engine of its own (no test transaction around it): what each statement notes on its connection,
    and nothing once the transaction is rolled back."""
    from network_service.networks.models import Organisation

    memberships = Membership.__table__
    engine = make_engine(database_url)
    try:
        with Session(engine) as side:
            info = side.connection().info

            def noted():
                return set(info.pop(page_cache._DIRTY_KEY, ()))  # noqa: SLF001 - and forgotten for the next

            person = Person(email=f"side-{secrets.token_hex(3)}@example.org", display_name="Side")
            side.add(person)
            side.flush()  # a new person: only their domain's version (no kept value can have read them)
            assert noted() == {"structure"}
            organisation = Organisation(name=f"Side {secrets.token_hex(3)}")
            network = Network(slug=f"side-{secrets.token_hex(3)}", name="Side", organisation=organisation)
            side.add(network)
            side.flush()
            assert noted() == {"structure", "structure@"}  # a network: not attributed
            mine = {"structure", f"structure@p:{person.id}", f"structure@m:{network.id}"}
            row = {"network_id": network.id, "person_id": person.id, "role": Role.mentor}
            row["status"], row["origin"] = MembershipStatus.invited, Origin.invited
            side.add(Membership(network=network, person=person, role=Role.mentor))
            side.flush()  # the ORM's INSERT
            assert noted() == mine
            side.execute(sa.delete(memberships))
            noted()
            side.execute(sa.insert(memberships), [row])  # Core executemany
            assert noted() == mine
            side.execute(sa.delete(memberships).where(memberships.c.person_id == person.id))
            assert noted() == {"structure", "structure@"}  # a DELETE: not attributed
            side.execute(sa.insert(memberships).values(**row))  # a Core INSERT of one row
            assert noted() == mine
            side.execute(sa.delete(memberships).where(memberships.c.person_id == person.id))
            noted()
            side.execute(sa.insert(memberships).values(**{**row, "status": MembershipStatus.active}))
            assert noted() == {
                *mine,
                f"structure@a:{network.id}",
            }  # an active member: the active members' too
            side.execute(sa.update(memberships).where(sa.false()).values(status=MembershipStatus.active))
            assert noted() == {"structure", "structure@"}  # an UPDATE: not attributed
            side.execute(
                sa.insert(memberships).from_select(  # INSERT ... SELECT: not attributed
                    ["network_id", "person_id", "role", "status", "origin"],
                    sa.select(
                        sa.literal(network.id),
                        sa.literal(person.id),
                        sa.literal("mentor"),
                        sa.literal("invited"),
                        sa.literal("invited"),
                    ).where(sa.false()),
                )
            )
            assert noted() == {"structure", "structure@"}
            side.connection().exec_driver_sql(  # no compiled parameters: not attributed
                "INSERT INTO notification (person_id, kind, url, created_at) "
                "SELECT id, 'x', '/', created_at FROM person WHERE 1 = 0"
            )
            assert noted() == {"notifications", "notifications@"}
            side.execute(sa.delete(memberships).where(memberships.c.person_id == person.id))
            assert info.get(page_cache._DIRTY_KEY)  # noqa: SLF001 - a note, then the rollback
            side.rollback()
            assert page_cache._DIRTY_KEY not in info  # noqa: SLF001 - the connection is back in the pool
    finally:
        engine.dispose()


# -- two workers on PostgreSQL ----------------------------------------------------------------------------------

URL = os.environ.get("MENTORNET_TEST_DATABASE_URL") or ""
needs_postgres = pytest.mark.skipif(
    not URL.startswith("postgresql"), reason="needs a private schema of its own (PostgreSQL)"
)


@pytest.fixture(scope="module")
def two_workers():
    """Two applications on one private schema, as the two gunicorn workers: each with its own engine
    (connections) and its own page cache; every write committed for real."""
    if not URL.startswith("postgresql"):
        pytest.skip("needs a private schema of its own (PostgreSQL)")
    url = with_private_schema(URL, f"mentornet_scopes_{os.getpid()}_{secrets.token_hex(3)}")
    reset_schema(url)
    apps = [create_app(app_config(url, PAGE_CACHE=True)) for _worker in range(2)]
    with apps[0].app_context():
        migrations.upgrade(apps[0])
    yield apps
    for application in apps:
        db.dispose(application)
    drop_schema(url)


def committed(application, function):
    with application.test_request_context():
        result = function()
        db.session.commit()
        return result


@needs_postgres
def test_another_worker_s_writes_are_seen_at_once_and_others_keep_their_values(two_workers):
    one, two = two_workers
    slug = f"n{secrets.token_hex(3)}"

    def build():
        organisation = create_organisation(f"Org {slug}", "DE")
        coordinator = Person(email=f"coord-{slug}@example.org", display_name="Carla")
        session.add(coordinator)
        first = create_network(f"{slug}-a", "A", organisation, coordinator=coordinator)
        second = create_network(f"{slug}-b", "B", organisation, coordinator=coordinator)
        viewer = add_member(first, f"v-{slug}@example.org", "Vera")
        other = add_member(first, f"w-{slug}@example.org", "Willi")
        return first.id, second.id, viewer.id, other.id

    first_id, second_id, viewer_id, other_id = committed(two, build)
    computed: list[str] = []

    def probes() -> tuple:
        """Values kept by worker one: the viewer's memberships, each network's members, the viewer's
        notifications (each computed from the database, and noted when computed)."""

        def memberships():
            computed.append("viewer")
            return session.scalar(sa.select(sa.func.count()).where(Membership.person_id == viewer_id))

        def members(network_id):
            computed.append(f"members {network_id}")
            return session.scalar(sa.select(sa.func.count()).where(Membership.network_id == network_id))

        def notes():
            computed.append("notifications")
            return notifications.unread_count(session.get(Person, viewer_id))

        def active():
            computed.append("active")
            return session.scalar(
                sa.select(sa.func.count()).where(
                    Membership.network_id == second_id, Membership.status == MembershipStatus.active
                )
            )

        return (
            page_cache.cached(
                "t_viewer", viewer_id, page_cache.of_person("structure", viewer_id), memberships
            ),
            *(
                page_cache.cached("t_members", n, page_cache.of_members(n), lambda n=n: members(n))
                for n in (first_id, second_id)
            ),
            page_cache.cached("t_notes", viewer_id, page_cache.of_person("notifications", viewer_id), notes),
            page_cache.cached("t_active", second_id, page_cache.of_active_members(second_id), active),
        )

    def seen():
        computed.clear()
        return committed(one, probes), set(computed)

    assert seen()[1] == {"viewer", f"members {first_id}", f"members {second_id}", "notifications", "active"}
    start = seen()
    assert start[1] == set()  # kept

    # another person's new membership in network B (worker two), invited: B's members only (not its active ones)
    committed(
        two, lambda: invite_person(session.get(Network, second_id), f"g-{slug}@example.org", actor=None)
    )
    values, again = seen()
    assert again == {f"members {second_id}"}
    assert values[2] == start[0][2] + 1

    # a notification for someone else: nothing; for the viewer: their count, at once
    def tell(person_id):
        notifications.notify(
            [session.get(Person, person_id)], "help.matched", url="/", email=False, topic="x"
        )

    committed(two, lambda: tell(other_id))
    assert seen()[1] == set()
    committed(two, lambda: tell(viewer_id))
    values, again = seen()
    assert again == {"notifications"} and values[3] == start[0][3] + 1

    # the viewer's own new membership in network B (the INSERT alone: invite_person also retires earlier
    # invitations, an UPDATE that changes every scope): the viewer's values and B's members, at once
    committed(two, lambda: session.add(Membership(network_id=second_id, person_id=viewer_id)))
    values, again = seen()
    assert again == {"viewer", f"members {second_id}"}
    assert values[0] == start[0][0] + 1

    # a new active member of B: B's members and its active members
    active = MembershipStatus.active
    committed(two, lambda: session.add(Membership(network_id=second_id, person_id=other_id, status=active)))
    values, again = seen()
    assert again == {f"members {second_id}", "active"}
    assert values[4] == start[0][4] + 1

    # a status change (an UPDATE, not attributed): every value of the domain, at once
    def suspend():
        membership = session.scalar(
            sa.select(Membership).where(Membership.person_id == other_id, Membership.network_id == first_id)
        )
        membership.status = MembershipStatus.suspended

    committed(two, suspend)
    assert seen()[1] == {"viewer", f"members {first_id}", f"members {second_id}", "active"}

    # a rolled-back transaction changes nothing
    with two.test_request_context():
        invite_person(session.get(Network, first_id), f"v2-{slug}@example.org", actor=None)
        tell(viewer_id)
        db.session.flush()
        db.session.rollback()
    assert seen()[1] == set()


def test_without_the_unattributed_row_a_scoped_value_is_never_kept(app, ctx, world, page_cache_on):
    """The unattributed versions are rows of a migration: without one (a database the migration did not reach)
    nothing under it is kept, and asking is no error, also when the person's scope is read later."""
    session.connection().exec_driver_sql("DELETE FROM cache_version WHERE name = 'structure@'")
    values = iter(range(100))
    page_cache.cached("t_first", 1, (page_cache.CONVERSATIONS,), lambda: 0)  # the request's versions are read
    domains = page_cache.of_person(page_cache.STRUCTURE, 123_456)  # a scope not read with them
    first = page_cache.cached("t_unattributed", 1, domains, lambda: next(values))
    assert page_cache.cached("t_unattributed", 1, domains, lambda: next(values)) == first + 1
