"""reconciliation: event ids name the learner by pseudonym, not by username

Revision ID: q0002
Revises: q0001
Create Date: 2026-11-30

Reconciliation's completion events had the id ``openedx-reconcile:<course key>:<username>`` (or, for a long
course key, ``openedx-reconcile:sha256:<sha256 of course key and username>``), so the username stayed in the
event after the retention period. The ids are now built from the learner's keyed pseudonym
(``lti_bridge.reconcile._event_id``, ``network_service.privacy.pseudonyms``); this rewrites the ids stored before,
so that a run after the upgrade finds the same events (a pass waiting for the learner's e-mail is still one
event) and invites nobody twice. The pseudonym key is the one migration sp9001 made.
"""

import hashlib
import hmac
import json
import re

import sqlalchemy as sa
from alembic import op

revision = "q0002"
down_revision = "q0001"
branch_labels = None
depends_on = ("b0001", "sp9001")

PREFIX = "openedx-reconcile:"
PLATFORM = "openedx"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _digest(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def new_event_id(key: bytes, course_key: str, username: str) -> str:
    """As ``lti_bridge.reconcile._event_id`` makes it (kept here as it was when this migration was written)."""
    pseudonym = _digest(key, f"{PLATFORM}\n{username}")
    event_id = f"{PREFIX}{course_key}:{pseudonym}"
    if len(event_id) <= 255:
        return event_id
    return PREFIX + "hmac:" + _digest(key, course_key + "\n" + pseudonym)


def _username(event_id: str, course_key: str, identity) -> str | None:
    """The username an old id was made from, or None when this is not an old id."""
    if isinstance(identity, str):  # SQLite's JSON comes back as text through a plain table
        identity = json.loads(identity)
    username = identity.get("username") if isinstance(identity, dict) else None
    if username:
        username = str(username)
        sha = hashlib.sha256(f"{course_key}\n{username}".encode()).hexdigest()
        if event_id in (f"{PREFIX}{course_key}:{username}", f"{PREFIX}sha256:{sha}"):
            return username
    rest = event_id.removeprefix(f"{PREFIX}{course_key}:")
    if rest != event_id and rest and not _HEX64.fullmatch(rest):
        return rest
    return None


def upgrade():
    connection = op.get_bind()
    keys = sa.table("privacy_key", sa.column("name", sa.String), sa.column("secret", sa.String))
    secret = connection.execute(
        sa.select(keys.c.secret).where(keys.c.name == "completion_pseudonym")
    ).scalar_one()
    key = bytes.fromhex(secret)
    events = sa.table(
        "completion_event",
        sa.column("id", sa.Integer),
        sa.column("event_id", sa.String),
        sa.column("course_key", sa.String),
        sa.column("identity", sa.JSON),
    )
    rows = connection.execute(
        sa.select(events.c.id, events.c.event_id, events.c.course_key, events.c.identity).where(
            events.c.event_id.startswith(PREFIX, autoescape=True)
        )
    ).all()
    taken = {row.event_id for row in rows}
    for row in rows:
        username = _username(row.event_id, row.course_key, row.identity)
        if username is None:
            continue
        event_id = new_event_id(key, row.course_key, username)
        if event_id in taken:  # cannot happen before this migration; left for the retention job
            continue
        connection.execute(sa.update(events).where(events.c.id == row.id).values(event_id=event_id))
        taken.add(event_id)


def downgrade():
    pass  # the usernames are not brought back into the ids (reconciliation also recognises learners by e-mail)
