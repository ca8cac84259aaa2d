"""Links on content shared through a federation lead only where the reader may go (docs/federations.md).

In the demo, berlin-mentors is a member of the federation mentor-networks-europe, which shares a resource of
palermo-mentori and its own channel "across-borders" with its members. A mentor of berlin-mentors reads both, but
may not open the owning network's library or conversations: every link on those pages that stays on the site
answers them 200.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa

from network_service.conversations.models import Channel, ChannelKind
from network_service.db import session
from network_service.federations.models import SharedResource
from network_service.networks.models import Network
from network_service.resources.models import Resource
from tests.helpers import parse_page
from tests.security_world import demo_world  # noqa: F401 - fixture

SHARED_CHANNEL = "/networks/mentor-networks-europe/conversations/c/across-borders"
READERS = ["novice", "experienced"]  # Jonas and Amira, mentors of berlin-mentors only


@pytest.fixture
def world(demo_world):  # noqa: F811
    return demo_world


def shared_resource_path(world) -> str:
    """A resource of palermo-mentori shared with a federation berlin-mentors belongs to (the demo shares one)."""

    def find():
        resource = session.scalar(
            sa.select(Resource)
            .join(SharedResource, SharedResource.resource_id == Resource.id)
            .join(Network, Network.id == Resource.network_id)
            .where(Network.slug == "palermo-mentori")
            .order_by(Resource.id)
            .limit(1)
        )
        assert resource is not None, "the demo shares a resource of palermo-mentori"
        return f"/networks/palermo-mentori/resources/{resource.id}"

    return world.run(find)


def site_links(base: str, html: str) -> list[str]:
    """The page's links that stay on the site, as paths with their query."""
    found = []
    for href, _text in parse_page(html).links:
        url = urlsplit(urljoin(f"http://localhost{base}", href))
        if url.scheme not in ("http", "https") or url.netloc != "localhost" or not url.path:
            continue
        if url.path.startswith("/static/"):
            continue
        found.append(url.path + (f"?{url.query}" if url.query else ""))
    return sorted(set(found))


def assert_every_link_opens(world, label: str, path: str) -> list[str]:
    client = world.clients[label]
    with world.rolled_back():
        page = client.get(path)
        assert page.status_code == 200, (path, page.status_code)
        links = site_links(path, page.get_data(as_text=True))
        broken = {}
        for link in links:
            if link.startswith("/sign-out"):
                continue
            status = client.get(link).status_code
            if status != 200:
                broken[link] = status
    assert not broken, f"{label} on {path}: links that do not open: {broken}"
    return links


@pytest.mark.parametrize("label", READERS)
def test_every_link_on_a_shared_resource_opens(world, label):
    path = shared_resource_path(world)
    links = assert_every_link_opens(world, label, path)
    # the way back leads to the reader's own library, where "From the federation" lists the resource
    assert "/networks/berlin-mentors/resources" in links
    assert not [link for link in links if link.startswith("/networks/palermo-mentori/resources?")]


@pytest.mark.parametrize("label", READERS)
def test_every_link_in_a_shared_channel_opens(world, label):
    links = assert_every_link_opens(world, label, SHARED_CHANNEL)
    assert "/networks/berlin-mentors/conversations" in links
    assert "/networks/mentor-networks-europe/conversations" not in links


def test_members_of_the_owning_network_keep_their_library_and_conversations(world):
    """A member reads the network's own resource and channel with the tag links and the ways back as before."""

    def own():
        berlin = session.scalar(sa.select(Network).where(Network.slug == "berlin-mentors"))
        resource = session.scalar(
            sa.select(Resource).where(Resource.network_id == berlin.id).order_by(Resource.id).limit(1)
        )
        channel = session.scalar(
            sa.select(Channel)
            .where(Channel.network_id == berlin.id, Channel.kind == ChannelKind.open)
            .order_by(Channel.id)
            .limit(1)
        )
        return resource.id, list(resource.tags), channel.slug

    resource_id, tags, channel_slug = world.run(own)
    links = assert_every_link_opens(world, "novice", f"/networks/berlin-mentors/resources/{resource_id}")
    assert "/networks/berlin-mentors/resources" in links
    assert {f"/networks/berlin-mentors/resources?tag={tag}" for tag in tags} <= set(links)
    links = assert_every_link_opens(
        world, "novice", f"/networks/berlin-mentors/conversations/c/{channel_slug}"
    )
    assert "/networks/berlin-mentors/conversations" in links
