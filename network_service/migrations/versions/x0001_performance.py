"""performance: an index for the network page's newest mentors

Revision ID: x0001
Revises:
Create Date: 2026-11-28
"""

from alembic import op

revision = "x0001"
down_revision = None
branch_labels = ("performance",)
depends_on = "0001"


def upgrade():
    op.create_index("ix_membership_newest", "membership", ["network_id", "status", "role", "joined_at", "id"])


def downgrade():
    op.drop_index("ix_membership_newest", table_name="membership")
