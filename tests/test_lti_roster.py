"""Names and Role Provisioning: a coordinator sees a linked course's roster from the LMS against the network."""

from __future__ import annotations

import json

import jwt
import pytest
import sqlalchemy as sa
from werkzeug.wrappers import Request, Response

from lti_bridge.lti.contexts import refresh_due_rosters, refresh_roster
from lti_bridge.lti.launch import CLAIM
from lti_bridge.lti.models import LtiContext, LtiRosterEntry
from network_service.accounts.operations import get_or_create_person
from network_service.courses.operations import provision_graduate
from network_service.db import session
from network_service.networks.models import Network
from network_service.networks.operations import invite_person
from tests.helpers import COURSE, csrf_from, sign_in_as
from tests.lti_platform import TestPlatform

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCOPES = {
    NRPS_SCOPE,
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
}


class RosterPlatform(TestPlatform):
    """The stand-in platform plus an OAuth2 token endpoint (checking our client assertion against our JWKS)
    and a memberships endpoint of two pages."""

    def __init__(self):
        super().__init__()
        self.tool_jwks: dict | None = None
        self.token_requests: list[dict] = []
        self.roster_requests = 0
        self.members = [
            {"user_id": "u-grad", "name": "Gina Graduate", "email": "gina@example.org", "roles": [LEARNER]},
            {"user_id": "u-inv", "name": "Ivo Invited", "email": "ivo@example.org", "roles": [LEARNER]},
            {"user_id": "u-none", "name": "Nora Notyet", "email": "nora@example.org", "roles": [LEARNER]},
            {"user_id": "u-teach", "name": "Tina Teacher", "roles": [INSTRUCTOR]},
        ]
        self.fail_roster = False
        self.lineitems: list[dict] = []
        self.scores: list[dict] = []
        self.refuse_scores = False

    @property
    def lineitems_url(self) -> str:
        return f"{self.base_url}/courses/7/lineitems"

    @property
    def memberships_url(self) -> str:
        return f"{self.base_url}/courses/7/memberships"

    @Request.application
    def _wsgi(self, request: Request) -> Response:
        if request.path == "/token" and request.method == "POST":
            form = request.form.to_dict()
            self.token_requests.append(form)
            assertion = form.get("client_assertion", "")
            header = jwt.get_unverified_header(assertion)
            key = next(k for k in self.tool_jwks["keys"] if k["kid"] == header["kid"])
            try:
                claims = jwt.decode(
                    assertion, jwt.PyJWK(key).key, algorithms=["RS256"], audience=self.token_url
                )
            except jwt.PyJWTError as exc:
                return Response(json.dumps({"error": str(exc)}), status=401, mimetype="application/json")
            assert claims["iss"] == claims["sub"] == self.client_id and claims["jti"]
            assert form["grant_type"] == "client_credentials" and form["scope"] in SCOPES
            body = {
                "access_token": "tok-1",
                "token_type": "bearer",
                "expires_in": 3600,
                "scope": form["scope"],
            }
            return Response(json.dumps(body), mimetype="application/json")
        if request.path == "/courses/7/memberships":
            self.roster_requests += 1
            if request.headers.get("Authorization") != "Bearer tok-1":
                return Response("unauthorised", status=401)
            if self.fail_roster:
                return Response("down", status=503)
            assert request.headers["Accept"] == "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
            page = int(request.args.get("page", "1"))
            members = self.members[:2] if page == 1 else self.members[2:]
            headers = {"Link": f'<{self.memberships_url}?page=2>; rel="next"'} if page == 1 else {}
            body = {"id": self.memberships_url, "context": {"id": "7"}, "members": members}
            return Response(
                json.dumps(body),
                mimetype="application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
                headers=headers,
            )
        if request.path.startswith("/courses/7/lineitems"):
            if request.headers.get("Authorization") != "Bearer tok-1":
                return Response("unauthorised", status=401)
            if request.path == "/courses/7/lineitems" and request.method == "GET":
                wanted = request.args.get("resource_id")
                found = [i for i in self.lineitems if not wanted or i["resourceId"] == wanted]
                return Response(
                    json.dumps(found), mimetype="application/vnd.ims.lis.v2.lineitemcontainer+json"
                )
            if request.path == "/courses/7/lineitems" and request.method == "POST":
                assert request.mimetype == "application/vnd.ims.lis.v2.lineitem+json"
                item = dict(json.loads(request.data), id=f"{self.lineitems_url}/{len(self.lineitems) + 1}")
                self.lineitems.append(item)
                return Response(
                    json.dumps(item), status=201, mimetype="application/vnd.ims.lis.v2.lineitem+json"
                )
            if request.path.endswith("/scores") and request.method == "POST":
                if self.refuse_scores:
                    return Response("no", status=403)
                assert request.mimetype == "application/vnd.ims.lis.v1.score+json"
                self.scores.append(dict(json.loads(request.data), lineitem=request.path.rsplit("/", 1)[0]))
                return Response("", status=204)
        if request.path == "/jwks":
            return Response(json.dumps(self.jwks()), mimetype="application/json")
        return Response("not found", status=404)


