"""Conversations, found by the audit of session 10: blocks stop direct conversations that already exist, every
write asks for the current agreement (and keeps what was typed when it changed), members of private groups are
added, removed and leave, and deleting a message is confirmed first."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from network_service.conversations import operations
from network_service.conversations.models import Channel, ChannelKind, Message
from network_service.db import session
from network_service.errors import Forbidden
from network_service.moderation import operations as moderation
from network_service.networks import operations as networks
from tests.conv_helpers import EMAILS, bearer_for, build_cast, network, person
from tests.helpers import assert_problem, csrf_from, sign_in_as

API = "/api/v1"


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


def base(cast) -> str:
    return f"/networks/{cast.slug}/conversations"


def post_form(client, page_url: str, data: dict, action: str | None = None):
    html = client.get(page_url).get_data(as_text=True)
    return client.post(action or page_url, data={**data, "csrf_token": csrf_from(html)})


def signed_in(client, run, label: str):
    other = client.application.test_client()
    sign_in_as(other, run, EMAILS[label])
    return other


def open_direct(run, cast, writer: str, *others: str) -> str:
    def opened():
        channel = operations.open_direct(
            network(cast), actor=person(writer), person_ids=[cast.ids[o] for o in others]
        )
        operations.post_message(channel, actor=person(writer), body="Hello there")
        return channel.slug

    return run(opened)


def block(run, cast, blocker: str, blocked: str) -> None:
    run(lambda: moderation.block(network(cast), person(blocked), actor=person(blocker)))


def messages_in(run, cast, channel_slug: str) -> int:
    return run(
        lambda: session.scalar(
            sa.select(sa.func.count(Message.id))
            .join(Channel, Channel.id == Message.channel_id)
            .where(Channel.network_id == cast.network_id, Channel.slug == channel_slug)
        )
    )


def publish_new_agreement(run, cast) -> None:
    run(
        lambda: networks.publish_agreement(
            network(cast), "Rules v2", "Be kind, always.", actor=person("coordinator"), change_note="new"
        )
    )


# -- 1. a block stops a direct conversation that exists already ------------------------------------------------

BLOCKED_TEXT = "you blocked someone in it, or someone in it blocked you"


@pytest.mark.parametrize("blocker", ["novice", "experienced"])
def test_a_block_stops_an_existing_direct_conversation_both_ways_on_the_page(client, run, cast, blocker):
    slug = open_direct(run, cast, "novice", "experienced")
    root = run(lambda: session.scalar(sa.select(sa.func.min(Message.id))))
    block(run, cast, blocker, "experienced" if blocker == "novice" else "novice")
    for label in ("novice", "experienced"):
        browser = signed_in(client, run, label)
        page_url = f"{base(cast)}/c/{slug}"
        page = browser.get(page_url).get_data(as_text=True)
        assert BLOCKED_TEXT in page and 'name="body"' not in page  # a notice instead of the form
        thread = browser.get(f"{base(cast)}/threads/{root}").get_data(as_text=True)
        assert BLOCKED_TEXT in thread and 'name="body"' not in thread
        token = csrf_from(page)
        refused = browser.post(page_url, data={"body": "Still there?", "csrf_token": token})
        assert refused.status_code == 403 and BLOCKED_TEXT in refused.get_data(as_text=True)
        reply = browser.post(f"{base(cast)}/threads/{root}", data={"body": "Hm", "csrf_token": token})
        assert reply.status_code == 403
    assert messages_in(run, cast, slug) == 1


@pytest.mark.parametrize("blocker", ["novice", "experienced"])
def test_a_block_stops_an_existing_direct_conversation_both_ways_in_the_api(client, run, cast, blocker):
    slug = open_direct(run, cast, "novice", "experienced")
    root = run(lambda: session.scalar(sa.select(sa.func.min(Message.id))))
    block(run, cast, blocker, "experienced" if blocker == "novice" else "novice")
    for label in ("novice", "experienced"):
        headers = bearer_for(run, label)
        messages = f"{API}/networks/{cast.slug}/channels/{slug}/messages"
        body = assert_problem(
            client.post(messages, json={"body": "Still there?"}, headers=headers), 403, "body"
        )
        assert BLOCKED_TEXT in body["detail"]
        assert_problem(
            client.post(f"{API}/messages/{root}/replies", json={"body": "Hm"}, headers=headers), 403
        )
        assert client.get(messages, headers=headers).status_code == 200  # still read
    assert messages_in(run, cast, slug) == 1


def test_a_block_stops_a_small_group_conversation_and_unblocking_lets_it_go_on(client, run, cast):
    slug = open_direct(run, cast, "novice", "experienced", "office")
    block(run, cast, "office", "experienced")
    eva, mina = bearer_for(run, "experienced"), bearer_for(run, "novice")
    messages = f"{API}/networks/{cast.slug}/channels/{slug}/messages"
    assert_problem(client.post(messages, json={"body": "Hi all"}, headers=eva), 403, "body")
    # nobody Mina blocked or who blocked her is in it: she writes on
    assert client.post(messages, json={"body": "Hi all"}, headers=mina).status_code == 201
    run(lambda: moderation.unblock(network(cast), person("experienced"), actor=person("office")))
    assert client.post(messages, json={"body": "Hi again"}, headers=eva).status_code == 201


# -- 2. editing and creating channels ask for the current agreement ------------------------------------------------


def test_editing_a_message_and_creating_a_channel_need_the_current_agreement(run, cast, ctx):
    message = operations.post_message(
        operations.get_channel(network(cast), cast.general, person("novice")),
        actor=person("novice"),
        body="x",
    )
    networks.publish_agreement(
        network(cast), "Rules v2", "Be kind.", actor=person("coordinator"), change_note="new"
    )
    with pytest.raises(Forbidden, match="agreement"):
        operations.edit_message(message, actor=person("novice"), body="changed")
    for kind in (ChannelKind.private, ChannelKind.open):
        with pytest.raises(Forbidden, match="agreement"):
            operations.create_channel(network(cast), actor=person("experienced"), name="New", kind=kind)
    # the publisher accepted it by publishing; a site administrator without a membership is not asked
    operations.create_channel(network(cast), actor=person("coordinator"), name="Coordinators", kind="open")
    operations.create_channel(network(cast), actor=person("admin"), name="From the admin", kind="open")
    assert session.get(Message, message.id).body == "x"


def test_the_api_refuses_edits_and_channels_until_the_agreement_is_accepted(client, run, cast):
    eva = bearer_for(run, "experienced")
    posted = client.post(
        f"{API}/networks/{cast.slug}/channels/{cast.general}/messages", json={"body": "First"}, headers=eva
    )
    publish_new_agreement(run, cast)
    edit = client.patch(f"{API}/messages/{posted.get_json()['id']}", json={"body": "Second"}, headers=eva)
    body = assert_problem(edit, 403)
    assert "accept the new version" in body["detail"] and f"/networks/{cast.slug}/agreement" in body["detail"]
    created = client.post(f"{API}/networks/{cast.slug}/channels", json={"name": "New"}, headers=eva)
    assert_problem(created, 403)
    assert run(lambda: session.scalar(sa.select(Channel.id).where(Channel.name == "New"))) is None
