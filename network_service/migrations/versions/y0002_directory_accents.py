"""directory: PostgreSQL's search document without accents, so "krakow" finds "Kraków" and "lodz" "Łódź"

Revision ID: y0002
Revises: y0001
Create Date: 2026-11-28

The stored search document (x0001) becomes ``to_tsvector('simple', translate(lower(...), FROM, TO))``: every
lower-case letter with a diacritic of Latin-1, Latin Extended-A/B and Greek (tonos, dialytika), and a few
letters without a decomposition (ł, đ, ø, ħ, ŧ, ı), become their base letter. The search folds the visitor's
words with the same table (network_service.directory.search.ACCENTS_FROM/TO; the two must stay identical).
SQLite is unchanged: its FTS5 tokenizer already removes Latin diacritics (remove_diacritics 2).
"""

from alembic import op

revision = "y0002"
down_revision = "y0001"
branch_labels = None
depends_on = "x0001"

ACCENTS_FROM = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿāăąćĉċčďēĕėęěĝğġģĥĩīĭįĵķĺļľńņňōŏőŕŗřśŝşšţťũūŭůűųŵŷźżžſơưǎǐǒǔǖǘǚǜǟǡǣǧǩǫǭǯǰǵǹǻǽǿȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧȩȫȭȯȱȳΐάέήίΰϊϋόύώłđøħŧıƀɨ"
ACCENTS_TO = "aaaaaaceeeeiiiinooooouuuuyyaaaccccdeeeeegggghiiiijklllnnnooorrrssssttuuuuuuwyzzzsouaiouuuuuaaægkooʒjgnaæøaaeeiioorruusthaeooooyιαεηιυιυουωldohtibi"
COLUMN = "directory_entry_fts_document"
TEXT = "name || ' ' || city || ' ' || description"
FOLDED = f"to_tsvector('simple'::regconfig, translate(lower({TEXT}), '{ACCENTS_FROM}', '{ACCENTS_TO}'))"
PLAIN = f"to_tsvector('simple'::regconfig, {TEXT})"


def _document(expression: str) -> None:
    op.execute("DROP INDEX IF EXISTS ix_directory_entry_fts")
    op.execute(f"ALTER TABLE directory_entry DROP COLUMN IF EXISTS {COLUMN}")
    op.execute(
        f"ALTER TABLE directory_entry ADD COLUMN {COLUMN} tsvector GENERATED ALWAYS AS ({expression}) STORED"
    )
    op.execute(f"CREATE INDEX ix_directory_entry_fts ON directory_entry USING gin ({COLUMN})")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        _document(FOLDED)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _document(PLAIN)
