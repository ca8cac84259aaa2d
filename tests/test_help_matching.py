"""Matching: who hears about a help request, and why."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from network_service.accounts.models import Person
from network_service.db import db, session, utcnow
from network_service.help import matching
from network_service.help import operations as ops
from network_service.help.models import HelpRequest, HelpSuggestion, Urgency
from network_service.networks.models import Level, Membership, MembershipStatus, Network, Origin, Role
from network_service.networks.operations import accept_agreement, current_agreement
from tests.helpers import share_profile


@pytest.fixture(autouse=True)
def _notify_count_restored(app):
    """Tests here set HELP_NOTIFY_COUNT on the suite's one app: put it back, or later files notify nobody."""
    before = app.config["HELP_NOTIFY_COUNT"]
    yield
    app.config["HELP_NOTIFY_COUNT"] = before


@pytest.fixture
def net(world, ctx):
    return session.get(Network, world.network_id)


def member(
    network, n, *, languages=(), expertise=(), region="", level=Level.novice, role=Role.mentor, share=True
):
    """An active member; ``share``: they said yes to sharing their profile (matching may use it)."""
    person = Person(
        email=f"m{n}@example.org",
        display_name=f"Member {n}",
        languages=list(languages),
        expertise=list(expertise),
        region=region,
    )
    session.add(person)
    session.add(
        Membership(
            network=network, person=person, role=role, level=level, status=MembershipStatus.active,
            origin=Origin.invited, joined_at=utcnow(),
        )
    )  # fmt: skip
    session.flush()
    accept_agreement(person, current_agreement(network))  # members who may post
    if share:
        share_profile(person)
    return person


def ask(network, author, **fields):
    fields.setdefault("topic", "Need someone for an appointment")
    return ops.create_request(network, author, **fields)


def ranked_ids(request):
    return [s.person_id for s in matching.rank(request)]


def test_language_beats_region_and_expertise(net, world, app):
    app.config["HELP_NOTIFY_COUNT"] = 0
    speaker = member(net, 1, languages=["Arabic"], region="Potsdam")
    local = member(net, 2, languages=["German"], region="Berlin", expertise=["housing"])
    session.flush()
    author = session.get(Person, world.coordinator_id)
    request = ask(net, author, languages=["arabic"], region="Berlin", tags=["housing"])
    order = ranked_ids(request)
    assert order.index(speaker.id) < order.index(local.id)
    assert author.id not in order  # never the author


def test_reasons_explain_each_component(net, world, app):
    app.config["HELP_NOTIFY_COUNT"] = 0
    helper = member(
        net,
        1,
        languages=["Arabic", "German"],
        expertise=["Housing"],
        region="Berlin",
        level=Level.experienced,
    )
    helper.last_sign_in_at = utcnow()
    session.flush()
    request = ask(
        net, session.get(Person, world.coordinator_id), topic="Flat search: housing office",
        languages=["Arabic", "German"], region="berlin", urgency=Urgency.urgent,
    )  # fmt: skip
    [best] = [s for s in matching.rank(request) if s.person_id == helper.id]
    reasons = {r["code"]: r for r in best.reasons}
    assert reasons["language"]["value"] == ["Arabic", "German"]
    assert reasons["language"]["points"] == matching.LANGUAGE + matching.LANGUAGE_EXTRA
    assert reasons["expertise"]["value"] == ["Housing"]
    assert reasons["region"]["points"] == matching.REGION
    assert reasons["experienced"]["points"] == matching.EXPERIENCED_PRESSING
    assert "signed_in" in reasons
    assert int(best.score) == sum(r["points"] for r in best.reasons)
    with app.test_request_context():
        assert ops.describe_reason(reasons["language"]) == "speaks Arabic, German"


