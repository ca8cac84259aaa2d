"""help: peer help requests, responses, language keys and the matching's suggestions

Revision ID: h0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "h0001"
down_revision = None
branch_labels = ("help",)
depends_on = "0001"

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade():
    op.create_table(
        "help_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("languages", JSON, nullable=False),
        sa.Column("region", sa.String(length=120), nullable=False),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("urgency", _enum("help_urgency", "low", "normal", "high", "urgent"), nullable=False),
        sa.Column("status", _enum("help_status", "open", "resolved", "closed"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("masked", sa.Boolean(), nullable=False),
        sa.Column("response_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["person.id"], name=op.f("fk_help_request_author_id_person"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["network.id"], name=op.f("fk_help_request_network_id_network"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["person.id"],
            name=op.f("fk_help_request_resolved_by_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_request")),
    )
    op.create_index(op.f("ix_help_request_author_id"), "help_request", ["author_id"])
    op.create_index("ix_help_request_network_status", "help_request", ["network_id", "status", "id"])
    op.create_table(
        "help_request_language",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["help_request.id"],
            name=op.f("fk_help_request_language_request_id_help_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "language", name=op.f("pk_help_request_language")),
    )
    op.create_index(op.f("ix_help_request_language_language"), "help_request_language", ["language"])
    op.create_table(
        "help_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("masked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["person.id"], name=op.f("fk_help_response_author_id_person"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["help_request.id"],
            name=op.f("fk_help_response_request_id_help_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_response")),
    )
    op.create_index("ix_help_response_author_created", "help_response", ["author_id", "created_at"])
    op.create_index(op.f("ix_help_response_request_id"), "help_response", ["request_id"])
    op.create_table(
        "help_suggestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_help_suggestion_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["help_request.id"],
            name=op.f("fk_help_suggestion_request_id_help_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_suggestion")),
        sa.UniqueConstraint("request_id", "person_id", name=op.f("uq_help_suggestion_request_id_person_id")),
    )
    op.create_index("ix_help_suggestion_notified_person", "help_suggestion", ["notified_at", "person_id"])


def downgrade():
    op.drop_index("ix_help_suggestion_notified_person", table_name="help_suggestion")
    op.drop_table("help_suggestion")
    op.drop_index(op.f("ix_help_response_request_id"), table_name="help_response")
    op.drop_index("ix_help_response_author_created", table_name="help_response")
    op.drop_table("help_response")
    op.drop_index(op.f("ix_help_request_language_language"), table_name="help_request_language")
    op.drop_table("help_request_language")
    op.drop_index("ix_help_request_network_status", table_name="help_request")
    op.drop_index(op.f("ix_help_request_author_id"), table_name="help_request")
    op.drop_table("help_request")
