"""directory: a version that changes with the directory, for the cached search counts

Revision ID: sp5002
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "sp5002"
down_revision = None
branch_labels = ("directory_state",)
depends_on = "y0001"


def upgrade():
    table = op.create_table(
        "directory_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_state")),
    )
    op.bulk_insert(table, [{"id": 1, "version": "initial"}])


def downgrade():
    op.drop_table("directory_state")
