"""The export holds the person's own data, not what others did about them unbeknown to them, nor others' words."""

from __future__ import annotations

import json

import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.conversations.operations import create_channel, post_message
from network_service.db import session
from network_service.networks.models import Network
from tests.helpers import csrf_from, sign_in_as

MENTOR_WORDS = "Only the mentor wrote this 4b7e"


def _export(browser) -> dict:
    response = browser.get("/api/v1/privacy/export")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def _post_form(browser, page: str, action: str, data: dict | None = None):
    form = {"csrf_token": csrf_from(browser.get(page).get_data(as_text=True)), **(data or {})}
    return browser.post(action, data=form)


def test_the_blocked_person_export_does_not_say_who_blocked_them(world, http_client, run):
    blocks = f"/networks/{world.slug}/blocks"
    coordinator = http_client()
    sign_in_as(coordinator, run, "coord@example.org")
    for blocked in ("1", "0", "1"):  # block, unblock, block again
        response = _post_form(
            coordinator,
            blocks,
            f"/networks/{world.slug}/members/{world.mentor_id}/block",
            {"blocked": blocked},
        )
        assert response.status_code == 303, response.get_data(as_text=True)

    mentor = http_client()
    sign_in_as(mentor, run, "mentor@example.org")
    entries = _export(mentor)["sections"]["audit"]["entries"]
    assert entries  # their own sign-ins and the like are there
    assert not [e for e in entries if e["action"].startswith("moderation.")]
    assert world.coordinator_id not in [e["actor_id"] for e in entries]

    # the one who blocked finds what they did in their own export
    theirs = _export(coordinator)["sections"]
    actions = [e["action"] for e in theirs["audit"]["entries"] if e["target_id"] == world.mentor_id]
    assert actions == ["moderation.block", "moderation.unblock", "moderation.block"]
    assert [b["blocked_id"] for b in theirs["moderation"]["people_blocked"]] == [world.mentor_id]


def test_a_moderator_export_leaves_out_the_text_of_a_message_they_deleted(world, http_client, run):
    def post():
        network = session.get(Network, world.network_id)
        coordinator = session.get(Person, world.coordinator_id)
        mentor = session.get(Person, world.mentor_id)
        channel = create_channel(network, actor=coordinator, name="Open talk")
        return post_message(channel, actor=mentor, body=MENTOR_WORDS).id

    message_id = run(post)
    coordinator = http_client()
    sign_in_as(coordinator, run, "coord@example.org")
    delete = f"/networks/{world.slug}/conversations/messages/{message_id}/delete"
    response = _post_form(coordinator, delete, delete)
    assert response.status_code == 303, response.get_data(as_text=True)
    stored = run(lambda: session.execute(sa.text("SELECT body, editor_id FROM message_revision")).all())
    # kept, with the moderator as its editor
    assert [tuple(r) for r in stored] == [(MENTOR_WORDS, world.coordinator_id)]

    assert MENTOR_WORDS not in json.dumps(_export(coordinator), ensure_ascii=False)
    mentor = http_client()
    sign_in_as(mentor, run, "mentor@example.org")
    versions = _export(mentor)["sections"]["conversations"]["message_versions_replaced"]
    assert [(v["message_id"], v["body"]) for v in versions] == [(message_id, MENTOR_WORDS)]
