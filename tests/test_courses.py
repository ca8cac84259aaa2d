"""Course links for coordinators, the graduate funnel, and passes of courses nobody has linked yet."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import format_date

from network_service.accounts.operations import add_site_admin
from network_service.courses import operations as courses
from network_service.courses.models import CompletionEvent, CourseLink
from network_service.db import session, utcnow
from network_service.networks.models import Network
from network_service.networks.operations import accept_invitation
from network_service.privacy.operations import purge_completion_payloads
from tests.helpers import COURSE, csrf_from, link_in, mails, sign_in_as


def _pass(email, event_id, course=COURSE, days_ago=0):
    result = courses.provision_graduate(course, {"email": email}, event_id, "test")
    result.event.received_at = utcnow() - dt.timedelta(days=days_ago)
    return result


def test_funnel_follows_each_cohort_from_pass_to_active_member(world, ctx):
    _pass("a@example.org", "e1", days_ago=40)
    _pass("b@example.org", "e2", days_ago=40)
    _pass("b@example.org", "e2-again")  # a second pass of the same graduate counts once, in the first cohort
    _pass("c@example.org", "e3")
    courses.provision_graduate(COURSE, {"account": {"name": "anon"}}, "e4", "test")  # no e-mail shared
    token = link_in(mails(to="a@example.org")[0].body_text, "/invitations/").rsplit("/", 1)[1]
    accept_invitation(token, agreement_version=1, accept=True, display_name="A")
    session.flush()
    link = session.scalar(sa.select(CourseLink).where(CourseLink.course_key == COURSE))
    rows = {row.cohort: (row.passed, row.invited, row.accepted, row.active) for row in courses.funnel(link)}
    old = (utcnow() - dt.timedelta(days=40)).strftime("%Y-%m")
    now = utcnow().strftime("%Y-%m")
    if old == now:  # both cohorts fall in one month near a month's start: the totals still hold
        assert rows == {now: (4, 3, 1, 1)}
    else:
        assert rows == {old: (2, 2, 1, 1), now: (2, 1, 0, 0)}
    # After the retention period the pass without an e-mail expires (and loses the learner): still a pass.
    assert purge_completion_payloads(now=utcnow() + dt.timedelta(days=400)) == 5
    assert (
        session.scalar(sa.select(CompletionEvent.status).where(CompletionEvent.event_id == "e4")) == "expired"
    )
    again = {row.cohort: (row.passed, row.invited, row.accepted, row.active) for row in courses.funnel(link)}
    assert again == rows


def test_site_admin_links_a_course_on_the_network_page_and_earlier_passes_are_invited(client, run, world):
    run(
        lambda: courses.provision_graduate(
            "course-v1:Later+L+1", {"email": "early@example.org"}, "x1", "test"
        )
    )
    run(lambda: add_site_admin("root@example.org"))
    sign_in_as(client, run, "root@example.org")
    page = client.get("/networks/test-net/courses")
    assert page.status_code == 200 and COURSE in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    response = client.post(
        "/networks/test-net/courses",
        data={"course_key": "course-v1:Later+L+1", "title": "Later", "rule": "passed", "csrf_token": token},
    )
    assert response.status_code == 303
    assert "1 earlier graduates were invited now" in client.get("/networks/test-net/courses").get_data(
        as_text=True
    )
    assert len(run(lambda: mails(to="early@example.org"))) == 1
    graded = {
        "course_key": "course-v1:Graded+G+1",
        "rule": "min_grade",
        "min_grade": "70",
        "csrf_token": token,
    }
    assert client.post("/networks/test-net/courses", data=graded).status_code == 303
    link = run(
        lambda: session.scalar(sa.select(CourseLink).where(CourseLink.course_key == "course-v1:Graded+G+1"))
    )
    assert link.min_grade == 0.7


def test_coordinators_see_their_courses_but_cannot_claim_another_course(client, run, world):
    run(lambda: courses.provision_graduate("course-v1:Other+O+1", {"email": "x@example.org"}, "o1", "test"))
    sign_in_as(client, run, "coord@example.org")
    page = client.get("/networks/test-net/courses").get_data(as_text=True)
    assert COURSE in page and "ask a site administrator" in page and 'name="course_key"' not in page
    response = client.post(
        "/networks/test-net/courses",
        data={"course_key": "course-v1:Other+O+1", "rule": "passed", "csrf_token": csrf_from(page)},
    )
    assert response.status_code == 403
    assert run(lambda: mails(to="x@example.org")) == []


def test_min_grade_rule_without_a_grade_is_explained(client, run, world):
    run(lambda: add_site_admin("root@example.org"))
    sign_in_as(client, run, "root@example.org")
    page = client.get("/networks/test-net/courses").get_data(as_text=True)
    response = client.post(
        "/networks/test-net/courses",
        data={"course_key": "course-v1:X+Y+Z", "rule": "min_grade", "csrf_token": csrf_from(page)},
    )
    assert response.status_code == 422 and "minimum grade" in response.get_data(as_text=True)


def test_only_coordinators_see_course_links(client, run, world):
    sign_in_as(client, run, "meta@example.org")
    assert client.get("/networks/test-net/courses").status_code == 403


def test_site_admin_sees_and_links_passes_of_unlinked_courses(client, run, world):
    run(lambda: courses.provision_graduate("course-v1:Orphan+O+1", {"email": "o@example.org"}, "o1", "test"))
    run(lambda: add_site_admin("root@example.org"))
    sign_in_as(client, run, "root@example.org")
    page = client.get("/admin/unlinked-passes")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "course-v1:Orphan+O+1" in body and "1 pass" in body
    # the page says that passes expire, and when this course's oldest one does (90 days after it arrived)
    assert "A pass is kept for 90 days after it arrives" in body
    expires = run(lambda: format_date(utcnow() + dt.timedelta(days=90), "medium"))
    assert f"The oldest pass expires on {expires}." in body
    response = client.post(
        "/admin/unlinked-passes",
        data={"course_key": "course-v1:Orphan+O+1", "network": "test-net", "csrf_token": csrf_from(body)},
    )
    assert response.status_code == 303
    assert "Every pass belongs to a linked course" in client.get("/admin/unlinked-passes").get_data(
        as_text=True
    )
    event = run(lambda: session.scalar(sa.select(CompletionEvent).where(CompletionEvent.event_id == "o1")))
    assert event.status.value == "invited"
    assert run(lambda: session.get(Network, world.network_id)).slug == "test-net"


def test_unlinked_passes_are_for_site_admins_only(client, run, world):
    sign_in_as(client, run, "coord@example.org")
    assert client.get("/admin/unlinked-passes").status_code == 403
