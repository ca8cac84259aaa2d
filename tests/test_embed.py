"""The panel for iframes: status, the call to join, unread messages, help in one's languages, next meeting."""

from __future__ import annotations

import re

import sqlalchemy as sa

from lti_bridge.lti.launch import CLAIM
from network_service.accounts.models import Person
from network_service.db import session
from network_service.embed.views import panel_url
from network_service.networks.models import Membership, MembershipStatus, Network
from network_service.networks.operations import invite_person
from tests.helpers import COURSE, csrf_from

pytest_plugins = ("tests.lti_platform",)


def _url_for(app, run, email: str, course_key: str | None = COURSE) -> str:
    def make():
        person = session.scalar(sa.select(Person).where(Person.email == email))
        return panel_url(person, course_key)

    return run(make)


def _links(html: str) -> list[str]:
    return [link.replace("&amp;", "&") for link in re.findall(r'href="(/embed/open\?t=[^"]+)"', html)]


def test_without_a_token_the_panel_says_where_to_open_it(client):
    response = client.get("/embed/panel")
    assert response.status_code == 200
    assert "Open this panel from your course" in response.get_data(as_text=True)
    assert "frame-ancestors https:" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers
    assert client.get("/embed/panel?t=forged.token").status_code == 200


def test_a_member_sees_the_pulse_of_the_courses_network(client, run, world, app):
    html = client.get(_url_for(app, run, "mentor@example.org")).get_data(as_text=True)
    assert "Test Network" in html and "You are a member." in html
    assert "conversations with new messages" in html or "conversation with new messages" in html
    assert "No meeting planned yet." in html
    assert 'target="_blank"' in html and "js/embed.js" in html
    # Links out of the panel sign the person in, in a new first-party window, and land on the network.
    [open_link] = _links(html)
    response = client.get(open_link)
    assert response.status_code == 303 and response.headers["Location"] == "/networks/test-net"
    assert client.get("/networks/test-net").status_code == 200


def test_an_invited_graduate_joins_from_the_panel(client, run, world, app):
    def invite():
        network = session.get(Network, world.network_id)
        invite_person(network, "grad@example.org", actor=None, display_name="Gina Graduate")

    run(invite)
    html = client.get(_url_for(app, run, "grad@example.org")).get_data(as_text=True)
    assert "You are invited to join this network." in html
    [join_link] = _links(html)
    opened = client.get(join_link)
    assert opened.headers["Location"] == "/networks/test-net/join"
    page = client.get("/networks/test-net/join")
    assert page.status_code == 200 and "Accept and join" in page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    version = re.search(r'name="agreement_version"[^>]*value="(\d+)"', html) or re.search(
        r'value="(\d+)"[^>]*name="agreement_version"', html
    )
    joined = client.post(
        "/networks/test-net/join",
        data={
            "csrf_token": csrf_from(html),
            "agreement_version": version.group(1),
            "display_name": "Gina Graduate",
            "accept_agreement": "y",
        },
    )
    assert joined.status_code == 302, joined.get_data(as_text=True)
    status = run(
        lambda: session.scalar(
            sa.select(Membership.status).join(Person).where(Person.email == "grad@example.org")
        )
    )
    assert status == MembershipStatus.active


def test_join_without_an_invitation_is_refused(client, run, world):
    from tests.helpers import sign_in_as

    sign_in_as(client, run, "mentor@example.org")
    assert client.get("/networks/test-net/join").status_code == 410


def test_a_bad_open_link_leads_to_sign_in(client):
    response = client.get("/embed/open?t=nonsense")
    assert response.status_code == 303 and response.headers["Location"].startswith("/sign-in")


def test_an_lti_launch_for_the_panel_lands_on_it_without_needing_the_session(client, platform, run, world):
    run(lambda: platform.register(trust_email=True))
    target = "http://localhost/embed/panel"
    query = platform.begin_login(client, target_link_uri=target)
    token = platform.id_token(
        query["nonce"],
        email="mentor@example.org",
        **{CLAIM + "target_link_uri": target, CLAIM + "context": {"id": COURSE}},
    )
    response = client.post("/lti/launch", data={"id_token": token, "state": query["state"]})
    assert response.status_code == 303 and response.headers["Location"].startswith("/embed/panel?t=")
    with client.session_transaction() as browser_session:
        browser_session.clear()  # the iframe gets no session cookie
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Test Network" in html and "You are a member." in html
