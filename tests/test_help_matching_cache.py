"""The inputs of the help matching kept per process (help.matching.kept_inputs, under the page cache's versions):
every change to what a ranking reads shows in the next ranking, exactly as without them; sign-ins (which change
no version) and the clock (answers and notifications leaving their windows) too.

The other tests run inside one outer transaction that has written (where nothing kept is used), so this module
works in a private schema of its own, committing like requests do (PostgreSQL: the suite's SQLite database is
one shared file)."""

from __future__ import annotations

import datetime as dt
import os
import secrets

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from network_service import migrations
from network_service.accounts.models import Person
from network_service.app import create_app
from network_service.db import db, session, utcnow
from network_service.help import matching
from network_service.help import operations as ops
from network_service.help.models import HelpRequest
from network_service.networks.models import Level, Membership, MembershipStatus, Network, Role
from network_service.networks.operations import create_network, create_organisation
from network_service.privacy.operations import PROFILE_SHARING, set_consent
from tests.databases import app_config, drop_schema, reset_schema, with_private_schema
from tests.helpers import add_member, share_profile

URL = os.environ.get("MENTORNET_TEST_DATABASE_URL") or ""
pytestmark = pytest.mark.skipif(
    not URL.startswith("postgresql"), reason="needs a private schema of its own (PostgreSQL)"
)


@pytest.fixture(scope="module")
def own_app():
    url = with_private_schema(URL, f"mentornet_mcache_{os.getpid()}_{secrets.token_hex(3)}")
    reset_schema(url)
    application = create_app(app_config(url, HELP_NOTIFY_COUNT=0, PAGE_CACHE=True))
    with application.app_context():
        migrations.upgrade(application)
    yield application
    db.dispose(application)
    drop_schema(url)


@pytest.fixture
def world(own_app):
    with own_app.app_context():
        matching.forget_inputs()
    slug = f"net-{secrets.token_hex(3)}"

    def build():
        organisation = create_organisation(f"Org {slug}", "DE")
        coordinator = Person(email=f"coord-{slug}@example.org", display_name="Carla")
        session.add(coordinator)
        network = create_network(slug, f"Network {slug}", organisation, coordinator=coordinator)
        for n in range(8):
            person = add_member(network, f"m{n}-{slug}@example.org", f"Member {n}", Role.mentor, Level.novice)
            person.languages = ["Arabic"] if n < 4 else ["German"]
            person.region = "Berlin" if n % 2 else "Hamburg"
            if n in (1, 3):  # 40 + 12 + 15 + 5 points: above what anyone without Arabic can reach (65)
                person.expertise = ["school"]
                person.last_sign_in_at = utcnow()
            if n == 7:  # without Arabic, 24 + 15 + 5: above the weaker speakers (40)
                person.expertise = ["school", "enrolment"]
                person.last_sign_in_at = utcnow()
            share_profile(person)  # said yes when joining: matched on their profile
        session.flush()
        request = ops.create_request(
            network,
            coordinator,
            topic="School enrolment",
            languages=["Arabic"],
            region="Berlin",
            tags=["school"],
        )
        return network.id, request.id

    network_id, request_id = run(own_app, build)
    return own_app, network_id, request_id, slug


def run(app, function):
    with app.test_request_context():
        result = function()
        db.session.commit()
        return result


def ranking(app, request_id, *, cached=True, now=None, limit=50):
    """(person id, score, reasons) of every candidate, best first, and the statements run."""
    statements = []

    def listener(*_args):
        statements.append(1)

    def rank():
        request = session.get(HelpRequest, request_id)
        request.responses  # noqa: B018 - loaded before counting, as the request page has them
        engine = db.engine
        event.listen(engine, "before_cursor_execute", listener)
        try:
            return [(s.person_id, s.score, s.reasons) for s in matching.rank(request, limit=limit)]
        finally:
            event.remove(engine, "before_cursor_execute", listener)

    if now is not None:
        original_now, matching.utcnow = matching.utcnow, lambda: now
    app.config["PAGE_CACHE"] = cached
    try:
        result = run(app, rank)
    finally:
        app.config["PAGE_CACHE"] = True
        if now is not None:
            matching.utcnow = original_now
    return result, len(statements)


