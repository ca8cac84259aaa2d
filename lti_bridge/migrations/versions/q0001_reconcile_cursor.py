"""bridge: where an interrupted reconciliation goes on

Revision ID: q0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "q0001"
down_revision = None
branch_labels = ("faults",)
depends_on = "0001"


def upgrade():
    op.create_table(
        "bridge_reconcile_cursor",
        sa.Column("course_key", sa.String(length=255), nullable=False),
        sa.Column("next_url", sa.Text(), nullable=False),
        sa.Column("pages_done", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("course_key", name=op.f("pk_bridge_reconcile_cursor")),
    )


def downgrade():
    op.drop_table("bridge_reconcile_cursor")
