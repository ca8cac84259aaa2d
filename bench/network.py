"""A generated network at 1x and 10x: page latency over HTTP, SQL statements per page, matching time.

    .venv/bin/python bench/network.py [--scale 1|10|both] [--quick] [--requests 800] [--network-clients 16]

For each scale a fresh private schema in PostgreSQL's ``test`` database is migrated and filled with one network
(1x: 1,000 members, 20,000 messages, 500 help requests; 10x: 10,000 members, 200,000 messages, 5,000 help
requests, the issue's full size) by COPY batches through SQLAlchemy's connection, then ANALYZEd. Then:

1. SQL statements per page, in process: the Flask test client, signed in, and a ``before_cursor_execute``
   counter on the engine; each page is requested twice first (caches, the read marker) and counted on the
   third request. The same count at 1x and 10x means no N+1. Five more requests give the median time of the
   page and of its SQL in process, one request at a time, and name the slowest statement.
2. Matching in process: ``network_service.help.matching.rank`` for random help requests (p50/p99).
3. Pages over real HTTP against `mentornet serve` (gunicorn) with ``--network-clients`` concurrent clients, each
   with its own keep-alive connection and a signed session cookie; GET /healthz is the baseline measured in
   the same run.

Writes bench/results/<UTC timestamp>-network.json (and latest-network.json) and prints a table. Exit status 1
when the run failed (errors, a page that does not answer 200); the targets are informational.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

import common
import http_load
import provisioning
from server import Server, free_port

HOST = "127.0.0.1"
SLUG = "bench-network"
NETWORK_NAME = "Bench Mentor Network"
CHANNEL = "general"
PAGE_TARGET_P99_MS = 100.0
WARM_UP_PER_URL = 4  # unmeasured requests per URL before each round (2 workers: about two each)
MATCHING_TARGET_P99_MS = 50.0

LANGUAGES = [  # (name, weight): who speaks what in a German mentoring network
    ("German", 90), ("English", 55), ("Arabic", 18), ("Turkish", 12), ("Russian", 10), ("Ukrainian", 9),
    ("Farsi", 8), ("French", 8), ("Spanish", 6), ("Polish", 5), ("Italian", 4), ("Tigrinya", 2),
]  # fmt: skip
TOPICS = [
    "housing", "jobs", "school", "health", "asylum", "language courses", "childcare", "benefits",
    "tenancy law", "apprenticeship", "recognition of diplomas", "debt counselling", "family reunification",
    "driving licence", "psychological support",
]  # fmt: skip
REGIONS = [
    "Berlin-Mitte", "Neukölln", "Kreuzberg", "Spandau", "Marzahn", "Lichtenberg", "Pankow", "Wedding",
    "Potsdam", "Brandenburg an der Havel", "Cottbus", "Frankfurt (Oder)", "Oranienburg", "Eberswalde",
]  # fmt: skip
FIRST = ["Anna", "Ben", "Chiara", "Deniz", "Elif", "Farid", "Greta", "Hassan", "Ida", "Jonas", "Karim", "Lena",
         "Mona", "Nils", "Olga", "Paul", "Rania", "Sara", "Tomasz", "Uwe", "Vera", "Yusuf", "Zoe"]  # fmt: skip
LAST = ["Schmidt", "Yilmaz", "Novak", "Haddad", "Kowalski", "Weber", "Rossi", "Petrenko", "Ahmadi", "Becker",
        "Martin", "Garcia", "Ivanova", "Keller", "Nguyen", "Okafor"]  # fmt: skip
SENTENCES = [
    "Does anyone know a good place for **German courses** in the evening?",
    "Thanks a lot, that helped us a lot!",
    "The office at the Jobcenter asked for another form; here is what worked for us: "
    "[the checklist](https://example.org/checklist).",
    "We meet again next Tuesday at 18:00 in the community centre.",
    "I can translate into Arabic if someone needs it this week.",
    "Has anyone experience with the recognition of a nursing diploma from Syria?",
    "Reminder: please add your hours to the shared list before Friday.",
    "The family found a flat! Many thanks to everyone who shared offers.",
    "- bring the passport\n- bring the residence permit\n- bring the rental contract",
    "I will be on holiday for two weeks, @Lena takes over my appointments.",
]
OPEN_CHANNELS = [
    ("general", 45),
    ("housing", 14),
    ("jobs", 12),
    ("events", 8),
    ("newcomers", 7),
    ("random", 5),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--no-save", action="store_true", help="print only; write no results file")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--server-threads", type=int, default=4, help="threads per worker (default 4)")
    return parser.parse_args(argv)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("generated network")
    group.add_argument(
        "--scale", choices=["1", "10", "both"], default="both", help="data size (default both)"
    )
    group.add_argument(
        "--quick", action="store_true", help="fewer requests and matching samples (a smoke run)"
    )
    group.add_argument(
        "--requests", type=int, help="measured requests per page and scale (default 800; --quick 160)"
    )
    group.add_argument("--network-clients", type=int, default=16, help="concurrent HTTP clients (default 16)")
    group.add_argument(
        "--max-seconds",
        type=float,
        default=30.0,
        help="at most this many measured seconds per page and scale; a slower page is measured over fewer "
        "requests (default 30)",
    )
    group.add_argument(
        "--matching-samples", type=int, help="help requests ranked in process (default 200; --quick 40)"
    )
    group.add_argument(
        "--no-http", action="store_true", help="only the statement counts and the matching, no server"
    )
    group.add_argument("--network-seed", type=int, default=20261128, help="seed of the generated data")
    if not any(action.dest == "postgres_url" for action in parser._actions):
        group.add_argument("--postgres-url", default=provisioning.DEFAULT_POSTGRES_URL)


def settings_from(args: argparse.Namespace) -> dict:
    return {
        "scales": [1, 10] if args.scale == "both" else [int(args.scale)],
        "requests": args.requests or (160 if args.quick else 800),
        "rounds": 2,
        "solo_requests": 10 if args.quick else 30,
        "clients": args.network_clients,
        "max_seconds": args.max_seconds,
        "matching_samples": args.matching_samples or (40 if args.quick else 200),
        "seed": args.network_seed,
        "workers": args.workers,
        "threads": args.server_threads,
        "postgres_url": args.postgres_url,
        "quick": bool(args.quick),
        "http": not args.no_http,
    }


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# -- generating the data ------------------------------------------------------------------------------------------


class Loader:
    """Rows written with COPY through the SQLAlchemy connection's psycopg connection, ids given by us."""

    def __init__(self, conn):
        self.conn = conn
        self.counts: Counter = Counter()
        self.with_ids: set[str] = set()

    def copy(self, table: str, columns: tuple[str, ...], rows) -> None:
        raw = self.conn.connection.driver_connection
        names = ", ".join(f'"{c}"' for c in columns)
        if "id" in columns:
            self.with_ids.add(table)
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
                self.counts[table] += 1

    def fix_sequences(self) -> None:
        import sqlalchemy as sa

        for table in sorted(self.with_ids):
            sequence = self.conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}
            ).scalar()
            if sequence:
                self.conn.execute(
                    sa.text(f'SELECT setval(:s, (SELECT max(id) FROM "{table}"))'),  # noqa: S608 - our table names
                    {"s": sequence},
                )


