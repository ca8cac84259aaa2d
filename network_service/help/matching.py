"""Who should hear about a help request: members ranked by fit, each suggestion with its reasons.

Four queries whatever the network's size (the candidates with the person fields the score needs; open requests
each candidate helps with; their responses in the last 30 days; help notifications they got in the last 14
days, the last three as GROUP BY aggregates), then plain Python scoring. Weights, in points:

==========================  =========================================================================
language                    +40 when the member speaks one of the request's languages, +5 for each
                            further shared language (at most +10). The strongest signal: help in a
                            language the asker (and the person they accompany) speaks.
expertise                   +12 for each of the member's areas of expertise that matches a tag or a
                            word of the topic (at most +24).
region                      +15 when the member's region is the request's region.
experience                  +8 for experienced members; +15 when the request is high or urgent.
load                        -6 for each open request the member already helps with (at most -30).
recent activity             +5 when they signed in within 30 days; +2 for each response they wrote in
                            the last 30 days (at most +6).
fairness                    -6 for each help notification they got in the last 14 days (at most -30),
                            so that the same few people are not always asked.
tie-break                   a number in [0, 1) from the request's and the member's ids (BLAKE2b), so that
                            equal scores rotate from request to request instead of favouring low ids.
==========================  =========================================================================

Reasons are stored as machine codes with values (``{"code": "language", "value": ["Arabic"], "points": 40}``)
and worded when shown, in the reader's language.
"""

from __future__ import annotations

import datetime as dt
import heapq
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.db import session, utcnow
from network_service.help.models import HelpRequest, HelpResponse, HelpStatus, HelpSuggestion, Urgency
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


def _grouped(query) -> dict[int, int]:
    return {person_id: count for person_id, count in session.execute(query) if person_id is not None}


def rank(request: HelpRequest, *, limit: int | None = None, exclude: Iterable[int] = ()) -> list[Suggestion]:
    """Active members of the request's network except its author (and ``exclude``), best first."""
    now = utcnow()
    activity_since = now - dt.timedelta(days=ACTIVITY_DAYS)
    fairness_since = now - dt.timedelta(days=FAIRNESS_DAYS)
    candidates = session.execute(
        sa.select(
            Person.id,
            Membership.level,
            Person.languages,
            Person.expertise,
            Person.region,
            Person.last_sign_in_at,
        )
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.network_id == request.network_id, Membership.status == MembershipStatus.active)
    ).all()
    load = _grouped(
        sa.select(HelpResponse.author_id, sa.func.count(sa.distinct(HelpResponse.request_id)))
        .join(HelpRequest, HelpRequest.id == HelpResponse.request_id)
        .where(
            HelpRequest.network_id == request.network_id,
            HelpRequest.status == HelpStatus.open,
            HelpRequest.id != request.id,
        )
        .group_by(HelpResponse.author_id)
    )
    responses = _grouped(
        sa.select(HelpResponse.author_id, sa.func.count(HelpResponse.id))
        .join(HelpRequest, HelpRequest.id == HelpResponse.request_id)
        .where(HelpRequest.network_id == request.network_id, HelpResponse.created_at >= activity_since)
        .group_by(HelpResponse.author_id)
    )
    notified = _grouped(
        sa.select(HelpSuggestion.person_id, sa.func.count(HelpSuggestion.id))
        .where(HelpSuggestion.notified_at >= fairness_since, HelpSuggestion.request_id != request.id)
        .group_by(HelpSuggestion.person_id)
    )
    return score(
        request, candidates, load=load, responses=responses, notified=notified, now=now, limit=limit,
        exclude=exclude,
    )  # fmt: skip


def score(
    request: HelpRequest,
    candidates: Iterable[tuple],
    *,
    load: dict[int, int],
    responses: dict[int, int],
    notified: dict[int, int],
    now: dt.datetime,
    limit: int | None = None,
    exclude: Iterable[int] = (),
) -> list[Suggestion]:
    """Score ``candidates`` (person id, level, languages, expertise, region, last sign-in) in Python."""
    wanted_languages = {_norm(lang) for lang in request.languages or () if lang.strip()}
    tags = {_norm(tag) for tag in request.tags or () if tag.strip()}
    words = _words(request.topic) | _words(" ".join(request.tags or ()))
    region = _norm(request.region or "")
    pressing = request.urgency in (Urgency.high, Urgency.urgent)
    experienced_points = EXPERIENCED_PRESSING if pressing else EXPERIENCED
    signed_in_since = now - dt.timedelta(days=ACTIVITY_DAYS)
    skip = set(exclude)
    if request.author_id is not None:
        skip.add(request.author_id)
    expertise_match: dict[str, bool] = {}

    def matches(entry: str) -> bool:
        if entry not in expertise_match:
            key = _norm(entry)
            expertise_match[entry] = key in tags or bool(_words(key) & words)
        return expertise_match[entry]

    language_keys: dict[str, bool] = {}

    def speaks(language: str) -> bool:
        if language not in language_keys:
            language_keys[language] = _norm(language) in wanted_languages
        return language_keys[language]

    region_hits: dict[str, bool] = {}

    def same_region(value: str) -> bool:
        if value not in region_hits:
            region_hits[value] = bool(region) and _norm(value) == region
        return region_hits[value]

    request_id = request.id
    experienced = Level.experienced
    # First pass: points only (cheap); the reasons are put into words only for the members returned.
    ranked: list[tuple[float, int, tuple]] = []
    for person_id, level, languages, expertise, person_region, last_sign_in in candidates:
        if person_id in skip:
            continue
        points = 0
        shared = [lang for lang in languages if speaks(lang)] if wanted_languages and languages else None
        if shared:
            points += LANGUAGE + min(LANGUAGE_EXTRA * (len(shared) - 1), LANGUAGE_EXTRA_MAX)
        found = [entry for entry in expertise if matches(entry)] if expertise else None
        if found:
            points += min(EXPERTISE * len(found), EXPERTISE_MAX)
        local = bool(person_region) and same_region(person_region)
        if local:
            points += REGION
        is_experienced = level == experienced
        if is_experienced:
            points += experienced_points
        recent = last_sign_in is not None and last_sign_in >= signed_in_since
        if recent:
            points += SIGNED_IN
        written = responses.get(person_id, 0)
        if written:
            points += min(RESPONSE * written, RESPONSE_MAX)
        helping = load.get(person_id, 0)
        if helping:
            points += max(LOAD * helping, LOAD_MAX)
        asked = notified.get(person_id, 0)
        if asked:
            points += max(NOTIFIED * asked, NOTIFIED_MAX)
        ranked.append(
            (
                points
                + (((hash((request_id, person_id)) * _MIX) & _MASK) >> 11) / _SCALE,  # tie_break inline
                person_id,
                (
                    shared,
                    found,
                    person_region if local else None,
                    is_experienced,
                    recent,
                    written,
                    helping,
                    asked,
                ),
            )
        )
    best = heapq.nlargest(limit, ranked) if limit is not None else sorted(ranked, reverse=True)
    return [
        Suggestion(pid, round(total, 4), _reasons(parts, experienced_points, pressing))
        for total, pid, parts in best
    ]


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