def test_reasons_with_a_count_are_plural_only_when_more_than_one(app):
    from flask_babel import force_locale

    with app.test_request_context():
        assert ops.describe_reason({"code": "responses", "value": 1}) == (
            "answered 1 help request in the last 30 days"
        )
        assert ops.describe_reason({"code": "responses", "value": 3}) == (
            "answered 3 help requests in the last 30 days"
        )
        assert ops.describe_reason({"code": "load", "value": 1}) == "already helps with 1 open request"
        assert ops.describe_reason({"code": "notified", "value": 1}) == "was asked once in the last 14 days"
        assert (
            ops.describe_reason({"code": "notified", "value": 2}) == "was asked 2 times in the last 14 days"
        )
        with force_locale("de"):
            assert ops.describe_reason({"code": "load", "value": 1}) == "hilft schon bei 1 offenen Anfrage"
            assert ops.describe_reason({"code": "load", "value": 4}) == "hilft schon bei 4 offenen Anfragen"


def test_load_lowers_the_score_of_busy_members(net, world, app):
    app.config["HELP_NOTIFY_COUNT"] = 0
    busy = member(net, 1, languages=["Farsi"])
    free = member(net, 2, languages=["Farsi"])
    session.flush()
    coordinator = session.get(Person, world.coordinator_id)
    for i in range(3):
        other = ask(net, coordinator, topic=f"Other request {i}")
        ops.respond(other, busy, "I can help with this.")
    request = ask(net, coordinator, languages=["Farsi"])
    order = ranked_ids(request)
    assert order.index(free.id) < order.index(busy.id)
    [busy_s] = [s for s in matching.rank(request) if s.person_id == busy.id]
    load = [r for r in busy_s.reasons if r["code"] == "load"][0]
    assert load["value"] == 3 and load["points"] == 3 * matching.LOAD
    # their recent answers count for them too
    assert [r for r in busy_s.reasons if r["code"] == "responses"][0]["value"] == 3


def test_fairness_rotates_the_picks_across_repeated_requests(net, world, app):
    app.config["HELP_NOTIFY_COUNT"] = 3
    speakers = [member(net, i, languages=["Tigrinya"]) for i in range(9)]
    session.flush()
    coordinator = session.get(Person, world.coordinator_id)
    picked = []
    for i in range(3):
        request = ask(net, coordinator, topic=f"Interpreter needed {i}", languages=["Tigrinya"])
        picked.append({s.person_id for s in session.query(HelpSuggestion).filter_by(request_id=request.id)})
    assert all(len(p) == 3 for p in picked)
    assert picked[0].isdisjoint(picked[1]) and picked[1].isdisjoint(picked[2])
    assert set().union(*picked) == {p.id for p in speakers}
    # language still beats fairness: a non-speaker is never picked while speakers are left
    assert world.mentor_id not in set().union(*picked)


def test_ties_rotate_between_requests(net, world, app):
    app.config["HELP_NOTIFY_COUNT"] = 0
    for i in range(6):
        member(net, i, languages=["Somali"])
    session.flush()
    coordinator = session.get(Person, world.coordinator_id)
    firsts = {ranked_ids(ask(net, coordinator, topic=f"Tie {i}", languages=["Somali"]))[0] for i in range(6)}
    assert len(firsts) > 1


def test_notify_more_skips_who_was_asked(net, world, app):
    app.config["HELP_NOTIFY_COUNT"] = 2
    for i in range(5):
        member(net, i, languages=["Dari"])
    session.flush()
    author = session.get(Person, world.mentor_id)
    request = ask(net, author, languages=["Dari"])
    first = {s.person_id for s in session.query(HelpSuggestion).filter_by(request_id=request.id)}
    more = ops.notify_more(request, author, 2)
    assert len(first) == 2 and len(more) == 2 and first.isdisjoint({r.person_id for r in more})
    notified, candidates = ops.suggestions(request, author)
    assert len(notified) == 4 and all(s.reasons for s in notified)
    assert {p.id for p, _s in candidates}.isdisjoint({s.person_id for s in notified})


