"""Joining and starting networks: applications, partner organisations, course-link requests, the guided
start, the promotion kit; every role over HTTP, pages and API."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.audit.models import AuditLog
from network_service.courses.models import CourseLink
from network_service.db import session
from network_service.directory.operations import update_public_page
from network_service.growth import operations
from network_service.growth.models import (
    ApplicationStatus,
    CourseLinkRequest,
    NetworkApplication,
    NetworkPartner,
    NetworkStart,
    PartnerStatus,
    StartStatus,
)
from network_service.networks.models import Invitation, Level, Membership, MembershipStatus, Network, Origin
from network_service.networks.operations import get_network
from network_service.notifications.models import Notification
from tests.goals_roles import API, ROLES, act_as, bearer, build_cast
from tests.helpers import act_as_person, csrf_from, mails, parse_page

APPLY = "/n/test-net/apply"
APPLICATIONS = "/networks/test-net/applications"
ANSWER = {
    "motivation": "I mentored for three years in Turin.",
    "experience": "MOOC 2024",
    "languages": "Italian, Arabic",
    "region": "Rome",
}


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


def person(run, email):
    return run(lambda: session.scalar(sa.select(Person).where(Person.email == email)))


def set_accepting(run, value=True, public=True):
    def change():
        network = get_network("test-net")
        network.accepts_applications = value
        coordinator = session.scalar(sa.select(Person).where(Person.email == "coord@example.org"))
        update_public_page(
            network, coordinator, public=public, country="IT", how_to_join="Write to the **office**."
        )

    run(change)


def apply_as(client, cast, label, **overrides):
    token = act_as(client, cast, label)
    return client.post(APPLY, data={**ANSWER, **overrides, "csrf_token": token})


def applications(run, status=None):
    query = sa.select(NetworkApplication)
    if status:
        query = query.where(NetworkApplication.status == status)
    return run(lambda: list(session.scalars(query)))


# -- applying -------------------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client, world, cast):
    response = client.get(APPLY)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_a_network_that_takes_no_applications_refuses(client, run, world, cast):
    set_accepting(run, False)
    page = client.get(APPLY) if act_as(client, cast, "outsider") else None
    assert "does not take applications" in page.get_data(as_text=True)
    assert apply_as(client, cast, "outsider").status_code == 403
    assert applications(run) == []


def test_public_page_shows_the_apply_button_only_when_accepting(client, run, world, cast):
    set_accepting(run, False)
    assert APPLY not in client.get("/n/test-net").get_data(as_text=True)
    set_accepting(run, True)
    assert APPLY in client.get("/n/test-net").get_data(as_text=True)


def test_experienced_mentor_applies_and_the_office_accepts(client, run, world, cast):
    set_accepting(run)
    response = apply_as(client, cast, "outsider")
    assert response.status_code == 303
    [application] = applications(run)
    assert application.languages == ["Italian", "Arabic"] and application.region == "Rome"
    # the office and the coordinator are told, the Meta-Mentor is not
    told = run(
        lambda: set(
            session.scalars(
                sa.select(Notification.person_id).where(Notification.kind == "growth.application")
            )
        )
    )
    assert told == {cast.ids["office"], cast.ids["coordinator"]}
    # a second open application is refused
    again = apply_as(client, cast, "outsider")
    assert again.status_code == 409
    assert len(applications(run)) == 1
    # the office decides
    token = act_as(client, cast, "office")
    listing = client.get(APPLICATIONS).get_data(as_text=True)
    assert "I mentored for three years in Turin." in listing
    response = client.post(
        f"{APPLICATIONS}/{application.id}",
        data={"decision": "accept", "level": "experienced", "message": "Welcome!", "csrf_token": token},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    decided = run(lambda: session.get(NetworkApplication, application.id))
    assert decided.status == ApplicationStatus.accepted and decided.pending_person_id is None
    membership = run(
        lambda: session.scalar(
            sa.select(Membership).where(
                Membership.person_id == cast.ids["outsider"], Membership.network_id == world.network_id
            )
        )
    )
    assert (membership.status, membership.level, membership.origin) == (
        MembershipStatus.invited,
        Level.experienced,
        Origin.applied,
    )
    assert run(lambda: mails(to="outsider@example.org", kind="invitation"))
    [decision_mail] = run(lambda: mails(to="outsider@example.org", kind="application_decided"))
    assert "Welcome!" in decision_mail.body_text and "/networks/test-net/join" in decision_mail.body_text
    actions = run(lambda: set(session.scalars(sa.select(AuditLog.action))))
    assert {"application.create", "application.accept"} <= actions
    # the applicant joins with the agreement, like every invitee
    token = act_as(client, cast, "outsider")
    join_page = client.get("/networks/test-net/join").get_data(as_text=True)
    version = run(
        lambda: (
            __import__("network_service.networks.operations", fromlist=["x"])
            .current_agreement(get_network("test-net"))
            .version
        )
    )
    response = client.post(
        "/networks/test-net/join",
        data={
            "csrf_token": csrf_from(join_page),
            "agreement_version": str(version),
            "accept_agreement": "y",
            "display_name": "Otto",
        },
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    membership = run(lambda: session.get(Membership, membership.id))
    assert membership.status == MembershipStatus.active
    # deciding twice is a conflict
    token = act_as(client, cast, "office")
    again = client.post(f"{APPLICATIONS}/{application.id}", data={"decision": "decline", "csrf_token": token})
    assert again.status_code == 409


@pytest.mark.parametrize(("label", "decision"), [("coordinator", "accept"), ("office", "decline")])
def test_the_list_leads_to_a_decision_page_that_decides(client, run, world, cast, label, decision):
    """What a coordinator does in the browser: follow "Decide" from the list, choose, save. The link must lead
    to a page (never to a POST-only address, which answers 405) whose form posts the decision."""
    set_accepting(run)
    apply_as(client, cast, "outsider")
    [application] = applications(run)
    act_as(client, cast, label)
    listing = client.get(APPLICATIONS)
    assert listing.status_code == 200
    [href] = [
        href for href, text in parse_page(listing.get_data(as_text=True)).links if text.startswith("Decide")
    ]
    decide_page = client.get(href)
    assert decide_page.status_code == 200, decide_page.status_code
    html = decide_page.get_data(as_text=True)
    assert "I mentored for three years in Turin." in html
    [form] = [form for form in parse_page(html).forms if "decision" in form["fields"]]
    assert form["method"] == "post" and form["action"] == href
    assert form["fields"]["decision"] == ["accept", "decline"]
    assert {"csrf_token", "level", "message"} <= set(form["fields"])
    # nothing chosen: the page comes back with the error, linked from the summary to the choice
    refused = client.post(form["action"], data={"csrf_token": form["fields"]["csrf_token"]})
    assert refused.status_code == 422
    refused_html = refused.get_data(as_text=True)
    assert 'href="#decision"' in refused_html and '<fieldset id="decision">' in refused_html
    assert 'aria-describedby="decision-error"' in refused_html
    response = client.post(
        form["action"],
        data={
            "csrf_token": form["fields"]["csrf_token"],
            "decision": decision,
            "level": "experienced",
            "message": "",
        },
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(APPLICATIONS)
    decided = run(lambda: session.get(NetworkApplication, application.id))
    expected = ApplicationStatus.accepted if decision == "accept" else ApplicationStatus.declined
    assert decided.status == expected and decided.decided_by_id == cast.ids[label]
    actions = run(lambda: set(session.scalars(sa.select(AuditLog.action))))
    assert f"application.{decision}" in actions
    # afterwards the page says how it was decided, with no form, and the list no longer offers it
    assert not [
        f for f in parse_page(client.get(href).get_data(as_text=True)).forms if f["action"] == form["action"]
    ]
    assert href not in client.get(APPLICATIONS).get_data(as_text=True)
    # without the CSRF token nothing is decided (the page's GET changes nothing either)
    assert client.post(form["action"], data={"decision": decision}).status_code == 400


@pytest.mark.parametrize("label", ["anonymous", "outsider", "novice", "meta_mentor"])
def test_the_decision_page_is_for_those_who_decide(client, run, world, cast, label):
    set_accepting(run)
    apply_as(client, cast, "outsider")
    [application] = applications(run)
    act_as(client, cast, label)
    response = client.get(f"{APPLICATIONS}/{application.id}")
    assert response.status_code == (302 if label == "anonymous" else 403)
    assert "I mentored for three years in Turin." not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("decision", "message", "kinds"),
    [
        ("accept", "", ["invitation"]),  # the invitation's mail says it all
        ("accept", "See you on Monday!", ["invitation", "application_decided"]),  # and the office's words
        ("decline", "", ["application_decided"]),
    ],
)
def test_a_decision_reaches_the_applicant_by_as_few_mails_as_it_takes(
    client, run, world, cast, decision, message, kinds
):
    """Someone who wants every notification at once gets no third mail for the notification of the decision."""
    from network_service.notifications.models import EmailFrequency, NotificationSetting

    set_accepting(run)
    run(
        lambda: session.add(
            NotificationSetting(person_id=cast.ids["outsider"], email_frequency=EmailFrequency.immediately)
        )
    )
    apply_as(client, cast, "outsider")
    [application] = applications(run)
    token = act_as(client, cast, "coordinator")
    data = {"decision": decision, "message": message, "csrf_token": token}
    if decision == "accept":
        data["level"] = "novice"
    assert client.post(f"{APPLICATIONS}/{application.id}", data=data).status_code == 303
    sent = run(lambda: sorted(mail.kind for mail in mails(to="outsider@example.org")))
    assert sent == sorted(kinds)
    told = run(
        lambda: session.scalar(
            sa.select(sa.func.count(Notification.id)).where(
                Notification.person_id == cast.ids["outsider"], Notification.kind.like("growth.application_%")
            )
        )
    )
    assert told == 1  # still told in mentorNET


def test_decline_tells_the_applicant_in_their_language(client, run, world, cast):
    set_accepting(run)

    def german():
        session.get(Person, cast.ids["outsider"]).locale = "de"

    run(german)
    apply_as(client, cast, "outsider")
    [application] = applications(run)
    token = act_as(client, cast, "coordinator")
    response = client.post(
        f"{APPLICATIONS}/{application.id}",
        data={"decision": "decline", "message": "Not this year.", "csrf_token": token},
    )
    assert response.status_code == 303
    [mail] = run(lambda: mails(to="outsider@example.org", kind="application_decided"))
    assert "Not this year." in mail.body_text
    assert run(lambda: mails(to="outsider@example.org", kind="invitation")) == []
    assert run(lambda: session.get(NetworkApplication, application.id)).status == ApplicationStatus.declined
    # after a decision, a new application is possible
    assert apply_as(client, cast, "outsider").status_code == 303


@pytest.mark.parametrize(
    "label, expected",
    [
        ("anonymous", 302),
        ("outsider", 403),
        ("novice", 403),
        ("experienced", 403),
        ("meta_mentor", 403),
        ("office", 200),
        ("coordinator", 200),
        ("admin", 200),
    ],
)
def test_who_sees_and_decides_applications(client, run, world, cast, label, expected):
    set_accepting(run)
    apply_as(client, cast, "outsider")
    [application] = applications(run)
    token = act_as(client, cast, label)
    assert client.get(APPLICATIONS).status_code == expected
    response = client.post(
        f"{APPLICATIONS}/{application.id}", data={"decision": "decline", "csrf_token": token or ""}
    )
    # an anonymous POST has no CSRF token: refused before the sign-in redirect
    refused = (400, 302) if label == "anonymous" else (expected,)
    assert response.status_code in ((303,) if expected == 200 else refused)
    toggle = client.post(
        APPLICATIONS, data={"setting-accepts_applications": "", "setting-csrf_token": token or ""}
    )
    assert toggle.status_code in ((303,) if expected == 200 else refused)


def test_members_cannot_apply_to_their_own_network(client, run, world, cast):
    set_accepting(run)
    response = apply_as(client, cast, "novice")
    assert response.status_code == 409 and "already a member" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"motivation": ""}, "why you want to join"),
        ({"motivation": "x" * 2001}, "2000"),
        ({"languages": ", ".join(f"Language{i}" for i in range(11))}, "at most 10 languages"),
        ({"region": "r" * 121}, "120"),
    ],
)
def test_bad_application_input(client, run, world, cast, overrides, message):
    set_accepting(run)
    response = apply_as(client, cast, "outsider", **overrides)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert applications(run) == []


def test_without_csrf_nothing_is_stored(client, run, world, cast):
    set_accepting(run)
    act_as(client, cast, "outsider")
    response = client.post(APPLY, data=ANSWER)
    assert response.status_code in (400, 422)
    assert applications(run) == []


def test_applicant_withdraws(client, run, world, cast):
    set_accepting(run)
    apply_as(client, cast, "outsider")
    token = act_as(client, cast, "outsider")
    assert client.post(f"{APPLY}/withdraw", data={"csrf_token": token}).status_code == 303
    assert applications(run)[0].status == ApplicationStatus.withdrawn


# -- partners -------------------------------------------------------------------------------------------------


def other_org_id(run):
    from network_service.networks.models import Organisation

    return run(lambda: session.scalar(sa.select(Organisation.id).where(Organisation.name == "Other Org")))


def test_an_organisation_becomes_a_partner(client, run, world, cast):
    set_accepting(run)
    token = act_as(client, cast, "outsider")  # coordinates Other Network, of Other Org
    form = client.get("/n/test-net/partner").get_data(as_text=True)
    assert "Other Org" in form
    response = client.post(
        "/n/test-net/partner",
        data={
            "organisation": str(other_org_id(run)),
            "message": "We run a MOOC in Munich.",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    again = client.post(
        "/n/test-net/partner", data={"organisation": str(other_org_id(run)), "csrf_token": token}
    )
    assert again.status_code == 409
    [partner] = run(lambda: list(session.scalars(sa.select(NetworkPartner))))
    assert partner.status == PartnerStatus.requested
    assert "Other Org" not in client.get("/n/test-net").get_data(as_text=True)
    for label in ("meta_mentor", "office", "novice", "outsider"):
        token = act_as(client, cast, label)
        assert client.get("/networks/test-net/partners").status_code == 403
        denied = client.post(
            f"/networks/test-net/partners/{partner.id}", data={"decision": "accept", "csrf_token": token}
        )
        assert denied.status_code == 403
    token = act_as(client, cast, "coordinator")
    assert "We run a MOOC in Munich." in client.get("/networks/test-net/partners").get_data(as_text=True)
    response = client.post(
        f"/networks/test-net/partners/{partner.id}", data={"decision": "accept", "csrf_token": token}
    )
    assert response.status_code == 303
    assert "Other Org" in client.get("/n/test-net").get_data(as_text=True)
    assert "Other Org" in client.get("/networks/test-net").get_data(as_text=True)
    assert (
        run(
            lambda: session.scalar(
                sa.select(sa.func.count(Notification.id)).where(Notification.kind == "growth.partner_decided")
            )
        )
        == 1
    )


def test_nobody_speaks_for_an_organisation_they_do_not_coordinate(client, run, world, cast):
    token = act_as(client, cast, "novice")
    response = client.post(
        "/n/test-net/partner", data={"organisation": str(other_org_id(run)), "csrf_token": token}
    )
    # the novice coordinates nothing: the choice is not offered and counts as "a new organisation" without a name
    assert response.status_code == 422
    assert run(lambda: session.scalar(sa.select(sa.func.count(NetworkPartner.id)))) == 0
    with pytest.raises(Exception, match="coordinate"):
        run(
            lambda: operations.request_partnership(
                get_network("test-net"),
                session.get(Person, cast.ids["novice"]),
                organisation=session.scalar(
                    sa.select(Network).where(Network.slug == "other-net")
                ).organisation,
            )
        )


def test_a_new_organisation_asks_with_a_bad_website(client, run, world, cast):
    token = act_as(client, cast, "novice")
    response = client.post(
        "/n/test-net/partner",
        data={
            "organisation": "",
            "new_name": "Casa Aperta",
            "country": "IT",
            "website": "javascript:alert(1)",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422 and "https://" in response.get_data(as_text=True)
    response = client.post(
        "/n/test-net/partner",
        data={
            "organisation": "",
            "new_name": "Casa Aperta",
            "country": "IT",
            "website": "https://casa.example",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303


# -- course-link requests -------------------------------------------------------------------------------------


def test_coordinator_asks_and_a_site_admin_links_in_one_click(client, run, world, cast):
    for label, expected in (("meta_mentor", 403), ("office", 403), ("novice", 403)):
        act_as(client, cast, label)
        assert client.get("/networks/test-net/course-requests").status_code == expected
    token = act_as(client, cast, "coordinator")
    response = client.post(
        "/networks/test-net/course-requests",
        data={"course_key": "course-v1:TestOrg+SECOND+2027", "title": "Second run", "csrf_token": token},
    )
    assert response.status_code == 303
    again = client.post(
        "/networks/test-net/course-requests",
        data={"course_key": "course-v1:TestOrg+SECOND+2027", "csrf_token": token},
    )
    assert again.status_code == 409
    taken = client.post(
        "/networks/test-net/course-requests",
        data={"course_key": "course-v1:TestOrg+MENTOR+2026", "csrf_token": token},
    )
    assert taken.status_code == 409
    [link_request] = run(lambda: list(session.scalars(sa.select(CourseLinkRequest))))
    assert (
        client.post(
            f"/admin/growth/course-requests/{link_request.id}/approve", data={"csrf_token": token}
        ).status_code
        == 403
    )
    assert client.get("/admin/growth").status_code == 403
    token = act_as(client, cast, "admin")
    assert "course-v1:TestOrg+SECOND+2027" in client.get("/admin/growth").get_data(as_text=True)
    response = client.post(
        f"/admin/growth/course-requests/{link_request.id}/approve", data={"csrf_token": token}
    )
    assert response.status_code == 303
    link = run(
        lambda: session.scalar(
            sa.select(CourseLink).where(CourseLink.course_key == "course-v1:TestOrg+SECOND+2027")
        )
    )
    assert link is not None and link.network_id == world.network_id
    again = client.post(
        f"/admin/growth/course-requests/{link_request.id}/decline", data={"csrf_token": token}
    )
    assert again.status_code == 303  # already decided: a message, nothing changes
    assert run(lambda: session.get(CourseLinkRequest, link_request.id)).status.value == "approved"


# -- the guided start -----------------------------------------------------------------------------------------


def step(client, step_name, **data):
    page = client.get(f"/start/{step_name}")
    assert page.status_code == 200, page.get_data(as_text=True)
    return client.post(
        f"/start/{step_name}", data={**data, "csrf_token": csrf_from(page.get_data(as_text=True))}
    )


def founder(client, run):
    from network_service.accounts.operations import get_or_create_person

    founder_id = run(lambda: get_or_create_person("founder@example.org", display_name="Fatima Founder")[0].id)
    act_as_person(client, founder_id)
    return founder_id


def test_start_a_network_step_by_step(client, run, world, cast):
    founder_id = founder(client, run)
    intro = client.get("/start")
    assert intro.status_code == 200
    response = client.post("/start", data={"csrf_token": csrf_from(intro.get_data(as_text=True))})
    assert response.headers["Location"].endswith("/start/organisation")
    # later steps wait until the earlier ones are done
    assert client.get("/start/agreement").headers["Location"].endswith("/start/organisation")
    bad = step(client, "organisation", name="", country="DE")
    assert bad.status_code == 422
    response = step(client, "organisation", name="Neue Nachbarn e.V.", country="DE", city="Leipzig")
    assert response.headers["Location"].endswith("/start/network")
    # back and next again keeps the same organisation
    page = client.get("/start/organisation").get_data(as_text=True)
    assert "Neue Nachbarn e.V." in page and 'aria-current="step"' in page
    response = step(client, "organisation", name="Neue Nachbarn e.V.", country="DE")
    assert response.headers["Location"].endswith("/start/network")
    taken = step(client, "network", name="Leipzig", slug="test-net")
    assert taken.status_code == 409 and "taken" in taken.get_data(as_text=True)
    bad_slug = step(client, "network", name="Leipzig", slug="Leipzig Mentors!")
    assert bad_slug.status_code == 422
    response = step(
        client,
        "network",
        name="Leipzig Mentors",
        slug="leipzig-mentors",
        languages="German, Arabic",
        region="Saxony",
    )
    assert response.headers["Location"].endswith("/start/agreement")
    agreement_page = client.get("/start/agreement").get_data(as_text=True)
    assert "personal data" in agreement_page  # the template text to start from
    response = step(client, "agreement", title="Our rules", body="1. Be kind.\n2. No personal data.")
    assert response.headers["Location"].endswith("/start/course")
    network = run(lambda: get_network("leipzig-mentors"))
    assert network.languages == ["German", "Arabic"] and network.region == "Saxony"
    coordinator = run(
        lambda: session.scalar(sa.select(Membership).where(Membership.network_id == network.id))
    )
    assert coordinator.person_id == founder_id and coordinator.role.value == "coordinator"
    response = step(client, "course", course_key="course-v1:NN+MENTOR+2027")
    assert response.headers["Location"].endswith("/start/invitations")
    assert "course-v1:NN+MENTOR+2027" in client.get("/start/invitations").get_data(as_text=True)
    bad = step(client, "invitations", emails="ok@example.org, not-an-address")
    assert bad.status_code == 422
    response = step(client, "invitations", emails="first@example.org\nsecond@example.org")
    assert response.headers["Location"].endswith("/networks/leipzig-mentors")
    invited = run(
        lambda: session.scalar(
            sa.select(sa.func.count(Invitation.id)).where(Invitation.network_id == network.id)
        )
    )
    assert invited == 2
    assert run(lambda: session.scalar(sa.select(NetworkStart.status))) == StartStatus.done
    assert "Begin" in client.get("/start").get_data(as_text=True)


def test_start_needs_approval_when_the_site_says_so(client, run, world, cast):
    token = act_as(client, cast, "coordinator")
    assert (
        client.post(
            "/admin/growth", data={"policy-policy": "approval", "policy-csrf_token": token}
        ).status_code
        == 403
    )
    token = act_as(client, cast, "admin")
    assert (
        client.post(
            "/admin/growth", data={"policy-policy": "approval", "policy-csrf_token": token}
        ).status_code
        == 303
    )
    founder(client, run)
    client.post("/start", data={"csrf_token": csrf_from(client.get("/start").get_data(as_text=True))})
    step(client, "organisation", name="Porto Seguro", country="PT")
    response = step(client, "network", name="Lisbon Mentors", slug="lisbon-mentors")
    assert response.headers["Location"].endswith("/start/network")
    waiting = client.get("/start/network").get_data(as_text=True)
    assert "site administrator" in waiting
    assert client.get("/start/agreement").headers["Location"].endswith("/start/network")
    start_id = run(lambda: session.scalar(sa.select(NetworkStart.id)))
    for label in ("coordinator", "office", "novice"):
        token = act_as(client, cast, label)
        assert (
            client.post(f"/admin/growth/starts/{start_id}/approve", data={"csrf_token": token}).status_code
            == 403
        )
    token = act_as(client, cast, "admin")
    bad = client.post("/admin/growth", data={"policy-policy": "everyone", "policy-csrf_token": token})
    assert bad.status_code == 400
    assert "Lisbon Mentors" in client.get("/admin/growth").get_data(as_text=True)
    assert (
        client.post(f"/admin/growth/starts/{start_id}/approve", data={"csrf_token": token}).status_code == 303
    )
    founder(client, run)
    response = step(client, "agreement", title="Rules", body="Be kind.")
    assert response.headers["Location"].endswith("/start/course")


def test_start_requires_sign_in(client):
    assert client.get("/start").status_code == 302
    assert client.get("/start/network").status_code == 302


# -- promotion kit --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label, expected",
    [
        ("anonymous", 302),
        ("outsider", 403),
        ("novice", 403),
        ("experienced", 403),
        ("meta_mentor", 200),
        ("office", 200),
        ("coordinator", 200),
        ("admin", 200),
    ],
)
def test_who_opens_the_promotion_kit(client, run, world, cast, label, expected):
    set_accepting(run)
    act_as(client, cast, label)
    response = client.get("/networks/test-net/promote")
    assert response.status_code == expected
    if expected == 200:
        page = response.get_data(as_text=True)
        assert "/n/test-net/widget" in page and "&lt;iframe" in page and "/n/test-net/qr.svg" in page


def test_widget_may_be_framed_and_sets_no_cookie(client, run, world, cast):
    assert client.get("/n/test-net/widget").status_code == 404  # no public page yet
    set_accepting(run)
    response = client.get("/n/test-net/widget")
    assert response.status_code == 200
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers
    assert "Set-Cookie" not in response.headers
    page = response.get_data(as_text=True)
    assert "Test Network" in page and "/n/test-net/apply" in page and "growth.css" in page
    other = client.get("/n/test-net")
    assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"]


def test_qr_codes_and_flyer(client, run, world, cast):
    assert client.get("/n/test-net/qr.svg").status_code == 404
    assert client.get("/n/test-net/flyer").status_code == 404
    set_accepting(run)
    svg = client.get("/n/test-net/qr.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    png = client.get("/n/test-net/qr.png")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    flyer = client.get("/n/test-net/flyer").get_data(as_text=True)
    assert "flyer.css" in flyer and "/n/test-net/qr.svg" in flyer and "office" in flyer


def test_figures_count_active_members(run, world, cast):
    figures = run(lambda: operations.figures(get_network("test-net")))
    assert figures["members"] == 5 and figures["meetings"] == 0


# -- JSON API -------------------------------------------------------------------------------------------------


def test_api_applications(client, run, world, cast):
    url = f"{API}/networks/test-net/applications"
    body = {"motivation": "Trained in Athens.", "languages": ["Greek", "English"], "region": "Athens"}
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers=bearer(cast, "outsider")).status_code == 403
    set_accepting(run)
    created = client.post(url, json=body, headers=bearer(cast, "outsider"))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["status"] == "pending"
    assert client.post(url, json=body, headers=bearer(cast, "outsider")).status_code == 409
    bad = client.post(url, json={"motivation": ""}, headers=bearer(cast, "experienced"))
    assert bad.status_code == 422
    assert client.post(url, json={**body, "extra": 1}, headers=bearer(cast, "experienced")).status_code == 422
    for label, expected in (
        ("novice", 403),
        ("meta_mentor", 403),
        ("office", 200),
        ("coordinator", 200),
        ("admin", 200),
    ):
        assert client.get(url, headers=bearer(cast, label)).status_code == expected
    [item] = client.get(url, headers=bearer(cast, "office")).get_json()
    decision = f"{url}/{item['id']}/decision"
    assert (
        client.post(decision, json={"accept": True}, headers=bearer(cast, "meta_mentor")).status_code == 403
    )
    assert client.post(decision, json={"accept": "maybe"}, headers=bearer(cast, "office")).status_code == 422
    done = client.post(decision, json={"accept": True, "level": "novice"}, headers=bearer(cast, "office"))
    assert done.status_code == 200 and done.get_json()["level"] == "novice"
    assert client.post(decision, json={"accept": False}, headers=bearer(cast, "office")).status_code == 409
    assert (
        client.post(
            f"{url}/99999/decision", json={"accept": True}, headers=bearer(cast, "office")
        ).status_code
        == 404
    )


def test_api_partners(client, run, world, cast):
    url = f"{API}/networks/test-net/partners"
    org = other_org_id(run)
    assert client.post(url, json={"organisation_id": org}, headers=bearer(cast, "novice")).status_code == 403
    assert client.post(url, json={}, headers=bearer(cast, "novice")).status_code == 422
    assert (
        client.post(url, json={"organisation_id": 99999}, headers=bearer(cast, "outsider")).status_code == 404
    )
    created = client.post(
        url, json={"organisation_id": org, "message": "Hello"}, headers=bearer(cast, "outsider")
    )
    assert created.status_code == 201 and created.get_json()["status"] == "requested"
    assert client.get(url, headers=bearer(cast, "novice")).get_json() == []
    assert client.get(f"{url}?all=true", headers=bearer(cast, "novice")).status_code == 403
    [item] = client.get(f"{url}?all=true", headers=bearer(cast, "coordinator")).get_json()
    decision = f"{url}/{item['id']}/decision"
    assert client.post(decision, json={"accept": True}, headers=bearer(cast, "office")).status_code == 403
    assert (
        client.post(decision, json={"accept": True}, headers=bearer(cast, "coordinator")).status_code == 200
    )
    [partner] = client.get(url, headers=bearer(cast, "novice")).get_json()
    assert partner["organisation"]["name"] == "Other Org"


def test_openapi_documents_the_growth_endpoints(client):
    spec = client.get(f"{API}/openapi.json").get_json()
    assert "/api/v1/networks/{slug}/applications" in spec["paths"]
    assert "/api/v1/networks/{slug}/partners/{partner_id}/decision" in spec["paths"]


def test_roadmap_checkpoints(run, world, cast):
    from network_service.networks import roadmap

    keys = {c.key: c for c in roadmap.checkpoints()}
    network = run(lambda: get_network("test-net"))
    assert not run(lambda: keys["growth.public_page"].reached(get_network("test-net")))
    set_accepting(run)
    assert run(lambda: keys["growth.public_page"].reached(get_network("test-net")))
    assert not run(lambda: keys["growth.first_application"].reached(network))
    assert not run(lambda: keys["growth.partner"].reached(network))
    assert ROLES  # the cast covers every role


def test_the_courses_page_points_coordinators_to_the_request(client, run, world, cast):
    act_as(client, cast, "coordinator")
    assert "/networks/test-net/course-requests" in client.get("/networks/test-net/courses").get_data(
        as_text=True
    )


def test_home_page_lists_my_applications_and_the_start(client, run, world, cast):
    set_accepting(run)
    apply_as(client, cast, "outsider")
    page = client.get("/").get_data(as_text=True)
    assert "Test Network" in page and "/start" in page


def test_public_caching_only_without_a_session(client, run, world, cast):
    set_accepting(run)
    assert client.get("/n/test-net/widget").headers["Cache-Control"] == "public, max-age=300"
    act_as(client, cast, "novice")
    for url in ("/n/test-net/widget", "/n/test-net/qr.svg", "/n/test-net/qr.png"):
        assert "public" not in client.get(url).headers["Cache-Control"]


def test_applying_is_rate_limited_per_client(database_url):
    from network_service.app import create_app
    from network_service.db import db
    from tests.databases import app_config

    limited = create_app(app_config(database_url, RATELIMIT_ENABLED=True))
    client = limited.test_client()
    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    # counted before signing in is checked (an anonymous POST is sent to sign in, and counts)
    statuses = [client.post("/n/test-net/apply", data={"csrf_token": token}).status_code for _i in range(22)]
    db.dispose(limited)
    assert statuses[:20] == [302] * 20 and statuses[20:] == [429, 429]