def same_as_without_cache(app, request_id, now=None):
    cached, _count = ranking(app, request_id, now=now)
    assert cached == ranking(app, request_id, cached=False, now=now)[0]
    return cached


def person_named(slug, n):
    return session.scalar(sa.select(Person).where(Person.email == f"m{n}-{slug}@example.org"))


def test_the_members_are_read_once_then_kept(world):
    app, _network_id, request_id, _slug = world
    first, loaded = ranking(app, request_id)
    again, kept = ranking(app, request_id)
    assert first == again
    assert loaded == 5  # the page cache's versions, the members and the three counts
    assert kept == 2  # the versions and the sign-ins since the members were read
    for limit in (
        1,
        2,
        3,
        5,
    ):  # the speakers first (enough of them score above any other member), or everyone
        assert (
            ranking(app, request_id, limit=limit)[0] == ranking(app, request_id, cached=False, limit=limit)[0]
        )


def test_a_profile_edit_shows_in_the_next_ranking(world):
    app, _network_id, request_id, slug = world
    before = same_as_without_cache(app, request_id)
    speaker = run(app, lambda: person_named(slug, 6).id)
    assert "language" not in {r["code"] for pid, _s, reasons in before if pid == speaker for r in reasons}

    def learn_arabic():
        person_named(slug, 6).languages = ["German", "Arabic"]

    run(app, learn_arabic)
    after = same_as_without_cache(app, request_id)
    assert "language" in {r["code"] for pid, _s, reasons in after if pid == speaker for r in reasons}


def test_a_suspended_or_new_member_shows_in_the_next_ranking(world):
    app, network_id, request_id, slug = world
    same_as_without_cache(app, request_id)
    gone = run(app, lambda: person_named(slug, 1).id)

    def suspend():
        membership = session.scalar(
            sa.select(Membership).where(Membership.person_id == gone, Membership.network_id == network_id)
        )
        membership.status = MembershipStatus.suspended

    run(app, suspend)
    assert gone not in {pid for pid, _s, _r in same_as_without_cache(app, request_id)}

    newcomer = run(
        app, lambda: add_member(session.get(Network, network_id), f"new-{slug}@example.org", "New One").id
    )
    assert newcomer in {pid for pid, _s, _r in same_as_without_cache(app, request_id)}


def test_a_withdrawn_consent_hides_the_profile_at_once(world):
    app, _network_id, request_id, slug = world
    speaker = run(app, lambda: person_named(slug, 1).id)
    before = same_as_without_cache(app, request_id)
    assert "language" in {r["code"] for pid, _s, reasons in before if pid == speaker for r in reasons}

    def withdraw():
        person = person_named(slug, 1)
        set_consent(person, PROFILE_SHARING, False, actor=person)

    run(app, withdraw)
    after = same_as_without_cache(app, request_id)
    assert not {r["code"] for pid, _s, reasons in after if pid == speaker for r in reasons} & {
        "language",
        "region",
    }


def test_a_sign_in_shows_in_the_next_ranking_and_leaves_with_the_clock(world):
    """A sign-in writes only the time (no version changes): the ranking reads the sign-ins since the kept rows
    were read, and 30 days later the sign-in no longer counts."""
    app, _network_id, request_id, slug = world
    who = run(app, lambda: person_named(slug, 5).id)

    def signed_in(now=None):
        result = same_as_without_cache(app, request_id, now=now)
        return "signed_in" in {r["code"] for pid, _s, reasons in result if pid == who for r in reasons}

    assert not signed_in()  # the rows are kept now
    versions = run(app, lambda: dict(session.execute(sa.text("SELECT name, token FROM cache_version")).all()))

    def sign_in():
        person_named(slug, 5).last_sign_in_at = utcnow()

    run(app, sign_in)
    assert run(
        app, lambda: dict(session.execute(sa.text("SELECT name, token FROM cache_version")).all())
    ) == (versions)
    assert signed_in()
    assert signed_in(now=utcnow() + dt.timedelta(days=29))
    assert not signed_in(now=utcnow() + dt.timedelta(days=31))