def test_inactive_members_are_not_candidates(net, world, app):
    app.config["HELP_NOTIFY_COUNT"] = 0
    gone = member(net, 1, languages=["Arabic"])
    session.flush()
    session.query(Membership).filter_by(person_id=gone.id).update({"status": MembershipStatus.left})
    request = ask(net, session.get(Person, world.coordinator_id), languages=["Arabic"])
    assert gone.id not in ranked_ids(request)


def _count_statements(function):
    statements = []

    def listener(*_args):
        statements.append(1)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        result = function()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(statements), result


def test_matching_runs_a_constant_number_of_queries(net, world, app):
    app.config["HELP_NOTIFY_COUNT"] = 0
    coordinator = session.get(Person, world.coordinator_id)
    counts = []
    n = 0
    for size in (100, 500):
        while n < size:
            member(net, n, languages=["Arabic" if n % 3 else "Italian"], expertise=["school"], region="Rome")
            n += 1
        session.flush()
        request = ask(net, coordinator, languages=["Arabic"], tags=["school"])
        ops.respond(request, session.get(Person, world.mentor_id), "I can help.")
        session.flush()
        count, ranked = _count_statements(lambda r=request: matching.rank(r, limit=5))
        counts.append(count)
        assert len(ranked) == 5
    # The members and the three aggregates (nothing is kept: the page cache is off in tests); the ranking goes
    # through the speakers first and, as no speaker here scores above what a member without Arabic could reach,
    # through everyone, in Python.
    assert counts[0] == counts[1] == 4


def _scoring_everyone(request, limit):
    """The ranking without its narrowing steps: every active member of the network scored."""
    import datetime as dt

    now = utcnow()
    inputs = matching.kept_inputs(request.network_id, now)
    mine = {r.author_id for r in request.responses} if request.is_open else set()
    load = {pid: count - (pid in mine) for pid, count in inputs.counts.load.items()}
    return matching.score(
        request, inputs.index.members.rows, load=load, responses=inputs.counts.responses,
        notified=inputs.counts.notified, limit=limit,
        signed_in_since=now - dt.timedelta(days=matching.ACTIVITY_DAYS),
    )  # fmt: skip


def test_scoring_ten_thousand_candidates_is_plain_python(world, ctx):
    """The pure scoring step over 10,000 candidates: no queries, correct top picks (timing is for the bench)."""
    request = HelpRequest(id=1, network_id=1, author_id=None, topic="School enrolment", languages=["Arabic"],
                          tags=["school"], region="Berlin", urgency=Urgency.high)  # fmt: skip
    candidates = [
        (
            i,
            i % 7 == 0,
            '["Arabic", "English"]' if i % 5 == 0 else ["German"],
            ["school enrolment"] if i % 11 == 0 else "[]",
            "Berlin" if i % 2 else "Potsdam",
            i % 3 == 0,
        )
        for i in range(10_000)
    ]
    top = matching.score(request, candidates, load={}, responses={}, notified={}, limit=5)
    assert len(top) == 5
    for s in top:  # the best speak Arabic, know schools, work in Berlin and are experienced
        codes = {r["code"] for r in s.reasons}
        assert {"language", "expertise", "region", "experienced"} <= codes


def _strong_speakers(net, count, start=0):
    for n in range(start, start + count):
        person = member(net, n, languages=["Arabic"], expertise=["housing", "school"], region="Berlin",
                        level=Level.experienced)  # fmt: skip
        person.last_sign_in_at = utcnow()
    session.flush()


