"""page cache: a version of its own for read markers

Revision ID: sp6002
Revises:
Create Date: 2026-11-29

Moving a reader's marker in a channel (every channel page read after a post) changed the version of the whole
``conversations`` domain, so every reader's kept thread list had to be rendered again although no message had
changed. An UPDATE of ``channel_member`` that sets only the marker now changes ``read_markers``, which only
the unread counts and the reader's own read state depend on (network_service/page_cache.py).
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "sp6002"
down_revision = None
branch_labels = ("page_cache_read_markers",)
depends_on = "sp1001"


def upgrade():
    table = sa.table("cache_version", sa.column("name", sa.String), sa.column("token", sa.BigInteger))
    op.bulk_insert(table, [{"name": "read_markers", "token": secrets.randbits(62)}])


def downgrade():
    op.execute("DELETE FROM cache_version WHERE name = 'read_markers'")
