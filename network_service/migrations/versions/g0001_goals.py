"""goals: network goals and their progress updates

Revision ID: g0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "g0001"
down_revision = None
branch_labels = ("goals",)
depends_on = "0001"


def upgrade():
    op.create_table(
        "goal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("target_value", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=60), nullable=False),
        sa.Column("current_value", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "achieved",
                "dropped",
                name="goal_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("target_value > 0", name=op.f("ck_goal_target_positive")),
        sa.CheckConstraint("current_value >= 0", name=op.f("ck_goal_current_not_negative")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["person.id"], name=op.f("fk_goal_created_by_id_person"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["network.id"], name=op.f("fk_goal_network_id_network"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["person.id"], name=op.f("fk_goal_owner_id_person"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal")),
    )
    op.create_index("ix_goal_network_status", "goal", ["network_id", "status", "id"])
    op.create_index(op.f("ix_goal_owner_id"), "goal", ["owner_id"])
    op.create_table(
        "goal_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["person.id"], name=op.f("fk_goal_update_author_id_person"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["goal_id"], ["goal.id"], name=op.f("fk_goal_update_goal_id_goal"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_update")),
    )
    op.create_index("ix_goal_update_goal_created", "goal_update", ["goal_id", "id"])


def downgrade():
    op.drop_index("ix_goal_update_goal_created", table_name="goal_update")
    op.drop_table("goal_update")
    op.drop_index(op.f("ix_goal_owner_id"), table_name="goal")
    op.drop_index("ix_goal_network_status", table_name="goal")
    op.drop_table("goal")