def test_speakers_first_when_they_outrank_everyone_else(net, world, app):
    """Five speakers score above any member without the language could: the ranking stops at them (four
    statements: the members and the counts), and the result is the one of scoring everyone."""
    app.config["HELP_NOTIFY_COUNT"] = 0
    _strong_speakers(net, 6)
    for n in range(100, 110):
        member(net, n, languages=["German"], expertise=["housing", "school"], region="Berlin")
    coordinator = session.get(Person, world.coordinator_id)
    request = ask(net, coordinator, topic="Housing and school", languages=["Arabic"], region="Berlin",
                  tags=["housing", "school"], urgency=Urgency.urgent)  # fmt: skip
    session.flush()
    count, quick = _count_statements(lambda: matching.rank(request, limit=5))
    assert count == 4
    full = _scoring_everyone(request, 5)
    assert [(s.person_id, s.score, s.reasons) for s in quick] == [
        (s.person_id, s.score, s.reasons) for s in full
    ]


@pytest.mark.parametrize("languages", [["Tigrinya"], ["arabic", "Tigrinya"], ["Sign language"], ["Français"]])
def test_a_member_without_the_language_still_ranks_when_speakers_are_weak(net, world, app, languages):
    """A weak speaker scores below what a non-speaker can reach: everyone is ranked, and the non-speakers with
    the best fit come before the speaker, exactly as when everyone is scored."""
    app.config["HELP_NOTIFY_COUNT"] = 0
    weak = member(net, 1, languages=["TIGRINYA ", "Sign Language", "français"])
    strong = [
        member(
            net,
            n,
            languages=["German"],
            expertise=["Housing", "school"],
            region="berlin ",
            level=Level.experienced,
        )  # fmt: skip
        for n in range(10, 16)
    ]
    for person in strong:
        person.last_sign_in_at = utcnow()
    session.flush()
    coordinator = session.get(Person, world.coordinator_id)
    request = ask(net, coordinator, topic="Housing and school", languages=languages, region="Berlin",
                  tags=["housing", "school"], urgency=Urgency.urgent)  # fmt: skip
    ranked = [s.person_id for s in matching.rank(request, limit=20)]
    # 40-50 points for the language against 24 + 15 + 15 + 5 = 59 for the best fit without it
    assert weak.id in ranked
    assert all(ranked.index(weak.id) > ranked.index(other.id) for other in strong)
    assert [s.person_id for s in _scoring_everyone(request, 20)] == ranked