@pytest.fixture
def lms(app, client, run):
    from lti_bridge.lti.platform_keys import PlatformKeyCache

    platform = RosterPlatform()
    app.extensions["mentornet.lti.platform_keys"] = PlatformKeyCache(min_refetch_seconds=0)
    app.extensions.pop("mentornet.lti.tokens", None)
    run(lambda: platform.register(trust_email=True))
    platform.tool_jwks = client.get("/lti/jwks").get_json()
    yield platform
    platform.stop()
    app.extensions.pop("mentornet.lti.platform_keys", None)
    app.extensions.pop("mentornet.lti.tokens", None)


def _instructor_launch(client, lms):
    query = lms.begin_login(client)
    token = lms.id_token(
        query["nonce"],
        sub="u-teach",
        email="coord@example.org",
        **{
            CLAIM + "context": {"id": COURSE, "title": "Mentoring migrants"},
            CLAIM + "roles": [INSTRUCTOR],
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": lms.memberships_url,
                "service_versions": ["2.0"],
            },
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": sorted(SCOPES - {NRPS_SCOPE}),
                "lineitems": lms.lineitems_url,
            },
        },
    )
    response = client.post("/lti/launch", data={"id_token": token, "state": query["state"]})
    assert response.status_code == 303, response.get_data(as_text=True)


def _network_state(run):
    def setup():
        network = session.scalar(sa.select(Network).where(Network.slug == "test-net"))
        provision_graduate(COURSE, {"email": "gina@example.org", "name": "Gina"}, "evt-gina", "test")
        coordinator, _created = get_or_create_person("coord@example.org")
        invite_person(network, "ivo@example.org", actor=coordinator)

    run(setup)


def test_coordinator_sees_the_roster_against_the_network(client, run, world, lms):
    _network_state(run)
    _instructor_launch(client, lms)
    [context] = run(lambda: list(session.scalars(sa.select(LtiContext))))
    assert (context.course_key, context.memberships_url) == (COURSE, lms.memberships_url)

    page = client.get("/networks/test-net/roster")
    assert page.status_code == 200
    refreshed = client.post(
        f"/networks/test-net/roster/{context.id}/refresh",
        data={"csrf_token": csrf_from(page.get_data(as_text=True))},
    )
    assert refreshed.status_code == 303
    html = client.get("/networks/test-net/roster").get_data(as_text=True)
    assert "The roster now lists 4 people." in html
    assert (
        "3 learners: 1 passed, 2 invited, 0 joined." in html
    )  # Gina passed and was invited; Ivo invited by hand
    assert "Nora Notyet" in html and "Tina Teacher" in html
    assert lms.roster_requests == 2  # two pages, one token
    assert len(lms.token_requests) == 1


def test_the_token_is_reused_and_the_nightly_job_refreshes_only_stale_rosters(client, run, world, lms):
    _instructor_launch(client, lms)
    assert run(refresh_due_rosters) == 1
    assert run(refresh_due_rosters) == 0  # fresh now
    assert run(lambda: session.scalar(sa.select(sa.func.count(LtiRosterEntry.id)))) == 4
    assert len(lms.token_requests) == 1


def test_a_failing_roster_service_keeps_the_old_roster_and_says_why(client, run, world, lms):
    _instructor_launch(client, lms)
    run(refresh_due_rosters)
    lms.fail_roster = True
    run(lambda: refresh_roster(session.scalars(sa.select(LtiContext)).one()))
    context = run(lambda: session.scalars(sa.select(LtiContext)).one())
    assert "HTTP 503" in context.roster_error
    assert run(lambda: session.scalar(sa.select(sa.func.count(LtiRosterEntry.id)))) == 4


