"""Choosing people on the new direct message and new private group pages, over real HTTP: a search by name with
a page of results, the chosen people kept in the address across searches and checked again on the server."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from network_service.conversations import operations
from network_service.conversations.models import Channel, ChannelMember, Message
from network_service.db import session
from network_service.moderation.models import Block
from tests.conv_helpers import EMAILS, build_cast, network
from tests.helpers import add_member, csrf_from, sign_in_as

MANY = 60


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


@pytest.fixture
def many(run, cast):
    """60 more active members, "Member 00" to "Member 59": their ids by number."""
    return run(
        lambda: [add_member(network(cast), f"m{i}@example.org", f"Member {i:02d}").id for i in range(MANY)]
    )


@pytest.fixture
def mina(http_client, run, cast):
    browser = http_client()
    sign_in_as(browser, run, EMAILS["novice"])
    return browser


def base(cast) -> str:
    return f"/networks/{cast.slug}/conversations"


def offered(html: str) -> list[int]:
    return [int(pid) for pid in re.findall(r'name="add" value="(\d+)"', html)]


def chosen(html: str) -> list[int]:
    """The ids the final form would post."""
    return [int(pid) for pid in re.findall(r'<input type="hidden" name="members" value="(\d+)">', html)]


def count(run, model) -> int:
    return run(lambda: session.scalar(sa.select(sa.func.count()).select_from(model)))


def test_the_direct_page_shows_one_page_of_members_and_a_link_to_the_next(mina, cast, many):
    response = mina.get(f"{base(cast)}/direct/new")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    first = offered(html)
    assert len(first) == operations.PICK_PAGE_SIZE < MANY
    assert "20 members shown." in html and 'aria-live="polite"' in html
    more = re.search(r'<a href="([^"]+)">Show the next members</a>', html).group(1).replace("&amp;", "&")
    second = offered(mina.get(more).get_data(as_text=True))
    assert len(second) == operations.PICK_PAGE_SIZE and not set(first) & set(second)


def test_a_search_finds_members_by_part_of_the_name_and_keeps_the_chosen_ones(mina, run, cast, many):
    new = f"{base(cast)}/direct/new"
    found = mina.get(new, query_string={"q": "MBER 4"}).get_data(as_text=True)
    assert sorted(offered(found)) == many[40:50]
    # choose Member 41, then search again for someone else: Member 41 stays chosen
    page = mina.get(new, query_string={"q": "mber 4", "add": many[41]}).get_data(as_text=True)
    assert chosen(page) == [many[41]] and many[41] not in offered(page)
    search_form = page.split('role="search"', 1)[1].split("</form>", 1)[0]
    assert f'<input type="hidden" name="to" value="{many[41]}">' in search_form  # the next search keeps them
    page = mina.get(new, query_string={"q": "eva", "to": many[41]}).get_data(as_text=True)
    assert chosen(page) == [many[41]] and offered(page) == [cast.ids["experienced"]]
    page = mina.get(new, query_string={"q": "eva", "to": many[41], "add": cast.ids["experienced"]})
    page = page.get_data(as_text=True)
    assert chosen(page) == [many[41], cast.ids["experienced"]]
    removed = mina.get(new, query_string={"to": [many[41], cast.ids["experienced"]], "remove": many[41]})
    assert chosen(removed.get_data(as_text=True)) == [cast.ids["experienced"]]

    sent = mina.post(new, data={"members": chosen(page), "body": "Hello both", "csrf_token": csrf_from(page)})
    assert sent.status_code == 303
    slug = sent.headers["Location"].rsplit("/", 1)[-1]
    members = run(
        lambda: set(
            session.scalars(sa.select(ChannelMember.person_id).join(Channel).where(Channel.slug == slug))
        )
    )
    assert members == {cast.ids["novice"], many[41], cast.ids["experienced"]}


def test_a_short_search_is_refused_with_a_message(mina, cast):
    response = mina.get(f"{base(cast)}/direct/new", query_string={"q": "e"})
    assert response.status_code == 422
    assert "Search for 2 to 80 characters of a name." in response.get_data(as_text=True)


def test_a_forged_id_of_someone_not_allowed_is_refused_and_nothing_is_created(mina, run, cast, many):
    new = f"{base(cast)}/direct/new"
    run(lambda: session.add(Block(blocker_id=many[7], blocked_id=cast.ids["novice"])))
    page = mina.get(new, query_string={"q": "member 0"}).get_data(as_text=True)
    assert many[7] not in offered(page) and many[6] in offered(page)  # who blocked Mina is not offered
    channels, messages = count(run, Channel), count(run, Message)

    blocked = mina.post(new, data={"members": [many[7]], "body": "hi", "csrf_token": csrf_from(page)})
    html = blocked.get_data(as_text=True)
    assert blocked.status_code == 403
    assert "You cannot write directly to someone who blocked you or whom you blocked." in html
    assert chosen(html) == [] and "Hello" not in html
    stranger = mina.post(
        new, data={"members": [cast.ids["outsider"]], "body": "hi", "csrf_token": csrf_from(page)}
    )
    assert stranger.status_code == 422
    assert "Choose only active members of this network." in stranger.get_data(as_text=True)
    assert (count(run, Channel), count(run, Message)) == (channels, messages)

    # the same ids in the address are left out of the chosen people, with a word
    forged = mina.get(new, query_string={"to": [many[7], cast.ids["outsider"], many[1]]}).get_data(
        as_text=True
    )
    assert chosen(forged) == [many[1]] and "cannot be chosen here" in forged


def test_a_direct_conversation_takes_at_most_seven_chosen(mina, cast, many):
    page = mina.get(f"{base(cast)}/direct/new", query_string={"to": many[:7], "add": many[8]})
    html = page.get_data(as_text=True)
    assert chosen(html) == many[:7] and offered(html) == []
    assert "You chose as many people as there may be (7)." in html and "cannot be chosen here" in html


def _statements(app, client, url: str) -> list[str]:
    from tests.goals_roles import count_statements

    with count_statements(app) as statements:
        assert client.get(url).status_code == 200
    return list(statements)


def test_the_picker_runs_the_same_statements_at_n_and_3n_members(app, client, run, cast):
    sign_in_as(client, run, EMAILS["novice"])
    ids = run(lambda: [add_member(network(cast), f"a{i}@example.org", f"Alba {i:03d}").id for i in range(25)])
    url = f"{base(cast)}/direct/new?q=alba&to={ids[0]}&to={ids[1]}"
    client.get(url)
    small = _statements(app, client, url)
    run(lambda: [add_member(network(cast), f"b{i}@example.org", f"Alba B{i:03d}") for i in range(50)])
    large = _statements(app, client, url)
    assert len(large) == len(small)
    # the page of results is one statement that asks the database for one page only
    pages = [s for s in large if re.search(r"ORDER BY lower\(person\.display_name\), person\.id\s+LIMIT", s)]
    assert len(pages) == 1
