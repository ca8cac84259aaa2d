"""Reopening a help request, and the confirmation before a request is resolved or closed (docs/help.md)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from network_service.audit.models import AuditLog
from network_service.db import session, utcnow
from network_service.errors import Conflict, Forbidden
from network_service.help import operations as ops
from network_service.help.models import HelpRequest, HelpStatus
from tests.helpers import csrf_from, sign_in_as
from tests.test_help import API, ROLES, _bearer, _build_roles, _page, _who, net, new_request, person

REOPEN = {"meta", "coordinator"}  # besides the author: who may resolve or close


@pytest.fixture
def members(run, world):
    """tests/test_help.py's world: every role, the novice mentor (mentor@example.org) asks."""
    run(_build_roles, world)
    return world


def _answered_and_resolved(world, status="resolved"):
    request = new_request(world)
    ops.respond(request, person("expert@example.org"), "Go to the school office first.")
    ops.resolve(request, person("mentor@example.org"), status)
    return request


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_reopening_returns_the_request_to_open_and_keeps_its_history(members, ctx, status):
    request = _answered_and_resolved(members, status)
    first, count = request.first_response_at, request.response_count
    since = utcnow().replace(year=utcnow().year - 1)
    before = ops.help_metrics(net(members), since)
    ops.reopen(request, person("mentor@example.org"))
    assert request.status == HelpStatus.open and request.is_open
    assert request.resolved_at is None and request.resolved_by is None
    assert request.first_response_at == first and request.response_count == count == 1
    assert [r.body for r in request.responses] == ["Go to the school office first."]
    entries = session.execute(
        sa.select(AuditLog.action, AuditLog.detail)
        .where(AuditLog.target_type == "helprequest", AuditLog.target_id == request.id)
        .order_by(AuditLog.id)
    ).all()
    assert [a for a, _d in entries] == ["help.create", f"help.{status}", "help.open"]
    assert entries[-1].detail == {"previous": status}
    after = ops.help_metrics(net(members), since)
    # the first answer's figures do not change; a reopened request is not resolved (until it is again)
    assert {k: after[k] for k in after if k != "resolved_share"} == {
        k: before[k] for k in before if k != "resolved_share"
    }
    assert after["resolved_share"] == 0.0
    with pytest.raises(Conflict):
        ops.reopen(request, person("mentor@example.org"))
    ops.respond(request, person("meta@example.org"), "And bring the registration.")  # answers again
    assert request.response_count == 2 and request.first_response_at == first
    ops.resolve(request, person("coord@example.org"))
    assert request.resolved_at is not None and request.resolved_by.email == "coord@example.org"
    assert ops.help_metrics(net(members), since)["resolved_share"] == 1.0


@pytest.mark.parametrize("role", ROLES)
def test_who_may_reopen(members, ctx, role):
    request = new_request(members, email="asker@example.org")
    ops.resolve(request, person("asker@example.org"), "closed")
    try:
        ops.reopen(request, _who(role))
    except Forbidden:
        allowed = False
    else:
        allowed = True
    assert allowed == (role in REOPEN)
    assert request.is_open == (role in REOPEN)


def test_the_author_may_reopen(members, ctx):
    request = _answered_and_resolved(members)
    ops.reopen(request, person("mentor@example.org"))
    assert request.is_open


