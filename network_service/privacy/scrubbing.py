"""The last step of an erasure: every free-text column of every table loses the person's e-mail address and,
where it is looked for, their name.

The columns are not listed by hand: every String, Text and JSON column of ``Base.metadata`` (plugins' tables
too) is scrubbed, except the columns of ``NOT_SCRUBBED`` and ``NOT_SCRUBBED_ANYWHERE`` (each with its reason) and
Enum columns (a fixed list of codes). A column added later is therefore scrubbed without anyone remembering to;
tests/test_erasure_text_columns.py writes the person's name and address into every scrubbed column and checks
what is left after an erasure.

How: per column, one SELECT finds the rows whose text holds a needle (ILIKE, of every letter on both databases:
SQLite connections get Python's lower(), db.py), only those rows are read, changed in Python and written back
by primary key. Rows without a match are never loaded, so a big network costs one scan per column.

What replaces what, by "former member" (``erasure.placeholder``), in any case:
- the e-mail address, as a whole address ("ada.zelda@example.org" is not "zelda@example.org"), in every scrubbed
  column: an address names one person and nothing else;
- the display name, in the text columns (not JSON, not the names of things: ``NAME_NOT_SCRUBBED_COLUMNS``): a
  name of two words or more as a whole phrase and as an @mention, a one-word name only as an @mention. Any member can choose
  their name, then erase their account: a one-word name ("Arabic", "Mentor") replaced wherever it stands would
  rewrite every network's texts, its names and members' languages.
The LMS and LTI identifiers (a username, a subject, often a number such as "2024") are not searched in free text,
for the same reason; the rows that carry them are the modules' erasers' to delete or clear (lti, courses).
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa

from network_service.db import Base, session

# Whole tables or single columns ("table" or "table.column") that are not scrubbed, and why.
NOT_SCRUBBED: dict[str, str] = {
    # others' texts about themselves (about-me, region, expertise) are scrubbed; not their own name and address
    "person.email": "another account's own address (the erased person's row is deleted)",
    "person.display_name": "another member's own name, even the same as the erased person's (theirs is deleted)",
    "lti_roster_entry.name": "a learner's own name from the LMS (the erased person's entries are deleted)",
    "cache_version": "names of internal versions (domain names and numeric ids, never a name or an address)",
    "privacy_key": "random secret keys",
    "network.slug": "a slug (letters, digits, hyphens) in every link to the network",
    "channel.slug": "a slug (letters, digits, hyphens) in every link to the channel",
    "channel.direct_key": "person ids only; the conversations eraser forgets the erased person's",
    "lti_platform_spent.value": "random token ids an LMS sent once",
    "lti_nonce.value": "a random value",
    "lti_tool_key.kid": "a random key id",
    "lti_capstone_launch.sub": "an opaque random subject made for the tool",
    "job_run.name": "the name of a scheduled job",
    "growth_setting": "site-wide settings: a name and a code (open, approval)",
    "bridge_reconcile_cursor.course_key": "a course key",
    "resource.stored_name": "a random file name",
    "resource.sha256": "a digest of the file",
    "resource.content_type": "a media type",
    "help_request_language.language": "a language code",
    "directory_entry_language.language": "a language code",
    "directory_entry_service.service": "a service code",
    "audit_log.action": "an action code",
    "audit_log.target_type": "a kind of record",
    "notification.kind": "a notification code",
    "outbound_email.kind": "a mail template code",
    "outbound_email.delivered_to": "a delivery code",
}
_DIGEST = "a digest of a secret value, never text"
# Columns of these names, in any table, are not scrubbed.
NOT_SCRUBBED_ANYWHERE: dict[str, str] = {
    "token_hash": _DIGEST,
    "secret_hash": _DIGEST,
    "code_hash": _DIGEST,
    "state_hash": _DIGEST,
    "private_key_pem": "a private key",
    "locale": "a language code",
    "timezone": "a time zone name",
    "country": "a two-letter country code",
    "status": "a status code",
    "via": "a code of the way something was done",
    "purpose": "a consent purpose code",
    "text_version": "a version code",
    "level": "a level code",
    "step": "a step code",
    "kind": "a kind code",
    "source": "a source code",
    "registered_via": "a code of the way something was registered",
}


# Columns where the name is not looked for (the e-mail address still is): the names of things, which a member's
# chosen name must not rewrite (a network "Berlin Mentors Circle", a channel, an organisation, a course), and
# identifiers.
NAME_NOT_SCRUBBED_COLUMNS = frozenset({"name", "slug", "title_key", "course_key", "issuer", "client_id"})


def _is_text(column: sa.Column) -> bool:
    if isinstance(column.type, sa.Enum):  # StrEnumType too
        return False  # a fixed list of codes
    return isinstance(column.type, sa.String | sa.JSON)  # Text is a String; JSONType is a JSON


def is_json(column: sa.Column) -> bool:
    return isinstance(column.type, sa.JSON)


def name_scrubbed(column: sa.Column) -> bool:
    """Whether the display name is looked for in ``column`` (the e-mail address is, in every scrubbed column)."""
    return not is_json(column) and column.name not in NAME_NOT_SCRUBBED_COLUMNS


def scrubbed_columns(metadata: sa.MetaData | None = None) -> list[sa.Column]:
    """Every column the erasure scrubs: String, Text and JSON columns of every table, minus the exceptions."""
    metadata = metadata if metadata is not None else Base.metadata
    found = []
    for table in metadata.sorted_tables:
        if table.name in NOT_SCRUBBED:
            continue
        for column in table.columns:
            if not _is_text(column):
                continue
            if f"{table.name}.{column.name}" in NOT_SCRUBBED or column.name in NOT_SCRUBBED_ANYWHERE:
                continue
            if column.primary_key or column.foreign_keys:
                continue  # a key (a session's id is its cookie's secret), never a text
            found.append(column)
    return found


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def mentions(column: sa.Column, needles: list[str]) -> list:
    """Conditions matching ``column`` whose text holds one of ``needles``, in any case; a JSON column by its text,
    each needle as written or as JSON escapes it (SQLite keeps non-ASCII letters as \\uXXXX)."""
    if is_json(column):
        text = sa.cast(column, sa.Text)
        variants = sorted({v for needle in needles for v in (needle, json.dumps(needle)[1:-1])})
    else:
        text, variants = column, needles
    return [text.ilike(f"%{like_escape(v)}%", escape="\\") for v in variants]


def _words(needles: list[str]) -> re.Pattern | None:
    """A pattern of the needles as whole words (not inside a longer word), any case, longest first."""
    if not needles:
        return None
    alternatives = "|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True))
    # not inside a longer address either: "ada.zelda@example.org" is not "zelda@example.org", but the full stop
    # that ends a sentence after one is not part of it
    return re.compile(rf"(?<![\w.+-])(?:{alternatives})(?![\w@]|[.-]\w)", re.IGNORECASE)


def _name_pattern(name: str) -> re.Pattern | None:
    """The display name as it is replaced: as an @mention always, and as a whole phrase when it has two words or
    more (a one-word name is an ordinary word too often: "Arabic", "Mentor")."""
    name = " ".join(name.split())
    if len(name) < 4:
        return None
    spaced = r"\s+".join(re.escape(word) for word in name.split(" "))
    if " " in name:
        return re.compile(rf"(?<![\w@])(?:@\[{spaced}\]|@?{spaced})(?!\w)", re.IGNORECASE)
    return re.compile(rf"(?<![\w@])@(?:\[{spaced}\]|{spaced})(?!\w)", re.IGNORECASE)


def scrub_text(value: Any, address: re.Pattern | None, name: re.Pattern | None, placeholder: str) -> Any:
    """``value`` (a string, or JSON: through dicts and lists) without the address and the name (``name``: None
    where the name is not looked for)."""
    if isinstance(value, str):
        if address is not None:
            value = address.sub(placeholder, value)
        if name is not None:
            value = name.sub(placeholder, value)
        return value
    if isinstance(value, dict):
        return {k: scrub_text(v, address, name, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_text(v, address, name, placeholder) for v in value]
    return value


def scrub_everywhere(erasure) -> None:
    """Every scrubbed column of every table without the person's e-mail address and name (module docstring)."""
    email = (erasure.email or "").strip()
    address = _words([email]) if len(email) >= 4 else None
    name_pattern = _name_pattern(erasure.name)
    if address is None and name_pattern is None:
        return
    # what SQL looks for first: the address, and the name's words as written (a mention holds them too)
    name_needle = " ".join(erasure.name.split()) if name_pattern is not None else ""
    for column in scrubbed_columns():
        with_name = name_pattern is not None and name_scrubbed(column)
        needles = ([email] if address is not None else []) + ([name_needle] if with_name else [])
        if not needles:
            continue
        table = column.table
        keys = list(table.primary_key.columns)  # every table has one (a test reads them all)
        length = getattr(column.type, "length", None)
        found = session.execute(sa.select(*keys, column).where(sa.or_(*mentions(column, needles)))).all()
        changes = []
        for row in found:
            value = row[-1]
            scrubbed = scrub_text(value, address, name_pattern if with_name else None, erasure.placeholder)
            if scrubbed == value:
                continue  # inside a longer word or address, or a one-word name without "@"
            if isinstance(scrubbed, str) and length and len(scrubbed) > length:
                scrubbed = scrubbed[:length]
            changes.append({**{f"scrub_key_{i}": row[i] for i in range(len(keys))}, "scrub_value": scrubbed})
        if changes:  # one executemany per column
            session.execute(
                table.update()
                .where(*[key == sa.bindparam(f"scrub_key_{i}") for i, key in enumerate(keys)])
                .values({column.name: sa.bindparam("scrub_value", type_=column.type)}),
                changes,
            )
            erasure.count("mentions_scrubbed", len(changes))
