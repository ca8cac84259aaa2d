"""Peer help and the network's agreement: asking, editing and answering need the current version accepted
(require_current_agreement); the pages keep what was typed and link to the agreement, the API answers 403."""

from __future__ import annotations

import pytest

from network_service.db import session
from network_service.errors import Forbidden
from network_service.help import operations as ops
from network_service.help.models import HelpRequest
from network_service.networks.operations import publish_agreement
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
