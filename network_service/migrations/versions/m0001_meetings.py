"""meetings: meetings, answers, sent reminders and calendar feed addresses

Revision ID: m0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "m0001"
down_revision = None
branch_labels = ("meetings",)
depends_on = "0001"


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade():
    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("online_url", sa.String(length=500), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("organiser_id", sa.Integer(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["network.id"], name=op.f("fk_meeting_network_id_network"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organiser_id"], ["person.id"], name=op.f("fk_meeting_organiser_id_person"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting")),
    )
    op.create_index("ix_meeting_network_starts", "meeting", ["network_id", "starts_at"])
    op.create_index(op.f("ix_meeting_organiser_id"), "meeting", ["organiser_id"])

    op.create_table(
        "rsvp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("answer", _enum("rsvp_answer", "yes", "maybe", "no"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_rsvp_meeting_id_meeting"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_rsvp_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rsvp")),
        sa.UniqueConstraint("meeting_id", "person_id", name=op.f("uq_rsvp_meeting_id_person_id")),
    )
    op.create_index(op.f("ix_rsvp_meeting_id"), "rsvp", ["meeting_id"])
    op.create_index(op.f("ix_rsvp_person_id"), "rsvp", ["person_id"])

    op.create_table(
        "meeting_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("meeting_reminder_kind", "24h", "1h"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_meeting_reminder_meeting_id_meeting"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_meeting_reminder_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_reminder")),
        sa.UniqueConstraint(
            "meeting_id", "person_id", "kind", name=op.f("uq_meeting_reminder_meeting_id_person_id_kind")
        ),
    )
    op.create_index(op.f("ix_meeting_reminder_meeting_id"), "meeting_reminder", ["meeting_id"])
    op.create_index(op.f("ix_meeting_reminder_person_id"), "meeting_reminder", ["person_id"])

    op.create_table(
        "calendar_feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["network.id"], name=op.f("fk_calendar_feed_network_id_network"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_calendar_feed_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feed")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feed_token_hash")),
    )
    op.create_index(op.f("ix_calendar_feed_network_id"), "calendar_feed", ["network_id"])
    op.create_index(op.f("ix_calendar_feed_person_id"), "calendar_feed", ["person_id"])


def downgrade():
    op.drop_index(op.f("ix_calendar_feed_person_id"), table_name="calendar_feed")
    op.drop_index(op.f("ix_calendar_feed_network_id"), table_name="calendar_feed")
    op.drop_table("calendar_feed")
    op.drop_index(op.f("ix_meeting_reminder_person_id"), table_name="meeting_reminder")
    op.drop_index(op.f("ix_meeting_reminder_meeting_id"), table_name="meeting_reminder")
    op.drop_table("meeting_reminder")
    op.drop_index(op.f("ix_rsvp_person_id"), table_name="rsvp")
    op.drop_index(op.f("ix_rsvp_meeting_id"), table_name="rsvp")
    op.drop_table("rsvp")
    op.drop_index(op.f("ix_meeting_organiser_id"), table_name="meeting")
    op.drop_index("ix_meeting_network_starts", table_name="meeting")
    op.drop_table("meeting")
