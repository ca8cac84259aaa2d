"""Small builders and HTTP helpers shared by the tests."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

import sqlalchemy as sa

from network_service.accounts.operations import get_or_create_person, update_profile
from network_service.courses.operations import link_course
from network_service.db import session, utcnow
from network_service.mail.models import OutboundEmail
from network_service.networks.models import Level, Membership, MembershipStatus, Origin, Role
from network_service.networks.operations import (
    accept_agreement,
    create_network,
    create_organisation,
    current_agreement,
)

COURSE = "course-v1:TestOrg+MENTOR+2026"


@dataclasses.dataclass
class World:
    network_id: int
    slug: str
    coordinator_id: int
    meta_mentor_id: int
    mentor_id: int


def add_member(network, email: str, name: str, role: Role = Role.mentor, level: Level = Level.novice):
    person, _created = get_or_create_person(email, display_name=name)
    session.add(
        Membership(
            network=network,
            person=person,
            role=role,
            level=level,
            status=MembershipStatus.active,
            origin=Origin.invited,
            joined_at=utcnow(),
        )
    )
    accept_agreement(person, current_agreement(network))
    session.flush()
    return person


def share_profile(*people) -> None:
    """Each person says yes to sharing their profile, as when joining with the box ticked (nobody shares before
    that: docs/privacy.md, "Consent and objection")."""
    from network_service.privacy.operations import PROFILE_SHARING, set_consent

    for person in people:
        set_consent(person, PROFILE_SHARING, True, actor=person, via="join")


def build_world() -> World:
    organisation = create_organisation("Test Org", "IT")
    coordinator, _created = get_or_create_person("coord@example.org", display_name="Carla Coordinator")
    network = create_network("test-net", "Test Network", organisation, coordinator=coordinator)
    meta = add_member(network, "meta@example.org", "Marco Meta", Role.meta_mentor, Level.experienced)
    mentor = add_member(network, "mentor@example.org", "Mina Mentor")
    update_profile(mentor, mentor, languages=["Italian", "Arabic"])
    share_profile(mentor)  # the mentor ticked the box when joining; the others have not chosen
    link_course(COURSE, network, actor=None)
    return World(network.id, network.slug, coordinator.id, meta.id, mentor.id)


def mails(to: str | None = None, kind: str | None = None) -> list[OutboundEmail]:
    query = sa.select(OutboundEmail).order_by(OutboundEmail.id)
    if to:
        query = query.where(OutboundEmail.to_address == to)
    if kind:
        query = query.where(OutboundEmail.kind == kind)
    return list(session.scalars(query))


_LINK = re.compile(r"https?://[^\s\"<>]+")


def link_in(text: str, path_part: str) -> str:
    for link in _LINK.findall(text or ""):
        if path_part in link:
            return link
    raise AssertionError(f"no link containing {path_part!r} in:\n{text}")


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def sign_in_as(client, run, email: str) -> None:
    """Sign in through the real flow: ask for a link, read it from the outbox, confirm it."""
    page = client.get("/sign-in").get_data(as_text=True)
    response = client.post("/sign-in", data={"email": email, "csrf_token": csrf_from(page)})
    assert response.status_code == 200, response.get_data(as_text=True)
    mail = run(lambda: mails(to=email, kind="sign_in")[-1])
    link = path_of(link_in(mail.body_text, "/sign-in/"))
    confirm = client.get(link).get_data(as_text=True)
    response = client.post(link, data={"csrf_token": csrf_from(confirm)})
    assert response.status_code == 302, response.get_data(as_text=True)


def act_on_received(run) -> int:
    """What the background drain does right after an endpoint's commit (no thread runs in these tests)."""
    from network_service.courses.operations import process_received

    total = 0
    while done := run(process_received):
        total += done
    return total


def assert_problem(response, status: int, field: str | None = None) -> dict:
    """An API answer that is an RFC 9457 problem document with ``status``; returns its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert body["title"]
    if field is not None:
        assert field in body.get("errors", {}), body
    return body


def assert_ok(result) -> str:
    """A click Result that succeeded; returns its output."""
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def session_data(app, person_id: int) -> dict:
    """The contents of a signed-in session cookie for ``person_id``, with its server-side record (committed), for
    tests that sign in without the e-mail round trip (``sign_in_as`` does the real flow)."""
    from network_service.accounts.models import Person
    from network_service.accounts.sessions import cookie_data, start_session

    with app.test_request_context():
        device = start_session(session.get(Person, person_id), via="test")
        session.commit()
        return {**cookie_data(device), "_permanent": True}


def act_as_person(client, person_id: int | None) -> None:
    """Sign the test client in as ``person_id`` (or out, for None) without the e-mail round trip."""
    data = session_data(client.application, person_id) if person_id is not None else {}
    with client.session_transaction() as flask_session:
        flask_session.clear()
        flask_session.update(data)


def without_csrf_tokens(html: str) -> str:
    """The page with its forms' CSRF tokens masked: Flask-WTF signs them with the time, so the same page asked
    twice differs there when the two requests fall in different seconds."""
    masked, found = re.subn(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1*", html)
    assert found, "the page has a form with a CSRF token"
    return masked


def token_form_once(html: str) -> str:
    """The one-time value of the devices page's token form as the page shows it ("" when no form is shown)."""
    found = re.search(r'<input[^>]*name="once"[^>]*value="([^"]*)"', html)
    return found.group(1) if found else ""


class Page(HTMLParser):
    """The links of a page and its forms: each form's method, action and the fields it would send."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []  # (href, the link's text, visually hidden parts included)
        self.forms: list[dict] = []
        self._link: list | None = None

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "a" and names.get("href"):
            self._link = [names["href"], ""]
        elif tag == "form":
            self.forms.append(
                {
                    "method": (names.get("method") or "get").lower(),
                    "action": names.get("action"),
                    "fields": {},
                }
            )
        elif tag == "input" and self.forms and names.get("name"):
            fields = self.forms[-1]["fields"]
            if names.get("type") == "radio":
                fields.setdefault(names["name"], []).append(names.get("value"))
            else:
                fields[names["name"]] = names.get("value") or ""
        elif tag in ("select", "textarea") and self.forms and names.get("name"):
            self.forms[-1]["fields"][names["name"]] = ""

    def handle_data(self, data):
        if self._link is not None:
            self._link[1] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._link is not None:
            self.links.append((self._link[0], " ".join(self._link[1].split())))
            self._link = None


def parse_page(html: str) -> Page:
    """The links and forms of an HTML page, as a browser (or a screen reader's list of links) finds them."""
    page = Page()
    page.feed(html)
    return page
