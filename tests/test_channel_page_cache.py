"""The channel page's threads and the reader's read state kept in the page cache
(conversations.operations.list_thread_rows and mark_read): a page seen again asks neither, and every change shows
at once — a message (the reader's own or another's), a moved read marker, a renamed author, a block."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from network_service import page_cache
from network_service.conversations import operations as conversations
from network_service.conversations.models import Channel, ChannelMember, Message
from network_service.db import session
from network_service.moderation import operations as moderation
from network_service.networks.models import Network
from tests.conv_helpers import build_cast
from tests.conv_helpers import general_channel as general
from tests.goals_roles import count_statements
from tests.helpers import csrf_from, sign_in_as, without_csrf_tokens
from tests.test_page_cache import badges, by_email, page

HOME = "/networks/test-net"


@pytest.fixture
def cache_on(page_cache_on):
    """The page cache on (conftest's ``page_cache_on``)."""


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


def post(run, cast, email: str, body: str) -> None:
    run(lambda: conversations.post_message(general(cast), actor=by_email(email), body=body))


def test_a_channel_page_seen_again_reads_no_messages_and_no_read_state(client, run, cast, cache_on, app):
    post(run, cast, "coord@example.org", "Welcome, everyone!")
    sign_in_as(client, run, "mentor@example.org")
    path = f"{HOME}/conversations/c/{cast.general}"
    page(client, path)  # moves the read marker
    with count_statements(app) as cold:
        with app.app_context():
            page_cache.clear()
        first = page(client, path)
    with count_statements(app) as warm:
        second = page(client, path)
    assert without_csrf_tokens(second) == without_csrf_tokens(first) and "Welcome, everyone!" in second
    assert len(warm) <= len(cold) - 3, (len(warm), len(cold))
    assert not any("message" in statement.split("FROM")[-1] for statement in warm), warm


def test_a_new_message_shows_at_once_and_reading_it_moves_the_marker(client, run, cast, cache_on):
    sign_in_as(client, run, "mentor@example.org")
    path = f"{HOME}/conversations/c/{cast.general}"
    post(run, cast, "coord@example.org", "First news")
    assert "First news" in page(client, path)
    assert badges(page(client))["conversations"] == 0
    post(run, cast, "coord@example.org", "Second news")
    assert badges(page(client))["conversations"] == 1
    assert "Second news" in page(client, path)  # shown, and the kept read state did not stop the marker
    assert badges(page(client))["conversations"] == 0


def test_the_readers_own_message_shows_at_once(client, run, cast, cache_on):
    sign_in_as(client, run, "mentor@example.org")
    path = f"{HOME}/conversations/c/{cast.general}"
    html = page(client, path)
    response = client.post(path, data={"csrf_token": csrf_from(html), "body": "My own words"})
    assert response.status_code == 303
    assert "My own words" in page(client, path)


def test_a_renamed_author_shows_at_once(client, run, cast, cache_on):
    post(run, cast, "coord@example.org", "Hello from the coordinator")
    sign_in_as(client, run, "mentor@example.org")
    path = f"{HOME}/conversations/c/{cast.general}"
    page(client, path)  # moves the read marker (a write to conversations)
    assert "Hello from the coordinator" in page(client, path)  # kept

    def rename():
        by_email("coord@example.org").display_name = "Cora Renamed"

    run(rename)
    assert "Cora Renamed" in page(client, path)


def test_blocking_an_author_collapses_their_messages_at_once(client, run, cast, cache_on):
    post(run, cast, "coord@example.org", "Hello from the coordinator")
    sign_in_as(client, run, "mentor@example.org")
    path = f"{HOME}/conversations/c/{cast.general}"
    page(client, path)  # moves the read marker (a write to conversations)
    assert "Message from someone you blocked" not in page(client, path)  # kept

    def block():
        network = session.get(Network, cast.network_id)
        moderation.block(network, by_email("coord@example.org"), actor=by_email("mentor@example.org"))

    run(block)
    assert "Message from someone you blocked" in page(client, path)


def test_the_kept_threads_are_shared_and_each_reader_sees_their_own_blocks(client, app, run, cast, cache_on):
    post(run, cast, "coord@example.org", "Hello from the coordinator")

    def block():
        network = session.get(Network, cast.network_id)
        moderation.block(network, by_email("coord@example.org"), actor=by_email("mentor@example.org"))

    run(block)
    path = f"{HOME}/conversations/c/{cast.general}"
    sign_in_as(client, run, "mentor@example.org")
    page(client, path)  # moves the read marker
    assert "Message from someone you blocked" in page(client, path)
    other = app.test_client()
    sign_in_as(other, run, "meta@example.org")
    page(other, path)
    html = page(other, path)
    assert "Hello from the coordinator" in html and "Message from someone you blocked" not in html
    assert "Message from someone you blocked" in page(client, path)


def _marker(cast, email: str) -> int | None:
    return session.scalar(
        sa.select(ChannelMember.last_read_message_id).where(
            ChannelMember.channel_id == general(cast).id, ChannelMember.person_id == by_email(email).id
        )
    )


def channel_newest(channel: Channel) -> int:
    return session.scalar(sa.select(sa.func.max(Message.id)).where(Message.channel_id == channel.id))


@pytest.mark.parametrize("cached", [True, False])
def test_a_marker_behind_moves_with_one_update_and_the_badge_follows(client, run, cast, app, cached):
    app.config["PAGE_CACHE"] = cached
    try:
        post(run, cast, "coord@example.org", "First news")
        sign_in_as(client, run, "mentor@example.org")
        path = f"{HOME}/conversations/c/{cast.general}"
        page(client, path)  # the reader's marker row
        first = run(_marker, cast, "mentor@example.org")
        post(run, cast, "coord@example.org", "Second news")
        assert badges(page(client))["conversations"] == 1
        with count_statements(app) as statements:
            html = page(client, path)
        assert "Second news" in html
        assert badges(html)["conversations"] == 0  # the page's own badge counts after the move
        newest = run(lambda: channel_newest(general(cast)))
        assert run(_marker, cast, "mentor@example.org") == newest > first
        writes = [s for s in statements if s.lstrip().upper().startswith(("UPDATE CHANNEL_MEMBER", "INSERT"))]
        assert len(writes) == 1 and writes[0].lstrip().upper().startswith("UPDATE"), writes
        assert not any(s.lstrip().startswith("SELECT channel_member.id") for s in statements), statements
        # the viewer's memberships, loaded with them, still answer the page's permission questions after the move
        assert not any(s.lstrip().startswith("SELECT membership.id") for s in statements), statements
        assert badges(page(client))["conversations"] == 0
    finally:
        app.config["PAGE_CACHE"] = None


def test_a_moved_marker_reaches_the_loaded_row_and_the_requests_unread_counts(run, cast):
    def read_then_post_then_read():
        reader = by_email("mentor@example.org")
        channel = general(cast)
        conversations.post_message(channel, actor=by_email("coord@example.org"), body="One")
        conversations.mark_read(channel, reader)
        conversations.post_message(channel, actor=by_email("coord@example.org"), body="Two")
        network = session.get(Network, cast.network_id)
        assert conversations.unread_counts(network, reader) == {channel.id: 1}
        loaded = session.scalar(
            sa.select(ChannelMember).where(
                ChannelMember.channel_id == channel.id, ChannelMember.person_id == reader.id
            )
        )
        assert conversations.mark_read(channel, reader) == channel_newest(channel)
        assert loaded.last_read_message_id == channel_newest(channel)  # the session's row, without a refresh
        assert conversations.unread_counts(network, reader) == {}  # counted again, not kept from before

    run(read_then_post_then_read)


_OLD_LIST = (
    '{% from "conversations/_message.html" import message %}'
    '<ol class="conv-threads">\n      '
    "{% for m in threads %}<li>{{ view.article(message, m, confirm_form, thread_link=True) }}</li>{% endfor %}"
)


def _old_thread_list(cast, email: str) -> str:
    """The page's thread list as the template rendered it before the list was kept (session 6): each thread's
    ``<li>`` through ``MessageView.article``, for the reader ``email``."""
    from flask import render_template_string

    from network_service.conversations.forms import ConfirmForm
    from network_service.conversations.views import MessageView

    viewer = by_email(email)
    network = session.get(Network, cast.network_id)
    threads, _older = conversations.list_thread_rows(general(cast), viewer)
    view = MessageView(viewer, network, {m.author.id for m in threads if m.author and m.author.blocked})
    return render_template_string(
        _OLD_LIST, threads=threads, view=view, network=network, confirm_form=ConfirmForm()
    )


def _thread_list(html: str) -> str:
    start = html.index('<ol class="conv-threads">')
    list_html = html[start : html.index("</ol>", start)].rstrip()
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1*", list_html)  # signed with the time


@pytest.mark.parametrize(
    "email", ["exp@example.org", "mentor@example.org", "meta@example.org", "office@example.org"]
)
def test_the_kept_thread_list_is_the_list_rendered_article_by_article(
    client, run, cast, cache_on, app, email
):
    """The thread list kept whole (a plain reader: every article shared) or rendered (a reader who blocked an
    author on the page, a moderator, an author on the page) is the HTML the template gave before, article by
    article; computed and kept alike."""

    def write():
        channel = general(cast)
        coordinator, office = by_email("coord@example.org"), by_email("office@example.org")
        conversations.post_message(channel, actor=coordinator, body="Welcome, **everyone**!")
        edited = conversations.post_message(channel, actor=office, body="Office hours on Monday")
        conversations.edit_message(edited, actor=office, body="Office hours on Tuesday")
        hidden = conversations.post_message(channel, actor=office, body="Something to hide")
        moderation.hide_message(hidden, actor=coordinator)
        deleted = conversations.post_message(channel, actor=coordinator, body="Gone soon")
        conversations.delete_message(deleted, actor=coordinator)
        meta = by_email("meta@example.org")
        root = conversations.post_message(channel, actor=meta, body="Ask @[Eva Experienced]")
        conversations.post_message(channel, actor=by_email("exp@example.org"), body="Here", parent=root)

    run(write)
    if email == "mentor@example.org":

        def block():
            network = session.get(Network, cast.network_id)
            moderation.block(network, by_email("office@example.org"), actor=by_email(email))

        run(block)
    path = f"{HOME}/conversations/c/{cast.general}"
    sign_in_as(client, run, email)
    page(client, path)  # moves the read marker
    before = _thread_list(run(_old_thread_list, cast, email) + "</ol>")
    assert "Office hours on Tuesday" in before and "Gone soon" not in before
    with app.app_context():
        page_cache.clear()
    assert _thread_list(page(client, path)) == before  # computed
    assert _thread_list(page(client, path)) == before  # kept, when every article is shared
