"""Conversations: channels, threads, direct messages, mentions, unread state, search; over real HTTP."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from network_service.conversations import operations
from network_service.conversations.models import Channel, ChannelKind, Message
from network_service.db import session
from network_service.networks.models import Level, Network, Role
from network_service.notifications.models import Notification
from tests.helpers import add_member, csrf_from, sign_in_as


def network_of(world) -> Network:
    return session.get(Network, world.network_id)


@pytest.fixture
def general(run, world):
    return run(lambda: operations.create_default_channels(network_of(world))[0].slug)


def test_smoke(client, run, world, general):
    sign_in_as(client, run, "mentor@example.org")
    page = client.get(f"/networks/{world.slug}/conversations")
    assert page.status_code == 200, page.get_data(as_text=True)
    page = client.get(f"/networks/{world.slug}/conversations/c/{general}")
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    r = client.post(f"/networks/{world.slug}/conversations/c/{general}", data={"body": "Hello @[Marco Meta] <script>x</script>", "csrf_token": csrf_from(html)})
    assert r.status_code == 303, r.get_data(as_text=True)
    page = client.get(f"/networks/{world.slug}/conversations/c/{general}").get_data(as_text=True)
    assert "<strong>@Marco Meta</strong>" in page
    assert "<script>x" not in page
