"""Peer help and the network's agreement: asking, editing and answering need the current version accepted
(require_current_agreement); the pages keep what was typed and link to the agreement, the API answers 403."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from network_service.db import session
from network_service.errors import Forbidden
from network_service.help import operations as ops
from network_service.help.models import HelpRequest, HelpResponse
from network_service.networks.operations import accept_agreement, current_agreement, publish_agreement
from tests.helpers import csrf_from, sign_in_as
from tests.test_help import API, _bearer, _build_roles, net, new_request, person


@pytest.fixture
def members(run, world):
    """tests/test_help.py's world: every role, the novice mentor (mentor@example.org) asks."""
    run(_build_roles, world)
    return world


def _publish(run, world):
    """A new version of the agreement: everyone but its publisher (the coordinator) must accept it again."""
    run(
        lambda: publish_agreement(
            net(world),
            "Agreement",
            "1. Be kind.\n2. Answer within a week.\n",
            actor=person("coord@example.org"),
        )
    )


def _state(run, request_id):
    def read():
        request = session.get(HelpRequest, request_id)
        return request.topic, request.body, request.response_count

    return run(read)


def test_editing_needs_the_current_agreement_like_asking_and_answering(members, ctx):
    request = new_request(members)
    publish_agreement(net(members), "Agreement", "1. New rules.\n", actor=person("coord@example.org"))
    author = person("mentor@example.org")
    for call in (
        lambda: ops.update_request(request, author, topic="Rewritten"),
        lambda: ops.create_request(net(members), author, topic="Another question"),
        lambda: ops.respond(request, person("expert@example.org"), "An answer"),
    ):
        with pytest.raises(Forbidden, match="agreement"):
            call()
    assert request.topic == "Who knows the school enrolment rules?" and request.updated_at is None


def test_the_api_refuses_an_edit_with_a_403_problem(client, run, members):
    request_id = run(lambda: new_request(members).id)
    _publish(run, members)
    url = f"{API}/networks/test-net/help-requests/{request_id}"
    response = client.patch(url, json={"topic": "Rewritten"}, headers=_bearer(run, "novice"))
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert "/networks/test-net/agreement" in response.get_json()["detail"]
    assert _state(run, request_id)[0] == "Who knows the school enrolment rules?"


def _agreement_notice(html):
    assert "A new version of the agreement of Test Network must be accepted first." in html, html
    assert 'href="/networks/test-net/agreement" target="_blank" rel="noopener"' in html
    assert 'role="alert"' in html


def test_a_new_request_typed_before_the_agreement_changed_comes_back_with_a_link(client, run, members):
    sign_in_as(client, run, "mentor@example.org")
    html = client.get("/networks/test-net/help/new").get_data(as_text=True)
    _publish(run, members)  # while the mentor is typing
    response = client.post(
        "/networks/test-net/help/new",
        data={
            "csrf_token": csrf_from(html),
            "topic": "Who knows the Jobcenter in Mitte?",
            "body": "A long text I do not want to type again.",
            "languages": ["Arabic"],
            "other_languages": "Tigrinya",
            "region": "Berlin",
            "tags": "work, benefits",
            "urgency": "high",
            "action": "check",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    _agreement_notice(html)
    assert (
        'value="Who knows the Jobcenter in Mitte?"' in html
        and "A long text I do not want to type again." in html
    )
    assert (
        'value="Tigrinya"' in html
        and 'value="work, benefits"' in html
        and '<option selected value="high">' in html
    )
    assert run(lambda: session.scalar(sa.select(sa.func.count(HelpRequest.id)))) == 0


def test_an_edit_typed_before_the_agreement_changed_comes_back_with_a_link(client, run, members):
    request_id = run(lambda: new_request(members).id)
    sign_in_as(client, run, "mentor@example.org")
    path = f"/networks/test-net/help/{request_id}/edit"
    html = client.get(path).get_data(as_text=True)
    _publish(run, members)
    response = client.post(
        path,
        data={"csrf_token": csrf_from(html), "topic": "My rewritten question", "body": "New details.",
              "urgency": "normal", "action": "check"},
    )  # fmt: skip
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    _agreement_notice(html)
    assert 'value="My rewritten question"' in html and "New details." in html
    assert _state(run, request_id)[:2] == (
        "Who knows the school enrolment rules?",
        "A family I accompany wants to enrol two children mid-year.",
    )


def test_an_answer_typed_before_the_agreement_changed_comes_back_with_a_link(client, run, members):
    request_id = run(lambda: new_request(members).id)
    sign_in_as(client, run, "expert@example.org")
    path = f"/networks/test-net/help/{request_id}"
    html = client.get(path).get_data(as_text=True)
    _publish(run, members)
    response = client.post(
        f"{path}/respond",
        data={"csrf_token": csrf_from(html), "body": "Go to the school office on Monday.", "action": "check"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    _agreement_notice(html)
    assert "Go to the school office on Monday.</textarea>" in html
    assert run(lambda: session.scalar(sa.select(sa.func.count(HelpResponse.id)))) == 0
    # once accepted, the same text goes through
    run(lambda: accept_agreement(person("expert@example.org"), current_agreement(net(members))))
    response = client.post(
        f"{path}/respond",
        data={"csrf_token": csrf_from(html), "body": "Go to the school office on Monday.", "action": "check"},
    )
    assert response.status_code == 303
    assert run(lambda: session.scalar(sa.select(sa.func.count(HelpResponse.id)))) == 1


def test_the_api_answers_403_problems_when_the_agreement_is_pending(client, run, members):
    request_id = run(lambda: new_request(members).id)
    _publish(run, members)
    url = f"{API}/networks/test-net/help-requests"
    for response in (
        client.post(url, json={"topic": "A question"}, headers=_bearer(run, "novice")),
        client.post(
            f"{url}/{request_id}/responses", json={"body": "An answer"}, headers=_bearer(run, "experienced")
        ),
    ):
        assert response.status_code == 403 and response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["status"] == 403 and "/networks/test-net/agreement" in problem["detail"]
    assert _state(run, request_id)[2] == 0