def _js(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _pick_languages(rng: random.Random) -> list[str]:
    names = [n for n, _w in LANGUAGES]
    weights = [w for _n, w in LANGUAGES]
    count = rng.choices([1, 2, 3], [35, 50, 15])[0]
    chosen: list[str] = []
    while len(chosen) < count:
        lang = rng.choices(names, weights)[0]
        if lang not in chosen:
            chosen.append(lang)
    return chosen


def generate(url: str, scale: int, seed: int) -> dict:
    """Fill the migrated schema at ``url``; returns the ids the measurements need and the row counts."""
    import sqlalchemy as sa

    from network_service.db import make_engine
    from network_service.languages import language_key

    rng = random.Random(seed * 100 + scale)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    members = 1000 * scale
    message_total = 20_000 * scale
    request_total = 500 * scale
    year = dt.timedelta(days=365)

    engine = make_engine(url)
    started = time.perf_counter()
    try:
        with engine.begin() as conn:
            load = Loader(conn)
            load.copy(
                "organisation",
                ("id", "name", "country", "city", "website", "description", "created_at"),
                [(1, "Bench Mentoring e.V.", "DE", "Berlin", "https://example.org", "", now - 2 * year)],
            )
            load.copy(
                "network",
                ("id", "slug", "name", "description", "organisation_id", "languages", "region",
                 "contact_email", "contact_phone", "contact_hours", "created_at"),
                [(1, SLUG, NETWORK_NAME, "A generated network.", 1, _js(["German", "English"]),
                  "Berlin", "office@example.org", "", "Mon-Fri 10-16", now - 2 * year)],
            )  # fmt: skip

            # People: person 1 is the coordinator, 2-4 Meta-Mentors, 5-6 the office, the rest mentors.
            expertise_pool = TOPICS
            people = []
            status_of: dict[int, str] = {}
            joined: dict[int, dt.datetime] = {}
            for pid in range(1, members + 1):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                recent = rng.random() < 0.6
                people.append(
                    (
                        pid,
                        f"member{pid}@bench.example.org",
                        f"{first} {last} {pid}",
                        rng.choice(["de", "en"]),
                        "Europe/Berlin",
                        _js(_pick_languages(rng)),
                        _js(rng.sample(expertise_pool, rng.choices([0, 1, 2, 3], [20, 40, 30, 10])[0])),
                        rng.choice(REGIONS) if rng.random() < 0.8 else "",
                        "Volunteer mentor." if rng.random() < 0.3 else "",
                        False,
                        now - dt.timedelta(days=rng.uniform(0, 29) if recent else rng.uniform(31, 400)),
                        now - dt.timedelta(days=rng.uniform(30, 700)),
                    )
                )
            load.copy(
                "person",
                ("id", "email", "display_name", "locale", "timezone", "languages", "expertise", "region", "bio",
                 "is_site_admin", "last_sign_in_at", "created_at"),
                people,
            )  # fmt: skip
            viewer_id = 7  # a mentor: the member the pages are measured for
            memberships = []
            for pid in range(1, members + 1):
                role = (
                    "coordinator"
                    if pid == 1
                    else "meta_mentor"
                    if pid <= 4
                    else "office"
                    if pid <= 6
                    else "mentor"
                )
                status = (
                    "active"
                    if pid <= viewer_id
                    else rng.choices(["active", "invited", "suspended", "left"], [92, 5, 2, 1])[0]
                )
                status_of[pid] = status
                joined[pid] = now - dt.timedelta(days=rng.uniform(1, 700))
                level = "experienced" if pid <= 4 or rng.random() < 0.3 else "novice"
                memberships.append(
                    (pid, 1, pid, role, level, status, rng.choice(["graduate", "invited", "applied"]),
                     joined[pid] if status != "invited" else None, joined[pid])
                )  # fmt: skip
            load.copy(
                "membership",
                (
                    "id",
                    "network_id",
                    "person_id",
                    "role",
                    "level",
                    "status",
                    "origin",
                    "joined_at",
                    "created_at",
                ),
                memberships,
            )
            active = [pid for pid in range(1, members + 1) if status_of[pid] == "active"]
            load.copy(
                "agreement",
                (
                    "id",
                    "network_id",
                    "version",
                    "title",
                    "body",
                    "change_note",
                    "published_by_id",
                    "created_at",
                ),
                [(1, 1, 1, "Network agreement", "1. We respect each other.", "", 1, now - 2 * year)],
            )
            load.copy(
                "agreement_acceptance",
                ("id", "agreement_id", "person_id", "accepted_at"),
                [(i, 1, pid, joined[pid]) for i, pid in enumerate(active, start=1)],
            )
            # Sharing the profile is opt-in (docs/privacy.md): most members said yes when they joined, a few said
            # no, the rest have not chosen (matched on nothing of their profile). Drawn from a random of its own,
            # so the rest of the world stays as it was.
            from network_service.privacy.operations import PROFILE_SHARING, PURPOSES

            consent_rng = random.Random(seed * 100 + scale + 7)
            consents = []
            for pid in range(1, members + 1):
                draw = 0.0 if pid <= viewer_id else consent_rng.random()  # the measured members share
                if draw < 0.93:  # 85 % yes, 8 % no, 7 % not chosen
                    consents.append(
                        (len(consents) + 1, pid, PROFILE_SHARING, draw < 0.85, PURPOSES[PROFILE_SHARING].version,
                         "join", joined[pid])
                    )  # fmt: skip
            load.copy(
                "consent_record",
                ("id", "person_id", "purpose", "given", "text_version", "via", "recorded_at"),
                consents,
            )

            # Channels: open ones by weight of traffic, private groups, direct conversations.
            channels = []
            weights = []
            channel_id = 0
            for slug, weight in OPEN_CHANNELS:
                channel_id += 1
                channels.append((channel_id, slug, "open", None, None))
                weights.append(weight)
            group_members: dict[int, list[int]] = {}
            for number in range(5):
                channel_id += 1
                channels.append((channel_id, f"group-{number + 1}", "private", None, None))
                weights.append(0.8)
                group_members[channel_id] = rng.sample(active, min(len(active), rng.randint(8, 30)))
            if viewer_id not in group_members[len(OPEN_CHANNELS) + 1]:
                group_members[len(OPEN_CHANNELS) + 1].append(viewer_id)
            for _number in range(10 * scale):
                channel_id += 1
                a, b = sorted(rng.sample(active, 2))
                if _number % 5 == 0 and viewer_id not in (a, b):
                    a, b = sorted((viewer_id, b))
                channels.append((channel_id, f"direct-{channel_id}", "direct", f"{a}-{b}", None))
                weights.append(3.0 / (10 * scale))
                group_members[channel_id] = [a, b]

            # Messages: ids in time order; 30% thread roots, the rest replies to one of the recent roots of
            # their channel (most to the newest, a few to older, long threads).
            authors_weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(active))]
            shuffled = active[:]
            rng.shuffle(shuffled)
            channel_ids = [c[0] for c in channels]
            where = rng.choices(channel_ids, weights, k=message_total)
            writers = rng.choices(shuffled, authors_weights, k=message_total)
            start = now - year
            step = year / message_total
            roots_of: dict[int, list[int]] = {}
            root_replies: dict[int, list] = {}  # root id -> [count, last reply time]
            last_message: dict[int, dt.datetime] = {}
            newest_in: dict[int, int] = {}
            rows = []
            for index in range(message_total):
                mid = index + 1
                channel = where[index]
                author = writers[index]
                if channel in group_members and author not in group_members[channel]:
                    author = rng.choice(group_members[channel])
                created = start + step * index
                roots = roots_of.setdefault(channel, [])
                parent = None
                if roots and rng.random() < 0.7:
                    back = min(len(roots), 1 + int(rng.expovariate(0.35)))
                    parent = roots[-back]
                    entry = root_replies[parent]
                    entry[0] += 1
                    entry[1] = created
                else:
                    roots.append(mid)
                    root_replies[mid] = [0, None]
                body = rng.choice(SENTENCES)
                if rng.random() < 0.3:
                    body += " " + rng.choice(SENTENCES)
                deleted = rng.random() < 0.005
                hidden = not deleted and rng.random() < 0.002
                rows.append(
                    [mid, channel, author, parent, "" if deleted else body, created,
                     created + dt.timedelta(minutes=5) if rng.random() < 0.03 else None,
                     created + dt.timedelta(hours=1) if deleted else None, author if deleted else None,
                     created + dt.timedelta(hours=2) if hidden else None, 2 if hidden else None, 0, None]
                )  # fmt: skip
                last_message[channel] = created
                newest_in[channel] = mid
            for row in rows:
                if row[3] is None:
                    row[11], row[12] = root_replies[row[0]]
            load.copy(
                "channel",
                ("id", "network_id", "slug", "name", "description", "kind", "direct_key", "created_by_id",
                 "archived_at", "last_message_at", "created_at"),
                [(cid, 1, slug, slug if kind != "direct" else "", "", kind, key, 1, None, last_message.get(cid),
                  start - dt.timedelta(days=1)) for cid, slug, kind, key, _x in channels],
            )  # fmt: skip
            load.copy(
                "message",
                ("id", "channel_id", "author_id", "parent_id", "body", "created_at", "edited_at", "deleted_at",
                 "deleted_by_id", "hidden_at", "hidden_by_id", "reply_count", "last_reply_at"),
                rows,
            )  # fmt: skip
            del rows

            # Read markers: 40% of the active members in "general", 15% in the other open channels; the members
            # of groups and direct conversations. The viewer is 40 messages behind in each channel.
            markers = []
            marker_id = 0
            for cid, _slug, kind, _key, _x in channels:
                newest = newest_in.get(cid)
                if kind == "open":
                    share = 0.4 if cid == 1 else 0.15
                    readers = {pid for pid in active if rng.random() < share} | {viewer_id}
                    member_flag = False
                else:
                    readers = set(group_members[cid])
                    member_flag = True
                for pid in sorted(readers):
                    marker_id += 1
                    if newest is None:
                        read = None
                    elif pid == viewer_id:
                        read = max(1, newest - 40 * scale)
                    else:
                        read = max(1, newest - int(rng.expovariate(1 / 200) * scale))
                    markers.append((marker_id, cid, pid, member_flag, start, read))
            load.copy(
                "channel_member",
                ("id", "channel_id", "person_id", "member", "joined_at", "last_read_message_id"),
                markers,
            )

            # Help requests: 10% open (mostly recent), the others resolved or closed, with responses and the
            # members the matching notified; the viewer wrote a few of them.
            requests_rows, language_rows, responses, suggestions, notifications = [], [], [], [], []
            response_id = suggestion_id = notification_id = 0
            open_ids = []
            for rid in range(1, request_total + 1):
                created = now - dt.timedelta(days=365 * (1 - rid / request_total) + rng.uniform(0, 0.5))
                is_open = rng.random() < (0.5 if created > now - dt.timedelta(days=30) else 0.06)
                status = "open" if is_open else rng.choices(["resolved", "closed"], [83, 17])[0]
                author = rng.choice(active) if rid % 50 else viewer_id
                langs = _pick_languages(rng)[: rng.choice([1, 1, 2])]
                tags = rng.sample(TOPICS, rng.choice([1, 1, 2, 3]))
                region = rng.choice(REGIONS) if rng.random() < 0.7 else ""
                answers = min(8, int(rng.expovariate(1 / 2.5)))
                first_response = None
                last_time = created
                for number in range(answers):
                    response_id += 1
                    last_time = last_time + dt.timedelta(hours=rng.uniform(0.2, 30))
                    first_response = first_response or last_time
                    responses.append(
                        (response_id, rid, rng.choice(active), rng.choice(SENTENCES), last_time, False)
                    )
                    del number
                resolved_at = None if is_open else last_time + dt.timedelta(hours=rng.uniform(1, 72))
                requests_rows.append(
                    (rid, 1, author, f"Help with {tags[0]} in {region or 'Berlin'}",
                     f"A family needs help with {', '.join(tags)}. " + rng.choice(SENTENCES), _js(langs), region,
                     _js(tags), rng.choices(["low", "normal", "high", "urgent"], [20, 55, 18, 7])[0], status,
                     created, None, first_response, resolved_at, None if is_open else author, False, answers)
                )  # fmt: skip
                if is_open:
                    open_ids.append(rid)
                # the keys the application writes (help.operations): one per language, as it compares them
                language_rows.extend(
                    (rid, key) for key in dict.fromkeys(language_key(lang) for lang in langs)
                )
                for pid in rng.sample(active, 5):
                    if pid == author:
                        continue
                    suggestion_id += 1
                    suggestions.append(
                        (suggestion_id, rid, pid, round(rng.uniform(20, 90), 4),
                         _js([{"code": "language", "value": langs[:1], "points": 40}]),
                         created + dt.timedelta(minutes=1))
                    )  # fmt: skip
                    notification_id += 1
                    notifications.append(
                        (notification_id, pid, 1, author, "help.matched",
                         _js({"author": f"Member {author}", "topic": f"Help with {tags[0]}"}),
                         f"/networks/{SLUG}/help/{rid}", created + dt.timedelta(minutes=1),
                         created + dt.timedelta(days=1) if created < now - dt.timedelta(days=7) else None,
                         created + dt.timedelta(hours=8))
                    )  # fmt: skip
            load.copy(
                "help_request",
                ("id", "network_id", "author_id", "topic", "body", "languages", "region", "tags", "urgency",
                 "status", "created_at", "updated_at", "first_response_at", "resolved_at", "resolved_by_id",
                 "masked", "response_count"),
                requests_rows,
            )  # fmt: skip
            load.copy("help_request_language", ("request_id", "language"), language_rows)
            load.copy(
                "help_response", ("id", "request_id", "author_id", "body", "created_at", "masked"), responses
            )
            load.copy(
                "help_suggestion",
                ("id", "request_id", "person_id", "score", "reasons", "notified_at"),
                suggestions,
            )
            # Conversation notifications: about three per active member over the year.
            for _number in range(3 * len(active)):
                notification_id += 1
                created = now - dt.timedelta(days=rng.uniform(0, 365))
                kind = rng.choice(["conversations.reply", "conversations.mention"])
                notifications.append(
                    (notification_id, rng.choice(active), 1, rng.choice(active), kind,
                     _js({"author": "A member", "channel": "#general"}),
                     f"/networks/{SLUG}/conversations/c/general", created,
                     created + dt.timedelta(days=2) if created < now - dt.timedelta(days=7) else None, None)
                )  # fmt: skip
            load.copy(
                "notification",
                ("id", "person_id", "network_id", "actor_id", "kind", "params", "url", "created_at", "read_at",
                 "mailed_at"),
                notifications,
            )  # fmt: skip

            # Meetings over the last and the next half year, with answers.
            meetings, rsvps = [], []
            rsvp_id = 0
            for meeting_id in range(1, 20 * scale + 1):
                starts = now + dt.timedelta(days=rng.uniform(-180, 180))
                starts = starts.replace(minute=0, second=0)
                meetings.append(
                    (meeting_id, 1, f"Mentor meeting {meeting_id}", "Exchange and supervision.", starts,
                     starts + dt.timedelta(hours=2), "Europe/Berlin", "", "Community centre", 1,
                     None, "", 0, now - dt.timedelta(days=200), now - dt.timedelta(days=200))
                )  # fmt: skip
                for pid in rng.sample(active, min(len(active), rng.randint(5, 40))):
                    rsvp_id += 1
                    rsvps.append(
                        (
                            rsvp_id,
                            meeting_id,
                            pid,
                            rng.choice(["yes", "yes", "maybe", "no"]),
                            starts - year / 12,
                        )
                    )
            load.copy(
                "meeting",
                ("id", "network_id", "title", "description", "starts_at", "ends_at", "timezone", "online_url",
                 "place", "organiser_id", "cancelled_at", "cancel_reason", "sequence", "updated_at",
                 "created_at"),
                meetings,
            )  # fmt: skip
            load.copy("rsvp", ("id", "meeting_id", "person_id", "answer", "updated_at"), rsvps)
            load.fix_sequences()
        loaded = time.perf_counter() - started
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
    finally:
        engine.dispose()
    open_authored = [rid for rid in open_ids if requests_rows[rid - 1][2] != 1]
    return {
        "rows": dict(load.counts),
        "active_members": len(active),
        "load_s": round(loaded, 2),
        "load_and_analyze_s": round(time.perf_counter() - started, 2),
        "viewer_id": viewer_id,
        "coordinator_id": 1,
        "request_ids": list(range(1, request_total + 1)),
        "open_request_ids": open_authored,
    }


