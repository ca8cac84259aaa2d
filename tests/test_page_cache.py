"""The page cache (network_service.page_cache): shared parts of pages kept per worker, and every write that
changes them seen at once — by the person who made it and by everyone else."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from network_service import page_cache
from network_service.accounts.models import Person
from network_service.accounts.operations import update_profile
from network_service.conversations import operations as conversations
from network_service.conversations.models import Channel
from network_service.db import session, utcnow
from network_service.embed.views import panel_url
from network_service.help import operations as help_operations
from network_service.meetings import operations as meetings
from network_service.networks.models import Network
from network_service.networks.operations import accept_agreement, current_agreement, publish_agreement
from network_service.notifications import operations as notifications
from tests.conv_helpers import build_cast
from tests.goals_roles import count_statements
from tests.helpers import add_member, sign_in_as, without_csrf_tokens

HOME = "/networks/test-net"


@pytest.fixture
def cache_on(page_cache_on):
    """The suite runs without the cache (statement counts stay comparable); these tests turn it on
    (conftest's ``page_cache_on``)."""


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


def by_email(email: str) -> Person:
    return session.scalar(sa.select(Person).where(Person.email == email))


def net() -> Network:
    return session.scalar(sa.select(Network).where(Network.slug == "test-net"))


_NAV = re.compile(
    r'<li><a href="/networks/test-net/?([a-z-]*)"[^>]*>[^<]*<(?:span class="badge badge-count">(\d+))?'
)


def badges(html: str) -> dict[str, int]:
    """Section (the URL's last part) -> its badge count, 0 without a badge."""
    return {section or "overview": int(count or 0) for section, count in _NAV.findall(html)}


def unread_notifications(html: str) -> int:
    match = re.search(r'Notifications(?: <span aria-hidden="true">\((\d+)\)</span>)?', html)
    assert match, "no notifications link"
    return int(match.group(1) or 0)


def page(client, path: str = HOME) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_a_repeated_page_is_served_from_the_cache_with_fewer_statements(client, run, cast, cache_on, app):
    sign_in_as(client, run, "mentor@example.org")
    page(client)  # templates compiled
    with app.app_context():
        page_cache.clear()
    with count_statements(app) as cold:
        first = page(client)
    with count_statements(app) as warm:
        second = page(client)
    assert without_csrf_tokens(second) == without_csrf_tokens(first)
    # The badges and the banner (asked together, one statement), the member list and the header count are kept:
    # person, network and the versions.
    assert len(warm) <= len(cold) - 4, (len(warm), len(cold))
    assert any("cache_version" in statement for statement in warm)
    assert not any("notification" in statement for statement in warm)
    assert not any("agreement_acceptance" in statement or "rsvp" in statement for statement in warm)


def test_the_badges_and_the_banner_are_asked_in_one_statement(client, run, cast, cache_on, app):
    sign_in_as(client, run, "coord@example.org")  # a moderator: every section with a badge is shown
    page(client)
    with app.app_context():
        page_cache.clear()
    with count_statements(app) as cold:
        html = page(client)
    together = [
        s
        for s in cold
        if all(table in s for table in ("agreement_acceptance", "rsvp", "report", "help_request"))
    ]
    assert len(together) == 1, cold
    assert not any("agreement_acceptance" in s or "rsvp" in s for s in cold if s not in together)
    assert set(badges(html)) >= {"conversations", "help", "meetings", "moderation"}


def test_a_post_shows_in_the_conversations_badge_at_once_and_reading_clears_it(client, run, cast, cache_on):
    sign_in_as(client, run, "mentor@example.org")
    before = badges(page(client))["conversations"]

    def post():
        channel = session.scalar(sa.select(Channel).where(Channel.slug == cast.general))
        conversations.post_message(channel, actor=by_email("coord@example.org"), body="Welcome, everyone!")

    run(post)
    assert badges(page(client))["conversations"] == before + 1
    page(client, f"{HOME}/conversations/c/{cast.general}")  # reading moves the mentor's read marker
    assert badges(page(client))["conversations"] == before


def test_reading_a_channel_moves_only_the_read_markers_version(client, run, cast, cache_on):
    """A channel page read after a post moves the reader's marker: an UPDATE of the marker alone changes
    ``read_markers`` (the unread counts follow it), not ``conversations`` (the channel's kept threads stay)."""

    def versions():
        return dict(session.connection().exec_driver_sql("SELECT name, token FROM cache_version").all())

    def post():
        channel = session.scalar(
            sa.select(Channel).where(Channel.slug == cast.general, Channel.network_id == cast.network_id)
        )
        conversations.post_message(channel, actor=by_email("coord@example.org"), body="Read me")

    sign_in_as(client, run, "mentor@example.org")
    channel_page = f"{HOME}/conversations/c/{cast.general}"
    run(post)
    page(client, channel_page)  # the mentor's first read: the marker's row is made (``conversations``)
    run(post)
    before = run(versions)
    unread = badges(page(client))["conversations"]
    assert unread >= 1
    page(client, channel_page)  # moves the marker
    after = run(versions)
    assert after[page_cache.READ_MARKERS] != before[page_cache.READ_MARKERS]
    assert after[page_cache.CONVERSATIONS] == before[page_cache.CONVERSATIONS]
    assert badges(page(client))["conversations"] == unread - 1


def test_a_new_help_request_in_my_language_shows_in_the_help_badge_at_once(client, run, cast, cache_on):
    sign_in_as(client, run, "mentor@example.org")  # speaks Italian and Arabic
    assert badges(page(client))["help"] == 0

    def ask():
        return help_operations.create_request(
            net(), by_email("meta@example.org"), topic="Housing question", languages=["Italian"]
        ).id

    request_id = run(ask)
    assert badges(page(client))["help"] == 1

    def close():
        request = help_operations.get_request(net(), request_id, by_email("meta@example.org"))
        help_operations.resolve(request, by_email("meta@example.org"))

    run(close)
    assert badges(page(client))["help"] == 0


def test_a_new_meeting_counts_until_i_answer_it(client, run, cast, cache_on):
    sign_in_as(client, run, "mentor@example.org")
    assert badges(page(client))["meetings"] == 0

    def plan():
        start = (utcnow() + dt.timedelta(days=3)).replace(second=0, microsecond=0)
        data = meetings.MeetingInput(
            title="Monthly exchange",
            description="",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
            timezone="Europe/Berlin",
            online_url="https://meet.example.org/x",
        )
        return meetings.create_meeting(net(), data, actor=by_email("coord@example.org")).id

    meeting_id = run(plan)
    assert badges(page(client))["meetings"] == 1

    def answer():
        meetings.set_rsvp(
            meetings.get_meeting(net(), meeting_id, by_email("mentor@example.org")),
            by_email("mentor@example.org"),
            "yes",
        )

    run(answer)
    assert badges(page(client))["meetings"] == 0


def test_the_header_count_follows_new_and_read_notifications(client, run, cast, cache_on):
    sign_in_as(client, run, "mentor@example.org")
    before = unread_notifications(page(client))

    def tell():
        return notifications.notify(
            [by_email("mentor@example.org")], "help.matched", url=HOME, email=False, topic="x", network=net()
        )[0].id

    notification_id = run(tell)
    assert unread_notifications(page(client)) == before + 1
    run(lambda: notifications.mark_read(by_email("mentor@example.org"), notification_id))
    assert unread_notifications(page(client)) == before


def test_the_member_list_shows_a_new_member_and_a_changed_name_at_once(client, run, cast, cache_on):
    sign_in_as(client, run, "mentor@example.org")
    assert "Nadia Newcomer" not in page(client)
    run(lambda: add_member(net(), "nadia@example.org", "Nadia Newcomer"))
    assert "Nadia Newcomer" in page(client)
    mentor = "mentor@example.org"
    run(lambda: update_profile(by_email(mentor), by_email(mentor), display_name="Mina Renamed"))
    html = page(client)
    assert "Mina Renamed" in html and "Mina Mentor" not in html


def test_the_agreement_banner_comes_with_a_new_version_and_goes_with_my_acceptance(
    client, run, cast, cache_on
):
    sign_in_as(client, run, "mentor@example.org")
    assert "agreement-banner" not in page(client)
    run(lambda: publish_agreement(net(), "Rules 2", "Be kind, twice.", actor=by_email("coord@example.org")))
    assert "agreement-banner" in page(client)
    run(lambda: accept_agreement(by_email("mentor@example.org"), current_agreement(net())))
    assert "agreement-banner" not in page(client)


def test_the_embed_panel_counts_follow_posts(client, run, cast, cache_on):
    url = run(lambda: panel_url(by_email("mentor@example.org"), None))
    count = re.compile(r"(\d+) conversations? with new messages")
    before = int(count.search(page(client, url)).group(1))

    def post():
        channel = session.scalar(sa.select(Channel).where(Channel.slug == cast.general))
        conversations.post_message(channel, actor=by_email("coord@example.org"), body="News for all")

    run(post)
    assert int(count.search(page(client, url)).group(1)) == before + 1


def test_a_transaction_sees_its_own_writes_and_a_rollback_changes_no_version(app, ctx, cast, cache_on):
    values = iter(range(100))

    def read():
        return page_cache.cached("test", 1, (page_cache.CONVERSATIONS,), lambda: next(values))

    first = read()
    assert read() == first  # kept
    versions = dict(session.connection().exec_driver_sql("SELECT name, token FROM cache_version").all())
    session.execute(sa.update(Channel).values(description="changed"))  # not committed
    assert read() != first  # this transaction wrote the domain: computed again
    session.rollback()
    assert page_cache.pending_domains(session) == set()
    session.execute(sa.select(1))
    assert (
        dict(session.connection().exec_driver_sql("SELECT name, token FROM cache_version").all()) == versions
    )


def test_kept_values_follow_versions_validity_and_clear(app, ctx, cast, cache_on):
    """page_cache.kept (large values in a store of their own, the help matching's inputs): kept while the
    versions stay and ``valid`` says yes, computed again otherwise, forgotten by clear(), never kept when off."""
    values = iter(range(100))
    good = {"ok": True}

    def read():
        return page_cache.kept(
            "test_kept", 1, (page_cache.HELP,), lambda: next(values), valid=lambda _value: good["ok"]
        )

    first = read()
    assert read() == first
    good["ok"] = False
    second = read()
    assert second != first  # no longer valid: computed again
    good["ok"] = True
    assert read() == second
    page_cache.clear()
    third = read()
    assert third != second
    session.execute(sa.update(Channel).values(description="changed"))  # another domain: still kept
    assert read() == third
    app.config["PAGE_CACHE"] = False
    assert read() != read()  # off: computed every time


def test_a_kept_value_is_computed_once_while_other_threads_wait(app, monkeypatch):
    """page_cache.kept: threads asking for the same missing key and versions wait for the one computing it."""
    import threading
    import time

    monkeypatch.setattr(page_cache, "current_stamp", lambda domains: (1,))
    computed = []
    results = []

    def compute():
        computed.append(1)
        time.sleep(0.2)
        return len(computed)

    def ask():
        with app.app_context():
            results.append(page_cache.kept("test_single_flight", 1, ("x",), compute))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert computed == [1]
    assert results == [1, 1, 1, 1]
    with app.app_context():
        page_cache.clear()


def test_a_commit_changes_only_the_versions_of_what_it_wrote(app, run, cast, cache_on):
    def versions():
        return dict(session.connection().exec_driver_sql("SELECT name, token FROM cache_version").all())

    before = run(versions)

    def post():
        channel = session.scalar(sa.select(Channel).where(Channel.slug == cast.general))
        conversations.post_message(channel, actor=by_email("coord@example.org"), body="Hello")

    run(post)
    after = run(versions)
    assert after[page_cache.CONVERSATIONS] != before[page_cache.CONVERSATIONS]
    assert after[page_cache.STRUCTURE] == before[page_cache.STRUCTURE]
    assert after[page_cache.HELP] == before[page_cache.HELP]
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed - {page_cache.READ_MARKERS} == {page_cache.CONVERSATIONS}  # and the author's own marker


def test_every_table_is_either_listed_or_invalidates_everything():
    from network_service.db import Base

    for table in Base.metadata.tables:
        domains = page_cache.domains_of(table)
        assert set(domains) <= set(page_cache.DOMAINS)
    assert page_cache.domains_of("a_table_added_later") == page_cache.DOMAINS
    assert page_cache.domains_of("audit_log") == ()


def test_a_membership_read_with_the_person_is_not_trusted_after_a_write(app, ctx, world):
    """active_membership answers from the memberships loaded with the person (no statement) only while the
    transaction has written nothing: a change made with a statement, even around the session, counts at once."""
    from flask import g

    from network_service.db import _SESSION_KEY
    from network_service.networks import permissions
    from network_service.networks.models import Membership, MembershipStatus

    session.commit()
    g.pop(_SESSION_KEY).close()  # a fresh session, as every request has

    def fresh_mentor() -> Person:
        session.expunge_all()
        session.info.pop(permissions._CACHE_KEY, None)  # noqa: SLF001 - as after a flush
        mentor = by_email("mentor@example.org")
        assert mentor.id in session.info[permissions._LOADED_KEY]  # noqa: SLF001 - the fast path is open
        return mentor

    mentor = fresh_mentor()
    assert permissions.is_member(mentor, net())
    session.execute(
        sa.update(Membership)
        .where(Membership.person_id == mentor.id)
        .values(status=MembershipStatus.suspended)
    )
    assert not permissions.is_member(mentor, net())
    session.rollback()
    mentor = fresh_mentor()
    session.connection().execute(  # around the ORM session's events
        sa.update(Membership.__table__)
        .where(Membership.__table__.c.person_id == mentor.id)
        .values(status=MembershipStatus.left.name)
    )
    assert not permissions.is_member(mentor, net())


def test_memberships_read_with_the_person_survive_a_flush_of_other_domains_only(app, ctx, world):
    """A flush that writes no structure table (a notification here; a read marker, a message, a help request
    alike) leaves the memberships loaded with the person trusted: no statement. A flush of a membership does
    not, and the answer follows it."""
    from flask import g

    from network_service.db import _SESSION_KEY
    from network_service.networks import permissions
    from network_service.networks.models import MembershipStatus
    from network_service.notifications.models import Notification

    session.commit()
    g.pop(_SESSION_KEY).close()  # a fresh session, as every request has
    session.expunge_all()
    mentor = by_email("mentor@example.org")
    network = net()
    assert permissions.is_member(mentor, network)
    session.add(Notification(person_id=mentor.id, kind="test", url="/"))
    session.flush()
    assert mentor.id in session.info[permissions._LOADED_KEY]  # noqa: SLF001 - the fast path stays open
    statements = []

    def note(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        assert permissions.is_member(mentor, network)
        assert permissions.active_membership(mentor, network) is not None
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    assert statements == []

    membership = permissions.active_membership(mentor, network)
    membership.status = MembershipStatus.suspended
    session.flush()
    assert mentor.id not in session.info.get(permissions._LOADED_KEY, ())  # noqa: SLF001
    assert not permissions.is_member(mentor, network)
    session.rollback()


def test_noting_the_last_sign_in_invalidates_nothing_but_a_name_change_does(app, ctx, world, cache_on):
    mentor = by_email("mentor@example.org")
    session.commit()
    session.execute(sa.update(Person).where(Person.id == mentor.id).values(last_sign_in_at=utcnow()))
    assert page_cache.pending_domains(session) == set()
    session.execute(sa.update(Person).where(Person.id == mentor.id).values(last_sign_in_at=utcnow(), bio="x"))
    assert page_cache.pending_domains(session) == {page_cache.STRUCTURE}


def test_the_kept_site_header_carries_each_session_its_own_csrf_token(app, run, world, cache_on):
    """The header is kept for everyone with the same language and unread count; the sign-out form's token is
    put in per session, and signing out with it works."""
    tokens = []
    for email in ("mentor@example.org", "meta@example.org"):
        client = app.test_client()
        sign_in_as(client, run, email)
        html = page(client)
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        tokens.append(token)
        assert client.post("/sign-out", data={"csrf_token": token}).status_code in (302, 303)
        assert client.get(HOME).status_code == 302  # signed out
    assert tokens[0] != tokens[1]


def test_after_a_failed_flush_the_cache_steps_aside(app, ctx, world, cache_on):
    """An error page rendered after a failed transaction draws its header without the cache's statements."""
    from sqlalchemy.exc import IntegrityError

    from network_service.networks.models import Membership

    existing = session.scalar(sa.select(Membership))
    session.add(Membership(network_id=existing.network_id, person_id=existing.person_id))  # a duplicate
    with pytest.raises(IntegrityError):
        session.flush()
    assert page_cache.cached("test", 1, (page_cache.STRUCTURE,), lambda: 5) == 5


def test_wtforms_messages_are_read_once_per_language(app, monkeypatch):
    """Flask-WTF would read and parse WTForms' catalogue in every request that builds a form."""
    from babel import support

    from network_service import i18n

    i18n._wtforms_catalog.cache_clear()  # noqa: SLF001
    loads = []
    original = support.Translations.load
    monkeypatch.setattr(
        support.Translations,
        "load",
        classmethod(lambda cls, *a, **k: loads.append((a, k)) or original(*a, **k)),
    )
    client = app.test_client()
    for _ in range(3):
        for language in ("en", "de"):
            client.get("/sign-in", headers={"Accept-Language": language})
    wtforms = [call for call in loads if "wtforms" in str(call)]
    assert 1 <= len(wtforms) <= 2


def test_writes_are_noted_for_every_kind_of_statement_and_forgotten_with_a_rolled_back_transaction(
    app, database_url
):
    """On an engine of its own (no test transaction around it): the note lives on the pooled connection from the
    write to the commit, and a rolled-back transaction's note goes when the connection goes back to the pool."""
    from sqlalchemy.orm import Session

    from network_service.db import make_engine

    engine = make_engine(database_url)
    channels = Channel.__table__
    try:
        with Session(engine) as side:
            side.execute(sa.update(channels).where(sa.false()).values(description="x"))  # do_execute
            assert page_cache.pending_domains(side) == {page_cache.CONVERSATIONS}
            side.connection().exec_driver_sql("DELETE FROM help_request WHERE 1 = 0")  # do_execute_no_params
            side.execute(
                sa.delete(Person.__table__).where(Person.__table__.c.id == sa.bindparam("id")),
                [{"id": -1}, {"id": -2}],
            )  # do_executemany
            # a write after a WITH (both databases), and a lock that is no write
            side.connection().exec_driver_sql(
                "WITH ids AS (SELECT -1 AS id) UPDATE meeting SET title = title WHERE id IN (SELECT id FROM ids)"
            )
            assert page_cache.MEETINGS in page_cache.pending_domains(side)
            assert page_cache.pending_domains(side) == {
                page_cache.CONVERSATIONS,
                page_cache.HELP,
                page_cache.STRUCTURE,
                page_cache.MEETINGS,
            }
            info = side.connection().info
            side.rollback()
            assert page_cache._DIRTY_KEY not in info  # noqa: SLF001 - the connection is back in the pool
            side.execute(sa.select(1))
            assert page_cache.pending_domains(side) == set()
    finally:
        engine.dispose()


def test_a_value_of_older_versions_is_replaced_not_kept_beside_the_new_one(app, run, cast, cache_on):
    """With the versions in the key, every write left a dead entry behind (a worker's memory grew under load)."""
    with app.test_request_context():
        page_cache.clear()
        store = page_cache._store()
        calls = []

        def compute():
            calls.append(1)
            return f"value {len(calls)}"

        assert page_cache.cached("thing", 1, (page_cache.HELP,), compute) == "value 1"
        assert page_cache.cached("thing", 1, (page_cache.HELP,), compute) == "value 1"
        assert len(store) == 1 and len(calls) == 1
    with app.app_context():
        session.execute(sa.update(page_cache.CacheVersion).where(page_cache.CacheVersion.name == page_cache.HELP)
                        .values(token=page_cache.CacheVersion.token + 1))  # fmt: skip
        session.commit()
    with app.test_request_context():
        assert page_cache.cached("thing", 1, (page_cache.HELP,), compute) == "value 2"  # the new version
        assert len(store) == 1 and len(calls) == 2


def test_the_store_keeps_to_its_byte_budget_dropping_the_least_recently_used():
    store = page_cache._Store(max_entries=100, max_bytes=3 * (page_cache.size_of(("n", 0)) + 1200))
    for number in range(3):
        store.put(("n", number), (1,), "x" * 900)
    assert store.get(("n", 0), (1,), 60) == "x" * 900  # now the most recently used
    store.put(("n", 3), (1,), "x" * 900)
    assert len(store) == 3 and store.bytes <= store.max_bytes
    assert store.get(("n", 1), (1,), 60) is page_cache._MISSING  # the least recently used went
    assert store.get(("n", 0), (1,), 60) == "x" * 900
    assert store.get(("n", 0), (2,), 60) is page_cache._MISSING  # other versions: not this value
    store.put(("n", 0), (2,), "y")
    assert len(store) == 3 and store.get(("n", 0), (2,), 60) == "y"


def test_a_new_colleague_s_name_is_no_longer_flagged_in_help_requests_at_once(run, cast, cache_on):
    """The privacy scan's colleague names are kept; a new member (a structure write) must count at once."""

    def ask():
        help_operations.create_request(
            net(), by_email("meta@example.org"), topic="Housing", body="Frau Kowalski knows the office."
        )

    with pytest.raises(help_operations.PersonalDataFound):
        run(ask)
    with pytest.raises(help_operations.PersonalDataFound):
        run(ask)  # the names were kept: still a stranger

    def join():
        add_member(net(), "kowalski@example.org", "Anna Kowalski")
        session.commit()

    run(join)
    run(ask)  # a colleague now: no finding


def test_a_with_statement_counts_the_tables_it_writes_not_those_it_locks():
    found = page_cache._WRITE_IN_WITH.findall  # noqa: SLF001
    assert found(
        "WITH n AS (INSERT INTO help_request (topic) VALUES ('x') RETURNING id) SELECT id FROM n"
    ) == ["help_request"]
    assert found("WITH n AS (SELECT id FROM message FOR UPDATE SKIP LOCKED) SELECT * FROM n") == []
    assert found("WITH d AS (DELETE FROM rsvp WHERE id = 1 RETURNING id) UPDATE meeting SET x = 1") == [
        "rsvp",
        "meeting",
    ]
