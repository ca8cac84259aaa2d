"""The last step of an erasure: every free-text column of every table loses the person's e-mail, name and
identifiers.

The columns are not listed by hand: every String, Text and JSON column of ``Base.metadata`` (plugins' tables
too) is scrubbed, except the columns of ``NOT_SCRUBBED`` and ``NOT_SCRUBBED_ANYWHERE`` (each with its reason) and
Enum columns (a fixed list of codes). A column added later is therefore scrubbed without anyone remembering to;
tests/test_erasure_text_columns.py writes the person's name and address into every scrubbed column and checks
that none is left after an erasure.

How: per column, one SELECT finds the rows whose text holds a needle (ILIKE, of every letter on both databases:
SQLite connections get Python's lower(), db.py), only those rows are read, changed in Python and written back
by primary key. Rows without a match are never loaded, so a big network costs one scan per column.

What replaces what (as before, for others' texts that name the person), each as a whole word (not inside a
longer word: an LMS username "anna" leaves "Savannah" alone), in any case:
- the e-mail address and the identifiers (LMS username, LTI subject, xAPI account name, learner pseudonym);
- the display name, with a leading "@" of a mention (``operations.scrub_mentions``);
each by ``erasure.placeholder`` ("former member"). A name or identifier shorter than four characters is left
alone: it would match too many ordinary words.
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa

from network_service.db import Base, session
from network_service.privacy.operations import scrub_mentions

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


def _is_text(column: sa.Column) -> bool:
    if isinstance(column.type, sa.Enum):  # StrEnumType too
        return False  # a fixed list of codes
    return isinstance(column.type, sa.String | sa.JSON)  # Text is a String; JSONType is a JSON


def is_json(column: sa.Column) -> bool:
    return isinstance(column.type, sa.JSON)


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
            found.append(column)
    return found


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(column: sa.Column, needles: list[str]) -> list:
    if is_json(column):
        # as written, or as JSON escapes it (SQLite keeps non-ASCII letters as \uXXXX)
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


def scrub_text(value: Any, identifiers: re.Pattern | None, name: str, placeholder: str) -> Any:
    """``value`` (a string, or JSON: through dicts and lists) without the identifiers and the name (each as a
    whole word, any case; the name also as an @mention, as ``scrub_mentions`` does)."""
    if isinstance(value, str):
        if identifiers is not None:
            value = identifiers.sub(placeholder, value)
        return scrub_mentions(value, name, placeholder) if name else value
    if isinstance(value, dict):
        return {k: scrub_text(v, identifiers, name, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_text(v, identifiers, name, placeholder) for v in value]
    return value


def scrub_everywhere(erasure) -> None:
    """Every scrubbed column of every table without the person's e-mail, name and identifiers."""
    name = erasure.name.strip()
    if len(name) < 4:
        name = ""
    # as for names, identifiers shorter than four characters would match too many ordinary words
    identifiers = [n for n in erasure.needles() if n != erasure.name and len(n) >= 4]
    needles = identifiers + ([name] if name else [])
    if not needles:
        return
    pattern = _words(identifiers)
    for column in scrubbed_columns():
        table = column.table
        keys = list(table.primary_key.columns)  # every table has one (a test reads them all)
        length = getattr(column.type, "length", None)
        found = session.execute(sa.select(*keys, column).where(sa.or_(*_conditions(column, needles)))).all()
        changes = []
        for row in found:
            value = row[-1]
            scrubbed = scrub_text(value, pattern, name, erasure.placeholder)
            if scrubbed == value:
                continue  # the name inside a longer word: not a mention
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
