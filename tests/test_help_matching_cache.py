"""The members kept per process for the matching (PostgreSQL only, help.matching.cached_members): every change
to what a ranking reads shows in the next ranking, exactly as without the cache.

The other tests run inside one outer transaction that has written (where the cache is never used), so this
module works in a private schema of its own, committing like requests do."""

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
    not URL.startswith("postgresql"), reason="the members are kept per process only on PostgreSQL"
)


@pytest.fixture(scope="module")
def own_app():
    url = with_private_schema(URL, f"mentornet_mcache_{os.getpid()}_{secrets.token_hex(3)}")
    reset_schema(url)
    application = create_app(app_config(url, HELP_NOTIFY_COUNT=0))
    with application.app_context():
        migrations.upgrade(application)
    yield application
    db.dispose(application)
    drop_schema(url)


@pytest.fixture
def world(own_app):
    matching.forget_members()
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
        if not cached:
            original, matching.cached_members = matching.cached_members, lambda network_id: None
        engine = db.engine
        event.listen(engine, "before_cursor_execute", listener)
        try:
            return [(s.person_id, s.score, s.reasons) for s in matching.rank(request, limit=limit)]
        finally:
            event.remove(engine, "before_cursor_execute", listener)
            if not cached:
                matching.cached_members = original

    if now is not None:
        original_now, matching.utcnow = matching.utcnow, lambda: now
    try:
        result = run(app, rank)
    finally:
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
    assert kept == loaded - 2  # neither the members nor the second fingerprint
    assert kept == 4  # the fingerprint and the three aggregates
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


def test_recent_sign_ins_follow_the_clock_and_the_data(world):
    app, _network_id, request_id, slug = world
    who = run(app, lambda: person_named(slug, 5).id)

    def signed_in_days_ago(days):
        def change():
            person_named(slug, 5).last_sign_in_at = utcnow() - dt.timedelta(days=days)

        run(app, change)

    def signed_in(now=None):
        result = same_as_without_cache(app, request_id, now=now)
        return "signed_in" in {r["code"] for pid, _s, reasons in result if pid == who for r in reasons}

    assert not signed_in()
    signed_in_days_ago(29)
    assert signed_in()
    # the same kept rows, two days later: the sign-in is no longer recent
    assert not signed_in(now=utcnow() + dt.timedelta(days=2))


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
    """create_request asks for the kept members before it writes the request (a transaction that has written
    cannot use them) and notifies exactly whom a ranking without the cache puts first."""
    from network_service.help.models import HelpSuggestion

    app, network_id, request_id, _slug = world
    same_as_without_cache(app, request_id)  # the members are kept now
    loads = []
    original = matching._candidates
    monkeypatch.setattr(matching, "_candidates", lambda *a, **k: loads.append(1) or original(*a, **k))
    monkeypatch.setitem(app.config, "HELP_NOTIFY_COUNT", 3)

    def create():
        network = session.get(Network, network_id)
        author = session.scalar(sa.select(Person).where(Person.email == f"coord-{_slug}@example.org"))
        return ops.create_request(
            network, author, topic="Enrolment at school", languages=["Arabic"], region="Berlin"
        ).id

    new_id = run(app, create)
    assert loads == []  # the members were not read again
    monkeypatch.setattr(matching, "_candidates", original)
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
    expected = ranking(app, new_id, cached=False, limit=3)[0]
    assert len(notified) == 3
    assert notified == [(pid, score) for pid, score, _reasons in expected]
