"""lti_platform: capstone tools launched by the bridge as an LTI 1.3 platform

Revision ID: lp0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "lp0001"
down_revision = None
branch_labels = ("lti_platform",)
depends_on = "b0005"


def upgrade():
    op.create_table(
        "lti_capstone_tool",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("course_key", sa.String(length=255), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("deployment_id", sa.String(length=64), nullable=False),
        sa.Column("login_url", sa.String(length=500), nullable=False),
        sa.Column("launch_url", sa.String(length=500), nullable=False),
        sa.Column("jwks_url", sa.String(length=500), nullable=False),
        sa.Column("redirect_uris", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("pass_mark", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_capstone_tool")),
        sa.UniqueConstraint("client_id", name=op.f("uq_lti_capstone_tool_client_id")),
        sa.UniqueConstraint("name", name=op.f("uq_lti_capstone_tool_name")),
    )
    op.create_table(
        "lti_capstone_launch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tool_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("sub", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_lti_capstone_launch_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tool_id"],
            ["lti_capstone_tool.id"],
            name=op.f("fk_lti_capstone_launch_tool_id_lti_capstone_tool"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_capstone_launch")),
        sa.UniqueConstraint("tool_id", "person_id", name=op.f("uq_lti_capstone_launch_tool_id_person_id")),
        sa.UniqueConstraint("tool_id", "sub", name=op.f("uq_lti_capstone_launch_tool_id_sub")),
    )
    op.create_index(
        op.f("ix_lti_capstone_launch_person_id"), "lti_capstone_launch", ["person_id"], unique=False
    )
    op.create_table(
        "lti_platform_spent",
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("value", name=op.f("pk_lti_platform_spent")),
    )
    op.create_index(
        op.f("ix_lti_platform_spent_expires_at"), "lti_platform_spent", ["expires_at"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_lti_platform_spent_expires_at"), table_name="lti_platform_spent")
    op.drop_table("lti_platform_spent")
    op.drop_index(op.f("ix_lti_capstone_launch_person_id"), table_name="lti_capstone_launch")
    op.drop_table("lti_capstone_launch")
    op.drop_table("lti_capstone_tool")
