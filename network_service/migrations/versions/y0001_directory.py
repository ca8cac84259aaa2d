"""directory: organisations and networks supporting migrants, full-text search, networks' public pages

Revision ID: y0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "y0001"
down_revision = None
branch_labels = ("directory",)
depends_on = "0001"

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# Kept identical to network_service.directory.search.PG_DOCUMENT (the query must use the indexed expression).
PG_DOCUMENT = "to_tsvector('simple'::regconfig, name || ' ' || city || ' ' || description)"

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE directory_entry_fts USING fts5(name, city, description, content='directory_entry', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER directory_entry_fts_ai AFTER INSERT ON directory_entry BEGIN "
    "INSERT INTO directory_entry_fts(rowid, name, city, description) "
    "VALUES (new.id, new.name, new.city, new.description); END",
    "CREATE TRIGGER directory_entry_fts_ad AFTER DELETE ON directory_entry BEGIN "
    "INSERT INTO directory_entry_fts(directory_entry_fts, rowid, name, city, description) "
    "VALUES ('delete', old.id, old.name, old.city, old.description); END",
    "CREATE TRIGGER directory_entry_fts_au AFTER UPDATE OF name, city, description ON directory_entry BEGIN "
    "INSERT INTO directory_entry_fts(directory_entry_fts, rowid, name, city, description) "
    "VALUES ('delete', old.id, old.name, old.city, old.description); "
    "INSERT INTO directory_entry_fts(rowid, name, city, description) "
    "VALUES (new.id, new.name, new.city, new.description); END",
]


def upgrade():
    op.create_table(
        "directory_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "organisation",
                "network",
                name="directory_entry_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("city", sa.String(length=120), nullable=False),
        sa.Column("languages", JSON, nullable=False),
        sa.Column("services", JSON, nullable=False),
        sa.Column("website", sa.String(length=300), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("contact_phone", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("suggested", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["network.id"], name=op.f("fk_directory_entry_network_id_network"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_entry")),
        sa.UniqueConstraint("name_key", "country", name=op.f("uq_directory_entry_name_key_country")),
        sa.UniqueConstraint("network_id", name=op.f("uq_directory_entry_network_id")),
    )
    op.create_index(
        "ix_directory_entry_published_name_key_id", "directory_entry", ["published", "name_key", "id"]
    )
    op.create_index("ix_directory_entry_published_country", "directory_entry", ["published", "country"])
    op.create_table(
        "directory_entry_language",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["directory_entry.id"],
            name=op.f("fk_directory_entry_language_entry_id_directory_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", "language", name=op.f("pk_directory_entry_language")),
    )
    op.create_index(
        "ix_directory_entry_language_language_entry_id", "directory_entry_language", ["language", "entry_id"]
    )
    op.create_table(
        "directory_entry_service",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["directory_entry.id"],
            name=op.f("fk_directory_entry_service_entry_id_directory_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", "service", name=op.f("pk_directory_entry_service")),
    )
    op.create_index(
        "ix_directory_entry_service_service_entry_id", "directory_entry_service", ["service", "entry_id"]
    )
    op.create_table(
        "network_public_page",
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("how_to_join", sa.Text(), nullable=False),
        sa.Column("services", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["network.id"], name=op.f("fk_network_public_page_network_id_network"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("network_id", name=op.f("pk_network_public_page")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_directory_entry_fts ON directory_entry USING gin ({PG_DOCUMENT})")
    else:
        for statement in SQLITE_FTS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_directory_entry_fts")
    else:
        for trigger in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS directory_entry_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS directory_entry_fts")
    op.drop_table("network_public_page")
    op.drop_index("ix_directory_entry_service_service_entry_id", table_name="directory_entry_service")
    op.drop_table("directory_entry_service")
    op.drop_index("ix_directory_entry_language_language_entry_id", table_name="directory_entry_language")
    op.drop_table("directory_entry_language")
    op.drop_index("ix_directory_entry_published_country", table_name="directory_entry")
    op.drop_index("ix_directory_entry_published_name_key_id", table_name="directory_entry")
    op.drop_table("directory_entry")
