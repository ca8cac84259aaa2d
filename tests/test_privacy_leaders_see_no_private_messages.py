"""Coordinators and Meta-Mentors see aggregates, never private messages: every page and API endpoint that
answers a GET, walked with every plausible argument, never shows a direct or private-group message body to a
leader who is not in that conversation."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa

from network_service.conversations.models import Channel, Message
from network_service.db import session
from network_service.insights.operations import DATASETS
from tests import privacy_support as ps
from tests.helpers import sign_in_as

SKIP_ENDPOINTS = {
    "web.static",
    "accounts.confirm_sign_in",
    "networks.invitation",
    "notifications.unsubscribe",
}
PRIVATE = (ps.DM_BODY, ps.GROUP_BODY)


@pytest.fixture
def everything(run, world, app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield run(ps.build_everything, world, tmp_path / "uploads")
    app.config["UPLOAD_DIR"] = None


def _candidates(run, world, everything) -> dict[str, list]:
    def load():
        channels = [
            c.slug for c in session.scalars(sa.select(Channel).where(Channel.network_id == world.network_id))
        ]
        messages = list(session.scalars(sa.select(Message.id)))
        return channels, messages

    channels, messages = run(load)
    ints = sorted(set(messages) | {1, 2, 3, everything.person_id, world.mentor_id})
    return {"slug": [world.slug], "channel_slug": channels, "dataset": list(DATASETS), "int": ints}


def _urls(app, candidates) -> list[str]:
    urls = []
    with app.test_request_context():
        adapter = app.url_map.bind("localhost")
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint in SKIP_ENDPOINTS or "token" in rule.arguments:
                continue
            if rule.endpoint.startswith("lti.") or rule.endpoint.startswith("bridge."):
                continue
            choices = []
            for argument in sorted(rule.arguments):
                converter = rule._converters.get(argument)
                kind = "int" if type(converter).__name__ == "IntegerConverter" else argument
                if kind not in candidates:
                    break
                choices.append([(argument, value) for value in candidates[kind]])
            else:
                for combination in itertools.product(*choices):
                    urls.append(adapter.build(rule.endpoint, dict(combination)) + "?q=Private")
    return sorted(set(urls))


@pytest.mark.parametrize("email", ["coord@example.org", "meta@example.org", "admin@example.org"])
def test_leaders_never_see_a_private_message(everything, world, client, run, app, email):
    if email.startswith("admin"):
        from network_service.accounts.operations import add_site_admin

        run(add_site_admin, email)
    sign_in_as(client, run, email)
    urls = _urls(app, _candidates(run, world, everything))
    assert len(urls) > 100
    seen_ok = 0
    for url in urls:
        response = client.get(url)
        body = response.get_data(as_text=True)
        for secret in PRIVATE:
            assert secret not in body, f"{email} sees a private message at {url}"
        seen_ok += response.status_code == 200
    assert seen_ok > 50  # the walk really reached the leaders' pages


def test_the_walk_can_fail(everything, world, client, run, app):
    """The mentor in the conversation does see it: the walk would catch a leak."""
    sign_in_as(client, run, "mentor@example.org")
    urls = _urls(app, _candidates(run, world, everything))
    assert any(ps.DM_BODY in client.get(url).get_data(as_text=True) for url in urls)
