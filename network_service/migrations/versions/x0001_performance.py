"""performance: an index for the network page's newest mentors; the directory's full-text document stored

Revision ID: x0001
Revises:
Create Date: 2026-11-28

On PostgreSQL the directory's search document becomes a stored generated column with the GIN index on it
(instead of an index on the expression): when the planner walks the entries by name and checks each one, it
reads the stored document instead of running to_tsvector on every row it passes (60 ms -> under 5 ms for a
word that is common together with facets, at 50,000 entries). The column's name starts with the prefix that
model comparisons leave out (network_service.directory.models.FTS_PREFIX), like the SQLite FTS5 table.
"""

from alembic import op

revision = "x0001"
down_revision = None
branch_labels = ("performance",)
depends_on = ("0001", "y0001")

# As in y0001 and network_service.directory.search.
PG_DOCUMENT = "to_tsvector('simple'::regconfig, name || ' ' || city || ' ' || description)"
PG_DOCUMENT_COLUMN = "directory_entry_fts_document"


def upgrade():
    op.create_index("ix_membership_newest", "membership", ["network_id", "status", "role", "joined_at", "id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"ALTER TABLE directory_entry ADD COLUMN {PG_DOCUMENT_COLUMN} tsvector "
            f"GENERATED ALWAYS AS ({PG_DOCUMENT}) STORED"
        )
        op.execute("DROP INDEX IF EXISTS ix_directory_entry_fts")
        op.execute(f"CREATE INDEX ix_directory_entry_fts ON directory_entry USING gin ({PG_DOCUMENT_COLUMN})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_directory_entry_fts")
        op.execute(f"ALTER TABLE directory_entry DROP COLUMN IF EXISTS {PG_DOCUMENT_COLUMN}")
        op.execute(f"CREATE INDEX ix_directory_entry_fts ON directory_entry USING gin ({PG_DOCUMENT})")
    op.drop_index("ix_membership_newest", table_name="membership")
