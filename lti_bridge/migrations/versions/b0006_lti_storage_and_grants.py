"""bridge: LTI platform storage (the login's storage target and parameters), coordinator grants from LMS roles,
tool keys encrypted at rest

Revision ID: b0006
Revises: b0005
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "b0006"
down_revision = "b0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    with op.batch_alter_table("lti_nonce") as batch:
        batch.add_column(sa.Column("storage_target", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("login_params", JSON, nullable=True))
    op.create_table(
        "lti_coordinator_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("context_id", sa.Integer(), nullable=False),
        sa.Column("roles", JSON, nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_lti_coordinator_grant_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["network.id"],
            name=op.f("fk_lti_coordinator_grant_network_id_network"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["context_id"],
            ["lti_context.id"],
            name=op.f("fk_lti_coordinator_grant_context_id_lti_context"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_coordinator_grant")),
        sa.UniqueConstraint(
            "person_id",
            "network_id",
            "context_id",
            name=op.f("uq_lti_coordinator_grant_person_id_network_id_context_id"),
        ),
    )
    op.create_index(op.f("ix_lti_coordinator_grant_person_id"), "lti_coordinator_grant", ["person_id"])
    op.create_index(op.f("ix_lti_coordinator_grant_network_id"), "lti_coordinator_grant", ["network_id"])
    op.create_index(op.f("ix_lti_coordinator_grant_context_id"), "lti_coordinator_grant", ["context_id"])
    _convert_tool_keys(encrypt=True)


def _convert_tool_keys(*, encrypt: bool) -> None:
    """Encrypt the stored private keys (or decrypt them for b0005's code). Without the application (its secret),
    upgrading leaves them: the tool encrypts each key the first time it uses it."""
    from flask import current_app, has_app_context

    keys = sa.table("lti_tool_key", sa.column("id", sa.Integer), sa.column("private_key_pem", sa.Text))
    connection = op.get_bind()
    rows = connection.execute(sa.select(keys.c.id, keys.c.private_key_pem)).all()
    pending = [(i, pem) for i, pem in rows if pem.startswith("fernet:") != encrypt]
    if not pending:
        return
    if not has_app_context():
        if encrypt:
            return
        raise RuntimeError(
            "Downgrading below b0006 decrypts the tool keys: run it with `mentornet db downgrade`."
        )
    from lti_bridge.lti.keys import encrypt_pem, fernet

    for key_id, stored in pending:
        if encrypt:
            value = encrypt_pem(stored, current_app.config)
        else:
            value = fernet(current_app.config).decrypt(stored.removeprefix("fernet:").encode()).decode()
        connection.execute(sa.update(keys).where(keys.c.id == key_id).values(private_key_pem=value))


def downgrade():
    _convert_tool_keys(encrypt=False)
    op.drop_index(op.f("ix_lti_coordinator_grant_context_id"), table_name="lti_coordinator_grant")
    op.drop_index(op.f("ix_lti_coordinator_grant_network_id"), table_name="lti_coordinator_grant")
    op.drop_index(op.f("ix_lti_coordinator_grant_person_id"), table_name="lti_coordinator_grant")
    op.drop_table("lti_coordinator_grant")
    with op.batch_alter_table("lti_nonce") as batch:
        batch.drop_column("login_params")
        batch.drop_column("storage_target")
