"""Completion-gated launch: a resource link with ``mentornet_completion=passed`` provisions the learner through
the same operation as the other completion sources, once, however often it is launched."""

from __future__ import annotations

import sqlalchemy as sa

from lti_bridge.lti.launch import CLAIM
from network_service.courses.models import CompletionEvent, CompletionStatus
from network_service.db import session
from network_service.networks.models import Membership, MembershipStatus, Origin
from tests.helpers import COURSE, csrf_from, link_in, mails, path_of

pytest_plugins = ("tests.lti_platform",)

GATE = {CLAIM + "custom": {"mentornet_completion": "passed"}}
OPENEDX_CONTEXT = {CLAIM + "context": {"id": COURSE, "label": "MENTOR", "title": "Mentoring migrants"}}


def _launch(client, platform, **claims):
    query = platform.begin_login(client)
    token = platform.id_token(query["nonce"], **claims)
    return client.post("/lti/launch", data={"id_token": token, "state": query["state"]})


def _events(run):
    return run(lambda: list(session.scalars(sa.select(CompletionEvent).order_by(CompletionEvent.id))))


def _graduate_membership(run, email):
    return run(
        lambda: session.scalar(
            sa.select(Membership).join(Membership.person).where(sa.text("person.email = :e")).params(e=email)
        )
    )


def test_gated_launch_of_a_trusted_platform_invites_the_graduate_once(client, platform, run, world):
    run(lambda: platform.register(trust_email=True))
    response = _launch(
        client, platform, email="grad@example.org", name="Gina Graduate", **GATE, **OPENEDX_CONTEXT
    )
    assert response.status_code == 303 and response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Congratulations on passing the course" in home and "Test Network" in home

    [event] = _events(run)
    assert (event.source, event.course_key, event.status) == ("lti_launch", COURSE, CompletionStatus.invited)
    membership = _graduate_membership(run, "grad@example.org")
    assert membership.status == MembershipStatus.invited and membership.origin == Origin.graduate
    assert len(run(lambda: mails(to="grad@example.org", kind="invitation"))) == 1

    # Launching the gate again (the learner comes back to the course) is the same event: nothing new.
    with client.session_transaction() as browser_session:
        browser_session.clear()
    assert _launch(client, platform, email="grad@example.org", **GATE, **OPENEDX_CONTEXT).status_code == 303
    assert len(_events(run)) == 1
    assert len(run(lambda: mails(to="grad@example.org", kind="invitation"))) == 1


def test_a_link_without_the_gate_provisions_nothing(client, platform, run, world):
    run(lambda: platform.register(trust_email=True))
    assert _launch(client, platform, email="learner@example.org", **OPENEDX_CONTEXT).status_code == 303
    assert _events(run) == []
    assert _graduate_membership(run, "learner@example.org") is None


def test_custom_course_parameter_names_the_linked_course(client, platform, run, world):
    run(lambda: platform.register(trust_email=True))
    claims = {
        CLAIM + "custom": {"mentornet_completion": "passed", "mentornet_course": COURSE},
        CLAIM + "context": {"id": "42", "title": "Moodle course"},
    }
    _launch(client, platform, email="moodle-grad@example.org", **claims)
    [event] = _events(run)
    assert event.course_key == COURSE and event.status == CompletionStatus.invited


def test_another_platforms_context_id_is_qualified_by_its_issuer(client, platform, run, world):
    run(lambda: platform.register(trust_email=True))
    _launch(client, platform, email="x@example.org", **GATE, **{CLAIM + "context": {"id": "42"}})
    [event] = _events(run)
    assert event.course_key == f"{platform.issuer}#42"
    assert event.status == CompletionStatus.unknown_course  # kept, and invited once the course is linked


def test_untrusted_platform_keeps_the_pass_until_the_learner_confirms_the_address(
    client, registered, run, world
):
    response = _launch(client, registered, **GATE, **OPENEDX_CONTEXT)
    assert response.headers["Location"] == "/lti/confirm-email"
    [event] = _events(run)
    assert event.status == CompletionStatus.unknown_identity
    assert "email" not in event.identity and event.identity["lti_sub"] == "lms-user-1"

    page = client.get("/lti/confirm-email").get_data(as_text=True)
    client.post("/lti/confirm-email", data={"email": "lea@example.org", "csrf_token": csrf_from(page)})
    mail = run(lambda: mails(to="lea@example.org", kind="sign_in")[-1])
    link = path_of(link_in(mail.body_text, "/sign-in/"))
    confirm = client.get(link).get_data(as_text=True)
    signed_in = client.post(link, data={"csrf_token": csrf_from(confirm)})
    linked = client.get(signed_in.headers["Location"])
    assert linked.status_code == 302
    assert "Congratulations on passing the course" in client.get("/").get_data(as_text=True)

    [event] = _events(run)
    assert event.status == CompletionStatus.invited and event.identity["email"] == "lea@example.org"
    assert len(run(lambda: mails(to="lea@example.org", kind="invitation"))) == 1


def test_an_unsubstituted_course_variable_falls_back_to_the_context(client, platform, run, world):
    run(lambda: platform.register(trust_email=True))
    claims = {CLAIM + "custom": {"mentornet_completion": "passed", "mentornet_course": "$Context.id"}}
    _launch(client, platform, email="v@example.org", **claims, **OPENEDX_CONTEXT)
    [event] = _events(run)
    assert event.course_key == COURSE
