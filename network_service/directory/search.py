"""Full-text search with facets over the published directory, on SQLite (FTS5) and PostgreSQL (tsvector).

Whatever a visitor types becomes a list of plain word tokens (letters and digits only), each searched as a
prefix: no operator of either database's full-text syntax survives, so no input can make a query fail."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from network_service import page_cache
from network_service.db import session
from network_service.directory.models import (
    DirectoryEntry,
    EntryKind,
    EntryLanguage,
    EntryService,
)

PAGE_SIZE = 20
MAX_TOKENS = 8
MAX_TOKEN_CHARS = 40
_TOKEN = re.compile(r"[^\W_]+")

# Kept identical to the indexed expression of migration y0001 (PostgreSQL uses the index only when it is).
PG_DOCUMENT = "to_tsvector('simple'::regconfig, name || ' ' || city || ' ' || description)"
# Since migration x0001 that expression is a stored generated column, with the GIN index on it; since y0002 its
# text is lower-cased and its accents folded with this table (identical to the migration's).
PG_DOCUMENT_COLUMN = "directory_entry_fts_document"
ACCENTS_FROM = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿāăąćĉċčďēĕėęěĝğġģĥĩīĭįĵķĺļľńņňōŏőŕŗřśŝşšţťũūŭůűųŵŷźżžſơưǎǐǒǔǖǘǚǜǟǡǣǧǩǫǭǯǰǵǹǻǽǿȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧȩȫȭȯȱȳΐάέήίΰϊϋόύώłđøħŧıƀɨ"
ACCENTS_TO = "aaaaaaceeeeiiiinooooouuuuyyaaaccccdeeeeegggghiiiijklllnnnooorrrssssttuuuuuuwyzzzsouaiouuuuuaaægkooʒjgnaæøaaeeiioorruusthaeooooyιαεηιυιυουωldohtibi"
_FOLD = str.maketrans(ACCENTS_FROM, ACCENTS_TO)


def tokens(text: str | None) -> list[str]:
    found = _TOKEN.findall((text or "")[:500].lower())
    return [token[:MAX_TOKEN_CHARS] for token in found][:MAX_TOKENS]


@dataclass
class Search:
    text: str = ""
    countries: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    kind: EntryKind | None = None

    @property
    def filtered(self) -> bool:
        return bool(tokens(self.text) or self.countries or self.languages or self.services or self.kind)


def _text_condition(words: list[str]):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # words are letters and digits only; folded like the stored document ("kraków" and "krakow" alike)
        query = " & ".join(f"{word.translate(_FOLD)}:*" for word in words)
        return sa.text(f"{PG_DOCUMENT_COLUMN} @@ to_tsquery('simple', :fts_query)").bindparams(
            fts_query=query
        )
    query = " ".join(f'"{word}"*' for word in words)
    return DirectoryEntry.id.in_(
        sa.select(sa.column("rowid"))
        .select_from(sa.table("directory_entry_fts"))
        .where(sa.text("directory_entry_fts MATCH :fts_query").bindparams(fts_query=query))
    )


def conditions(query: Search, *, published: bool = True, skip: str | None = None) -> list:
    """The WHERE clauses of a search; ``skip`` leaves one facet out (its own counts ignore its selection)."""
    where: list = [DirectoryEntry.published.is_(True)] if published else []
    words = tokens(query.text)
    if words:
        where.append(_text_condition(words))
    if query.kind is not None:
        where.append(DirectoryEntry.kind == query.kind)
    if query.countries and skip != "country":
        where.append(DirectoryEntry.country.in_(query.countries))
    if query.languages and skip != "language":
        where.append(
            DirectoryEntry.id.in_(
                sa.select(EntryLanguage.entry_id).where(EntryLanguage.language.in_(query.languages))
            )
        )
    if query.services and skip != "service":
        where.append(
            DirectoryEntry.id.in_(
                sa.select(EntryService.entry_id).where(EntryService.service.in_(query.services))
            )
        )
    return where


def search(
    query: Search, *, after: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[DirectoryEntry], int | None]:
    """A page of published entries by name; ``after`` is the id of the previous page's last entry."""
    statement = sa.select(DirectoryEntry).where(*conditions(query))
    if after is not None and not 0 < after < 2**31:
        after = None  # not an id: the first page
    if after is not None:
        last = (
            sa.select(DirectoryEntry.name_key, DirectoryEntry.id).where(DirectoryEntry.id == after).subquery()
        )
        statement = statement.where(
            sa.tuple_(DirectoryEntry.name_key, DirectoryEntry.id)
            > sa.tuple_(sa.select(last.c.name_key).scalar_subquery(), sa.select(last.c.id).scalar_subquery())
        )
    rows = list(
        session.scalars(
            statement.order_by(DirectoryEntry.published, DirectoryEntry.name_key, DirectoryEntry.id).limit(
                limit + 1
            )
        )
    )
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_cursor


def count(query: Search) -> int:
    return session.scalar(sa.select(sa.func.count(DirectoryEntry.id)).where(*conditions(query))) or 0


def facets(query: Search) -> dict[str, list[tuple[str, int]]]:
    """For each facet, its values with how many entries match the search with that value (the facet's own
    selection left out, so the other values stay visible): a fixed number of aggregate queries."""
    country_counts = session.execute(
        sa.select(DirectoryEntry.country, sa.func.count())
        .where(*conditions(query, skip="country"))
        .group_by(DirectoryEntry.country)
    ).all()
    language_counts = _row_facet(
        EntryLanguage.language, EntryLanguage.entry_id, conditions(query, skip="language")
    )
    service_counts = _row_facet(
        EntryService.service, EntryService.entry_id, conditions(query, skip="service")
    )
    return {
        "country": [(value, number) for value, number in country_counts],
        "language": [(value, number) for value, number in language_counts],
        "service": [(value, number) for value, number in service_counts],
    }


