"""notifications: in-app notifications and each member's e-mail choice

Revision ID: n0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


revision = "n0001"
down_revision = None
branch_labels = ("notifications",)
depends_on = "0001"

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["person.id"], name=op.f("fk_notification_actor_id_person"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["network.id"], name=op.f("fk_notification_network_id_network"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_notification_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    op.create_index(op.f("ix_notification_network_id"), "notification", ["network_id"])
    op.create_index("ix_notification_person_created", "notification", ["person_id", "created_at"])
    op.create_index("ix_notification_unmailed", "notification", ["mailed_at", "person_id"])
    op.create_table(
        "notification_setting",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "email_frequency",
            sa.Enum(
                "immediately",
                "daily",
                "weekly",
                "never",
                name="email_frequency",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_notification_setting_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_notification_setting")),
    )


def downgrade():
    op.drop_table("notification_setting")
    op.drop_index("ix_notification_unmailed", table_name="notification")
    op.drop_index("ix_notification_person_created", table_name="notification")
    op.drop_index(op.f("ix_notification_network_id"), table_name="notification")
    op.drop_table("notification")
