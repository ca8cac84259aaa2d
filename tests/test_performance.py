"""What the speed work changed must not change what the pages show (timings belong to bench/)."""

from __future__ import annotations

import datetime as dt

import pytest

from network_service import markup
from network_service.accounts.models import Person
from network_service.db import session, utcnow
from network_service.networks.models import Membership, MembershipStatus, Network, Origin, Role
from network_service.networks.operations import OVERVIEW_NEWEST, network_overview


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script> **bold**",
        "[x](javascript:alert(1)) and <img src=x onerror=alert(1)>",
        "# Title\n\n- one\n- two",
    ],
)
def test_cached_markdown_is_the_same_safe_html(source):
    first = markup.render_markdown(source)
    again = markup.render_markdown(source)
    assert str(first) == str(again) == markup._render(source)
    assert "<script" not in str(again) and 'href="javascript' not in str(again) and "<img" not in str(again)


def test_long_markdown_is_rendered_without_the_cache():
    source = "**" + "a" * markup.RENDER_CACHE_MAX_CHARS + "** <script>x</script>"
    before = markup._render_cached.cache_info().currsize
    html = str(markup.render_markdown(source))
    assert html.startswith("<p><strong>") and "<script" not in html
    assert markup._render_cached.cache_info().currsize == before


def test_network_page_shows_the_newest_mentors_first_and_undated_ones_last(world, ctx):
    network = session.get(Network, world.network_id)
    now = utcnow()
    made = []
    for n in range(OVERVIEW_NEWEST + 3):
        person = Person(email=f"new{n}@example.org", display_name=f"New {n}")
        session.add(person)
        joined = None if n % 2 == 0 else now - dt.timedelta(days=n * 7 % 11, hours=n)
        made.append(
            Membership(
                network=network, person=person, role=Role.mentor, status=MembershipStatus.active,
                origin=Origin.invited, joined_at=joined,
            )
        )  # fmt: skip
    session.add_all(made)
    session.flush()
    mentors = list(
        session.query(Membership).filter_by(
            network_id=network.id, status=MembershipStatus.active, role=Role.mentor
        )
    )
    expected = sorted(
        mentors,
        key=lambda m: (m.joined_at is None, -(m.joined_at.timestamp() if m.joined_at else 0), -m.id),
    )[:OVERVIEW_NEWEST]
    coordinator = session.get(Person, world.coordinator_id)
    shown = network_overview(network, coordinator).shown
    assert [m.id for m in shown if m.role == Role.mentor] == [m.id for m in expected]
    assert any(m.joined_at is None for m in expected)  # both parts of the query are shown
