"""Every route of the application (app.url_map: pages, the JSON API, the bridge, LTI), every method, as every
role, over real HTTP (the demo world's server on 127.0.0.1), checked against the expectation table in
tests/route_access/ (docs/permissions.md).

A route that is not in the table fails the walk with its name: a new route declares who may use it in
tests/route_access/<module>.py. The world is the demo network (tests/security_world.py); writes are rolled back.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from network_service.db import session
from tests import route_access
from tests.security_world import (  # noqa: F401 - demo_world is a fixture
    ROLES,
    SLUG,
    Body,
    demo_world,
    fill,
    openapi_path,
    request_as,
    routes,
    valid_bodies,
)

SIGN_IN_REDIRECT = "sign-in"


@pytest.fixture
def world(demo_world):  # noqa: F811
    return demo_world


def _to_sign_in(response) -> bool:
    return response.status_code in (301, 302, 303) and "/sign-in" in response.headers.get("Location", "")


def judge(rule: route_access.Access, label: str, method: str, response, missing: bool) -> str | None:
    """What is wrong with this answer, or None."""
    status = response.status_code
    if status >= 500:
        return "server error"
    if rule.credential:
        return None  # judged across roles by the caller
    signed_in = _to_sign_in(response)
    if label in rule.who:
        if status in (401, 403) or signed_in:
            return "refused, but the table says this role may"
        if status == 404 and not (rule.own or missing):
            return "404 for a role that may (wrong object, or the table is wrong)"
        return None
    if signed_in or status in (401, 403, 404, 410):
        return None
    return f"not refused ({status}), but the table says this role may not"


def test_every_route_is_declared(world):
    table = route_access.load()
    undeclared = [
        f"{rule.endpoint} {method} {rule.rule}"
        for rule, method in routes(world.app)
        if route_access.lookup(table, rule.endpoint, method) is None
    ]
    assert not undeclared, (
        "These routes are not in the permission table; declare who may use them in "
        "tests/route_access/<module>.py (see tests/route_access/__init__.py):\n  " + "\n  ".join(undeclared)
    )
    declared = {endpoint for endpoint, _method in table}
    existing = {rule.endpoint for rule, _method in routes(world.app)}
    assert declared <= existing, (
        f"the table declares routes the app does not have: {sorted(declared - existing)}"
    )


def bodies_for(world) -> dict:
    """What each write sends: the smallest body the API's description accepts, so that the operation, not the
    input's shape, answers; and, where the description cannot say it (a rule across fields) or for a page's
    form, the fields written here."""
    version = world.run(
        lambda: session.scalar(
            sa.text("SELECT max(version) FROM agreement WHERE network_id = :n"), {"n": world.network_id}
        )
    )
    extra = {
        ("/api/v1/networks/{slug}/reports", "POST"): {
            "person_id": world.ids["experienced"],
            "reason": "spam",
        },
        ("/api/v1/networks/{slug}/blocks", "POST"): {"person_id": world.ids["coordinator"]},
        ("/api/v1/networks/{slug}/insights/nudges", "POST"): {"person_id": world.ids["novice"]},
        ("conversations.channel", "POST"): {"body": "Hello"},
        ("conversations.thread", "POST"): {"body": "Hello"},
        ("help.resolve", "POST"): {"status": "resolved"},
        ("organise.agreement", "POST"): {"accept_agreement": "y", "agreement_version": str(version)},
    }
    bodies = valid_bodies(world.app)
    for key, fields in extra.items():
        bodies[key] = Body({**bodies.get(key, Body()).fields, **fields})
    return bodies


def body_of(bodies: dict, rule, method: str) -> Body | None:
    return bodies.get((openapi_path(rule), method)) or bodies.get((rule.endpoint, method))


def test_every_route_as_every_role(world):
    table = route_access.load()
    csrf = {label: world.csrf(label, over_http=True) for label in ROLES}
    bodies = bodies_for(world)
    failures: list[str] = []
    walked = 0
    for rule, method in routes(world.app):
        access = route_access.lookup(table, rule.endpoint, method)
        if access is None:
            continue  # test_every_route_is_declared names it
        path, missing = fill(world, rule)
        if access.query:
            path = f"{path}?{access.query}"
        answers = {}
        for label in ROLES:
            response = request_as(
                world, label, method, path, csrf, body_of(bodies, rule, method), over_http=True
            )
            answers[label] = response.status_code
            walked += 1
            problem = judge(access, label, method, response, bool(missing))
            if problem:
                failures.append(
                    f"{label:12} {method:6} {path} ({rule.endpoint}) -> {response.status_code}: {problem}"
                )
        if access.credential and (
            len(set(answers.values())) != 1 or any(200 <= status < 300 for status in answers.values())
        ):
            failures.append(f"{method} {path} ({rule.endpoint}): without its credential: {answers}")
    assert walked > 1000
    assert not failures, "\n".join(failures)


CURSOR_PAGES = (
    "/networks/berlin-mentors/members?after={n}",
    "/networks/berlin-mentors/goals?before={n}",
    "/networks/berlin-mentors/resources?before={n}",
    "/networks/berlin-mentors/help?before={n}",
    "/networks/berlin-mentors/help?mine=1&before={n}",
    "/networks/berlin-mentors/channels/general?before={n}",
    "/networks/berlin-mentors/search?q=help&before={n}",
    "/networks/berlin-mentors/meetings?before={n}",
    "/networks/berlin-mentors/meetings?after=0-{n}",
    "/networks/berlin-mentors/meetings?before={n}-1",
    "/notifications?before={n}",
    "/audit?before={n}",
    "/networks/berlin-mentors/moderation?before={n}",
    "/directory?after={n}",
)


@pytest.mark.parametrize("number", [2**31, 2**63, 10**30])
def test_page_cursors_beyond_the_databases_integers_are_no_server_error(world, number):
    """Found on PostgreSQL: a keyset cursor ("the page before id N") larger than an INTEGER column overflowed
    in the driver. Such a page is empty or not found, never a 500."""
    client = world.clients["coordinator"]
    answers = {path: client.get(path.format(n=number)).status_code for path in CURSOR_PAGES}
    assert all(status in (200, 404, 422) for status in answers.values()), answers


# A private group and a direct conversation of the demo network (network_service/conversations/demo.py), with the
# people in them: nobody else reaches them or their messages through any route, in any role, by any method.
PRIVATE = {
    "private": frozenset({"meta_mentor", "experienced"}),
    "direct": frozenset({"meta_mentor", "novice"}),
}
REFUSED = (401, 403, 404, 410)


def _private_conversation(world, kind: str) -> dict[str, str]:
    slug, message_id = world.run(
        lambda: session.execute(
            sa.text(
                "SELECT channel.slug, min(message.id) FROM channel JOIN message ON message.channel_id = channel.id "
                "WHERE channel.network_id = :n AND channel.kind = :kind GROUP BY channel.id, channel.slug "
                "ORDER BY channel.id LIMIT 1"
            ),
            {"n": world.network_id, "kind": kind},
        ).one()
    )
    return {"channel_slug": slug, "message_id": str(message_id)}


@pytest.mark.parametrize("kind", sorted(PRIVATE))
def test_private_groups_and_direct_messages_on_every_route(world, kind):
    given = _private_conversation(world, kind)
    csrf = {label: world.csrf(label, over_http=True) for label in ROLES}
    bodies = bodies_for(world)
    failures: list[str] = []
    walked = 0
    for rule, method in routes(world.app):
        if not {"channel_slug", "message_id"} & set(rule.arguments):
            continue
        path, _missing = fill(world, rule, given)
        for label in ROLES:
            response = request_as(
                world, label, method, path, csrf, body_of(bodies, rule, method), over_http=True
            )
            walked += 1
            status = response.status_code
            where = f"{label:12} {method:6} {path} ({rule.endpoint}) -> {status}"
            if status >= 500:
                failures.append(f"{where}: server error")
            elif label not in PRIVATE[kind] and not (_to_sign_in(response) or status in REFUSED):
                failures.append(f"{where}: reached by someone not in the conversation")
    assert walked > 200
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("kind", sorted(PRIVATE))
def test_search_finds_a_private_conversation_only_for_those_in_it(world, kind):
    # the page shows the words searched for; the message's other words only when it is found
    words, other_words = {
        "private": ("Arabic versions", "most-used forms"),
        "direct": ("first mentoring meeting", "before next week"),
    }[kind]
    found = {}
    for label in ("novice", "experienced", "office", "meta_mentor", "coordinator", "site_admin"):
        page = world.http[label].get(f"/networks/{SLUG}/conversations/search", query_string={"q": words})
        api = world.http["anonymous"].get(
            f"/api/v1/networks/{SLUG}/conversations/search",
            query_string={"q": words},
            headers=world.headers(label),
        )
        in_page = other_words in page.get_data(as_text=True)
        in_api = other_words in api.get_data(as_text=True)
        assert in_page == in_api, (label, page.status_code, api.status_code)
        found[label] = in_page
    assert {label for label, seen in found.items() if seen} == PRIVATE[kind]
