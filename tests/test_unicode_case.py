"""Names and words outside A-Z meet their lower-case form on both databases: @mentions, the library's search,
the conversations' search and the search by name when choosing people (SQLite's own lower() changes only A-Z;
network_service.db registers a Unicode-aware one, and mentions are lower-cased as the databases do)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from network_service.conversations import operations as conversations
from network_service.db import session
from network_service.notifications.models import Notification
from network_service.resources import operations as resources
from tests.conv_helpers import build_cast, general_channel, network, person
from tests.helpers import add_member

NAMES = ["Олена Коваль", "Ömer Yılmaz", "Γιώργος Παππάς", "Łucja Żak"]


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


def test_mentions_of_names_outside_a_to_z_notify_those_members(run, cast):
    people = run(
        lambda: [add_member(network(cast), f"u{i}@example.org", name).id for i, name in enumerate(NAMES)]
    )
    # two in another case than their display name: the database's lower() meets Python's str.lower()
    written = ["олена коваль", "Ömer Yılmaz", "ΓΙΏΡΓΟΣ ΠΑΠΠΆΣ", "Łucja Żak"]
    body = "Welcome " + " ".join(f"@[{name}]" for name in written)
    run(lambda: conversations.post_message(general_channel(cast), actor=person("novice"), body=body))
    mentioned = run(
        lambda: set(
            session.scalars(
                sa.select(Notification.person_id).where(Notification.kind == "conversations.mention")
            )
        )
    )
    assert mentioned == set(people)


def test_the_library_search_finds_words_with_capitals_outside_a_to_z(run, cast):
    def add(title: str) -> None:
        resources.add_note(network(cast), actor=person("coordinator"), title=title, body="Notes for mentors.")

    for title in ("Übersicht Aufenthaltsrecht", "Житло у Берліні", "Οδηγός Υγείας", "Wohnung"):
        run(add, title)

    def found(text: str) -> list[str]:
        rows, _more = resources.search(network(cast), person("novice"), resources.Search(text=text))
        return sorted(r.title for r in rows)

    assert run(found, "übersicht") == run(found, "ÜBERSICHT") == ["Übersicht Aufenthaltsrecht"]
    assert run(found, "житло") == run(found, "ЖИТЛО") == ["Житло у Берліні"]
    assert run(found, "οδηγός") == ["Οδηγός Υγείας"]
    assert run(found, "wohnung") == ["Wohnung"]


def test_the_conversation_search_and_the_name_search_ignore_case_outside_a_to_z(run, cast):
    run(
        lambda: conversations.post_message(
            general_channel(cast), actor=person("novice"), body="Die Übersicht zum Jobcenter ist im Ordner."
        )
    )
    for text in ("übersicht", "ÜBERSICHT"):
        results, _older = run(
            lambda text=text: conversations.search(network(cast), person("coordinator"), text)
        )
        assert [m.body for m in results] == ["Die Übersicht zum Jobcenter ist im Ordner."]

    olena = run(lambda: add_member(network(cast), "olena@example.org", "Олена Коваль").id)
    for text in ("олена", "ОЛЕНА"):
        found, _more = run(lambda text=text: conversations.find_members(cast.network_id, text))
        assert [p.id for p in found] == [olena]
