"""federations: member networks of a federation, and the channels and resources shared with it

Revision ID: f0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "f0001"
down_revision = None
branch_labels = ("federations",)
depends_on = ["0001", "c0001", "r0001"]


def _fk(table, column, target, ondelete):
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade():
    op.create_table(
        "federation_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("federation_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "invited",
                "requested",
                "active",
                "ended",
                name="federation_link_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("asked_by_id", sa.Integer(), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("federation_id <> member_id", name=op.f("ck_federation_link_not_self")),
        _fk("federation_link", "federation_id", "network", "CASCADE"),
        _fk("federation_link", "member_id", "network", "CASCADE"),
        _fk("federation_link", "asked_by_id", "person", "SET NULL"),
        _fk("federation_link", "accepted_by_id", "person", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_link")),
        sa.UniqueConstraint(
            "federation_id", "member_id", name=op.f("uq_federation_link_federation_id_member_id")
        ),
    )
    op.create_index("ix_federation_link_member", "federation_link", ["member_id", "status"])
    op.create_table(
        "federation_shared_channel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("federation_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("allow_posting", sa.Boolean(), nullable=False),
        sa.Column("shared_by_id", sa.Integer(), nullable=True),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=False),
        _fk("federation_shared_channel", "federation_id", "network", "CASCADE"),
        _fk("federation_shared_channel", "channel_id", "channel", "CASCADE"),
        _fk("federation_shared_channel", "shared_by_id", "person", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_shared_channel")),
        sa.UniqueConstraint(
            "federation_id", "channel_id", name=op.f("uq_federation_shared_channel_federation_id_channel_id")
        ),
    )
    op.create_index(
        op.f("ix_federation_shared_channel_federation_id"), "federation_shared_channel", ["federation_id"]
    )
    op.create_index(
        op.f("ix_federation_shared_channel_channel_id"), "federation_shared_channel", ["channel_id"]
    )
    op.create_table(
        "federation_shared_resource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("federation_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("shared_by_id", sa.Integer(), nullable=True),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=False),
        _fk("federation_shared_resource", "federation_id", "network", "CASCADE"),
        _fk("federation_shared_resource", "resource_id", "resource", "CASCADE"),
        _fk("federation_shared_resource", "shared_by_id", "person", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_shared_resource")),
        sa.UniqueConstraint(
            "federation_id",
            "resource_id",
            name=op.f("uq_federation_shared_resource_federation_id_resource_id"),
        ),
    )
    op.create_index(
        op.f("ix_federation_shared_resource_federation_id"), "federation_shared_resource", ["federation_id"]
    )
    op.create_index(
        op.f("ix_federation_shared_resource_resource_id"), "federation_shared_resource", ["resource_id"]
    )


def downgrade():
    op.drop_table("federation_shared_resource")
    op.drop_table("federation_shared_channel")
    op.drop_index("ix_federation_link_member", table_name="federation_link")
    op.drop_table("federation_link")
