"""notifications: when each member's last digest went out, and extra headers on outgoing mail

Revision ID: n0002
Revises: n0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


revision = "n0002"
down_revision = "n0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    with op.batch_alter_table("notification_setting") as batch:
        batch.add_column(sa.Column("last_digest_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbound_email") as batch:
        batch.add_column(sa.Column("headers", JSON, nullable=True))


def downgrade():
    with op.batch_alter_table("outbound_email") as batch:
        batch.drop_column("headers")
    with op.batch_alter_table("notification_setting") as batch:
        batch.drop_column("last_digest_at")
