"""Every route of the application (app.url_map: pages, the JSON API, the bridge, LTI), every method, as every
role, checked against the expectation table in tests/route_access/ (docs/permissions.md).

A route that is not in the table fails the walk with its name: a new route declares who may use it in
tests/route_access/<module>.py. The world is the demo network (tests/security_world.py); writes are rolled back.
"""

from __future__ import annotations

import pytest

from tests import route_access
from tests.security_world import ROLES, WRITE_METHODS, demo_world, fill, request_as, routes  # noqa: F401

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
    if method in WRITE_METHODS and 400 <= status < 500 and status != 429:
        return None  # the empty input was refused before the person was (nothing was written)
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


def test_every_route_as_every_role(world):
    table = route_access.load()
    csrf = {label: world.csrf(label) for label in ROLES}
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
            response = request_as(world, label, method, path, csrf)
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
