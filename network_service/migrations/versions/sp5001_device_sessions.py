"""accounts: server-side sessions (signed-in devices), so that sign-out and erasure revoke them

Revision ID: sp5001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "sp5001"
down_revision = None
branch_labels = ("sessions",)
depends_on = "0001"


def upgrade():
    op.create_table(
        "device_session",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("browser", sa.String(length=40), nullable=False),
        sa.Column("system", sa.String(length=40), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_device_session_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_session")),
    )
    op.create_index(op.f("ix_device_session_person_id"), "device_session", ["person_id"])


def downgrade():
    op.drop_index(op.f("ix_device_session_person_id"), table_name="device_session")
    op.drop_table("device_session")
