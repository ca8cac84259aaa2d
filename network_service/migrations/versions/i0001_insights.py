"""insights: friendly nudges to quiet members and the per-network cache of computed insights

Revision ID: i0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


revision = "i0001"
down_revision = None
branch_labels = ("insights",)
depends_on = "0001"

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        "insight_nudge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["network.id"],
            name=op.f("fk_insight_nudge_network_id_network"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_insight_nudge_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sent_by_id"],
            ["person.id"],
            name=op.f("fk_insight_nudge_sent_by_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_nudge")),
    )
    op.create_index(
        "ix_insight_nudge_network_person_sent", "insight_nudge", ["network_id", "person_id", "sent_at"]
    )
    op.create_table(
        "insight_cache",
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["network.id"],
            name=op.f("fk_insight_cache_network_id_network"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("network_id", name=op.f("pk_insight_cache")),
    )


def downgrade():
    op.drop_table("insight_cache")
    op.drop_index("ix_insight_nudge_network_person_sent", table_name="insight_nudge")
    op.drop_table("insight_nudge")
