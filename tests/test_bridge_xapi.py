"""POST/PUT /bridge/xapi/statements: the xAPI 1.0.3 statements resource, for what provisioning needs."""

from __future__ import annotations

import base64
import uuid

import pytest
import sqlalchemy as sa

from lti_bridge.models import SourceKind
from lti_bridge.sources import create_source
from network_service.courses.models import CompletionEvent, CompletionStatus
from network_service.db import session
from tests import bridge_payloads as payloads
from tests.helpers import COURSE, act_on_received, mails

VERSION = {"X-Experience-API-Version": "1.0.3"}


@pytest.fixture
def lrs(run, world):
    """Headers of an xAPI source: HTTP Basic with its generated credentials."""
    source, secret = run(lambda: create_source("moodle-lrs", SourceKind.xapi))
    token = base64.b64encode(f"{source.username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}", **VERSION}


def events(run):
    """The stored events once the background drain has acted on them."""
    act_on_received(run)
    return run(lambda: session.scalars(sa.select(CompletionEvent).order_by(CompletionEvent.id)).all())


def test_passed_statement_invites_and_returns_its_id(client, run, lrs):
    statement = payloads.xapi_passed()
    response = client.post("/bridge/xapi/statements", json=statement, headers=lrs)
    assert response.status_code == 200
    assert response.get_json() == [statement["id"]]
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    [event] = events(run)
    assert (event.event_id, event.course_key, event.source) == (statement["id"], COURSE, "xapi:moodle-lrs")
    assert event.status == CompletionStatus.invited and event.grade == pytest.approx(0.9)
    assert len(run(lambda: mails(to="grace@example.org"))) == 1


def test_array_of_statements_and_repeated_ids_are_one_event_each(client, run, lrs):
    first, other = payloads.xapi_passed(), payloads.xapi_passed(verb="experienced")
    response = client.post("/bridge/xapi/statements", json=[first, other, first], headers=lrs)
    assert response.get_json() == [first["id"], other["id"], first["id"]]
    assert [e.event_id for e in events(run)] == [first["id"]]  # other verbs are accepted, not kept


def test_completed_verb_counts_unless_the_result_says_failure(client, run, lrs):
    client.post(
        "/bridge/xapi/statements", json=payloads.xapi_passed(verb="completed", success=False), headers=lrs
    )
    client.post("/bridge/xapi/statements", json=payloads.xapi_passed(verb="completed"), headers=lrs)
    assert [e.status for e in events(run)] == [CompletionStatus.not_passing, CompletionStatus.invited]


def test_statement_about_another_activity_type_is_ignored(client, run, lrs):
    statement = payloads.xapi_passed()
    statement["object"]["definition"]["type"] = "http://adlnet.gov/expapi/activities/assessment"
    assert client.post("/bridge/xapi/statements", json=statement, headers=lrs).status_code == 200
    assert events(run) == []


def test_anonymous_account_is_kept_for_later_matching(client, run, lrs):
    statement = payloads.xapi_passed(actor=payloads.ANONYMOUS_ACTOR)
    client.post("/bridge/xapi/statements", json=statement, headers=lrs)
    [event] = events(run)
    assert event.status == CompletionStatus.unknown_identity
    assert event.identity["account"] == {"homePage": payloads.OPENEDX_ROOT, "name": "2f4e0d33-anon"}
    assert run(lambda: mails()) == []


def test_moodle_course_activity_ids_are_course_keys_as_they_are(client, run, lrs):
    statement = payloads.xapi_passed()
    statement["object"]["id"] = "https://moodle.example.org/course/view.php?id=7"
    client.post("/bridge/xapi/statements", json=statement, headers=lrs)
    assert events(run)[0].course_key == "https://moodle.example.org/course/view.php?id=7"


def test_put_stores_under_the_given_statement_id(client, run, lrs):
    statement_id = str(uuid.uuid4())
    statement = payloads.xapi_passed()
    del statement["id"]
    response = client.put(f"/bridge/xapi/statements?statementId={statement_id}", json=statement, headers=lrs)
    assert response.status_code == 204
    assert events(run)[0].event_id == statement_id
    mismatch = client.put(
        f"/bridge/xapi/statements?statementId={uuid.uuid4()}", json=payloads.xapi_passed(), headers=lrs
    )
    assert mismatch.status_code == 400


def test_statement_without_id_gets_one(client, run, lrs):
    statement = payloads.xapi_passed()
    del statement["id"]
    [assigned] = client.post("/bridge/xapi/statements", json=statement, headers=lrs).get_json()
    assert uuid.UUID(assigned) and events(run)[0].event_id == assigned


def test_wrong_credentials_are_401_with_a_basic_challenge(client, run, lrs):
    wrong = {**lrs, "Authorization": "Basic " + base64.b64encode(b"xapi-nobody:nothing").decode()}
    for headers in (wrong, VERSION):
        response = client.post("/bridge/xapi/statements", json=payloads.xapi_passed(), headers=headers)
        assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Basic")
    assert events(run) == []


def test_version_header_is_required(client, run, lrs):
    headers = {key: value for key, value in lrs.items() if key != "X-Experience-API-Version"}
    response = client.post("/bridge/xapi/statements", json=payloads.xapi_passed(), headers=headers)
    assert response.status_code == 400 and "X-Experience-API-Version" in response.get_json()["detail"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s: s.update(id="not-a-uuid"), "/id"),
        (lambda s: s.update(actor={"name": "nobody"}), "/actor"),
        (lambda s: s.update(actor={"mbox": "grace@example.org"}), "/actor/mbox"),
        (lambda s: s.update(verb={"id": "passed"}), "/verb/id"),
        (lambda s: s.update(object={"objectType": "Activity"}), "/object/id"),
        (lambda s: s.update(result={"success": "yes"}), "/result/success"),
    ],
    ids=["id", "actor", "mbox", "verb", "object", "result"],
)
def test_statement_breaking_the_schema_is_400_and_nothing_is_kept(client, run, lrs, mutate, field):
    good, bad = payloads.xapi_passed(), payloads.xapi_passed()
    mutate(bad)
    response = client.post("/bridge/xapi/statements", json=[good, bad], headers=lrs)
    assert response.status_code == 400
    assert f"/1{field}" in response.get_json()["errors"]
    assert events(run) == []  # one bad statement rejects the whole batch
