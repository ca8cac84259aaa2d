"""The directory page's total and facet counts: one statement (``search.counts``) equal to the separate count
and facet queries, cached per process under the directory's version, and the version changes with every way
the directory changes (so no page shows counts older than its entries). The counts are kept by the page cache
(network_service/page_cache.py), which the suite turns on only where it is tested: here."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from network_service.accounts.operations import add_site_admin
from network_service.db import session
from network_service.directory import operations, search
from network_service.directory.models import DirectoryEntry, EntryKind
from network_service.networks.operations import get_network
from network_service.page_cache import DIRECTORY, CacheVersion
from tests.directory_support import add_entries, entry, generated
from tests.goals_roles import count_statements

pytestmark = pytest.mark.usefixtures("page_cache_on")

QUERIES = [
    search.Search(),
    search.Search(text="help"),
    search.Search(text="help desk"),
    search.Search(text="town 3"),
    search.Search(text="zzzz"),
    search.Search(countries=["DE", "IT"]),
    search.Search(languages=["ar"]),
    search.Search(services=["legal", "health"]),
    search.Search(text="help", countries=["PL"]),
    search.Search(text="help", languages=["de", "uk"], services=["legal"]),
    search.Search(text="aid", countries=["DE"], languages=["en"], services=["housing"]),
    search.Search(countries=["GR", "IT"], languages=["fa"], services=["housing"]),
    search.Search(kind=EntryKind.network),
    search.Search(text="generated", kind=EntryKind.organisation, countries=["FR"]),
]


def _separately(query):
    return search.count(query), {name: sorted(values) for name, values in search.facets(query).items()}


def _together(query):
    total, facets = search.counts(query)
    return total, {name: sorted(values) for name, values in facets.items()}


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: repr(q)[7:60])
def test_one_statement_counts_what_the_separate_queries_count(run, query):
    add_entries(run, generated(120))
    run(lambda: operations.suggest_entry(**entry("Unpublished Aid Help", "DE", languages="ar")))
    separately = run(_separately, query)
    assert run(_together, query) == separately
    assert separately[0] == run(lambda: len(list(search.all_matching(query))))


def _facet_count(html: str, label: str) -> int | None:
    found = re.search(re.escape(label) + r' <span class="directory-count">\((\d+)\)', html)
    return int(found.group(1)) if found else None


def _page(client, path="/directory?q=aid"):
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _admin(run):
    return run(lambda: add_site_admin("dir-admin@example.org").id)


def test_a_repeated_search_counts_nothing_again(app, client, run):
    add_entries(run, generated(30))
    _page(client)
    with count_statements(app) as statements:
        html = _page(client)
    assert _facet_count(html, "Germany") == 4
    selects = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert len(selects) == 1, selects  # the directory's version: the page below the header is kept


def test_a_kept_page_follows_the_entries_the_language_and_the_viewer(app, client, run):
    """The page below the header is kept per search, page, language and directory version: a changed entry,
    another page, another language and an administrator's link are never answered from another's page."""
    add_entries(run, generated(30))
    admin_id = _admin(run)
    first = _page(client, "/directory?q=aid&country=DE")
    assert "Manage the directory" not in first
    name = run(
        lambda: session.scalars(sa.select(DirectoryEntry).where(DirectoryEntry.country == "DE")).first().name
    )
    assert name in first

    def rename():
        found = session.scalars(sa.select(DirectoryEntry).where(DirectoryEntry.name == name)).one()
        operations.update_entry(found, _admin_person(admin_id), name="Renamed Aid Centre")

    run(rename)
    renamed = _page(client, "/directory?q=aid&country=DE")
    assert "Renamed Aid Centre" in renamed and name not in renamed

    german = client.get("/directory?q=aid&country=DE", headers={"Accept-Language": "de"}).get_data(
        as_text=True
    )
    assert "Deutschland" in german and "Renamed Aid Centre" in german
    assert "Deutschland" not in _page(client, "/directory?q=aid&country=DE")

    second = _page(client, "/directory?q=aid&country=DE&after=1")
    assert second != renamed  # "after" is part of the key (the first entry's id or later)
    assert 'value="aid"' in renamed and 'value="aidx"' in _page(client, "/directory?q=aidx&country=DE")

    from tests.helpers import sign_in_as

    sign_in_as(client, run, "dir-admin@example.org")
    assert "Manage the directory" in _page(client, "/directory?q=aid&country=DE")


def _admin_person(admin_id):
    from network_service.accounts.models import Person

    return session.get(Person, admin_id)


def test_counts_follow_every_change_at_once(app, client, run):
    """Each step would show the previous counts if its change did not give the directory a new version."""
    add_entries(run, generated(30))  # an import (Core inserts): 4 in Germany
    admin_id = _admin(run)
    assert _facet_count(_page(client), "Germany") == 4

    add_entries(run, [entry("Imported Aid Bonn", "DE")])  # another import
    assert _facet_count(_page(client), "Germany") == 5

    made = run(lambda: operations.create_entry(_admin_person(admin_id), **entry("Created Aid Köln", "DE")).id)
    assert _facet_count(_page(client), "Germany") == 6

    suggested = run(lambda: operations.suggest_entry(**entry("Suggested Aid Trier", "DE")).id)
    assert _facet_count(_page(client), "Germany") == 6  # not published yet
    run(lambda: operations.publish_entry(session.get(DirectoryEntry, suggested), _admin_person(admin_id)))
    assert _facet_count(_page(client), "Germany") == 7

    run(
        lambda: operations.update_entry(
            session.get(DirectoryEntry, made), _admin_person(admin_id), country="AT"
        )
    )
    html = _page(client)
    assert _facet_count(html, "Germany") == 6 and _facet_count(html, "Austria") == 5  # 4 generated

    run(
        lambda: operations.update_entry(
            session.get(DirectoryEntry, made), _admin_person(admin_id), languages=["ti"]
        )
    )
    assert _facet_count(_page(client), "Tigrinya") == 1  # a facet row replaced

    run(lambda: operations.delete_entry(session.get(DirectoryEntry, made), _admin_person(admin_id)))
    html = _page(client)
    assert _facet_count(html, "Austria") == 4 and _facet_count(html, "Tigrinya") is None


def test_a_networks_public_page_changes_the_counts_at_once(app, client, run, world):
    assert _facet_count(_page(client, "/directory"), "Greece") is None

    def open_page(public: bool):
        from network_service.accounts.models import Person

        network = get_network(world.slug)
        coordinator = session.get(Person, world.coordinator_id)
        operations.update_public_page(network, coordinator, public=public, country="GR", services=["legal"])

    run(open_page, True)
    assert _facet_count(_page(client, "/directory"), "Greece") == 1
    run(open_page, False)
    assert _facet_count(_page(client, "/directory"), "Greece") is None


def _directory_version():
    return session.scalar(sa.select(CacheVersion.token).where(CacheVersion.name == DIRECTORY))


def test_the_version_changes_with_the_writing_transaction(run):
    before = run(_directory_version)
    add_entries(run, generated(2))  # Core inserts, as the CSV import makes them
    after = run(_directory_version)
    assert before is not None and after is not None and before != after


def test_the_api_gives_the_same_counts(client, run):
    add_entries(run, generated(30))
    body = client.get("/api/v1/directory?q=aid&country=DE").json
    assert body["total"] == 4
    first = {f["value"]: f["count"] for f in body["facets"]["country"]}
    add_entries(run, [entry("Another Aid Essen", "DE")])
    body = client.get("/api/v1/directory?q=aid&country=DE").json
    assert body["total"] == 5
    assert {f["value"]: f["count"] for f in body["facets"]["country"]} == first | {"DE": 5}
