"""organise: agreement change notes and reminders, the network office's public contact

Revision ID: o0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "o0001"
down_revision = None
branch_labels = ("organise",)
depends_on = "0001"


def upgrade():
    op.add_column("agreement", sa.Column("change_note", sa.Text(), server_default="", nullable=False))
    op.add_column("network", sa.Column("contact_email", sa.String(length=254), server_default="", nullable=False))
    op.add_column("network", sa.Column("contact_phone", sa.String(length=40), server_default="", nullable=False))
    op.add_column("network", sa.Column("contact_hours", sa.String(length=200), server_default="", nullable=False))
    op.create_table(
        "agreement_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreement.id"],
            name=op.f("fk_agreement_reminder_agreement_id_agreement"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_agreement_reminder_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_reminder")),
        sa.UniqueConstraint(
            "agreement_id", "person_id", "sequence", name=op.f("uq_agreement_reminder_agreement_id_person_id_sequence")
        ),
    )
    op.create_index(op.f("ix_agreement_reminder_agreement_id"), "agreement_reminder", ["agreement_id"])
    op.create_index(op.f("ix_agreement_reminder_person_id"), "agreement_reminder", ["person_id"])


def downgrade():
    op.drop_index(op.f("ix_agreement_reminder_person_id"), table_name="agreement_reminder")
    op.drop_index(op.f("ix_agreement_reminder_agreement_id"), table_name="agreement_reminder")
    op.drop_table("agreement_reminder")
    with op.batch_alter_table("network") as batch:
        batch.drop_column("contact_hours")
        batch.drop_column("contact_phone")
        batch.drop_column("contact_email")
    with op.batch_alter_table("agreement") as batch:
        batch.drop_column("change_note")
