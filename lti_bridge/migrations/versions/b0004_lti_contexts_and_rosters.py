"""bridge: LTI contexts (courses launched from, with their service URLs) and NRPS rosters

Revision ID: b0004
Revises: b0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "b0004"
down_revision = "b0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "lti_context",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.String(length=255), nullable=False),
        sa.Column("course_key", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("memberships_url", sa.String(length=500), nullable=True),
        sa.Column("roster_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("roster_error", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platform.id"],
            name=op.f("fk_lti_context_platform_id_lti_platform"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_context")),
        sa.UniqueConstraint("platform_id", "context_id", name=op.f("uq_lti_context_platform_id_context_id")),
    )
    op.create_index(op.f("ix_lti_context_course_key"), "lti_context", ["course_key"])
    op.create_table(
        "lti_roster_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.Integer(), nullable=False),
        sa.Column("sub", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("roles", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["context_id"],
            ["lti_context.id"],
            name=op.f("fk_lti_roster_entry_context_id_lti_context"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_roster_entry")),
        sa.UniqueConstraint("context_id", "sub", name=op.f("uq_lti_roster_entry_context_id_sub")),
    )


def downgrade():
    op.drop_table("lti_roster_entry")
    op.drop_index(op.f("ix_lti_context_course_key"), table_name="lti_context")
    op.drop_table("lti_context")
