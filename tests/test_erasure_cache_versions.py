"""Erasure deletes the page cache's per-person versions (page_cache.py, "Scopes")."""

from __future__ import annotations

import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.db import session
from network_service.notifications.operations import notify
from tests.helpers import csrf_from, sign_in_as


def _scopes(connection, person_id: int) -> list[str]:
    names = connection.execute(sa.text("SELECT name FROM cache_version")).scalars()
    return sorted(n for n in names if n.endswith(f"@p:{person_id}"))


def _unattributed(connection) -> dict[str, int]:
    found = connection.execute(sa.text("SELECT name, token FROM cache_version WHERE name LIKE '%@'")).all()
    return dict(tuple(row) for row in found)


def test_erasure_deletes_the_person_cache_versions(world, http_client, run, db_connection):
    pid = world.mentor_id
    browser = http_client()
    sign_in_as(browser, run, "mentor@example.org")
    # the person's writes (a membership, a notification) made their versions
    run(
        lambda: notify([session.get(Person, pid)], "help.matched", url="/", author="Someone", topic="Housing")
    )
    assert _scopes(db_connection, pid) == [f"notifications@p:{pid}", f"structure@p:{pid}"]
    before = _unattributed(db_connection)
    page = browser.get("/profile/erase")
    response = browser.post(
        "/profile/erase",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "confirm": "mentor@example.org"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _scopes(db_connection, pid) == []
    # what makes deleting them safe: a value kept with version 0 of a missing row also has the unattributed
    # versions of its day, and those changed with the erasure
    after = _unattributed(db_connection)
    assert set(before) == {"structure@", "notifications@"}
    assert all(before[name] != after[name] for name in before)
