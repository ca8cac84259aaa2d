"""bridge: completion sources

Revision ID: b0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "b0001"
down_revision = None
branch_labels = ("lti_bridge",)
depends_on = "0001"


def upgrade():
    op.create_table(
        "bridge_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "openedx_webhooks",
                "xapi",
                name="bridge_source_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bridge_source")),
        sa.UniqueConstraint("name", name=op.f("uq_bridge_source_name")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_bridge_source_secret_hash")),
        sa.UniqueConstraint("username", name=op.f("uq_bridge_source_username")),
    )


def downgrade():
    op.drop_table("bridge_source")