# -- the app in process -------------------------------------------------------------------------------------------


def app_settings(url: str, secret_key: str, base_url: str) -> dict:
    return {
        "ENV": "development",
        "SECRET_KEY": secret_key,
        "DATABASE_URL": url,
        "BASE_URL": base_url,
        "OUTBOX_WORKER": False,  # nothing in the background: the pages alone are measured
        "JOBS_IN_PROCESS": False,
        "RATELIMIT_ENABLED": False,
        "SMTP_URL": None,
        "DEMO_MAILBOX": False,
    }


def environment(settings: dict) -> dict[str, str]:
    return {
        f"MENTORNET_{key}": (json.dumps(value) if isinstance(value, bool) else str(value))
        for key, value in settings.items()
        if value is not None
    }


def pages_for(data: dict, app) -> list[dict]:
    """The measured pages: name, paths (taken in turn), who is signed in, a text the page must show. The help
    request page rotates over 20 open requests; /embed/panel is measured only when the route exists."""
    request_urls = [f"/networks/{SLUG}/help/{rid}?next=1" for rid in data["open_request_ids"][-20:]]
    pages = [
        {
            "name": "GET /healthz (baseline)",
            "urls": ["/healthz"],
            "who": None,
            "baseline": True,
            "expect": "ok",
        },
        {"name": "network home", "urls": [f"/networks/{SLUG}"], "who": "member", "expect": NETWORK_NAME},
        {
            "name": "channel page",
            "urls": [f"/networks/{SLUG}/conversations/c/{CHANNEL}"],
            "who": "member",
            "expect": SENTENCES[1][:20],
        },
        {"name": "help list", "urls": [f"/networks/{SLUG}/help"], "who": "member", "expect": "Help with"},
        {
            "name": "help request + matching",
            "urls": request_urls,
            "who": "coordinator",
            "expect": "Help with",
            "matching": True,
        },
    ]
    if any(rule.rule == "/embed/panel" for rule in app.url_map.iter_rules()):
        # The panel does not use the session: the LTI launch hands it a signed token naming the person.
        from network_service.accounts.models import Person
        from network_service.embed.views import panel_url

        with app.test_request_context():
            path = panel_url(Person(id=data["viewer_id"]))
        pages.append({"name": "embed panel", "urls": [path], "who": None, "expect": NETWORK_NAME})
    return pages


