"""Who should hear about a help request: members ranked by fit, each suggestion with its reasons.

A ranking reads the network's active members with the person fields the score needs, and three counts per
member (open requests each helps with, their answers in the last 30 days, help notifications they got in the last
14 days): kept per worker process while the page cache's versions of what they were read from stay the same
(``kept_inputs``), so a ranking with kept inputs runs one small statement (the sign-ins since they were read)
besides the page cache's versions. Then plain Python scoring, of a few members first: those whom the request's
region or expertise fits among the speakers of its languages, and everyone else only while one of them could
still reach the top (``_rank``, exact by bounds on what the members left out can score). Weights, in points:

==========================  =========================================================================
language                    +40 when the member speaks one of the request's languages, +5 for each
                            further shared language (at most +10). The strongest signal: help in a
                            language the asker (and the person they accompany) speaks. Languages are
                            compared by ``language_key``: "Arabisch", "arabo" and "Arabic" are one.
expertise                   +12 for each of the member's areas of expertise that matches a tag or a
                            word of the topic (at most +24).
region                      +15 when the member's region is the request's region.
experience                  +8 for experienced members; +15 when the request is high or urgent.
load                        -6 for each open request the member already helps with (at most -30).
recent activity             +5 when they signed in within 30 days; +2 for each response they wrote in
                            the last 30 days (at most +6).
fairness                    -6 for each help notification they got in the last 14 days (at most -30),
                            so that the same few people are not always asked.
tie-break                   a number in [0, 1) from the request's and the member's ids (a 64-bit hash mix), so
                            equal scores rotate from request to request instead of favouring low ids.
==========================  =========================================================================

Reasons are stored as machine codes with values (``{"code": "language", "value": ["Arabic"], "points": 40}``)
and worded when shown, in the reader's language.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import heapq
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm

from network_service import page_cache
from network_service.accounts.models import Person
from network_service.db import session, utcnow
from network_service.help.models import HelpRequest, HelpResponse, HelpStatus, HelpSuggestion, Urgency
from network_service.languages import language_key
from network_service.networks.models import Level, Membership, MembershipStatus

LANGUAGE = 40
LANGUAGE_EXTRA = 5
LANGUAGE_EXTRA_MAX = 10
EXPERTISE = 12
EXPERTISE_MAX = 24
REGION = 15
EXPERIENCED = 8
EXPERIENCED_PRESSING = 15  # high or urgent requests
LOAD = -6
LOAD_MAX = -30
SIGNED_IN = 5
RESPONSE = 2
RESPONSE_MAX = 6
NOTIFIED = -6
NOTIFIED_MAX = -30

ACTIVITY_DAYS = 30
FAIRNESS_DAYS = 14

_STOPWORDS = {
    "and", "the", "for", "with", "from", "how", "what", "who", "need", "help", "about", "und", "der", "die",
    "das", "mit", "für", "von", "wie", "bei", "hilfe", "per", "con", "della", "come", "aiuto", "dla", "jak",
    "pomoc",
}  # fmt: skip
_WORDS = re.compile(r"[\w'-]+")


@dataclass
class Suggestion:
    person_id: int
    score: float
    reasons: list[dict] = field(default_factory=list)


def _norm(value: str) -> str:
    return " ".join(value.split()).casefold()


def _words(text: str) -> set[str]:
    return {
        w for w in (m.casefold() for m in _WORDS.findall(text or "")) if len(w) >= 3 and w not in _STOPWORDS
    }


def tie_break(request_id: int, person_id: int) -> float:
    """A number in [0, 1), fixed for the pair, unrelated between requests (a 64-bit multiplicative mix of
    Python's tuple hash, which is deterministic for integers)."""
    return (((hash((request_id, person_id)) * _MIX) & _MASK) >> 11) / _SCALE


_MIX = 0x9E3779B97F4A7C15
_MASK = 0xFFFFFFFFFFFFFFFF
_SCALE = 9007199254740992  # 2**53


@contextlib.contextmanager
def _without_gc_pauses():
    """Loading and scoring ten thousand rows allocates many small, short-lived objects; the cyclic garbage
    collector would scan the whole heap several times meanwhile (doubling the time). It is off for these few
    milliseconds and back on afterwards; reference counting still frees everything at once."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _grouped(query, params=None) -> dict[int, int]:
    rows = session.connection().execute(query, params or {}).all()
    return {person_id: count for person_id, count in rows if person_id is not None}


def rank(
    request: HelpRequest,
    *,
    limit: int | None = None,
    exclude: Iterable[int] = (),
    inputs: Inputs | None = None,
) -> list[Suggestion]:
    """Active members of the request's network except its author (and ``exclude``), best first.

    ``exclude`` must hold everyone already suggested for the request (as every caller does): the counts of help
    notifications are those of all requests, this one included, which changes nothing only for members left
    out. ``inputs``: the network's members and counts as ``kept_inputs`` gave them earlier in this transaction,
    before it wrote (a new request is ranked after its row is inserted, when kept inputs can no longer be
    used)."""
    now = utcnow()
    activity_since = now - dt.timedelta(days=ACTIVITY_DAYS)
    fairness_since = now - dt.timedelta(days=FAIRNESS_DAYS)
    with _without_gc_pauses():
        if inputs is None:
            inputs = kept_inputs(request.network_id, now)
        counts = inputs.counts
        if not counts.fit(activity_since, fairness_since):  # the clock moved an answer or notice out
            counts = _read_counts(request.network_id, now)
        load = counts.load
        # this request's answers count in its responders' load of other requests: not here
        if request.is_open:
            mine = {r.author_id for r in request.responses if r.author_id is not None}
            if mine & load.keys():
                load = dict(load)
                for person_id in mine:
                    if load.get(person_id):
                        load[person_id] -= 1
        return _rank(
            request,
            inputs.index,
            limit=limit,
            exclude=exclude,
            activity_since=activity_since,
            sign_ins=_sign_ins(inputs) if inputs.kept else None,
            counts={"load": load, "responses": counts.responses, "notified": counts.notified},
            counted=counts.counted,
        )


def _add_known(likely: dict, person_ids, by_id: dict) -> None:
    """Add to ``likely`` (person id -> member row) each of ``person_ids`` not in it yet that ``by_id`` knows."""
    for person_id in person_ids:
        if person_id not in likely:
            row = by_id.get(person_id)
            if row is not None:
                likely[person_id] = row


# The most a member who shares none of the request's languages can score: a speaker whose points reach this
# bound outranks every non-speaker (the tie-break adds less than one point).
WITHOUT_LANGUAGE_MAX = EXPERTISE_MAX + REGION + EXPERIENCED_PRESSING + SIGNED_IN + RESPONSE_MAX
# _rank leaves out speakers whom nothing but their language and a sign-in gives points: they score less.
# Checked at import (not an assert: it must hold under python -O too), so changed weights cannot make it inexact.
if LANGUAGE + LANGUAGE_EXTRA_MAX + SIGNED_IN > WITHOUT_LANGUAGE_MAX:  # pragma: no cover - the weights above
    raise RuntimeError("help matching weights: _rank's bound no longer holds (docs/help.md)")


def _members_query(network_id) -> sa.Select:
    from network_service.privacy.operations import PROFILE_SHARING, given_query

    # who said yes to sharing their profile, as a join (once; three NOT IN subqueries planned it three times)
    sharing = given_query(PROFILE_SHARING).subquery("sharing")
    hidden = sharing.c.person_id.is_(None)
    return (
        sa.select(
            Person.id,
            sa.case((Membership.level == Level.experienced, 1), else_=0),
            # who has not consented to share their profile (not yet, or no longer) is matched on nothing of it
            sa.case((hidden, None), else_=sa.cast(Person.languages, sa.Text)),
            sa.case((hidden, None), else_=sa.cast(Person.expertise, sa.Text)),
            sa.case((hidden, ""), else_=Person.region),
            Person.last_sign_in_at,
        )
        .join(Person, Person.id == Membership.person_id)
        .outerjoin(sharing, sharing.c.person_id == Person.id)
        .where(Membership.network_id == network_id, Membership.status == MembershipStatus.active)
    )


@dataclass
class Members:
    """The active members of a network as (person id, experienced?, languages, expertise, region, last
    sign-in), and the same rows by each language they speak (by ``language_key``, as ``score`` compares them)."""

    rows: list[tuple]
    by_language: dict[str, list[tuple]]

    @classmethod
    def of(cls, rows: list[tuple]) -> Members:
        by_language: dict[str, list[tuple]] = {}
        known: dict = {}  # a list's JSON text -> its languages (members share a few hundred distinct lists)
        for row in rows:
            norms = known.get(row[2])
            if norms is None:
                norms = known[row[2]] = tuple({key for _entry, key in _language_entries(row[2])})
            for norm in norms:
                found = by_language.get(norm)
                if found is None:
                    by_language[norm] = [row]
                else:
                    found.append(row)
        return cls(rows, by_language)

    def speaking(self, wanted: list[str]) -> list[tuple]:
        """Everyone who speaks one of ``wanted`` (language keys), once each."""
        if len(wanted) == 1:
            return self.by_language.get(wanted[0], [])
        seen: set[int] = set()
        found = []
        for language in wanted:
            for row in self.by_language.get(language, ()):
                if row[0] not in seen:
                    seen.add(row[0])
                    found.append(row)
        return found


@dataclass
class MemberIndex:
    """The members of a network (``Members``) also by region, by area of expertise and by each word of one, and
    the ids of each language's speakers: the members a request's region, tags or topic give points to are
    found without going through everyone."""

    members: Members
    by_region: dict[str, list[tuple]]
    by_expertise: dict[str, list[tuple]]  # normalised entry -> rows
    by_word: dict[str, list[tuple]]  # a word of a normalised entry -> rows
    speaker_ids: dict[str, frozenset[int]]
    experienced_speakers: dict[str, list[tuple]]  # language -> rows of its experienced speakers
    by_id: dict[int, tuple]

    @classmethod
    def of(cls, members: Members) -> MemberIndex:
        by_region: dict[str, list[tuple]] = {}
        by_expertise: dict[str, list[tuple]] = {}
        by_word: dict[str, list[tuple]] = {}
        regions: dict[str, list[tuple]] = {}  # as written -> the list of its normalised form
        expertise: dict = {}  # a list's JSON text -> the lists of its entries and of their words
        for row in members.rows:
            if row[4]:
                found = regions.get(row[4])
                if found is None:
                    found = regions[row[4]] = by_region.setdefault(_norm(row[4]), [])
                found.append(row)
            lists = expertise.get(row[3])
            if lists is None:
                lists = expertise[row[3]] = tuple(
                    {
                        id(bucket): bucket
                        for _entry, norm, its_words in _entries(row[3])
                        for bucket in (
                            by_expertise.setdefault(norm, []),
                            *(by_word.setdefault(word, []) for word in its_words),
                        )
                    }.values()
                )
            for bucket in lists:
                bucket.append(row)
        speaker_ids = {lang: frozenset(row[0] for row in rows) for lang, rows in members.by_language.items()}
        experienced_speakers = {
            lang: [row for row in rows if row[1]] for lang, rows in members.by_language.items()
        }
        by_id = {row[0]: row for row in members.rows}
        return cls(members, by_region, by_expertise, by_word, speaker_ids, experienced_speakers, by_id)


# -- what a ranking reads, kept per process ----------------------------------------------------------------------
#
# Every ranking of a network reads the same inputs: its active members with their lists (thousands of rows, two
# JSON columns cast to text: the largest part of a ranking) and three counts per member. They are kept per worker
# process and network under the page cache's versions (network_service/page_cache.py) of what they are read from:
# the members under ``structure`` (person, membership, consent_record), the counts under ``help`` (requests,
# answers, suggestions). Every write to those tables gives the domain a new version in the writing transaction,
# so a ranking after it reads them again; a transaction that wrote them (or the cache turned off, as in most
# tests) reads them every time. Two things change without a new version, and are handled exactly:
#
# - a sign-in writes only ``person.last_sign_in_at`` (page_cache.IGNORED_COLUMNS): each ranking with kept members
#   reads the sign-ins since shortly before the members were read, from an index (``_sign_ins``);
# - the clock: answers older than 30 days and notifications older than 14 stop counting. The counts carry the
#   oldest answer and notification they counted and are read again once the window has passed it (``Counts``).
#
# Entries also expire after page_cache.MAX_AGE, as the page cache's do (data changed by hand in the database).

# A sign-in sets the time in Python and commits moments later: a sign-in that the kept rows do not show
# committed after they were read, so its time is at most this much older than when they were read.
SIGN_IN_SLACK = dt.timedelta(minutes=15)
KEPT_NETWORKS = 8  # networks whose inputs a worker keeps (per kind)


@dataclass(frozen=True)
class Counts:
    """Per member: open requests of the network they help with (``load``, this request not taken out yet),
    answers in the network in the last 30 days (``responses``), help notifications in the last 14 days
    (``notified``); with the windows they were counted for and the oldest answer and notification counted."""

    load: dict[int, int]
    responses: dict[int, int]
    notified: dict[int, int]
    activity_since: dt.datetime
    fairness_since: dt.datetime
    oldest_response: dt.datetime | None
    oldest_notice: dt.datetime | None

    @functools.cached_property
    def counted(self) -> frozenset[int]:
        """Everyone with a count (score looks the counts up only for them), made once per kept counts."""
        return frozenset(self.load) | frozenset(self.responses) | frozenset(self.notified)

    def fit(self, activity_since: dt.datetime, fairness_since: dt.datetime) -> bool:
        """Exactly the counts of these windows: they start no earlier, and nothing counted has left them."""
        return (
            self.activity_since <= activity_since
            and (self.oldest_response is None or activity_since <= self.oldest_response)
            and self.fairness_since <= fairness_since
            and (self.oldest_notice is None or fairness_since <= self.oldest_notice)
        )


@dataclass(frozen=True)
class Inputs:
    """What ``rank`` reads of a network. ``kept``: the members come from an earlier transaction (so sign-ins
    since ``loaded_at`` are read again); ``loaded_at``: the time just before they were read."""

    index: MemberIndex
    counts: Counts
    loaded_at: dt.datetime
    kept: bool


_NETWORK = sa.bindparam("network_id", type_=sa.Integer)
# The three aggregates, built once per process: open requests each member helps with, answers in the last 30
# days (with the oldest), help notifications in the last 14 days (with the oldest).
_LOAD = (
    sa.select(HelpResponse.author_id, sa.func.count(sa.distinct(HelpResponse.request_id)))
    .join(HelpRequest, HelpRequest.id == HelpResponse.request_id)
    .where(HelpRequest.network_id == _NETWORK, HelpRequest.status == HelpStatus.open)
    .group_by(HelpResponse.author_id)
)
_RESPONSES = (
    sa.select(HelpResponse.author_id, sa.func.count(HelpResponse.id), sa.func.min(HelpResponse.created_at))
    .join(HelpRequest, HelpRequest.id == HelpResponse.request_id)
    .where(
        HelpRequest.network_id == _NETWORK,
        HelpResponse.created_at
        >= sa.bindparam("activity_since", type_=HelpResponse.__table__.c.created_at.type),
    )
    .group_by(HelpResponse.author_id)
)
_NOTIFIED = (
    sa.select(
        HelpSuggestion.person_id, sa.func.count(HelpSuggestion.id), sa.func.min(HelpSuggestion.notified_at)
    )
    .where(
        HelpSuggestion.notified_at
        >= sa.bindparam("fairness_since", type_=HelpSuggestion.__table__.c.notified_at.type)
    )
    .group_by(HelpSuggestion.person_id)
)
_SIGN_INS = sa.select(Person.id, Person.last_sign_in_at).where(
    Person.last_sign_in_at >= sa.bindparam("after", type_=Person.__table__.c.last_sign_in_at.type)
)


def forget_inputs() -> None:
    """Forget the inputs this app keeps (tests; page_cache.clear() does it too)."""
    page_cache.clear()


def _read_members(network_id: int) -> MemberIndex:
    rows = session.connection().execute(_members_query(network_id)).all()
    return MemberIndex.of(Members.of(rows))


def _read_counts(network_id: int, now: dt.datetime) -> Counts:
    activity_since = now - dt.timedelta(days=ACTIVITY_DAYS)
    fairness_since = now - dt.timedelta(days=FAIRNESS_DAYS)
    params = {"network_id": network_id, "activity_since": activity_since, "fairness_since": fairness_since}
    connection = session.connection()
    load = {
        person_id: count for person_id, count in connection.execute(_LOAD, params) if person_id is not None
    }
    responses, oldest_response = _counted(connection.execute(_RESPONSES, params))
    notified, oldest_notice = _counted(connection.execute(_NOTIFIED, params))
    return Counts(load, responses, notified, activity_since, fairness_since, oldest_response, oldest_notice)


def _counted(rows) -> tuple[dict[int, int], dt.datetime | None]:
    counts, oldest = {}, None
    for person_id, count, first in rows:
        if person_id is not None:
            counts[person_id] = count
            if oldest is None or first < oldest:
                oldest = first
    return counts, oldest


def kept_inputs(network_id: int, now: dt.datetime | None = None) -> Inputs:
    """The network's members and counts, kept from an earlier ranking while nothing they were read from changed,
    else read now (and kept for the next ranking). ``now``: the ranking's time (the windows of the counts)."""
    now = now or utcnow()
    read = []

    def members() -> tuple[dt.datetime, MemberIndex]:
        read.append(True)
        return utcnow(), _read_members(network_id)

    loaded_at, index = page_cache.kept(
        "help_matching_members",
        network_id,
        page_cache.of_active_members(network_id),
        members,
        max_entries=KEPT_NETWORKS,
    )
    activity_since = now - dt.timedelta(days=ACTIVITY_DAYS)
    fairness_since = now - dt.timedelta(days=FAIRNESS_DAYS)
    counts = page_cache.kept(
        "help_matching_counts",
        network_id,
        (page_cache.HELP,),
        lambda: _read_counts(network_id, now),
        valid=lambda kept: kept.fit(activity_since, fairness_since),
        max_entries=KEPT_NETWORKS,
    )
    return Inputs(index, counts, loaded_at, kept=not read)


def _sign_ins(inputs: Inputs) -> dict[int, dt.datetime]:
    """The members whose last sign-in is newer than the kept rows say: person id -> time."""
    by_id = inputs.index.by_id
    changed = {}
    rows = session.connection().execute(_SIGN_INS, {"after": inputs.loaded_at - SIGN_IN_SLACK})
    for person_id, signed_in in rows:
        row = by_id.get(person_id)
        if row is not None and row[5] != signed_in:
            changed[person_id] = signed_in
    return changed


def _rank(
    request, index: MemberIndex, *, limit, exclude, activity_since, sign_ins, counts, counted=None
) -> list[Suggestion]:
    members = index.members
    responses = counts["responses"]
    options = {
        "limit": limit,
        "exclude": exclude,
        "signed_in_since": activity_since,
        "sign_ins": sign_ins,
        "counted": counted,
    }
    wanted = sorted({language_key(lang) for lang in request.languages or () if lang.strip()})
    if limit and wanted:
        # First the speakers whom the request's region, tags or topic give points: everyone else can score at
        # most ``bound`` (a speaker without those points, or anyone without the language), so when the last of
        # the best of these scores more, they are the best of all (the tie-break adds less than one point).
        speakers: set[int] = set()
        for language in wanted:
            speakers |= index.speaker_ids.get(language, frozenset())
        region = _norm(request.region or "")
        tags = {_norm(tag) for tag in request.tags or () if tag.strip()}
        words = _words(request.topic) | _words(" ".join(request.tags or ()))
        buckets = [index.by_region.get(region, ())] if region else []
        buckets += [index.by_expertise.get(tag, ()) for tag in tags]
        buckets += [index.by_word.get(word, ()) for word in words]
        near = {row[0]: row for bucket in buckets for row in bucket}  # anyone the region or expertise fits
        fitting = {person_id: row for person_id, row in near.items() if person_id in speakers}
        pressing = request.urgency in (Urgency.high, Urgency.urgent)
        bound = max(
            LANGUAGE + LANGUAGE_EXTRA_MAX + (EXPERIENCED_PRESSING if pressing else EXPERIENCED)
            + SIGNED_IN + RESPONSE_MAX,
            WITHOUT_LANGUAGE_MAX,
        )  # fmt: skip
        best = score(request, list(fitting.values()), **counts, **options)
        if len(best) == limit and sum(r["points"] for r in best[-1].reasons) > bound:
            return best
        # Then, of the other speakers, only those who can score more than WITHOUT_LANGUAGE_MAX: a speaker whom
        # neither region nor expertise gives points, who answered nothing in the last 30 days (the other
        # counts only take points away) and is not experienced scores at most LANGUAGE + LANGUAGE_EXTRA_MAX +
        # SIGNED_IN; an experienced one EXPERIENCED or EXPERIENCED_PRESSING more, so they are left out only
        # while that stays within the bound. When the last of the best of these scores more than
        # WITHOUT_LANGUAGE_MAX, they are the best of all speakers and of everyone (as below, with fewer rows).
        # (LANGUAGE + LANGUAGE_EXTRA_MAX + SIGNED_IN is at most WITHOUT_LANGUAGE_MAX: when this fails, scoring
        # all the speakers would fail too, and is skipped.)
        with_experienced = (
            LANGUAGE + LANGUAGE_EXTRA_MAX + SIGNED_IN + (EXPERIENCED_PRESSING if pressing else EXPERIENCED)
            > WITHOUT_LANGUAGE_MAX
        )
        likely = dict(fitting)
        _add_known(likely, (person_id for person_id in responses if person_id in speakers), index.by_id)
        if with_experienced:
            for language in wanted:
                for row in index.experienced_speakers.get(language, ()):
                    likely.setdefault(row[0], row)
        best = score(request, list(likely.values()), **counts, **options)
        if len(best) == limit and sum(r["points"] for r in best[-1].reasons) > WITHOUT_LANGUAGE_MAX:
            return best
        # The same speakers, the experienced ones among them, and everyone else whom the region or expertise
        # fits or who answered: a speaker left out scores at most LANGUAGE + LANGUAGE_EXTRA_MAX + SIGNED_IN (a
        # member who speaks none of the languages less), so when the last of the best of these scores more,
        # they are the best of all.
        if not with_experienced:
            for language in wanted:
                for row in index.experienced_speakers.get(language, ()):
                    likely.setdefault(row[0], row)
        for person_id, row in near.items():
            likely.setdefault(person_id, row)
        _add_known(likely, responses, index.by_id)
        best = score(request, list(likely.values()), **counts, **options)
        if len(best) == limit and sum(r["points"] for r in best[-1].reasons) > (
            LANGUAGE + LANGUAGE_EXTRA_MAX + SIGNED_IN
        ):
            return best
        # Last, everyone who can score more than a member who speaks none of the languages, whom neither region
        # nor expertise gives points and who answered nothing in the last 30 days: at most SIGNED_IN and the
        # experience points. When the last of the best of the speakers, the members the region or expertise
        # fits and those who answered scores more, they are the best of all (a rare language with few speakers
        # comes here; the whole network is scored only when this fails).
        likely = dict(near)
        for row in members.speaking(wanted):
            likely.setdefault(row[0], row)
        _add_known(likely, responses, index.by_id)
        best = score(request, list(likely.values()), **counts, **options)
        if len(best) == limit and sum(r["points"] for r in best[-1].reasons) > SIGNED_IN + (
            EXPERIENCED_PRESSING if pressing else EXPERIENCED
        ):
            return best
    return score(request, members.rows, **counts, **options)


def _as_list(value) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


@functools.lru_cache(maxsize=65536)
def _entries(raw: str | tuple | None) -> tuple[tuple[str, str, frozenset[str]], ...]:
    """A member's list (its JSON text, or a tuple) as (entry, normalised entry, its words), kept for the process:
    the same few thousand distinct lists come back for every request, and this part does not depend on it."""
    values = _as_list(list(raw) if isinstance(raw, tuple) else raw)
    return tuple((value, _norm(value), frozenset(_words(_norm(value)))) for value in values)


@functools.lru_cache(maxsize=65536)
def _language_entries(raw: str | tuple | None) -> tuple[tuple[str, str], ...]:
    """A member's languages (JSON text, or a tuple) as (what they wrote, its ``language_key``), kept for the
    process like ``_entries``."""
    values = _as_list(list(raw) if isinstance(raw, tuple) else raw)
    return tuple((value, language_key(value)) for value in values if value.strip())


def score(
    request: HelpRequest,
    candidates: Iterable[tuple],
    *,
    load: dict[int, int],
    responses: dict[int, int],
    notified: dict[int, int],
    limit: int | None = None,
    exclude: Iterable[int] = (),
    signed_in_since: dt.datetime | None = None,
    sign_ins: dict[int, dt.datetime] | None = None,
    counted: frozenset[int] | None = None,
) -> list[Suggestion]:
    """Score ``candidates`` in Python: tuples of (person id, experienced?, languages, expertise, region,
    signed in within 30 days?), languages and expertise as lists or as their JSON text. With
    ``signed_in_since``, the last item is the time of the last sign-in instead (None: never), and ``sign_ins``
    (person id -> time) has newer times for some of them."""
    wanted_languages = {language_key(lang) for lang in request.languages or () if lang.strip()}
    tags = {_norm(tag) for tag in request.tags or () if tag.strip()}
    words = _words(request.topic) | _words(" ".join(request.tags or ()))
    region = _norm(request.region or "")
    pressing = request.urgency in (Urgency.high, Urgency.urgent)
    experienced_points = EXPERIENCED_PRESSING if pressing else EXPERIENCED
    skip = set(exclude)
    if request.author_id is not None:
        skip.add(request.author_id)

    # Each distinct value is judged once (members share a small vocabulary of languages, expertise, regions):
    # value -> (points, matched entries).
    language_memo: dict = {}
    expertise_memo: dict = {}
    region_memo: dict = {}

    def judge_languages(raw) -> tuple[int, list[str] | None]:
        shared: list[str] = []
        if wanted_languages:
            keys: set[str] = set()
            for lang, key in _language_entries(raw):
                if key in wanted_languages and key not in keys:  # "Arabic, arabo" is one shared language
                    keys.add(key)
                    shared.append(lang)
        if not shared:
            return 0, None
        return LANGUAGE + min(LANGUAGE_EXTRA * (len(shared) - 1), LANGUAGE_EXTRA_MAX), shared

    def judge_expertise(raw) -> tuple[int, list[str] | None]:
        found = [e for e, norm, its_words in _entries(raw) if norm in tags or its_words & words]
        return (min(EXPERTISE * len(found), EXPERTISE_MAX), found) if found else (0, None)

    # who has any count (``counted``: the same, made once with the counts)
    special = counted if counted is not None else set(load) | set(responses) | set(notified)
    # One pass, a few dictionary look-ups per member; members go into buckets by their integer points.
    buckets: dict[int, list[tuple]] = {}
    known_languages = language_memo.get
    known_expertise = expertise_memo.get
    for row in candidates:
        person_id, is_experienced, languages, expertise, person_region, recent = row
        if person_id in skip:
            continue
        try:
            judged = known_languages(languages)
        except TypeError:  # a list (candidates given in Python) rather than JSON text
            languages = tuple(languages)
            judged = known_languages(languages)
        if judged is None:
            judged = language_memo[languages] = judge_languages(languages)
        points = judged[0]
        try:
            judged = known_expertise(expertise)
        except TypeError:
            expertise = tuple(expertise)
            judged = known_expertise(expertise)
        if judged is None:
            judged = expertise_memo[expertise] = judge_expertise(expertise)
        points += judged[0]
        local = region_memo.get(person_region)
        if local is None:
            local = region_memo[person_region] = bool(
                region and person_region and _norm(person_region) == region
            )
        if local:
            points += REGION
        if is_experienced:
            points += experienced_points
        if sign_ins and person_id in sign_ins:
            recent = sign_ins[person_id]
        if recent and (signed_in_since is None or recent >= signed_in_since):
            points += SIGNED_IN
        if person_id in special:
            written = responses.get(person_id, 0)
            helping = load.get(person_id, 0)
            asked = notified.get(person_id, 0)
            if written:
                points += min(RESPONSE * written, RESPONSE_MAX)
            if helping:
                points += max(LOAD * helping, LOAD_MAX)
            if asked:
                points += max(NOTIFIED * asked, NOTIFIED_MAX)
        bucket = buckets.get(points)
        if bucket is None:
            bucket = buckets[points] = []
        bucket.append(row)

    # Points are whole numbers and the tie-break is below 1: take the buckets from the top until ``limit``
    # members are in hand; every member of a lower bucket scores below each of them.
    request_id = request.id
    ranked: list[tuple[float, int, tuple]] = []
    for points in sorted(buckets, reverse=True):
        if limit is not None and len(ranked) >= limit:
            break
        ranked.extend((points + tie_break(request_id, row[0]), row[0], row) for row in buckets[points])
    best = heapq.nlargest(limit, ranked) if limit is not None else sorted(ranked, reverse=True)
    suggestions = []
    for total, person_id, row in best:
        _pid, is_experienced, languages, expertise, person_region, recent = row
        if sign_ins and person_id in sign_ins:
            recent = sign_ins[person_id]
        parts = (
            language_memo[languages if isinstance(languages, str | None) else tuple(languages)][1],
            expertise_memo[expertise if isinstance(expertise, str | None) else tuple(expertise)][1],
            person_region if region_memo[person_region] else None,
            bool(is_experienced),
            bool(recent and (signed_in_since is None or recent >= signed_in_since)),
            responses.get(person_id, 0),
            load.get(person_id, 0),
            notified.get(person_id, 0),
        )
        suggestions.append(
            Suggestion(person_id, round(total, 4), _reasons(parts, experienced_points, pressing))
        )
    return suggestions


def _key(value):
    return value if isinstance(value, str) or value is None else tuple(value)


def _reasons(parts: tuple, experienced_points: int, pressing: bool) -> list[dict]:
    shared, found, region, is_experienced, recent, written, helping, asked = parts
    reasons = []
    if shared:
        value = LANGUAGE + min(LANGUAGE_EXTRA * (len(shared) - 1), LANGUAGE_EXTRA_MAX)
        reasons.append({"code": "language", "value": shared, "points": value})
    if found:
        reasons.append(
            {"code": "expertise", "value": found, "points": min(EXPERTISE * len(found), EXPERTISE_MAX)}
        )
    if region:
        reasons.append({"code": "region", "value": region, "points": REGION})
    if is_experienced:
        reasons.append({"code": "experienced", "value": pressing, "points": experienced_points})
    if recent:
        reasons.append({"code": "signed_in", "value": None, "points": SIGNED_IN})
    if written:
        reasons.append(
            {"code": "responses", "value": written, "points": min(RESPONSE * written, RESPONSE_MAX)}
        )
    if helping:
        reasons.append({"code": "load", "value": helping, "points": max(LOAD * helping, LOAD_MAX)})
    if asked:
        reasons.append({"code": "notified", "value": asked, "points": max(NOTIFIED * asked, NOTIFIED_MAX)})
    return reasons
