"""Keyed pseudonyms of learners, for completion events kept after the retention period.

A completion event older than ``COMPLETION_PAYLOAD_RETENTION_DAYS`` keeps, instead of the learner's LMS username,
``HMAC-SHA256(key, platform + "\\n" + username)`` (hex). The same learner always gets the same pseudonym, so
reconciliation still recognises a learner it provisioned long ago (``lti_bridge.reconcile``), and an erasure
finds the events of a person whose usernames it knows; but nobody can read the username back, and testing a
guess needs the key. The key is a random secret stored once in ``privacy_key`` (made by migration sp9001, or on
first use): it is not derived from ``SECRET_KEY``, so rotating that changes no pseudonym. Whoever holds both the
database and this key can still test guesses: pseudonymised data is personal data (docs/privacy.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import sqlalchemy as sa
from flask import current_app

from network_service.db import session, utcnow
from network_service.privacy.models import PrivacyKey

COMPLETION_KEY = "completion_pseudonym"
_CACHE = "mentornet.privacy.keys"


def key(name: str = COMPLETION_KEY) -> bytes:
    """The stored secret ``name``, made now if there is none yet (then not remembered for the process until a
    later call reads it back: this transaction may still be rolled back)."""
    cache = current_app.extensions.setdefault(_CACHE, {})
    if name in cache:
        return cache[name]
    stored = session.scalar(sa.select(PrivacyKey.secret).where(PrivacyKey.name == name))
    if stored is not None:
        cache[name] = bytes.fromhex(stored)
        return cache[name]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(
        insert(PrivacyKey)
        .values(name=name, secret=secrets.token_hex(32), created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["name"])
    )
    # another process may have made it first: theirs is the key
    return bytes.fromhex(session.scalar(sa.select(PrivacyKey.secret).where(PrivacyKey.name == name)))


def digest(text: str, name: str = COMPLETION_KEY) -> str:
    return hmac.new(key(name), text.encode("utf-8"), hashlib.sha256).hexdigest()


def learner_pseudonym(platform: str, username: str) -> str:
    """The pseudonym of the learner ``username`` of ``platform`` (e.g. "openedx")."""
    return digest(f"{platform}\n{username}")
