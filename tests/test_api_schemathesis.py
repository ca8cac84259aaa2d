"""schemathesis against the OpenAPI description (/api/v1/openapi.json), over real HTTP to the demo world's server:
every operation gets generated requests (at least 1,000 in all) as a coordinator of the demo network, with their bearer
token. No answer may be a server error, and every answer must conform to the description (status code, content
type, body schema). Each request runs in a rolled-back SAVEPOINT (tests/security_world.py)."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security_world import demo_world  # noqa: F401 - fixture

EXAMPLES_PER_OPERATION = 16
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_the_api_survives_generated_requests_and_matches_its_description(demo_world):  # noqa: F811
    schema = schemathesis.openapi.from_url(f"{demo_world.base_url}/api/v1/openapi.json")
    headers = demo_world.headers("coordinator")
    sent = 0
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 60

    for operation in operations:

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,  # the same requests every run: a failure can be reproduced
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            nonlocal sent
            with demo_world.rolled_back():
                response = case.call(headers=headers)
            sent += 1
            case.validate_response(response, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collected, reported together below
            failures[operation.label] = str(exc)[:1500]
    print(f"schemathesis: {sent} requests to {len(operations)} operations")
    assert sent >= 1000, f"only {sent} requests were generated"
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


@pytest.mark.parametrize("path", ["/api/v1/openapi.json"])
def test_the_description_is_served_to_anyone(demo_world, path):  # noqa: F811
    response = demo_world.clients["anonymous"].get(path)
    assert response.status_code == 200 and response.json["openapi"].startswith("3.")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/networks/berlin-mentors/insights/nudges", {"person_id": 10**20}),
        ("POST", "/api/v1/networks/berlin-mentors/blocks", {"person_id": 2**31}),
        ("POST", "/api/v1/networks/berlin-mentors/reports", {"message_id": 10**20, "reason": "x"}),
        ("GET", f"/api/v1/messages/{10**20}", None),
        ("POST", f"/api/v1/notifications/{2**40}/read", None),
        ("GET", f"/api/v1/networks/berlin-mentors/goals/{2**31}", None),
        ("GET", f"/api/v1/audit?before={2**35}", None),  # keyset cursors are ids too (found on PostgreSQL)
        ("GET", f"/api/v1/networks/berlin-mentors/resources?before={2**31}", None),
        ("GET", f"/api/v1/networks/berlin-mentors/goals?before={2**31}", None),
        ("GET", f"/api/v1/directory?after={2**31}", None),
    ],
)
def test_numbers_too_large_for_the_database_are_refused_not_a_server_error(demo_world, method, path, body):  # noqa: F811
    """Found by schemathesis: an id beyond the database's integer overflowed in the driver (500)."""
    response = demo_world.clients["anonymous"].open(
        path, method=method, json=body, headers=demo_world.headers("coordinator")
    )
    assert response.status_code in (404, 422), response.json


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/audit?network=%00", None),  # the request schemathesis sent
        ("GET", "/api/v1/directory?q=help&country=D%00E", None),
        ("POST", "/api/v1/networks/berlin-mentors/help-requests", {"topic": "Visa\x00", "languages": ["de"]}),
        ("PATCH", "/api/v1/me", {"bio": {"nested": ["fine", "not\x00fine"]}}),
        ("GET", "/networks/berlin%00mentors", None),
        ("GET", "/directory?q=%00", None),
    ],
)
def test_a_nul_character_is_refused_at_the_door(demo_world, method, path, body):  # noqa: F811
    """Found by schemathesis over HTTP on PostgreSQL: `GET /api/v1/audit?network=%00` was a 500 (PostgreSQL keeps no
    NUL character in text or JSON, and said so deep inside the query). Any input holding one is a 400 now."""
    response = demo_world.http["coordinator"].open(
        path, method, json=body, headers=demo_world.headers("coordinator")
    )
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    text = response.get_data(as_text=True)
    assert "NUL character" in text
    if path.startswith("/api/"):
        assert response.headers["Content-Type"].startswith("application/problem+json")


def test_a_nul_character_in_a_form_is_refused(demo_world):  # noqa: F811
    client = demo_world.http["anonymous"]
    token = demo_world.csrf("anonymous", over_http=True)
    response = client.post("/sign-in", data={"email": "someone\x00@example.org", "csrf_token": token})
    assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)