def test_only_coordinators_see_or_refresh_rosters(client, run, world, lms):
    _instructor_launch(client, lms)
    context_id = run(lambda: session.scalars(sa.select(LtiContext.id)).one())
    with client.session_transaction() as browser_session:
        browser_session.clear()
    sign_in_as(client, run, "meta@example.org")
    assert client.get("/networks/test-net/roster").status_code == 403
    page = client.get("/networks/test-net").get_data(as_text=True)
    assert "/roster" not in page  # the section is not offered
    refused = client.post(
        f"/networks/test-net/roster/{context_id}/refresh", data={"csrf_token": csrf_from(page)}
    )
    assert refused.status_code == 403
    assert lms.roster_requests == 0


def _learner_joins(client, run, lms, sub, email):
    """The learner launches (their LMS account links to them) and is an active member of the network."""
    from network_service.networks.models import Membership, MembershipStatus
    from tests.helpers import add_member

    with client.session_transaction() as browser_session:
        browser_session.clear()
    query = lms.begin_login(client)
    token = lms.id_token(query["nonce"], sub=sub, email=email, **{CLAIM + "context": {"id": COURSE}})
    client.post("/lti/launch", data={"id_token": token, "state": query["state"]})

    def join():
        network = session.scalar(sa.select(Network).where(Network.slug == "test-net"))
        membership = session.scalar(
            sa.select(Membership).join(Membership.person).where(sa.literal_column("person.email") == email)
        )
        if membership is None:
            add_member(network, email, email.split("@")[0])
        else:
            membership.status = MembershipStatus.active

    run(join)


def test_joining_is_reported_to_the_gradebook_once_when_the_coordinator_asks(client, run, world, lms):
    from lti_bridge.lti.contexts import report_all_joined

    _instructor_launch(client, lms)
    context_id = run(lambda: session.scalars(sa.select(LtiContext.id)).one())
    run(refresh_due_rosters)
    _learner_joins(client, run, lms, "u-grad", "gina@example.org")
    assert run(report_all_joined) == 0 and lms.scores == []  # nothing until a coordinator switches it on

    with client.session_transaction() as browser_session:
        browser_session.clear()
    sign_in_as(client, run, "coord@example.org")
    page = client.get("/networks/test-net/roster").get_data(as_text=True)
    assert "Report “Joined the mentor network” to the course gradebook" in page
    response = client.post(
        f"/networks/test-net/roster/{context_id}/grades",
        data={"csrf_token": csrf_from(page), "report_joined": "on"},
    )
    assert response.status_code == 303
    assert "(1 learners so far)" in client.get("/networks/test-net/roster").get_data(as_text=True)
    [item] = lms.lineitems
    assert (item["resourceId"], item["scoreMaximum"], item["label"]) == (
        "mentornet-joined",
        1,
        "Joined the mentor network",
    )
    [score] = lms.scores
    assert score["userId"] == "u-grad" and score["scoreGiven"] == 1 and score["scoreMaximum"] == 1
    assert (score["activityProgress"], score["gradingProgress"]) == ("Completed", "FullyGraded")

    # Reported once: the periodic job posts only newcomers, and reuses the line item.
    assert run(report_all_joined) == 0
    _learner_joins(client, run, lms, "u-none", "nora@example.org")
    assert run(report_all_joined) == 1
    assert [s["userId"] for s in lms.scores] == ["u-grad", "u-none"] and len(lms.lineitems) == 1


def test_a_refused_score_is_shown_and_retried_later(client, run, world, lms):
    from lti_bridge.lti.contexts import report_all_joined

    _instructor_launch(client, lms)
    run(refresh_due_rosters)
    run(lambda: session.execute(sa.update(LtiContext).values(report_joined=True)))
    _learner_joins(client, run, lms, "u-grad", "gina@example.org")
    lms.refuse_scores = True
    assert run(report_all_joined) == 0
    assert "HTTP 403" in run(lambda: session.scalars(sa.select(LtiContext.grades_error)).one())
    lms.refuse_scores = False
    assert run(report_all_joined) == 1
    assert run(lambda: session.scalars(sa.select(LtiContext.grades_error)).one()) == ""


def test_only_coordinators_switch_gradebook_reports(client, run, world, lms):
    _instructor_launch(client, lms)
    context_id = run(lambda: session.scalars(sa.select(LtiContext.id)).one())
    with client.session_transaction() as browser_session:
        browser_session.clear()
    sign_in_as(client, run, "mentor@example.org")
    page = client.get("/networks/test-net").get_data(as_text=True)
    response = client.post(
        f"/networks/test-net/roster/{context_id}/grades",
        data={"csrf_token": csrf_from(page), "report_joined": "on"},
    )
    assert response.status_code == 403
    assert run(lambda: session.scalars(sa.select(LtiContext.report_joined)).one()) is False