def session_payload(app, person_id: int) -> dict:
    """A signed-in session's cookie contents with its server-side record (committed), as a sign-in makes."""
    from network_service.accounts.models import Person
    from network_service.accounts.sessions import cookie_data, start_session
    from network_service.db import session

    with app.app_context():
        device = start_session(session.get(Person, person_id), via="bench")
        session.commit()
        return {**cookie_data(device), "_permanent": True}


def count_statements(app, pages: list[dict], people: dict[str, int], timed: int = 5) -> dict:
    """Statements per page, in process: the third request of each page's first URL (two before it warm the
    caches and move the read marker), its status, and how long its statements took. Then ``timed`` more requests
    of the same page, one after the other: the median time of the whole request and of its SQL in process (no
    queueing, no HTTP), and the median time of each statement (by position), so a slow one can be named."""
    from sqlalchemy import event

    from network_service.db import db

    with app.app_context():
        engine = db.engine
    statements: list[list] = []  # [statement, seconds]

    def before(_conn, _cursor, statement, _params, context, _executemany):
        statements.append([statement, 0.0])
        context._bench_started = time.perf_counter()

    def after(_conn, _cursor, _statement, _params, context, _executemany):
        statements[-1][1] = time.perf_counter() - context._bench_started

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    results = {}
    try:
        for page in pages:
            client = app.test_client()
            if page["who"]:
                with client.session_transaction() as flask_session:
                    flask_session.update(session_payload(app, people[page["who"]]))
            url = page["urls"][0]
            for _warm in range(2):
                client.get(url)
            statements.clear()
            response = client.get(url)
            counted = [text for text, _seconds in statements]
            request_times, sql_times, per_statement = [], [], [[] for _ in counted]
            timing_started = time.perf_counter()
            for again in range(timed):
                if again and time.perf_counter() - timing_started > 5:  # a slow page: fewer samples
                    break
                statements.clear()
                started = time.perf_counter()
                client.get(url)
                request_times.append(time.perf_counter() - started)
                sql_times.append(sum(seconds for _text, seconds in statements))
                for index, (_text, seconds) in enumerate(statements[: len(counted)]):
                    per_statement[index].append(seconds)
            medians = [1000 * _median(times) if times else None for times in per_statement]
            slowest = max(range(len(counted)), key=lambda i: medians[i] or 0) if counted else None
            results[page["name"]] = {
                "url": url,
                "status": response.status_code,
                "shows_expected_text": page["expect"] in response.get_data(as_text=True),
                "statements": len(counted),
                "bytes": len(response.data),
                "in_process_ms": round(1000 * _median(request_times), 2) if request_times else None,
                "in_process_sql_ms": round(1000 * _median(sql_times), 2) if sql_times else None,
                "slowest_statement": (
                    {"ms": round(medians[slowest], 2), "sql": " ".join(counted[slowest].split())[:160]}
                    if slowest is not None
                    else None
                ),
                "sql": [
                    {"ms": round(ms, 2) if ms is not None else None, "sql": " ".join(text.split())[:160]}
                    for text, ms in zip(counted, medians, strict=True)
                ],
            }
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return results


