"""completion events: the pseudonym key, and the status of passes that waited past the retention period

Revision ID: sp9001
Revises:
Create Date: 2026-11-30

After the retention period (``COMPLETION_PAYLOAD_RETENTION_DAYS``) no completion event keeps personal data in
clear: those still waiting (received, unknown_course, unknown_identity, failed) become ``expired``, and every
event keeps, instead of the learner's username, a keyed pseudonym (docs/privacy.md, "Retention"). This adds the
status to the column's CHECK constraint and makes the pseudonyms' key, once: ``privacy_key`` holds it, so that
it does not change when ``SECRET_KEY`` is rotated.
"""

import datetime as dt
import secrets

import sqlalchemy as sa
from alembic import op

revision = "sp9001"
down_revision = None
branch_labels = ("completion_retention",)
depends_on = "0001"

STATUSES = [
    "received",
    "invited",
    "already_member",
    "not_passing",
    "unknown_course",
    "unknown_identity",
    "failed",
    "ignored",
]


CONSTRAINT = "ck_completion_event_completion_status"


def _status(values):
    return sa.Enum(*values, name="completion_status", native_enum=False, create_constraint=True, length=20)


def upgrade():
    op.create_table(
        "privacy_key",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_privacy_key")),
    )
    table = sa.table(
        "privacy_key",
        sa.column("name", sa.String),
        sa.column("secret", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    now = dt.datetime.now(dt.UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored naive, in UTC, as network_service.db.UTCDateTime does
    op.bulk_insert(
        table, [{"name": "completion_pseudonym", "secret": secrets.token_hex(32), "created_at": now}]
    )
    _allow_statuses(STATUSES, [*STATUSES, "expired"])


def downgrade():
    op.execute("UPDATE completion_event SET status = 'ignored' WHERE status = 'expired'")
    _allow_statuses([*STATUSES, "expired"], STATUSES)
    op.drop_table("privacy_key")


def _allow_statuses(before, after):
    """The CHECK constraint of ``completion_event.status`` with the values ``after``. PostgreSQL changes it in
    place; SQLite cannot, so the table is copied (batch mode) with the new column type and its constraint."""
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f(CONSTRAINT), "completion_event", type_="check")
        op.create_check_constraint(op.f(CONSTRAINT), "completion_event", sa.column("status").in_(after))
        return
    with op.batch_alter_table("completion_event") as batch_op:
        batch_op.alter_column(
            "status", existing_type=_status(before), type_=_status(after), existing_nullable=False
        )