def test_the_kept_inputs_narrow_the_ranking_without_changing_it(monkeypatch):
    """``_rank`` scores a few members first (those the region or expertise fits, those who answered, the
    experienced speakers, all the speakers) and the whole network only when they cannot be the best: for random
    networks and requests it picks exactly what scoring everyone picks, and each of its stages is used."""
    import datetime as dt
    import json
    import random
    from types import SimpleNamespace

    rng = random.Random(20261129)
    now = dt.datetime(2026, 11, 29, 12, 0)
    since = now - dt.timedelta(days=matching.ACTIVITY_DAYS)
    languages = ["German", "Arabic", "Tigrinya", "Dari", "Ukrainian", "English"]
    topics = ["housing", "school enrolment", "jobcenter letters", "health insurance", "visa", "translation"]
    regions = ["Berlin", "Hamburg", "Köln", "Leipzig", ""]
    stages = set()
    real_score = matching.score

    def counting_score(request, candidates, **options):
        calls.append(1)
        return real_score(request, candidates, **options)

    for trial in range(300):
        size = rng.choice([8, 30, 200])
        weights = [rng.random() ** 3 for _ in languages]  # some languages rare in this network
        rows = []
        for person_id in range(1, size + 1):
            spoken = sorted({rng.choices(languages, weights)[0] for _ in range(rng.randint(0, 3))})
            known = sorted(set(rng.sample(topics, rng.randint(0, 2))))
            hidden = rng.random() < 0.1
            rows.append(
                (
                    person_id,
                    int(rng.random() < 0.3),
                    None if hidden else json.dumps(spoken),
                    None if hidden else json.dumps(known),
                    "" if hidden else rng.choice(regions),
                    rng.choice([None, now - dt.timedelta(days=rng.randint(0, 60))]),
                )
            )
        ids = [row[0] for row in rows]
        load = {pid: rng.randint(1, 6) for pid in rng.sample(ids, len(ids) // 3)}
        responses = {pid: rng.randint(1, 4) for pid in rng.sample(ids, len(ids) // rng.choice([3, 10, 50]))}
        notified = {pid: rng.randint(1, 6) for pid in rng.sample(ids, len(ids) // 2)}
        index = matching.MemberIndex.of(matching.Members.of(rows))
        # sign-ins newer than the kept rows say, as matching._sign_ins finds them
        sign_ins = {
            pid: now - dt.timedelta(minutes=rng.randint(0, 60)) for pid in rng.sample(ids, len(ids) // 8)
        }
        current = [(*row[:5], sign_ins.get(row[0], row[5])) for row in rows]
        counts = {"load": load, "responses": responses, "notified": notified}
        request = SimpleNamespace(
            id=trial + 1,
            network_id=1,
            author_id=rng.choice([None, *ids]),
            languages=rng.sample(languages, rng.randint(1, 3)),
            tags=rng.sample(topics, rng.randint(0, 2)),
            topic=f"Help with {rng.choice(topics)}",
            region=rng.choice(regions),
            urgency=rng.choice(list(Urgency)),
            is_open=True,
            responses=[],
        )
        exclude = set(rng.sample(ids, rng.randint(0, 3)))
        for limit in (1, 5):
            calls = []
            monkeypatch.setattr(matching, "score", counting_score)
            kept = matching._rank(
                request, index, limit=limit, exclude=exclude, activity_since=since, sign_ins=sign_ins or None,
                counts=counts,
            )  # fmt: skip
            monkeypatch.setattr(matching, "score", real_score)
            stages.add(len(calls))
            exact = real_score(
                request, current, load=load, responses=responses, notified=notified, limit=limit,
                exclude=exclude, signed_in_since=since,
            )  # fmt: skip
            assert [(s.person_id, s.score, s.reasons) for s in kept] == [
                (s.person_id, s.score, s.reasons) for s in exact
            ], (trial, limit)
    assert {1, 2, 3, 4, 5} <= stages, stages


def test_a_speaker_of_every_language_is_not_left_out_by_the_narrow_steps():
    """The narrow steps' bound for a speaker left out counts the extra languages: a novice who speaks all three of
    the request's languages and signed in lately (55 points) outranks five members whom region and expertise fit
    (52 points) but who speak none of them."""
    import datetime as dt
    import json
    from types import SimpleNamespace

    now = dt.datetime(2026, 11, 29, 12, 0)
    since = now - dt.timedelta(days=matching.ACTIVITY_DAYS)
    near = [
        (pid, 1, json.dumps(["English"]), json.dumps(["housing", "school"]), "Berlin", now)
        for pid in range(1, 6)
    ]
    speaker = (6, 0, json.dumps(["Arabic", "Dari", "German"]), json.dumps([]), "", now)
    rows = [*near, speaker, *((pid, 0, json.dumps(["English"]), "[]", "", None) for pid in range(7, 40))]
    index = matching.MemberIndex.of(matching.Members.of(rows))
    request = SimpleNamespace(
        id=1, network_id=1, author_id=None, languages=["German", "Arabic", "Dari"], tags=["housing", "school"],
        topic="Housing", region="Berlin", urgency=Urgency.normal, is_open=True, responses=[],
    )  # fmt: skip
    picks = matching._rank(
        request, index, limit=5, exclude=(), activity_since=since, sign_ins=None,
        counts={"load": {}, "responses": {}, "notified": {}},
    )  # fmt: skip
    assert [s.person_id for s in picks][0] == 6
    assert sum(r["points"] for r in picks[0].reasons) == 55
    assert len(picks) == 5 and {s.person_id for s in picks[1:]} < {1, 2, 3, 4, 5}
    assert all(sum(r["points"] for r in s.reasons) == 52 for s in picks[1:])