def test_answers_and_notifications_leave_their_windows_with_the_clock(world):
    """The kept counts know the oldest answer and notification they counted: once the clock moves it out of
    the 30- or 14-day window, they are counted again."""
    from network_service.help.models import HelpResponse, HelpStatus, HelpSuggestion

    app, network_id, request_id, slug = world
    helper = run(app, lambda: person_named(slug, 7).id)

    def history():
        other = ops.create_request(
            session.get(Network, network_id),
            person_named(slug, 0),
            topic="Housing",
            languages=["German"],
        )
        other.status = HelpStatus.resolved  # not open: no load, only the windows
        answer = HelpResponse(request=other, author_id=helper, body="Done.")
        answer.created_at = utcnow() - dt.timedelta(days=29)
        session.add(answer)
        session.add(
            HelpSuggestion(
                request=other,
                person_id=helper,
                score=1.0,
                reasons=[],
                notified_at=utcnow() - dt.timedelta(days=13, hours=23),
            )
        )

    run(app, history)

    def codes(now=None):
        result = same_as_without_cache(app, request_id, now=now)
        return {r["code"] for pid, _s, reasons in result if pid == helper for r in reasons}

    assert {"responses", "notified"} <= codes()  # counted, and kept
    assert ranking(app, request_id)[1] == 2  # kept
    later = codes(now=utcnow() + dt.timedelta(hours=2))  # the notification is 14 days old now
    assert "responses" in later and "notified" not in later
    assert not {"responses", "notified"} & codes(now=utcnow() + dt.timedelta(days=1, hours=1))


def test_a_transaction_that_wrote_reads_its_own_changes(world):
    app, _network_id, request_id, slug = world
    same_as_without_cache(app, request_id)
    speaker = run(app, lambda: person_named(slug, 6).id)

    def change_then_rank():
        person_named(slug, 6).languages = ["Arabic"]
        session.flush()
        ranked = matching.rank(session.get(HelpRequest, request_id), limit=50)
        session.rollback()
        return [s for s in ranked if s.person_id == speaker][0].reasons

    assert "language" in {r["code"] for r in run(app, change_then_rank)}
    # rolled back: the kept rows are still right
    after = same_as_without_cache(app, request_id)
    assert "language" not in {r["code"] for pid, _s, reasons in after if pid == speaker for r in reasons}


def test_a_new_request_is_ranked_with_the_kept_members(world, monkeypatch):
    """create_request asks for the kept inputs before it writes the request (a transaction that has written
    cannot use them) and notifies exactly whom a ranking without them puts first."""
    from network_service.help.models import HelpSuggestion

    app, network_id, request_id, _slug = world
    same_as_without_cache(app, request_id)  # the members are kept now
    loads = []
    original = matching._read_members
    monkeypatch.setattr(matching, "_read_members", lambda *a, **k: loads.append(1) or original(*a, **k))
    monkeypatch.setitem(app.config, "HELP_NOTIFY_COUNT", 3)

    def create():
        network = session.get(Network, network_id)
        author = session.scalar(sa.select(Person).where(Person.email == f"coord-{_slug}@example.org"))
        return ops.create_request(
            network, author, topic="Enrolment at school", languages=["Arabic"], region="Berlin"
        ).id

    new_id = run(app, create)
    assert loads == []  # the members were not read again
    monkeypatch.setattr(matching, "_read_members", original)
    notified = run(
        app,
        lambda: [
            (s.person_id, s.score)
            for s in session.scalars(
                sa.select(HelpSuggestion)
                .where(HelpSuggestion.request_id == new_id)
                .order_by(HelpSuggestion.score.desc())
            )
        ],
    )

    def as_before_the_notifications():  # they count in the ranking now: ranked without them (this transaction
        # wrote, so nothing kept is used), then rolled back
        session.execute(sa.delete(HelpSuggestion).where(HelpSuggestion.request_id == new_id))
        ranked = [(s.person_id, s.score) for s in matching.rank(session.get(HelpRequest, new_id), limit=3)]
        session.rollback()
        return ranked

    assert len(notified) == 3
    assert notified == run(app, as_before_the_notifications)
