"""bridge: LTI Dynamic Registration (one-time registration codes; how a platform was registered)

Revision ID: b0003
Revises: b0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "b0003"
down_revision = "b0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("lti_platform") as batch:
        batch.add_column(
            sa.Column("registered_via", sa.String(length=20), nullable=False, server_default="manual")
        )
        batch.add_column(sa.Column("product", sa.String(length=100), nullable=False, server_default=""))
    with op.batch_alter_table("lti_platform") as batch:
        batch.alter_column("registered_via", server_default=None)
        batch.alter_column("product", server_default=None)
    op.create_table(
        "lti_registration_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("platform_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["person.id"],
            name=op.f("fk_lti_registration_code_created_by_id_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platform.id"],
            name=op.f("fk_lti_registration_code_platform_id_lti_platform"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_registration_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_lti_registration_code_code_hash")),
    )


def downgrade():
    op.drop_table("lti_registration_code")
    with op.batch_alter_table("lti_platform") as batch:
        batch.drop_column("product")
        batch.drop_column("registered_via")
