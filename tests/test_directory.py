"""The public directory: full-text search with facets on both databases (hostile input included),
pagination, public pages, suggestions and their review, networks' public pages, exports, the JSON API,
permissions of every endpoint and role, and a constant number of statements on the search page."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.db import session
from network_service.directory import operations, search
from network_service.directory.models import DirectoryEntry, EntryKind, NetworkPublicPage
from network_service.networks.operations import get_network
from tests.directory_support import add_entries, entry, generated
from tests.goals_roles import API, ROLES, act_as, bearer, build_cast, count_statements

SAMPLE = [
    entry(
        "Rechtshilfe Nord",
        "DE",
        city="Hamburg",
        languages="de;ar;fa",
        services="legal",
        description="Free **legal advice** on asylum and residence.",
    ),
    entry("Casa Aperta", "IT", city="Bologna", languages="it;en", services="housing;legal"),
    entry("Sprachcafé Süd", "DE", city="München", languages="de;uk", services="language_courses"),
    entry("Centrum Pomocy", "PL", city="Kraków", languages="pl;uk;ru", services="psychosocial;health"),
    entry(
        "Ergasia Network", "GR", city="Athens", languages="el;ar;en", services="employment", kind="network"
    ),
]


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


@pytest.fixture
def sample(run):
    add_entries(run, SAMPLE)


def names(run, query: search.Search, **kwargs) -> list[str]:
    return run(lambda: [item.name for item in search.search(query, **kwargs)[0]])


def entry_id(run, name: str) -> int:
    return run(lambda: session.scalar(sa.select(DirectoryEntry.id).where(DirectoryEntry.name == name)))


# -- search ----------------------------------------------------------------------------------------------


def test_words_match_as_prefixes_in_name_city_and_description(run, sample):
    assert names(run, search.Search(text="rechts")) == ["Rechtshilfe Nord"]
    assert names(run, search.Search(text="hamburg")) == ["Rechtshilfe Nord"]
    assert names(run, search.Search(text="asylum advice")) == ["Rechtshilfe Nord"]  # every word must match
    assert names(run, search.Search(text="asylum bologna")) == []
    assert names(run, search.Search(text="KRAKÓW")) == ["Centrum Pomocy"]
    assert names(run, search.Search(text="")) == sorted(row["name"] for row in SAMPLE)


def test_accents_do_not_matter(run, sample):
    """Visitors type without accents, and entries are written with them (or the other way round)."""
    assert names(run, search.Search(text="krakow")) == ["Centrum Pomocy"]
    assert names(run, search.Search(text="sprachcafe sud")) == ["Sprachcafé Süd"]
    add_entries(run, [entry("Dom Łódź", "PL", city="Łódź"), entry("Plain Lodz", "PL", city="Lodz")])
    # SQLite's FTS5 tokenizer folds only decomposable accents (not ł); PostgreSQL folds with our table
    if session_dialect(run) == "postgresql":
        assert names(run, search.Search(text="lodz")) == ["Dom Łódź", "Plain Lodz"]
        assert names(run, search.Search(text="łódź")) == ["Dom Łódź", "Plain Lodz"]
    assert "Dom Łódź" in names(run, search.Search(text="łódź"))


def session_dialect(run) -> str:
    return run(lambda: session.get_bind().dialect.name)


def test_filters_combine_within_and_across_facets(run, sample):
    assert names(run, search.Search(countries=["DE"])) == ["Rechtshilfe Nord", "Sprachcafé Süd"]
    assert names(run, search.Search(languages=["uk"])) == ["Centrum Pomocy", "Sprachcafé Süd"]
    assert names(run, search.Search(services=["legal"], countries=["IT", "GR"])) == ["Casa Aperta"]
    assert names(run, search.Search(services=["legal", "employment"])) == [
        "Casa Aperta", "Ergasia Network", "Rechtshilfe Nord",
    ]  # fmt: skip
    assert names(run, search.Search(kind=EntryKind.network)) == ["Ergasia Network"]
    assert names(run, search.Search(text="casa", countries=["DE"])) == []


def test_facet_counts_leave_out_their_own_selection(run, sample):
    facets = run(lambda: search.facets(search.Search(countries=["DE"])))
    assert dict(facets["country"]) == {"DE": 2, "IT": 1, "PL": 1, "GR": 1}  # other countries stay choosable
    assert dict(facets["language"]) == {"de": 2, "ar": 1, "fa": 1, "uk": 1}
    assert dict(facets["service"]) == {"legal": 1, "language_courses": 1}
    facets = run(lambda: search.facets(search.Search(text="uk", languages=["uk"])))
    assert facets["country"] == []  # "uk" is a language code, not a word in any entry


def test_unpublished_entries_are_not_counted(run, sample):
    run(lambda: operations.suggest_entry(name="Waiting", country="DE", languages="de;fr", services="legal"))
    facets = run(lambda: search.facets(search.Search()))
    assert dict(facets["language"])["de"] == 2 and "fr" not in dict(facets["language"])
    assert dict(facets["service"])["legal"] == 2 and dict(facets["country"])["DE"] == 2
    assert run(lambda: search.count(search.Search())) == len(SAMPLE)


HOSTILE = [
    '"',
    '""',
    '"unclosed',
    "*",
    "legal*",
    "OR",
    "legal OR housing",
    "NOT legal",
    "AND",
    "-legal",
    "legal -housing",
    "name:legal",
    "col:",
    "a & b",
    "a | b",
    "!legal",
    "(legal",
    "legal)",
    "((()))",
    "NEAR(legal housing)",
    "^legal",
    "legal:*",
    "'; DROP TABLE directory_entry; --",
    "\\",
    "%_%",
    "\x00",
    "🙂 ☃",
    "مساعدة قانونية",
    "Київ",
    "  ",
    "x" * 600,
    "a " * 100,
]


@pytest.mark.parametrize("text", HOSTILE)
def test_any_search_input_is_answered(client, run, sample, text):
    # A NUL character is refused before any view, with a message, in every request (security.refuse_nul_characters)
    expected = 400 if "\x00" in text else 200
    response = client.get("/directory", query_string={"q": text})
    assert response.status_code == expected
    response = client.get(f"{API}/directory", query_string={"q": text[:200]})
    assert response.status_code == expected, response.get_json()
    run(lambda: search.search(search.Search(text=text)))  # the search itself copes with it


def test_operators_are_searched_as_words(run, sample):
    assert names(run, search.Search(text='"legal" OR casa')) == []  # "or" is a word like any other
    assert names(run, search.Search(text="rechtshilfe*")) == ["Rechtshilfe Nord"]
    assert names(run, search.Search(text="(nord)")) == ["Rechtshilfe Nord"]
    assert names(run, search.Search(text="name:casa")) == []  # no column filter: "name" must match too


def test_bad_filter_values_are_ignored(client, sample):
    response = client.get(
        "/directory",
        query_string={"country": ["XX", "de", "'"], "language": ["<b>", "uk"], "service": "x", "kind": "?"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Sprachcafé Süd" in html and "Rechtshilfe Nord" not in html and "<b>" not in html
    assert client.get("/directory?after=abc").status_code == 200
    assert client.get(f"/directory?after={2**70}").status_code == 200
    assert client.get(f"{API}/directory?after={2**40}").status_code == 422  # no cursor the API gave
    assert client.get(f"/directory/{2**70}").status_code == 404
    assert client.get(f"{API}/directory/{2**40}").status_code == 404


def test_pages_follow_each_other_by_name(client, run):
    add_entries(run, generated(45))
    first, cursor = run(lambda: search.search(search.Search()))
    assert len(first) == search.PAGE_SIZE and cursor == first[-1].id
    seen = [item.name for item in first]
    while cursor:
        page, cursor = run(lambda after=cursor: search.search(search.Search(), after=after))
        seen += [item.name for item in page]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 45
    html = client.get("/directory").get_data(as_text=True)
    assert "45 entries" in html and f"after={first[-1].id}" in html
    html = client.get(f"/directory?after={first[-1].id}").get_data(as_text=True)
    assert "Generated Aid 00020" in html and "Generated Aid 00019" not in html


def test_the_search_page_runs_the_same_statements_at_n_and_5n(app, client, run):
    add_entries(run, generated(10))
    with count_statements(app) as few:
        assert client.get("/directory?q=help&service=legal&language=de").status_code == 200
    add_entries(run, generated(40, start=10))
    with count_statements(app) as many:
        assert client.get("/directory?q=help&service=legal&language=de").status_code == 200
    assert len(few) == len(many) <= 8


# -- pages ------------------------------------------------------------------------------------------------


def test_public_pages_work_without_signing_in(client, run, sample):
    html = client.get("/directory").get_data(as_text=True)
    assert (
        "Rechtshilfe Nord" in html
        and "Legal advice" in html
        and re.search(r"Germany <span class=\"directory-count\">\(2\)", html)
    )
    page = client.get(f"/directory/{entry_id(run, 'Rechtshilfe Nord')}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<strong>legal advice</strong>" in html and "Arabic" in html and "Hamburg, Germany" in html
    assert client.get("/directory/999999").status_code == 404


def test_markdown_in_a_description_is_sanitised(client, run):
    add_entries(
        run, [entry("Script Test", description="`<script>alert(1)</script>` [x](javascript:alert(1))")]
    )
    html = client.get(f"/directory/{entry_id(run, 'Script Test')}").get_data(as_text=True)
    assert "<script>alert" not in html and 'href="javascript:' not in html


def test_a_suggestion_waits_for_a_site_admin(client, run, cast):
    form = client.get("/directory/suggest").get_data(as_text=True)
    from tests.helpers import csrf_from

    data = {
        "csrf_token": csrf_from(form),
        "name": "Nuevo Hogar",
        "country": "ES",
        "city": "Valencia",
        "languages": "Spanish, ar",
        "services": ["housing", "legal"],
        "website": "nuevo-hogar.example.org",
        "contact_email": "info@nuevo-hogar.example.org",
        "description": "Rooms for newcomers.",
    }
    response = client.post("/directory/suggest", data=data)
    assert response.status_code == 303
    suggestion = entry_id(run, "Nuevo Hogar")
    stored = run(lambda: session.get(DirectoryEntry, suggestion))
    assert not stored.published and stored.suggested
    assert stored.languages == ["es", "ar"] and stored.website == "https://nuevo-hogar.example.org"
    assert "Nuevo Hogar" not in client.get("/directory").get_data(as_text=True)
    assert client.get(f"/directory/{suggestion}").status_code == 404

    token = act_as(client, cast, "admin")
    html = client.get("/admin/directory").get_data(as_text=True)
    assert "Nuevo Hogar" in html
    assert client.get(f"/directory/{suggestion}").status_code == 200
    assert (
        client.post(f"/admin/directory/{suggestion}/publish", data={"csrf_token": token}).status_code == 303
    )
    act_as(client, cast, "anonymous")
    assert "Nuevo Hogar" in client.get("/directory?q=valencia").get_data(as_text=True)


def test_suggestions_are_checked_and_robots_store_nothing(client, run, sample):
    from tests.helpers import csrf_from

    token = csrf_from(client.get("/directory/suggest").get_data(as_text=True))
    response = client.post(
        "/directory/suggest", data={"csrf_token": token, "name": "", "country": "QQ", "contact_email": "nope"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert (
        "Please correct the marked fields" in html
        and "two-letter code" in html
        and "like office@example.org" in html
    )
    response = client.post(
        "/directory/suggest", data={"csrf_token": token, "name": "Casa Aperta", "country": "IT"}
    )
    assert response.status_code == 422 and "already in the directory" in response.get_data(as_text=True)
    response = client.post(
        "/directory/suggest", data={"csrf_token": token, "name": "Bot Spam", "country": "DE", "homepage": "x"}
    )
    assert response.status_code == 303 and entry_id(run, "Bot Spam") is None
    assert client.post("/directory/suggest", data={"name": "No Token", "country": "DE"}).status_code == 400


def test_a_site_admin_edits_and_rejects(client, run, cast, sample):
    token = act_as(client, cast, "admin")
    casa = entry_id(run, "Casa Aperta")
    page = client.get(f"/admin/directory/{casa}/edit").get_data(as_text=True)
    assert "Bologna" in page
    response = client.post(
        f"/admin/directory/{casa}/edit",
        data={"csrf_token": token, "name": "Casa Aperta Bologna", "kind": "organisation", "country": "IT",
              "city": "Bologna", "languages": "it", "services": ["housing"]},
    )  # fmt: skip
    assert response.status_code == 303
    assert names(run, search.Search(services=["legal"], countries=["IT"])) == []
    assert names(run, search.Search(text="casa")) == ["Casa Aperta Bologna"]
    response = client.post(
        f"/admin/directory/{casa}/edit",
        data={"csrf_token": token, "name": "Rechtshilfe Nord", "kind": "organisation", "country": "DE"},
    )
    assert response.status_code == 422 and "already in the directory" in response.get_data(as_text=True)
    assert client.post(f"/admin/directory/{casa}/delete", data={"csrf_token": token}).status_code == 303
    assert entry_id(run, "Casa Aperta Bologna") is None
    assert names(run, search.Search(text="casa")) == []  # the full-text index forgot it too
    response = client.post(
        "/admin/directory/new",
        data={
            "csrf_token": token,
            "name": "Neu",
            "kind": "organisation",
            "country": "AT",
            "services": ["health"],
        },
    )
    assert response.status_code == 303 and names(run, search.Search(countries=["AT"])) == ["Neu"]


ADMIN_PAGES = [
    ("get", "/admin/directory"),
    ("get", "/admin/directory/new"),
    ("get", "/admin/directory/{id}/edit"),
    ("post", "/admin/directory/{id}/edit"),
    ("post", "/admin/directory/{id}/publish"),
    ("post", "/admin/directory/{id}/delete"),
    ("post", "/admin/directory/import"),
]


@pytest.mark.parametrize("role", list(ROLES))
def test_only_site_admins_manage_the_directory(client, run, cast, sample, role):
    casa = entry_id(run, "Casa Aperta")
    token = act_as(client, cast, role)
    for method, path in ADMIN_PAGES:
        response = getattr(client, method)(path.format(id=casa), data={"csrf_token": token or ""})
        if role == "anonymous":
            assert response.status_code in {302, 400}, (path, response.status_code)  # 400: no CSRF token
        elif role == "admin":
            assert response.status_code in {200, 303, 422}, (path, response.status_code)
        else:
            assert response.status_code == 403, (path, role, response.status_code)
    for method, path in [
        ("get", "/directory"),
        ("get", "/directory/suggest"),
        ("get", "/directory/export.csv"),
    ]:
        assert getattr(client, method)(path).status_code == 200


@pytest.mark.parametrize("role", list(ROLES))
def test_api_permissions(client, run, cast, sample, role):
    casa = entry_id(run, "Casa Aperta")
    headers = bearer(cast, role)
    assert client.get(f"{API}/directory", headers=headers).status_code == 200
    assert client.get(f"{API}/directory/{casa}", headers=headers).status_code == 200
    expected = {"anonymous": 401, "admin": 200}.get(role, 403)
    assert client.post(f"{API}/directory/{casa}/publish", headers=headers).status_code == expected
    response = client.patch(f"{API}/directory/{casa}", json={"city": "Modena"}, headers=headers)
    assert response.status_code == expected, response.get_json()
    response = client.post(
        f"{API}/directory/import", data={"file": (__import__("io").BytesIO(b"name,country\n"), "x.csv")},
        headers=headers,
    )  # fmt: skip
    assert response.status_code == (422 if role == "admin" else expected)
    expected_delete = {"anonymous": 401, "admin": 204}.get(role, 403)
    assert client.delete(f"{API}/directory/{casa}", headers=headers).status_code == expected_delete


def test_api_search_facets_and_suggestions(client, run, sample):
    body = client.get(f"{API}/directory?service=legal&country=DE&q=advice").get_json()
    assert [item["name"] for item in body["items"]] == ["Rechtshilfe Nord"] and body["total"] == 1
    body = client.get(f"{API}/directory?service=legal&country=DE").get_json()
    assert sorted(body["facets"]["country"], key=lambda item: item["value"]) == [
        {"value": "DE", "count": 1}, {"value": "IT", "count": 1},
    ]  # fmt: skip
    response = client.post(
        f"{API}/directory/suggestions", json={"name": "Hilfe Wien", "country": "AT", "services": ["legal"]}
    )
    assert response.status_code == 201 and response.get_json()["published"] is False
    response = client.post(f"{API}/directory/suggestions", json={"name": "Bad", "country": "XX"})
    assert response.status_code == 422 and response.get_json()["errors"]["country"]
    response = client.post(
        f"{API}/directory/suggestions", json={"name": "Bad", "country": "DE", "services": ["spa"]}
    )
    assert response.status_code == 422
    unpublished = entry_id(run, "Hilfe Wien")
    assert client.get(f"{API}/directory/{unpublished}").status_code == 404


# -- exports ----------------------------------------------------------------------------------------------


def test_exports_follow_the_filters(client, run):
    add_entries(
        run, SAMPLE + [entry("Formula", "DE", contact_phone="+49 30 1234", description="=HYPERLINK(1)")]
    )
    response = client.get("/directory/export.csv?country=DE")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert (
        lines[0]
        == "name,kind,country,city,languages,services,website,contact_email,contact_phone,description"
    )
    assert len(lines) == 4 and "de;ar;fa" in response.get_data(as_text=True)
    assert "'=HYPERLINK(1)" in lines[1] and "+49 30 1234" in lines[1]
    data = json.loads(client.get("/directory/export.json?service=legal").get_data(as_text=True))
    assert sorted(item["name"] for item in data) == ["Casa Aperta", "Rechtshilfe Nord"]
    assert data[0]["services"] and isinstance(data[0]["languages"], list)


# -- a network's public page ------------------------------------------------------------------------------


def _public_page_form(token, **changes):
    return {"csrf_token": token, "public": "y", "country": "IT", "services": ["legal", "housing"],
            "how_to_join": "Write to the **office**.", **changes}  # fmt: skip


@pytest.mark.parametrize("role", list(ROLES))
def test_only_the_coordinator_changes_the_public_page(client, cast, world, role):
    token = act_as(client, cast, role)
    get = client.get(f"/networks/{world.slug}/public-page")
    post = client.post(f"/networks/{world.slug}/public-page", data=_public_page_form(token or ""))
    if role == "anonymous":
        assert get.status_code == 302 and post.status_code in {302, 400}  # 400: no CSRF token
    elif role in {"coordinator", "admin"}:
        assert get.status_code == 200 and post.status_code == 303
    else:
        assert get.status_code == post.status_code == 403


def test_a_public_page_lists_the_network_and_follows_its_settings(client, run, cast, world):
    assert client.get(f"/n/{world.slug}").status_code == 404
    token = act_as(client, cast, "coordinator")
    html = client.get(f"/networks/{world.slug}").get_data(as_text=True)
    assert f"/networks/{world.slug}/public-page" in html  # the coordinator finds it in the network's menu
    response = client.post(f"/networks/{world.slug}/public-page", data=_public_page_form(token, country=""))
    assert response.status_code == 422 and "Choose the country" in response.get_data(as_text=True)

    def configure():
        network = get_network(world.slug)
        network.description = "Mentors for *newcomers* in Bologna."
        network.languages = ["Italian", "Arabic", "Klingonish"]
        network.region = "Emilia-Romagna"
        network.contact_email = "office@test-net.example.org"

    run(configure)
    assert (
        client.post(f"/networks/{world.slug}/public-page", data=_public_page_form(token)).status_code == 303
    )
    act_as(client, cast, "anonymous")
    html = client.get(f"/n/{world.slug}").get_data(as_text=True)
    assert "<em>newcomers</em>" in html and "<strong>office</strong>" in html
    assert "office@test-net.example.org" in html and "Emilia-Romagna" in html and "Italy" in html
    found = run(lambda: search.search(search.Search(kind=EntryKind.network))[0][0])
    assert (
        found.name == "Test Network"
        and found.languages == ["it", "ar"]
        and found.services == ["legal", "housing"]
    )

    run(
        lambda: setattr(get_network(world.slug), "name", "Rete Bologna")
    )  # changed anywhere: the entry follows
    assert names(run, search.Search(text="rete")) == ["Rete Bologna"]

    token = act_as(client, cast, "coordinator")
    assert (
        client.post(
            f"/networks/{world.slug}/public-page", data=_public_page_form(token, public="")
        ).status_code
        == 303
    )
    assert client.get(f"/n/{world.slug}").status_code == 404
    assert names(run, search.Search(kind=EntryKind.network)) == []
    assert run(lambda: session.get(NetworkPublicPage, world.network_id).public) is False


def test_the_demo_fills_the_directory(client, run):
    from network_service.accounts.operations import get_or_create_person
    from network_service.directory.demo import ORGANISATIONS, seed_demo
    from network_service.networks.operations import create_network, create_organisation

    def seed():
        admin, _created = get_or_create_person("admin@example.org")
        admin.is_site_admin = True
        coordinator, _created = get_or_create_person("c@example.org")
        network = create_network(
            "demo-x", "Demo X", create_organisation("Demo Org", "DE"), coordinator=coordinator
        )
        seed_demo(network, {"Site administrator": admin, "Coordinator": coordinator})

    run(seed)
    assert len(ORGANISATIONS) >= 30
    assert run(lambda: search.count(search.Search())) == len(ORGANISATIONS) + 1
    countries = {value for value, _count in run(lambda: search.facets(search.Search()))["country"]}
    assert {"DE", "IT", "PL", "GR", "AT", "ES", "FR", "NL"} <= countries
    assert "Everyone who has finished" in client.get("/n/demo-x").get_data(as_text=True)
    assert len(run(operations.pending_suggestions)) == 2


def test_site_admins_hear_of_suggestions_when_the_review_queue_starts(run, cast):
    from network_service.notifications.models import Notification

    def suggest(name):
        operations.suggest_entry(name=name, country="DE", languages="de", services="legal")

    def told():
        return list(
            session.scalars(
                sa.select(Notification.person_id).where(Notification.kind == "directory.suggestions")
            )
        )

    admins = run(lambda: list(session.scalars(sa.select(Person.id).where(Person.is_site_admin.is_(True)))))
    assert admins
    run(suggest, "First Waiting")
    assert sorted(run(told)) == sorted(admins)  # every site admin, nobody else
    run(suggest, "Second Waiting")
    assert sorted(run(told)) == sorted(admins)  # the queue was not empty: no second notification

    def review_all():
        admin = session.scalar(sa.select(Person).where(Person.email == ROLES["admin"]))
        for waiting in operations.pending_suggestions():
            operations.delete_entry(waiting, admin)

    run(review_all)
    run(suggest, "Third Waiting")  # the queue starts again: told again
    assert sorted(run(told)) == sorted(admins * 2)
