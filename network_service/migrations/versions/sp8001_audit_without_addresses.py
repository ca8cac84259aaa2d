"""audit log: no client address in failed bridge authentications

Revision ID: sp8001
Revises:
Create Date: 2026-11-29

``bridge.auth_failed`` entries kept the client's IP address (``detail["ip"]``), although the service promises to
store none (docs/privacy.md). New entries no longer have it; this removes it from the entries written before.
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "sp8001"
down_revision = None
branch_labels = ("audit_without_addresses",)
depends_on = "0001"


def upgrade():
    connection = op.get_bind()
    audit = sa.table(
        "audit_log", sa.column("id", sa.Integer), sa.column("action", sa.String), sa.column("detail", sa.JSON)
    )
    rows = connection.execute(
        sa.select(audit.c.id, audit.c.detail).where(audit.c.action == "bridge.auth_failed")
    ).all()
    for row_id, detail in rows:
        if isinstance(detail, str):  # SQLite's JSON comes back as text through a plain table
            detail = json.loads(detail)
        if isinstance(detail, dict) and "ip" in detail:
            kept = {key: value for key, value in detail.items() if key != "ip"}
            connection.execute(sa.update(audit).where(audit.c.id == row_id).values(detail=kept))


def downgrade():
    pass  # the addresses are gone for good
