"""moderation: a report keeps the reported message's text as it was when reported (evidence)

Revision ID: d0002
Revises: d0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "d0002"
down_revision = "d0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("report") as batch:
        batch.add_column(sa.Column("snapshot_body", sa.Text(), nullable=True))
        batch.add_column(sa.Column("snapshot_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("report") as batch:
        batch.drop_column("snapshot_at")
        batch.drop_column("snapshot_body")
