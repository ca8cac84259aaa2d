"""page cache: versions of the unattributed writes of the scoped domains (structure, notifications)

Revision ID: sp11001
Revises:
Create Date: 2026-11-29

A write of people, memberships, invitations or notifications that says whom it is for (the INSERT of a new
graduate's membership, a notification for one person) changes only the versions of those scopes
(``structure@p:<person>``, ``structure@m:<network>``, ``notifications@p:<person>``, rows made when first
written) besides the domain's own; every other write of these domains changes the domain's unattributed version,
these rows, which every value kept per person or per network depends on (network_service/page_cache.py, "Scopes").
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "sp11001"
down_revision = None
branch_labels = ("page_cache_scopes",)
depends_on = "sp6002"

NAMES = ("structure@", "notifications@")


def upgrade():
    table = sa.table("cache_version", sa.column("name", sa.String), sa.column("token", sa.BigInteger))
    op.bulk_insert(table, [{"name": name, "token": secrets.randbits(62)} for name in NAMES])


def downgrade():
    # the unattributed versions and every scope's (made by writes since the upgrade)
    op.execute("DELETE FROM cache_version WHERE name LIKE '%@%'")
