"""page cache: one version per cached data domain, changed by every commit that writes the domain

Revision ID: sp1001
Revises:
Create Date: 2026-11-28

Each worker process keeps the shared parts of pages (section badges, the network page's member list...) in
memory, keyed by these versions (network_service.page_cache): both workers see a write at once.
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "sp1001"
down_revision = None
branch_labels = ("page_cache",)
depends_on = "0001"

# As network_service.page_cache.DOMAINS (a domain without a row is never cached).
DOMAINS = ("structure", "conversations", "help", "meetings", "moderation", "notifications", "library", "directory")


def upgrade():
    table = op.create_table(
        "cache_version",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cache_version")),
    )
    op.bulk_insert(table, [{"name": name, "token": secrets.randbits(62)} for name in DOMAINS])


def downgrade():
    op.drop_table("cache_version")