def _median(values: list[float]) -> float:
    return http_load.percentile(sorted(values), 50)


def time_matching(app, request_ids: list[int], samples: int, seed: int) -> dict:
    """``rank(request, limit=HELP_NOTIFY_COUNT)`` for random requests, in process; the request is loaded before
    the clock starts."""
    from sqlalchemy import event

    from network_service.db import db, session
    from network_service.help.matching import rank
    from network_service.help.models import HelpRequest

    rng = random.Random(seed)
    chosen = [rng.choice(request_ids) for _ in range(samples)]
    timings, counts, sizes = [], [], []
    statements = [0]

    def count(*_args):
        statements[0] += 1

    with app.app_context():
        engine = db.engine
        limit = app.config.get("HELP_NOTIFY_COUNT", 5)
        for rid in chosen[:5]:  # warm: imports, compiled statement cache, connections
            rank(session.get(HelpRequest, rid), limit=limit)
        session.expunge_all()
        event.listen(engine, "before_cursor_execute", count)
        try:
            for rid in chosen:
                request = session.get(HelpRequest, rid)
                statements[0] = 0
                started = time.perf_counter()
                result = rank(request, limit=limit)
                timings.append(time.perf_counter() - started)
                counts.append(statements[0])
                sizes.append(len(result))
                session.expunge_all()
        finally:
            event.remove(engine, "before_cursor_execute", count)
    ordered = sorted(timings)
    return {
        "function": "network_service.help.matching.rank(request, limit=HELP_NOTIFY_COUNT)",
        "samples": samples,
        "limit": limit,
        "latency_ms": {
            "p50": round(1000 * http_load.percentile(ordered, 50), 2),
            "p99": round(1000 * http_load.percentile(ordered, 99), 2),
            "max": round(1000 * ordered[-1], 2),
            "mean": round(1000 * sum(ordered) / len(ordered), 2),
        },
        "statements_per_call": sorted(set(counts)),
        "suggestions_returned": sorted(set(sizes)),
    }


