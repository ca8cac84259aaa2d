"""bridge: LTI Assignment and Grade Services ("joined the network" in the course gradebook)

Revision ID: b0005
Revises: b0004
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "b0005"
down_revision = "b0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("lti_context") as batch:
        batch.add_column(sa.Column("lineitems_url", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("report_joined", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("joined_lineitem_url", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("grades_error", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("lti_context") as batch:
        batch.alter_column("report_joined", server_default=None)
        batch.alter_column("grades_error", server_default=None)
    op.create_table(
        "lti_score_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.Integer(), nullable=False),
        sa.Column("sub", sa.String(length=255), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["context_id"],
            ["lti_context.id"],
            name=op.f("fk_lti_score_report_context_id_lti_context"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_score_report")),
        sa.UniqueConstraint("context_id", "sub", name=op.f("uq_lti_score_report_context_id_sub")),
    )


def downgrade():
    op.drop_table("lti_score_report")
    with op.batch_alter_table("lti_context") as batch:
        batch.drop_column("grades_error")
        batch.drop_column("joined_lineitem_url")
        batch.drop_column("report_joined")
        batch.drop_column("lineitems_url")
