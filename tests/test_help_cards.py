"""The cache of the help list's cards (help.views.help_cards) and the help request page: every change to a
request shows at once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.db import session
from network_service.help import operations as ops
from network_service.help.models import HelpRequest
from network_service.help.views import help_cards
from tests.helpers import sign_in_as
from tests.test_help import new_request, person, roles  # noqa: F401  (the fixture)

LIST = "/networks/test-net/help?scope=all"


@pytest.fixture(autouse=True)
def _empty_cache():
    help_cards.clear()
    yield
    help_cards.clear()


def card(html: str, topic: str) -> str:
    start = html.index(topic)
    return html[start : html.index("</li>", start)]


def test_the_list_is_served_from_the_cache_and_changes_show_at_once(client, run, roles):  # noqa: F811
    request_id = run(lambda: new_request(roles, email="coord@example.org", topic="Housing in Mitte").id)
    sign_in_as(client, run, "mentor@example.org")
    first = client.get(LIST).get_data(as_text=True)
    assert "No answer yet" in card(first, "Housing in Mitte") and len(help_cards) == 1
    hits = []
    original = help_cards.get
    help_cards.get = lambda key: hits.append(key) or original(key)
    try:
        again = client.get(LIST).get_data(as_text=True)
    finally:
        del help_cards.get
    assert card(again, "Housing in Mitte") == card(first, "Housing in Mitte") and len(help_cards) == 1
    assert hits and original(hits[0]) is not None

    run(lambda: new_request(roles, email="coord@example.org", topic="A new request"))
    rendered = []
    help_cards.put = lambda key, html: rendered.append(key) or type(help_cards).put(help_cards, key, html)
    try:
        html = client.get(LIST).get_data(as_text=True)
    finally:
        del help_cards.put
    # a new first page: the new request's card is rendered, the other one comes from the cache
    assert "A new request" in html and card(html, "Housing in Mitte") == card(first, "Housing in Mitte")
    assert len(rendered) == 1 and "A new request" in rendered[0][1] and len(help_cards) == 2

    run(
        lambda: ops.respond(session.get(HelpRequest, request_id), person("expert@example.org"), "I can help.")
    )
    assert "1 answer" in card(client.get(LIST).get_data(as_text=True), "Housing in Mitte")

    run(
        lambda: ops.update_request(
            session.get(HelpRequest, request_id), person("coord@example.org"), topic="Housing in Wedding"
        )
    )
    html = client.get(LIST).get_data(as_text=True)
    assert "Housing in Wedding" in html and "Housing in Mitte" not in html

    def rename():
        person("coord@example.org").display_name = "Cora Renamed"

    run(rename)
    assert "Asked by Cora Renamed" in card(client.get(LIST).get_data(as_text=True), "Housing in Wedding")

    run(lambda: ops.resolve(session.get(HelpRequest, request_id), person("coord@example.org")))
    html = client.get(LIST).get_data(as_text=True)
    assert "Housing in Wedding" not in html and "A new request" in html
    html = client.get(LIST + "&status=any").get_data(as_text=True)
    assert '<span class="badge">resolved</span>' in card(html, "Housing in Wedding")


def test_each_language_has_its_own_cards(client, run, roles):  # noqa: F811
    run(lambda: new_request(roles, email="coord@example.org", topic="Housing in Mitte"))
    sign_in_as(client, run, "mentor@example.org")
    assert "Asked by" in client.get(LIST).get_data(as_text=True)

    def german():
        session.scalar(sa.select(Person).where(Person.email == "mentor@example.org")).locale = "de"

    run(german)
    html = client.get(LIST).get_data(as_text=True)
    assert "Asked by" not in html and len(help_cards) == 2


def test_an_answer_shows_on_the_request_page_at_once(client, run, roles):  # noqa: F811
    request_id = run(lambda: new_request(roles, email="coord@example.org", topic="Housing in Mitte").id)
    sign_in_as(client, run, "mentor@example.org")
    page = f"/networks/test-net/help/{request_id}"
    assert "No answer yet." in client.get(page).get_data(as_text=True)
    run(
        lambda: ops.respond(
            session.get(HelpRequest, request_id), person("expert@example.org"), "Try the office"
        )
    )
    html = client.get(page).get_data(as_text=True)
    assert "Try the office" in html and "No answer yet." not in html