def counts(query: Search) -> tuple[int, dict[str, list[tuple[str, int]]]]:
    """The search's total and its facet counts (as ``facets``), in one statement whatever the search.

    Each facet's counts leave out the facet's own selection; the total is the country counts of the selected
    countries (every entry has exactly one country), so it needs no query of its own. The entries that match
    the words, the kind and "published" are found once (a materialised CTE, so the full-text condition runs
    once), with a flag for each selected language or service filter; the three counts then group that set (the
    languages and services from the entries' own lists, see ``_list_counts``)."""
    selected = set(query.countries)

    def total(country_counts) -> int:
        return sum(number for value, number in country_counts if not selected or value in selected)

    if not (tokens(query.text) or query.kind):
        # Facets only (or nothing): each count is an indexed lookup of the facet rows, cheaper than one pass
        # over the whole directory; the total still comes from the country counts.
        found = facets(query)
        return total(found["country"]), found
    entry = DirectoryEntry
    columns = [
        entry.id.label("id"),
        entry.country.label("country"),
        entry.languages.label("languages"),
        entry.services.label("services"),
    ]
    if query.languages:
        columns.append(
            entry.id.in_(
                sa.select(EntryLanguage.entry_id).where(EntryLanguage.language.in_(query.languages))
            ).label("language_ok")
        )
    if query.services:
        columns.append(
            entry.id.in_(
                sa.select(EntryService.entry_id).where(EntryService.service.in_(query.services))
            ).label("service_ok")
        )
    base = Search(text=query.text, kind=query.kind)  # the words, the kind and "published"
    matching = sa.select(*columns).where(*conditions(base)).cte("matching").prefix_with("MATERIALIZED")
    language_ok = [matching.c.language_ok.is_(True)] if query.languages else []
    service_ok = [matching.c.service_ok.is_(True)] if query.services else []
    country_ok = [matching.c.country.in_(query.countries)] if query.countries else []
    parts = [
        sa.select(sa.literal("country").label("facet"), matching.c.country.label("value"), sa.func.count())
        .where(*language_ok, *service_ok)
        .group_by(matching.c.country),
        _list_counts("language", matching, matching.c.languages, [*country_ok, *service_ok]),
        _list_counts("service", matching, matching.c.services, [*country_ok, *language_ok]),
    ]
    found: dict[str, list[tuple[str, int]]] = {"country": [], "language": [], "service": []}
    for facet, value, number in session.execute(sa.union_all(*parts)):
        found[facet].append((value, number))
    return total(found["country"]), found


def _list_counts(facet: str, matching, column, where: list):
    """Counts of the values of an entry's list column (languages, services) over the matching entries: the
    lists are unnested from the rows already found instead of joined with the whole facet table. The lists and
    the facet rows are written together (operations._apply, the import)."""
    function = "jsonb_array_elements_text" if session.get_bind().dialect.name == "postgresql" else "json_each"
    values = getattr(sa.func, function)(column).table_valued("value").alias(f"{facet}_values")
    return (
        sa.select(sa.literal(facet), values.c.value, sa.func.count())
        .select_from(matching)
        .join(values, sa.true())
        .where(*where)
        .group_by(values.c.value)
    )


def cached_counts(query: Search) -> tuple[int, dict[str, list[tuple[str, int]]]]:
    """``counts(query)``, kept per worker by the page cache (network_service/page_cache.py) under the version of
    the directory's data: every committed write to an entry or its facet rows (ORM or Core, the CSV import
    included) gives the directory domain a new version in the same transaction, so a cached answer is only used
    for the data it was computed from."""
    key = (
        tuple(tokens(query.text)),
        query.kind.value if query.kind else "",
        tuple(sorted(query.countries)),
        tuple(sorted(query.languages)),
        tuple(sorted(query.services)),
    )

    def compute():
        total, facet_counts = counts(query)
        return total, tuple((facet, tuple(values)) for facet, values in facet_counts.items())

    total, facet_counts = page_cache.cached("directory.counts", key, (page_cache.DIRECTORY,), compute)
    return total, {facet: list(values) for facet, values in facet_counts}


def _row_facet(value, entry_id, where: list) -> list[tuple[str, int]]:
    """Counts of a facet kept in rows (languages, services). Without any condition but "published", every row
    is counted without a join, less the few rows of unpublished entries (suggestions): the directory's first
    page stays fast at any size."""
    if len(where) > 1:
        return list(
            session.execute(
                sa.select(value, sa.func.count())
                .join(DirectoryEntry, DirectoryEntry.id == entry_id)
                .where(*where)
                .group_by(value)
            ).all()
        )
    counts = dict(session.execute(sa.select(value, sa.func.count()).group_by(value)).all())
    unpublished = sa.select(DirectoryEntry.id).where(DirectoryEntry.published.is_(False))
    for item, number in session.execute(
        sa.select(value, sa.func.count()).where(entry_id.in_(unpublished)).group_by(value)
    ):
        counts[item] -= number
    return [(item, number) for item, number in counts.items() if number > 0]


def all_matching(query: Search, *, batch: int = 1000):
    """Every published entry of a search, by name, in batches (for exports)."""
    after = None
    while True:
        rows, after = search(query, after=after, limit=batch)
        yield from rows
        if after is None:
            return
