"""help: language keys become ISO 639 codes, so "Arabisch", "arabo" and "Arabic" are one language

Revision ID: h0002
Revises: h0001
Create Date: 2026-11-29

``help_request_language`` held each request's languages case-folded as written; the lists and badges compare
them with the reader's languages by ``network_service.languages.language_key`` now, which gives the ISO 639
code of a language named in English or an interface language. This recomputes every request's keys from its
``languages``. The key function is copied here as it was written (the locales, the alias, the folding), so
that a later change to the application's function does not change what this revision does. The names come
from the installed Babel's CLDR data; the application reads the same names from ``network_service/
language_names.py``, generated from Babel 2.19.0 (``tools/make_language_names.py``). With another Babel a
language CLDR renamed since could get a different key here than in the application; ``tests/
test_languages.py`` fails when the installed Babel no longer gives the generated table, the signal to
regenerate it and recompute the keys as this revision does. Downgrade writes the old keys (case and spaces
folded) back.
"""

import unicodedata

import sqlalchemy as sa
from alembic import op
from babel import Locale

revision = "h0002"
down_revision = "h0001"
branch_labels = None
depends_on = None

UI_LOCALES = ("en", "ar", "de", "el", "it", "pl", "uk")
ALIASES = {"farsi": "fa"}
MAX_KEY = 60  # help_request_language.language
BATCH = 1000

requests = sa.table("help_request", sa.column("id", sa.Integer), sa.column("languages", sa.JSON))
keys = sa.table("help_request_language", sa.column("request_id", sa.Integer), sa.column("language", sa.String))


def _folded(text):
    return " ".join(text.split()).casefold()


def _without_accents(text):
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _language_key():
    codes, names = set(), {}
    for ui in UI_LOCALES:
        for code, name in Locale.parse(ui).languages.items():
            if code.isascii() and code.isalpha() and 2 <= len(code) <= 3:
                codes.add(code.lower())
                names.setdefault(_without_accents(_folded(name)), code.lower())
    for alias, code in ALIASES.items():
        names.setdefault(alias, code)

    def key(name):
        folded = _folded(name)
        return folded if folded in codes else names.get(_without_accents(folded), folded)

    return key


def _rewrite(key):
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(requests.c.id, requests.c.languages)
            .where(requests.c.id > last)
            .order_by(requests.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        ids = [row[0] for row in rows]
        connection.execute(keys.delete().where(keys.c.request_id.in_(ids)))
        new = [
            {"request_id": request_id, "language": language}
            for request_id, languages in rows
            for language in sorted(
                {key(lang)[:MAX_KEY] for lang in languages or () if isinstance(lang, str) and lang.strip()}
            )
        ]
        if new:
            connection.execute(keys.insert(), new)


def upgrade():
    _rewrite(_language_key())


def downgrade():
    _rewrite(_folded)
