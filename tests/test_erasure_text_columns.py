"""Erasure scrubs every free-text column: the columns come from the metadata (privacy.scrubbing), so a column
added later is scrubbed too, or this test fails."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from network_service.db import Base
from network_service.networks.models import Network
from network_service.privacy import scrubbing
from tests import privacy_support as ps
from tests.helpers import csrf_from, sign_in_as


@pytest.fixture
def written_everywhere(run, world, app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    everything = run(ps.build_everything, world, tmp_path / "uploads")
    run(ps.fill_empty_tables, everything.network_id)
    assert run(ps.write_everywhere) == []  # every scrubbed table has a row to write into
    yield everything
    app.config["UPLOAD_DIR"] = None


def _columns_holding(connection, needles) -> set[str]:
    """Every "table.column" whose value, in some row, holds one of ``needles`` (any case)."""
    found = set()
    for table in Base.metadata.sorted_tables:
        for row in connection.execute(sa.select(table)).mappings():
            for column, value in row.items():
                if value is None:
                    continue
                text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
                if any(needle.lower() in text.lower() for needle in needles):
                    found.add(f"{table.name}.{column}")
    return found


def _erase_over_http(http_client, run, email: str, *, delete_contributions: bool = False):
    """The person signs in and erases their account on /profile/erase; returns the answer."""
    browser = http_client()
    sign_in_as(browser, run, email)
    page = browser.get("/profile/erase")
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "confirm": email}
    if delete_contributions:
        data["delete_contributions"] = "y"
    return browser.post("/profile/erase", data=data)


def test_the_exceptions_name_real_tables_and_columns(app):  # the app loads the plugins and their tables
    names = {t.name for t in Base.metadata.sorted_tables} | {
        f"{t.name}.{c.name}" for t in Base.metadata.sorted_tables for c in t.columns
    }
    assert sorted(set(scrubbing.NOT_SCRUBBED) - names) == []
    columns = {c.name for t in Base.metadata.sorted_tables for c in t.columns}
    assert sorted(set(scrubbing.NOT_SCRUBBED_ANYWHERE) - columns) == []
    # the erasure writes scrubbed texts back by primary key
    assert [c.table.name for c in scrubbing.scrubbed_columns() if not c.table.primary_key.columns] == []


@pytest.mark.parametrize("delete_contributions", [False, True])
def test_erasure_scrubs_every_text_column_and_the_public_page(
    written_everywhere, db_connection, http_client, run, delete_contributions
):
    scrubbed = {f"{c.table.name}.{c.name}" for c in scrubbing.scrubbed_columns()}
    assert len(scrubbed) > 100
    slug = run(lambda: ps.session.get(Network, written_everywhere.network_id).slug)
    visitor = http_client()
    public = visitor.get(f"/n/{slug}")
    assert public.status_code == 200
    assert "(write to ZELDA.QUIXOTE@EXAMPLE.ORG) before" in public.get_data(as_text=True)  # "how to join"
    before = _columns_holding(db_connection, ps.IDENTIFIERS)
    assert sorted(scrubbed - before) == []  # the fixture reached every scrubbed column
    assert len(scrubbed & _columns_holding(db_connection, [ps.EMAIL])) > 100

    response = _erase_over_http(http_client, run, ps.EMAIL, delete_contributions=delete_contributions)
    assert response.status_code == 302, response.get_data(as_text=True)

    # the address goes from every column; the name from every text column but the names of things (a member's
    # chosen name must not rename a network) and JSON lists of codes (languages); the LMS and LTI identifiers
    # with the rows that carry them (the lti and courses erasers), from no free text
    assert sorted(_columns_holding(db_connection, [ps.EMAIL])) == []
    named = {f"{c.table.name}.{c.name}" for c in scrubbing.scrubbed_columns() if scrubbing.name_scrubbed(c)}
    assert len(named) > 80
    assert sorted(_columns_holding(db_connection, [ps.NAME]) & named) == []
    identifiers = [needle for needle in ps.IDENTIFIERS if needle not in (ps.EMAIL, ps.NAME)]
    assert sorted(_columns_holding(db_connection, identifiers)) == []
    public = visitor.get(f"/n/{slug}").get_data(as_text=True)
    # the address is nowhere on it; the name stays where the fixture wrote it into the names of things and the
    # lists of codes (the network's name, its languages), which a member's chosen name must not rewrite
    assert ps.EMAIL.lower() not in public.lower()
    assert "Ask former member (write to former member) before the first meeting." in public


def test_the_address_and_the_name_are_replaced_as_whole_words_in_any_case():
    address = scrubbing._words(["zelda.quixote@example.org"])
    name = scrubbing._name_pattern("Zelda Quixoté")
    text = {
        "a": "Mail ZELDA.QUIXOTE@example.org or mailto:zelda.quixote@example.org, ask @Zelda Quixoté",
        "b": ["@[Zelda Quixoté] and zelda quixoté.", "xzelda.quixote@example.org is someone else"],
        "c": "not ada.zelda.quixote@example.org, a+zelda.quixote@example.org, zelda.quixote@example.org.uk",
        "d": "but zelda.quixote@example.org. And (zelda.quixote@example.org), not Zelda Quixotés",
    }
    assert scrubbing.scrub_text(text, address, name, "former member") == {
        "a": "Mail former member or mailto:former member, ask former member",
        "b": ["former member and former member.", "xzelda.quixote@example.org is someone else"],
        "c": text["c"],
        "d": "but former member. And (former member), not Zelda Quixotés",
    }


def test_a_one_word_name_goes_only_as_a_mention():
    """Found by the review of session 12: any member may call themselves "Arabic" or "Mentor" and erase their
    account; replacing the word wherever it stood rewrote others' languages, texts and network names."""
    name = scrubbing._name_pattern("Arabic")
    assert scrubbing.scrub_text(
        {
            "languages": ["Arabic", "German"],
            "bio": "I speak Arabic.",
            "post": "Thanks @Arabic and @[Arabic]!",
        },
        None,
        name,
        "former member",
    ) == {
        "languages": ["Arabic", "German"],
        "bio": "I speak Arabic.",
        "post": "Thanks former member and former member!",
    }