# -- over HTTP ----------------------------------------------------------------------------------------------------


def measure_http(app, settings: dict, database_url: str, server_settings: dict, pages, people, directory):
    port = int(server_settings["BASE_URL"].rsplit(":", 1)[1])
    server = Server(
        database_url=database_url,
        base_url=server_settings["BASE_URL"],
        host=HOST,
        port=port,
        workers=settings["workers"],
        threads=settings["threads"],
        log_path=directory / "server.log",
        environment=environment(server_settings),
    )
    serializer = app.session_interface.get_signing_serializer(app)
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    clients = settings["clients"]
    base = server_settings["BASE_URL"]
    try:
        server.start()
        server.wait_ready()
        sessions: dict = {}
        for who in (None, "member", "coordinator"):
            group = [http_load.new_client() for _ in range(clients)]
            if who:
                cookie = serializer.dumps(session_payload(app, people[who]))
                for session in group:
                    session.cookies.set(cookie_name, cookie)
            sessions[who] = group
        phases: dict[str, list[http_load.Phase]] = {page["name"]: [] for page in pages}
        warm_errors: dict[str, dict] = {}
        warm_phases: dict[str, list[http_load.Phase]] = {page["name"]: [] for page in pages}
        per_round = max(1, settings["requests"] // settings["rounds"])
        for round_number in range(settings["rounds"]):
            for page in pages:
                urls = [base + path for path in page["urls"]]
                group = sessions[page["who"]]
                _progress(f"HTTP round {round_number + 1}/{settings['rounds']}: {page['name']}")
                # Fresh connections: gunicorn closed the ones left idle (2 s keep-alive) while other pages ran.
                http_load.drop_connections(group)
                # Unmeasured first: half as many requests as clients, and for a page that takes turns over
                # several URLs (the help request page: 20), each URL about twice per worker, so that no worker
                # renders a URL for the first time while measured, as the single-URL pages never do.
                warm = http_load.run_count(
                    urls, group, max(2, clients // 2, WARM_UP_PER_URL * len(urls)), max_seconds=5
                )
                for kind, n in warm.errors.items():
                    warm_errors.setdefault(page["name"], Counter())[kind] += n
                warm_phases[page["name"]].append(warm)
                phases[page["name"]].append(
                    http_load.run_count(
                        urls,
                        group,
                        per_round,
                        server.worker_cpu_seconds,
                        max_seconds=settings["max_seconds"] / settings["rounds"],
                    )
                )
        # The same pages for one client alone: the time of a request without queueing behind 15 others.
        solo: dict[str, http_load.Phase] = {}
        for page in pages:
            group = sessions[page["who"]][:1]
            http_load.drop_connections(group)
            _progress(f"HTTP one client: {page['name']}")
            solo[page["name"]] = http_load.run_count(
                [base + path for path in page["urls"]], group, settings["solo_requests"], max_seconds=10
            )
        for group in sessions.values():
            for session in group:
                session.close()
        memory = server.worker_memory()
    except Exception:
        print(f"--- server log (last lines) ---\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        server.stop()
    results = {}
    baseline = http_load.summarise(phases[pages[0]["name"]])
    for page in pages:
        summary = http_load.summarise(phases[page["name"]])
        summary["urls"] = page["urls"][:3] + (["..."] if len(page["urls"]) > 3 else [])
        summary["who"] = page["who"]
        summary["baseline"] = bool(page.get("baseline"))
        summary["requested"] = settings["requests"]
        summary["warmup_error_kinds"] = dict(warm_errors.get(page["name"], {}))
        warmed = http_load.summarise(warm_phases[page["name"]])
        # the unmeasured requests before each round: first views of each URL in each worker among them
        summary["warm_up"] = {
            "requests": warmed["requests"],
            "latency_ms": {q: warmed["latency_ms"][q] for q in ("p50", "p99", "max")},
        }
        alone = http_load.summarise([solo[page["name"]]])
        summary["one_client"] = {
            "requests": alone["requests"],
            "errors": alone["errors"],
            "latency_ms": {q: alone["latency_ms"][q] for q in ("p50", "p99", "max")},
        }
        base_p50 = baseline["latency_ms"]["p50"]
        if base_p50 and summary["latency_ms"]["p50"]:
            summary["p50_to_baseline_p50"] = round(summary["latency_ms"]["p50"] / base_p50, 2)
        results[page["name"]] = summary
    return results, {"workers": memory}


def prepare_database(postgres_url: str) -> provisioning.BenchDatabase:
    """A private schema ``bench_network_<pid>_<random>`` in the database of ``postgres_url`` (as
    provisioning.prepare_database does), dropped again by the returned object's ``drop``."""
    import sqlalchemy as sa

    from network_service.config import _with_driver
    from network_service.db import make_engine

    base = sa.engine.make_url(_with_driver(postgres_url))
    plain = base.render_as_string(hide_password=False)
    schema = f"bench_network_{os.getpid()}_{secrets.token_hex(3)}"
    engine = make_engine(plain)
    try:
        with engine.begin() as conn:
            version = conn.execute(sa.text("SHOW server_version")).scalar_one()
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()

    def drop() -> None:
        engine = make_engine(plain)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            engine.dispose()

    url = base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    label = f"PostgreSQL {version.split()[0]}, schema {schema} of {base.database}"
    return provisioning.BenchDatabase("postgresql", url, label, drop)


# -- one scale ----------------------------------------------------------------------------------------------------


def run_scale(scale: int, settings: dict, directory: Path) -> dict:
    from network_service import migrations
    from network_service.app import create_app
    from network_service.db import db

    directory.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    database = prepare_database(settings["postgres_url"])
    result: dict = {"scale": scale, "database": database.label}
    app = None
    try:
        port = free_port(HOST)
        server_settings = app_settings(database.url, secrets.token_urlsafe(48), f"http://{HOST}:{port}")
        app = create_app(server_settings, use_environment=False)
        _progress(f"{scale}x: migrating {database.label} ...")
        with app.app_context():
            migrations.upgrade(app)
        result["migrate_s"] = round(time.perf_counter() - began, 2)
        _progress(f"{scale}x: generating the network ...")
        data = generate(database.url, scale, settings["seed"])
        result["data"] = {k: v for k, v in data.items() if not k.endswith("request_ids")}
        result["data"]["open_requests"] = len(data["open_request_ids"])
        _progress(f"{scale}x: {data['rows']} in {data['load_and_analyze_s']} s (with ANALYZE)")
        pages = pages_for(data, app)
        has_embed = any(page["name"] == "embed panel" for page in pages)
        result["embed_panel"] = "measured" if has_embed else "not built (no /embed/panel route)"
        people = {"member": data["viewer_id"], "coordinator": data["coordinator_id"]}

        _progress(f"{scale}x: counting SQL statements per page ...")
        result["statements"] = count_statements(app, pages, people)
        _progress(f"{scale}x: ranking {settings['matching_samples']} help requests in process ...")
        result["matching"] = time_matching(
            app, data["request_ids"], settings["matching_samples"], settings["seed"] + scale
        )
        if settings["http"]:
            _progress(f"{scale}x: pages over HTTP, {settings['clients']} clients ...")
            result["http"], result["memory"] = measure_http(
                app, settings, database.url, server_settings, pages, people, directory
            )
        _progress(f"{scale}x: erasing the measured member ...")  # last: it changes the data
        result["erasure"] = time_erasure(app, data["viewer_id"])
    finally:
        if app is not None:
            db.dispose(app)
        database.drop()
    result["duration_s"] = round(time.perf_counter() - began, 1)
    return result


def time_erasure(app, person_id: int) -> dict:
    """One member's erasure (their posts kept as "former member"), as the operator's command does it: every
    module's eraser, then the scrub of every free-text column of every table (privacy/scrubbing.py, a scan of
    each). Measured once, in process; a figure for the operator, not a target."""
    from network_service.accounts.models import Person
    from network_service.db import session
    from network_service.privacy.operations import erase_person

    with app.test_request_context():
        person = session.get(Person, person_id)
        started = time.perf_counter()
        summary = erase_person(person, None, confirm=person.email)
        session.commit()
        seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "summary": dict(summary["counts"])}


def run(settings: dict, directory: Path) -> dict:
    report: dict = {
        "settings": settings | {"postgres_url": provisioning.hide_password(settings["postgres_url"])}
    }
    report["scales"] = {}
    failures = {}
    for scale in settings["scales"]:
        try:
            report["scales"][f"{scale}x"] = run_scale(scale, settings, directory / f"{scale}x")
        except Exception as exc:
            traceback.print_exc()
            failures[f"{scale}x"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else exc!r}"
    if failures:
        report["failures"] = failures
    report["comparison"] = compare(report)
    return report


def compare(report: dict) -> dict:
    """Statements per page at 1x and 10x side by side; equal means no N+1."""
    scales = report.get("scales", {})
    if "1x" not in scales or "10x" not in scales:
        return {}
    rows = {}
    for name, small in scales["1x"]["statements"].items():
        large = scales["10x"]["statements"].get(name)
        if large is None:
            continue
        rows[name] = {
            "1x": small["statements"],
            "10x": large["statements"],
            "equal": small["statements"] == large["statements"],
        }
        if not rows[name]["equal"]:
            rows[name]["grows"] = _grown([q["sql"] for q in small["sql"]], [q["sql"] for q in large["sql"]])
    return rows


def _grown(small: list[str], large: list[str]) -> list[str]:
    """Statements (by their first words) that come more often at 10x than at 1x."""
    a, b = Counter(s[:100] for s in small), Counter(s[:100] for s in large)
    return [f"{b[s] - a[s]:+d} x {s}" for s in b if b[s] != a[s]][:10]


# -- evaluating and printing --------------------------------------------------------------------------------------


def problems(report: dict) -> int:
    total = len(report.get("failures", {}))
    for result in report.get("scales", {}).values():
        total += sum(
            1
            for s in result.get("statements", {}).values()
            if s["status"] != 200 or not s["shows_expected_text"]
        )
        for page in result.get("http", {}).values():
            total += page["errors"] + sum(page["warmup_error_kinds"].values()) + page["one_client"]["errors"]
    return total


def evaluate(report: dict) -> list[dict]:
    targets = []
    scales = report.get("scales", {})
    largest = scales.get("10x") or next(iter(scales.values()), None)
    if largest:
        label = f"{largest['scale']}x"
        for name, page in largest.get("http", {}).items():
            if page.get("baseline"):
                continue
            p99 = page["latency_ms"]["p99"]
            targets.append(
                {
                    "target": f"{label}: p99 of {name} <= {PAGE_TARGET_P99_MS:.0f} ms",
                    "value": p99,
                    "unit": "ms",
                    "pass": p99 is not None and p99 <= PAGE_TARGET_P99_MS,
                }
            )
        p99 = largest["matching"]["latency_ms"]["p99"]
        targets.append(
            {
                "target": f"{label}: matching (rank, in process) p99 <= {MATCHING_TARGET_P99_MS:.0f} ms",
                "value": p99,
                "unit": "ms",
                "pass": p99 <= MATCHING_TARGET_P99_MS,
            }
        )
    for name, row in report.get("comparison", {}).items():
        targets.append(
            {
                "target": f"same statements at 1x and 10x: {name}",
                "value": f"{row['1x']} / {row['10x']}",
                "unit": "",
                "pass": row["equal"],
            }
        )
    if largest and largest.get("embed_panel", "").startswith("not built"):
        targets.append({"target": "/embed/panel", "value": "not built", "unit": "", "pass": False})
    return targets


def _fmt(value, spec: str) -> str:
    return "-".rjust(int(spec.split(".")[0])) if value is None else format(value, spec)


def render_heading(report: dict) -> list[str]:
    s = report["settings"]
    return [
        f"Generated network (bench/network.py): HTTP with {s['clients']} clients, {s['requests']} requests per "
        f"page in {s['rounds']} rounds (at most {s['max_seconds']:g} s per page), gunicorn {s['workers']} "
        f"workers x {s['threads']} threads; p50 x is the ratio to GET /healthz's p50 in the same run; "
        f"'1 client p50': the same page with one client alone; SQL: statements per request, in process"
    ]


def render(report: dict) -> list[str]:
    lines = []
    s = report["settings"]
    scales = report.get("scales", {})
    for label, result in scales.items():
        data = result["data"]
        rows = data["rows"]
        lines.append("")
        lines.append(
            f"{label}: {rows.get('membership', 0)} members ({data['active_members']} active), "
            f"{rows.get('message', 0)} messages, {rows.get('help_request', 0)} help requests "
            f"({data['open_requests']} open), {rows.get('help_response', 0)} responses, "
            f"{rows.get('notification', 0)} notifications, {rows.get('meeting', 0)} meetings; "
            f"loaded in {data['load_s']} s, {data['load_and_analyze_s']} s with ANALYZE; {result['database']}"
        )
        lines.append(f"{label}: /embed/panel {result['embed_panel']}")
        header = (
            f"{'page':<26} {'SQL':>4} {'KB':>6} {'req':>5} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'max ms':>8} {'p50 x':>6} {'srv cpu ms':>10} {'1 client p50':>12} {'errors':>6}"
        )
        lines.append(header)
        lines.append("-" * len(header))
        for name, counted in result["statements"].items():
            page = result.get("http", {}).get(name)
            if page is None:
                lines.append(
                    f"{name:<26} {counted['statements']:>4} {counted['bytes'] / 1024:>6.0f}   (not over HTTP)"
                )
                continue
            lat = page["latency_ms"]
            lines.append(
                f"{name:<26} {counted['statements']:>4} {counted['bytes'] / 1024:>6.0f} {page['requests']:>5} "
                f"{page['throughput_rps']:>7.1f} {_fmt(lat['p50'], '8.1f')} {_fmt(lat['p99'], '8.1f')} "
                f"{_fmt(lat['max'], '8.1f')} {_fmt(page.get('p50_to_baseline_p50'), '6.2f')} "
                f"{_fmt(page['server_cpu_ms_per_request'], '10.2f')} "
                f"{_fmt(page['one_client']['latency_ms']['p50'], '12.1f')} {page['errors']:>6}"
            )
            if page["requested"] > page["requests"] + page["errors"]:
                lines.append(
                    f"  {name}: {page['requests']} of {s['requests']} requests within --max-seconds "
                    f"{s['max_seconds']:g}"
                )
            if page["error_kinds"] or page["warmup_error_kinds"]:
                lines.append(
                    f"  errors on {name}: {page['error_kinds']} (warm-up: {page['warmup_error_kinds']})"
                )
            if counted["status"] != 200 or not counted["shows_expected_text"]:
                lines.append(
                    f"  {name}: in process HTTP {counted['status']}, expected text shown: "
                    f"{counted['shows_expected_text']}"
                )
        lines.append(
            f"{label}: in process, one request at a time (median of 5): whole request / its SQL / slowest statement"
        )
        for name, counted in result["statements"].items():
            slow = counted.get("slowest_statement") or {}
            lines.append(
                f"  {name:<26} {_fmt(counted.get('in_process_ms'), '8.1f')} ms {_fmt(counted.get('in_process_sql_ms'), '7.1f')} ms"
                f"  {_fmt(slow.get('ms'), '6.1f')} ms {slow.get('sql', '')[:70]}"
            )
        m = result["matching"]
        lines.append(
            f"{label}: matching in process, {m['samples']} random requests, rank(limit={m['limit']}): "
            f"p50 {m['latency_ms']['p50']} ms, p99 {m['latency_ms']['p99']} ms, max {m['latency_ms']['max']} ms; "
            f"{m['statements_per_call']} statements per call"
        )
        erasure = result.get("erasure")
        if erasure:
            scrubbed = erasure["summary"].get("mentions_scrubbed", 0)
            lines.append(
                f"{label}: erasing the measured member (posts kept): {erasure['seconds']} s, "
                f"{scrubbed} texts scrubbed of their name and address"
            )
    comparison = report.get("comparison")
    if comparison:
        lines.append("")
        lines.append("SQL statements per request (in process, Flask test client), 1x and 10x")
        for name, row in comparison.items():
            lines.append(
                f"  {name:<26} {row['1x']:>4} {row['10x']:>4}  {'same' if row['equal'] else 'GROWS'}"
            )
            for grown in row.get("grows", []):
                lines.append(f"      {grown}")
    for label, failure in report.get("failures", {}).items():
        lines.append(f"  {label} FAILED: {failure}")
    return lines


def render_targets(targets: list[dict]) -> list[str]:
    return [
        f"  [{'PASS' if t['pass'] else 'FAIL'}] {t['target']}: {t['value']}{' ' + t['unit'] if t['unit'] else ''}"
        for t in targets
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = settings_from(args)
    began = time.perf_counter()
    report = common.new_report(vars(args) | {"postgres_url": provisioning.hide_password(args.postgres_url)})
    tmp = Path(tempfile.mkdtemp(prefix="mentornet-bench-network-"))
    try:
        report["network"] = run(settings, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["machine"]["loadavg_after"] = common.loadavg()
    report["duration_s"] = round(time.perf_counter() - began, 1)
    report["targets"] = evaluate(report["network"])
    count = problems(report["network"])
    report["ok"] = count == 0
    if count:
        report["failure"] = f"{count} error(s) or failed part(s)"
    print()
    print("\n".join(common.header_lines(report, "mentorNET network bench")))
    print("\n".join(render_heading(report["network"])))
    print("\n".join(render(report["network"])))
    print()
    print("Targets (informational; the exit status is 1 only for errors)")
    print("\n".join(render_targets(report["targets"])))
    if report.get("failure"):
        print(f"\nRUN FAILED: {report['failure']}")
    if not args.no_save:
        path = common.save(report, "-network")
        print(f"\nresults: {path.relative_to(common.REPO)} (and bench/results/latest-network.json)")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
