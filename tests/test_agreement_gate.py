"""The agreement comes first for every contribution others read: meetings, the library and goals ask for the
current version too (networks.operations.require_current_agreement), as posting, help and appointing did. Found
uneven by the session-10 audit: a member who had not accepted the new rules could still plan meetings, add to
the library and report progress. Each refusal is a 403 that changes nothing; site administrators acting without a
membership are not asked."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.db import session, utcnow
from network_service.errors import Forbidden
from network_service.goals import operations as goals
from network_service.goals.models import Goal, GoalUpdate
from network_service.meetings import operations as meetings
from network_service.meetings.models import Meeting
from network_service.networks.operations import (
    accept_agreement,
    current_agreement,
    get_network,
    publish_agreement,
)
from network_service.resources import operations as resources
from network_service.resources.models import Resource
from tests.goals_roles import API, bearer, build_cast


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


def _who(cast, label) -> Person:
    return session.get(Person, cast.ids[label])


def _meeting_input(title="Monthly meeting") -> meetings.MeetingInput:
    start = (utcnow() + dt.timedelta(days=7)).replace(tzinfo=None, microsecond=0)
    return meetings.MeetingInput(
        title=title,
        description="",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        timezone="Europe/Berlin",
        online_url="https://meet.example.org/x",
    )


def _counts() -> tuple[int, ...]:
    return tuple(
        session.scalar(sa.select(sa.func.count(model.id))) for model in (Meeting, Resource, Goal, GoalUpdate)
    )


def test_meetings_library_and_goals_need_the_current_agreement(world, cast, ctx):
    network = get_network(world.slug)
    coordinator, meta, experienced = (
        _who(cast, "coordinator"),
        _who(cast, "meta_mentor"),
        _who(cast, "experienced"),
    )
    goal = goals.create_goal(network, actor=coordinator, title="Ten mentors", target_value=10, unit="mentors",
                             owner_id=experienced.id)  # fmt: skip
    meeting = meetings.create_meeting(network, _meeting_input(), actor=experienced)
    note = resources.add_note(network, actor=experienced, title="Welcome", body="Say *hello*.")
    publish_agreement(network, "Agreement", "1. Be kind.\n2. Answer within a week.\n", actor=coordinator)
    before = _counts()
    refused = {
        "create_meeting": lambda: meetings.create_meeting(network, _meeting_input("Another"), actor=experienced),
        "update_meeting": lambda: meetings.update_meeting(meeting, _meeting_input("Renamed"), actor=experienced),
        "add_link": lambda: resources.add_link(network, actor=experienced, title="UNHCR", url="https://help.unhcr.org/"),
        "add_note": lambda: resources.add_note(network, actor=experienced, title="Tips", body="Be on time."),
        "add_file": lambda: resources.add_file(network, actor=experienced, stream=io.BytesIO(b"a,b\n1,2\n"),
                                               filename="table.csv"),
        "edit_resource": lambda: resources.edit_resource(note, actor=experienced, title="Rewritten"),
        "post_update": lambda: goals.post_update(goal, actor=experienced, value=3, note="Three so far"),
        "create_goal": lambda: goals.create_goal(network, actor=meta, title="More", target_value=5, unit="x",
                                                 owner_id=None),
        "edit_goal": lambda: goals.edit_goal(goal, actor=meta, title="Renamed"),
    }  # fmt: skip
    for name, call in refused.items():
        with pytest.raises(Forbidden, match="agreement"):
            call()
        assert _counts() == before, name
    session.expire_all()
    assert meeting.title == "Monthly meeting" and note.title == "Welcome" and goal.title == "Ten mentors"
    # accepted: the same calls go through
    accept_agreement(experienced, current_agreement(network))
    meetings.create_meeting(network, _meeting_input("Another"), actor=experienced)
    goals.post_update(goal, actor=experienced, value=3, note="Three so far")
    resources.add_note(network, actor=experienced, title="Tips", body="Be on time.")
    # a site administrator acting without a membership is not asked
    goals.create_goal(
        network, actor=_who(cast, "admin"), title="Admin's", target_value=1, unit="x", owner_id=experienced.id
    )


def test_the_api_answers_403_and_keeps_nothing(client, run, world, cast):
    run(
        lambda: publish_agreement(
            get_network(world.slug), "Agreement", "1. New rules.\n", actor=_who(cast, "coordinator")
        )
    )
    before = run(_counts)
    response = client.post(
        f"{API}/networks/{world.slug}/resources",
        json={"kind": "note", "title": "Tips", "body": "Be on time."},
        headers=bearer(cast, "experienced"),
    )
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert f"/networks/{world.slug}/agreement" in response.get_json()["detail"]
    assert run(_counts) == before


def test_the_pages_keep_what_was_typed_and_link_to_the_agreement(client, run, world, cast):
    """As the conversation and help forms do: the form comes back (403) with the text, a notice and a link to
    the agreement that returns here (web.keep_form_for_agreement, _agreement_needed.html)."""
    from tests.goals_roles import act_as
    from tests.test_meetings import form_data

    goal_id = run(
        lambda: goals.create_goal(
            get_network(world.slug), actor=_who(cast, "coordinator"), title="Ten mentors", target_value=10,
            unit="mentors", owner_id=cast.ids["experienced"],
        ).id
    )  # fmt: skip
    run(
        lambda: publish_agreement(
            get_network(world.slug), "Agreement", "1. New rules.\n", actor=_who(cast, "coordinator")
        )
    )
    token = act_as(client, cast, "experienced")
    base = f"/networks/{world.slug}"
    before = run(_counts)
    page = client.get(f"{base}/meetings/new").get_data(as_text=True)
    sent = {
        f"{base}/meetings/new": (form_data(page, title="Typed meeting title"), "Typed meeting title"),
        f"{base}/resources/new/note": (
            {"csrf_token": token, "title": "Typed note title", "body": "Typed note body"},
            "Typed note body",
        ),
        f"{base}/goals/{goal_id}/updates": ({"csrf_token": token, "value": "4", "note": "Typed progress"}, "Typed progress"),
    }  # fmt: skip
    for path, (data, typed) in sent.items():
        response = client.post(path, data=data)
        html = response.get_data(as_text=True)
        assert response.status_code == 403, (path, html[:300])
        assert typed in html, path
        assert f'href="{base}/agreement" target="_blank"' in html, path
    assert run(_counts) == before