def test_resolving_asks_for_confirmation_and_reopening_through_the_page(client, run, members):
    request_id = run(lambda: new_request(members).id)
    run(lambda: ops.respond(session.get(HelpRequest, request_id), person("expert@example.org"), "Try this."))
    sign_in_as(client, run, "mentor@example.org")
    path = f"/networks/test-net/help/{request_id}"
    _response, html = _page(client, path)
    # the buttons lead to a confirmation page; nothing is posted from the request page
    assert f'href="{path}/resolve?status=resolved"' in html and f'href="{path}/resolve?status=closed"' in html
    assert f'action="{path}/resolve"' not in html and "Reopen" not in html
    response, html = _page(client, f"{path}/resolve?status=resolved")
    assert response.status_code == 200
    assert (
        "Mark this request as resolved?" in html
        and "1 member answered: they will be told and thanked." in html
    )
    assert f'action="{path}/resolve"' in html and 'name="status" type="hidden" value="resolved"' in html
    assert run(lambda: session.get(HelpRequest, request_id).status) == HelpStatus.open  # only asked
    response, html = _page(client, f"{path}/resolve?status=closed")
    assert "Close this request without a solution?" in html and "Nobody is told." in html
    assert 'value="closed"' in html
    response = client.post(f"{path}/resolve", data={"csrf_token": csrf_from(html), "status": "closed"})
    assert response.status_code == 303
    assert run(lambda: session.get(HelpRequest, request_id).status) == HelpStatus.closed
    assert client.get(f"{path}/resolve?status=resolved").status_code == 409  # no longer open
    _response, html = _page(client, path)
    assert "Reopen" in html and f'action="{path}/reopen"' in html and "Mark as resolved" not in html
    assert client.post(f"{path}/reopen").status_code == 400  # no CSRF token
    assert run(lambda: session.get(HelpRequest, request_id).status) == HelpStatus.closed
    response = client.post(f"{path}/reopen", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 303
    _response, html = _page(client, path)
    assert "The request is open again." in html and "Mark as resolved" in html and "Try this." in html
    assert run(lambda: session.get(HelpRequest, request_id).status) == HelpStatus.open
    assert client.post(f"{path}/reopen", data={"csrf_token": csrf_from(html)}).status_code == 409
    assert client.get(f"{path}/resolve?status=open").status_code == 422


def test_others_get_no_confirmation_page_and_cannot_reopen(client, run, members):
    request_id = run(lambda: new_request(members).id)
    sign_in_as(client, run, "expert@example.org")
    path = f"/networks/test-net/help/{request_id}"
    _response, html = _page(client, path)
    assert client.get(f"{path}/resolve?status=resolved").status_code == 403
    run(lambda: ops.resolve(session.get(HelpRequest, request_id), person("mentor@example.org")))
    _response, html = _page(client, path)
    assert "Reopen" not in html
    assert client.post(f"{path}/reopen", data={"csrf_token": csrf_from(html)}).status_code == 403
    assert run(lambda: session.get(HelpRequest, request_id).status) == HelpStatus.resolved


def test_the_list_and_the_badge_follow_a_reopening(client, run, members, page_cache_on):
    request_id = run(lambda: new_request(members, email="coord@example.org", topic="In Arabic").id)
    sign_in_as(client, run, "mentor@example.org")  # speaks Arabic
    _response, html = _page(client, "/networks/test-net/help")
    assert "In Arabic" in html and '<span class="badge badge-count">1<' in html
    run(lambda: ops.resolve(session.get(HelpRequest, request_id), person("coord@example.org"), "closed"))
    _response, html = _page(client, "/networks/test-net/help")
    assert "In Arabic" not in html and "badge-count" not in html
    run(lambda: ops.reopen(session.get(HelpRequest, request_id), person("coord@example.org")))
    _response, html = _page(client, "/networks/test-net/help")
    assert "In Arabic" in html and '<span class="badge badge-count">1<' in html
    _response, html = _page(client, f"/networks/test-net/help/{request_id}")
    assert "Close without solution" not in html  # the mentor is not the author: no actions, kept page or not


@pytest.mark.parametrize("role", ROLES)
def test_api_reopen_by_role(client, run, members, role):
    request_id = run(lambda: new_request(members, email="asker@example.org").id)
    detail = f"{API}/networks/test-net/help-requests/{request_id}"
    headers = _bearer(run, role)
    coordinator = _bearer(run, "coordinator")
    assert client.post(f"{detail}/resolve", json={"status": "closed"}, headers=coordinator).status_code == 200
    response = client.post(f"{detail}/reopen", json={}, headers=headers)
    expected = 401 if role == "anonymous" else (200 if role in REOPEN else 403)
    assert response.status_code == expected, response.get_json()
    if expected == 200:
        body = response.get_json()
        assert body["status"] == "open" and body["resolved_at"] is None and body["resolved_by"] is None
        assert client.post(f"{detail}/reopen", json={}, headers=headers).status_code == 409
    else:
        assert response.mimetype == "application/problem+json"
        assert run(lambda: session.get(HelpRequest, request_id).status) == HelpStatus.closed


def test_api_reopen_by_the_author_refuses_unknown_fields(client, run, members):
    request_id = run(lambda: new_request(members).id)
    detail = f"{API}/networks/test-net/help-requests/{request_id}"
    author = _bearer(run, "novice")
    assert client.post(f"{detail}/resolve", json={}, headers=author).status_code == 200
    assert client.post(f"{detail}/reopen", json={"status": "open"}, headers=author).status_code == 422
    response = client.post(f"{detail}/reopen", json={}, headers=author)
    assert response.status_code == 200 and response.get_json()["status"] == "open"
