"""The main journeys in headless Chromium at 360 px and 1280 px: each page is weighed, checked for foreign
requests and, with JavaScript on, checked by axe-core (see support.Tour.check)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from network_service.accounts.models import Person
from network_service.db import session
from network_service.networks.models import Membership, MembershipStatus
from tests import helpers
from tests.browser.journeys import graduate_joins, sign_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.live]


def _member(live, email: str) -> tuple[Person, Membership]:
    with live.app.app_context():
        person = session.scalar(sa.select(Person).where(Person.email == email))
        membership = session.scalar(sa.select(Membership).where(Membership.person_id == person.id))
        session.expunge_all()
        return person, membership


def test_graduate_accepts_the_invitation_and_completes_the_profile(new_tour, invite_graduate, live, width):
    name = {"360px": "Grace Mensah", "1280px": "Amal Haddad"}[width]
    email = name.lower().replace(" ", ".") + "@example.org"
    link = invite_graduate(email)
    tour = new_tour()
    graduate_joins(tour, link, name=name)

    person, membership = _member(live, email)
    assert membership.status == MembershipStatus.active
    assert person.languages == ["Arabic", "English", "Italian"]
    assert person.expertise == ["housing", "paperwork"]
    assert person.region == "Bologna"


def test_without_javascript_the_graduate_joins_the_same_way(new_tour, invite_graduate, live, width):
    """Reading and posting need no JavaScript. axe-core cannot run in a page without JavaScript; the server
    sends these pages the same HTML as to the test above, where axe checks them."""
    email = f"nojs-{width}@example.org"
    link = invite_graduate(email)
    tour = new_tour(javascript=False)
    graduate_joins(tour, link, name=f"Nadia Rahimi ({width})")

    person, membership = _member(live, email)
    assert membership.status == MembershipStatus.active
    assert person.display_name == f"Nadia Rahimi ({width})"
    assert person.region == "Bologna"


def test_coordinator_signs_in_by_mail_and_invites_someone(new_tour, outbox, coordinator, live, width):
    tour = new_tour()
    page = tour.page
    sign_in(tour, outbox, coordinator)

    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Test Network").click()
    tour.check("network")
    expect(page.get_by_role("heading", level=1)).to_have_text("Test Network")
    expect(page.get_by_role("navigation", name="Sections of Test Network")).to_be_visible()

    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Invite people").click()
    tour.check("invite")

    # An address that is not one: 422, the error tied to the field.
    page.get_by_label("E-mail address").fill("not an address")
    submit(tour, "Send invitation")
    tour.check("invite-error", status=422)
    expect(page.get_by_label("E-mail address")).to_have_attribute("aria-invalid", "true")

    invitee = f"olga-{width}@example.org"
    page.get_by_label("E-mail address").fill(invitee)
    page.get_by_label("Name (optional)").fill("Olga Office")
    page.get_by_label("Role").select_option(label="Network office")
    submit(tour, "Send invitation")
    tour.check("invite-sent")
    expect(page.get_by_role("status")).to_contain_text(f"The invitation to {invitee} is on its way.")

    link = outbox(invitee, "invitation", "/invitations/")
    assert link.startswith(live.base_url)
    with live.app.app_context():
        assert helpers.mails(to=invitee, kind="invitation")[-1].subject


_FOCUS = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(),
    id: el.id,
    classes: el.className,
    text: (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40),
    outlineStyle: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth) || 0,
    visible: box.width > 0 && box.height > 0 && box.bottom > 0 && box.top < innerHeight,
    // A link inside a sentence may be as tall as its line; every other control is a 44 px target.
    inText: el.tagName === 'A' && !!el.closest('main p, main li') && !el.classList.contains('button')
      && !el.closest('nav'),
    height: Math.round(box.height),
  };
}"""


def _fresh(page) -> None:
    """The page again as a new document: nothing focused, at the top. (blur() would keep Chromium's sequential
    focus starting point; a reload of .../#main would focus main.)"""
    page.goto(page.url.split("#")[0], wait_until="load")


def _tab_through(page, *, limit: int = 80) -> list[dict]:
    """Every Tab stop of the page from the top, until focus leaves the document or comes back around."""
    _fresh(page)
    stops: list[dict] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(_FOCUS)
        if stop["tag"] == "body" or (stops and stop == stops[0]):
            break
        stops.append(stop)
    return stops


def _assert_keyboard_friendly(page, name: str) -> None:
    _fresh(page)
    page.keyboard.press("Tab")
    first = page.evaluate(_FOCUS)
    assert "skip-link" in first["classes"], f"{name}: the first Tab stop is {first}, not the skip link"
    assert first["visible"] and first["outlineStyle"] != "none", (
        f"{name}: the focused skip link is hidden: {first}"
    )
    page.keyboard.press("Enter")
    after = page.evaluate(_FOCUS)
    assert after["tag"] == "main" and after["id"] == "main", f"{name}: the skip link moved focus to {after}"

    stops = _tab_through(page)
    assert stops[0] == first, f"{name}: the walk from the top did not start at the skip link: {stops[:2]}"
    kinds = {stop["tag"] for stop in stops}
    assert {"a"} <= kinds, f"{name}: no links among the Tab stops {stops}"
    hidden = [s for s in stops if s["outlineStyle"] == "none" or s["outlineWidth"] < 2 or not s["visible"]]
    assert not hidden, f"{name}: focus not visible on {hidden}"
    small = [s for s in stops if not s["inText"] and s["height"] < 44]
    assert not small, f"{name}: targets less than 44 px tall: {small}"


def test_keyboard_only_skip_link_first_and_focus_always_visible(new_tour, outbox, coordinator, width):
    tour = new_tour()
    page = tour.page
    page.goto("/")
    tour.check("landing")
    _assert_keyboard_friendly(page, "landing")

    # Through the sign-in journey with the keyboard alone: Tab to the field, type, Enter.
    page.goto("/sign-in")
    tour.check("sign-in")
    _assert_keyboard_friendly(page, "sign-in")
    page.get_by_label("Your e-mail address").focus()
    page.keyboard.type(coordinator)
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    tour.check("sign-in-sent")
    page.goto(outbox(coordinator, "sign_in", "/sign-in/"))
    tour.check("sign-in-confirm")
    page.get_by_role("button", name="Sign in", exact=True).focus()
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    tour.check("home")

    page.goto("/networks/test-net")
    tour.check("network")
    _assert_keyboard_friendly(page, "network")
    stops = _tab_through(page)
    assert any(s["tag"] == "summary" for s in stops), "the role forms' <summary> are not reachable by Tab"
    assert any(s["tag"] == "button" for s in stops), f"the sign-out button is not reachable by Tab: {stops}"
