"""LMS roles: instructors and administrators of a course linked to a network act as its coordinators; teaching
assistants, learners and the instructors of other courses do not. Over HTTP, launch by launch."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from lti_bridge.lti.launch import CLAIM
from lti_bridge.lti.models import LtiCoordinatorGrant
from lti_bridge.lti.roles import GRANT_DAYS
from network_service.accounts.models import Person
from network_service.courses.models import CourseLink
from network_service.courses.operations import link_course
from network_service.db import session, utcnow
from network_service.networks import permissions
from network_service.networks.models import Membership, MembershipStatus, Network, Role
from network_service.networks.operations import create_network, create_organisation
from tests.helpers import COURSE, csrf_from, token_form_once

pytest_plugins = ("tests.lti_platform",)

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
INSTRUCTOR = LIS + "membership#Instructor"
TEACHING_ASSISTANT = LIS + "membership/Instructor#TeachingAssistant"
LEARNER = LIS + "membership#Learner"
CONTEXT_ADMIN = LIS + "membership#Administrator"
INSTITUTION_ADMIN = LIS + "institution/person#Administrator"
OTHER_COURSE = "course-v1:OtherOrg+ELSE+2026"
TEACHER = "teacher@example.org"


@pytest.fixture
def lms(app, platform, run, world):
    run(lambda: platform.register(trust_email=True))  # the platform's e-mails sign in directly
    return platform


def launch(app, lms, roles, *, course=COURSE, email=TEACHER, sub="lms-teacher"):
    """One browser launching from the course with these roles; the browser, signed in."""
    browser = app.test_client()
    query = lms.begin_login(browser)
    token = lms.id_token(
        query["nonce"],
        sub=sub,
        email=email,
        **{CLAIM + "context": {"id": course, "title": "A course"}, CLAIM + "roles": roles},
    )
    response = browser.post("/lti/launch", data={"id_token": token, "state": query["state"]})
    assert response.status_code == 303, response.get_data(as_text=True)
    return browser


def acts_as_coordinator(browser, slug="test-net") -> bool:
    roster = browser.get(f"/networks/{slug}/roster").status_code  # the coordinators' course rosters
    invite = browser.get(f"/networks/{slug}/invite").status_code
    assert roster in (200, 403) and invite in (200, 403) and (roster == 200) == (invite == 200)
    return roster == 200


def _grants(run):
    return run(lambda: list(session.scalars(sa.select(LtiCoordinatorGrant))))


@pytest.mark.parametrize("roles", [[INSTRUCTOR], [CONTEXT_ADMIN], [LEARNER, INSTITUTION_ADMIN]])
def test_instructors_and_administrators_of_the_linked_course_act_as_its_coordinators(app, lms, run, roles):
    browser = launch(app, lms, roles)
    assert acts_as_coordinator(browser)
    [grant] = _grants(run)
    assert grant.expires_at - grant.granted_at == dt.timedelta(days=GRANT_DAYS)

    def check():
        teacher = session.scalar(sa.select(Person).where(Person.email == TEACHER))
        network = session.scalar(sa.select(Network).where(Network.slug == "test-net"))
        # Acting as a coordinator is not being a member: no membership, not counted as one.
        assert not permissions.is_member(teacher, network)
        assert permissions.has_role(teacher, network, {Role.coordinator})
        assert not permissions.has_role(teacher, network, {Role.mentor, Role.meta_mentor})
        assert session.scalar(sa.select(Membership).where(Membership.person_id == teacher.id)) is None

    run(check)


@pytest.mark.parametrize("roles", [[TEACHING_ASSISTANT], [INSTRUCTOR, TEACHING_ASSISTANT]])
def test_a_teaching_assistant_does_not(app, lms, run, roles):
    assert not acts_as_coordinator(launch(app, lms, roles))
    assert _grants(run) == []


def test_a_learner_does_not_and_sees_only_their_own_pages(app, lms, run):
    browser = launch(app, lms, [LEARNER], email="learner@example.org", sub="lms-learner")
    assert not acts_as_coordinator(browser)
    assert browser.get("/networks/test-net/members").status_code in (403, 404)
    assert _grants(run) == []


def test_an_instructor_of_another_course_coordinates_only_that_courses_network(app, lms, run):
    def other_network():
        organisation = create_organisation("Other Org", "DE")
        network = create_network("other-net", "Other Network", organisation)
        link_course(OTHER_COURSE, network, actor=None)

    run(other_network)
    browser = launch(app, lms, [INSTRUCTOR], course=OTHER_COURSE)
    assert not acts_as_coordinator(browser, "test-net")
    assert acts_as_coordinator(browser, "other-net")
    # An instructor of a course linked to no network gets nothing.
    unlinked = launch(app, lms, [INSTRUCTOR], course="course-v1:Nobody+X+1", email="t2@example.org", sub="t2")
    assert not acts_as_coordinator(unlinked, "test-net") and not acts_as_coordinator(unlinked, "other-net")


def test_a_launch_without_the_role_removes_the_grant(app, lms, run):
    browser = launch(app, lms, [INSTRUCTOR])
    assert acts_as_coordinator(browser)
    launch(app, lms, [LEARNER])  # the same person, now only a learner of the course
    assert _grants(run) == []
    assert not acts_as_coordinator(browser)


def test_the_grant_expires_and_a_new_launch_renews_it(app, lms, run):
    browser = launch(app, lms, [INSTRUCTOR])
    run(
        lambda: session.execute(
            sa.update(LtiCoordinatorGrant).values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    )
    assert not acts_as_coordinator(browser)
    browser = launch(app, lms, [INSTRUCTOR])
    assert acts_as_coordinator(browser)
    assert len(_grants(run)) == 1


def test_unlinking_the_course_or_suspending_the_person_ends_it_at_once(app, lms, run):
    browser = launch(app, lms, [INSTRUCTOR])

    def suspend():
        teacher = session.scalar(sa.select(Person).where(Person.email == TEACHER))
        network = session.scalar(sa.select(Network).where(Network.slug == "test-net"))
        session.add(
            Membership(network=network, person=teacher, role=Role.mentor, status=MembershipStatus.suspended)
        )

    run(suspend)
    assert not acts_as_coordinator(browser)
    run(lambda: session.execute(sa.delete(Membership).where(Membership.status == MembershipStatus.suspended)))
    assert acts_as_coordinator(browser)
    run(lambda: session.execute(sa.delete(CourseLink).where(CourseLink.course_key == COURSE)))
    assert not acts_as_coordinator(browser)


def test_a_member_of_the_network_acts_through_their_membership_only(app, lms, run):
    # mentor@example.org is a mentor of test-net (tests.helpers.build_world) and teaches the course.
    browser = launch(app, lms, [INSTRUCTOR], email="mentor@example.org", sub="lms-mentor")
    assert len(_grants(run)) == 1  # recorded, for the day the membership ends
    assert not acts_as_coordinator(browser)


def test_grants_and_removals_are_in_the_audit_log(app, lms, run):
    from network_service.audit.models import AuditLog

    launch(app, lms, [INSTRUCTOR])
    launch(app, lms, [LEARNER])
    actions = run(
        lambda: [
            (entry.action, entry.network_id is not None)
            for entry in session.scalars(
                sa.select(AuditLog)
                .where(AuditLog.action.like("lti.coordinator_grant%"))
                .order_by(AuditLog.id)
            )
        ]
    )
    assert actions == [("lti.coordinator_grant", True), ("lti.coordinator_grant.remove", True)]


def test_an_instructor_acting_as_coordinator_suspends_a_member_and_a_coordinator(app, lms, run, world):
    """Over HTTP: the grant, not a membership, makes them a coordinator; suspending a coordinator asks for
    one (it once read the missing membership's role: a 500)."""
    from network_service.networks.models import Level
    from tests.helpers import add_member

    browser = launch(app, lms, [INSTRUCTOR])
    second = run(
        lambda: (
            add_member(
                session.get(Network, world.network_id),
                "coord2@example.org",
                "Cora Second",
                Role.coordinator,
                Level.experienced,
            ).id
        )
    )
    for person_id in (world.mentor_id, second):
        page = f"/networks/test-net/members/{person_id}/suspend"
        form = browser.get(page)
        assert form.status_code == 200
        response = browser.post(
            page, data={"csrf_token": csrf_from(form.get_data(as_text=True)), "reason": "left the course"}
        )
        assert response.status_code == 303, response.get_data(as_text=True)

    def statuses():
        return dict(
            session.execute(
                sa.select(Membership.person_id, Membership.status).where(
                    Membership.person_id.in_([world.mentor_id, second])
                )
            ).all()
        )

    assert set(run(statuses).values()) == {MembershipStatus.suspended}


def test_a_course_launch_is_a_sign_in_strong_enough_to_make_an_api_token(app, lms, run):
    """An LTI launch proves the person (its id_token is signed by the LMS), as an e-mail link does: within the
    hour after it, the devices page offers and accepts a new API token (the course panel's link does not:
    tests/test_tokens_self_service.py)."""
    from network_service.accounts.models import ApiToken

    browser = launch(app, lms, [LEARNER])
    page = browser.get("/profile/sessions").get_data(as_text=True)
    assert "Signed in from a course" in page and 'action="/profile/tokens/new"' in page
    once = token_form_once(page)
    assert once
    made = browser.post(
        "/profile/tokens/new", data={"csrf_token": csrf_from(page), "name": "From the course", "once": once}
    )
    assert made.status_code == 200 and 'id="new-token-secret"' in made.get_data(as_text=True)
    assert run(lambda: session.scalars(sa.select(ApiToken.name)).all()) == ["From the course"]