def test_a_namesake_keeps_their_name_and_address(world, http_client, run):
    from network_service.accounts.models import Person
    from network_service.networks.models import Network
    from tests.helpers import add_member

    def two():
        network = ps.session.get(Network, world.network_id)
        add_member(network, ps.EMAIL, ps.NAME)
        other = add_member(network, "a+" + ps.EMAIL, ps.NAME)
        other.bio = f"Not the {ps.NAME} of {ps.EMAIL}."
        return other.id

    other_id = run(two)
    assert _erase_over_http(http_client, run, ps.EMAIL).status_code == 302
    other = run(lambda: ps.session.get(Person, other_id))
    assert (other.display_name, other.email) == (ps.NAME, "a+" + ps.EMAIL)
    assert other.bio == "Not the former member of former member."  # their texts about others are scrubbed


def test_a_name_in_capitals_with_letters_outside_ascii_is_scrubbed(world, http_client, run):
    """SQLite's own lower() changes A-Z only; the application gives each SQLite connection Python's (db.py), so
    the scrub's ILIKE finds "ZELDA QUIXOTÉ" for "Zelda Quixoté" there too, as PostgreSQL's does."""
    from network_service.conversations import operations as conversations
    from network_service.conversations.models import Channel, Message
    from network_service.networks.models import Network
    from tests.helpers import add_member

    def write():
        network = ps.session.get(Network, world.network_id)
        add_member(network, ps.EMAIL, ps.NAME)
        channel = ps.session.scalar(sa.select(Channel).where(Channel.network_id == network.id).limit(1))
        author = add_member(network, "writer@example.org", "Wanda Writer")
        return conversations.post_message(channel, actor=author, body=f"Thanks, {ps.NAME.upper()}!").id

    message_id = run(write)
    assert ps.NAME.upper() != ps.NAME and not ps.NAME.isascii()
    assert _erase_over_http(http_client, run, ps.EMAIL).status_code == 302
    assert run(lambda: ps.session.get(Message, message_id).body) == "Thanks, former member!"


def test_a_member_who_calls_themselves_arabic_and_leaves_rewrites_nobody(world, http_client, run):
    """Found by the review of session 12: a member renamed themselves "Arabic", erased their account, and every
    other member's "Arabic" (their languages, their bio) became "former member"."""
    from network_service.accounts.models import Person
    from network_service.accounts.operations import update_profile
    from network_service.networks.models import Network
    from tests.helpers import add_member

    def two():
        network = ps.session.get(Network, world.network_id)
        network.name = "Arabic Mentors Berlin"
        add_member(network, "vandal@example.org", "Arabic")
        other = add_member(network, "speaker@example.org", "Samira Haddad")
        update_profile(other, other, languages=["Arabic", "German"], bio="I speak Arabic. Thanks, @Arabic!")
        return other.id

    other_id = run(two)
    assert _erase_over_http(http_client, run, "vandal@example.org").status_code == 302
    other = run(lambda: ps.session.get(Person, other_id))
    assert other.languages == ["Arabic", "German"]
    assert other.bio == "I speak Arabic. Thanks, former member!"  # only the mention names the person
    assert run(lambda: ps.session.get(Network, world.network_id).name) == "Arabic Mentors Berlin"


def test_a_name_of_two_words_leaves_the_names_of_things_and_lists_of_codes(world, http_client, run):
    """A name of two words goes from others' texts, but not from a network's name or a member's languages: a
    member calling themselves "Mentors Berlin" would otherwise rename the network when they leave."""
    from network_service.accounts.models import Person
    from network_service.accounts.operations import update_profile
    from network_service.networks.models import Network
    from tests.helpers import add_member

    def two():
        network = ps.session.get(Network, world.network_id)
        network.name = "Arabic Mentors Berlin"
        add_member(network, "vandal@example.org", "Mentors Berlin")
        other = add_member(network, "speaker@example.org", "Samira Haddad")
        update_profile(other, other, expertise=["Mentors Berlin"], bio="Ask Mentors Berlin.")
        return other.id

    other_id = run(two)
    assert _erase_over_http(http_client, run, "vandal@example.org").status_code == 302
    other = run(lambda: ps.session.get(Person, other_id))
    assert other.expertise == ["Mentors Berlin"] and other.bio == "Ask former member."
    assert run(lambda: ps.session.get(Network, world.network_id).name) == "Arabic Mentors Berlin"
