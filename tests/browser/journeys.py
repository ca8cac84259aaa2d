"""Steps shared by the journeys: each ends on a loaded page that the Tour has checked."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.browser.support import Tour


def submit(tour: Tour, button_name: str) -> None:
    """Press a form's button and wait for the page the server answers with (no JavaScript involved)."""
    with tour.page.expect_navigation(wait_until="load"):
        tour.page.get_by_role("button", name=button_name, exact=True).click()


def sign_in(tour: Tour, outbox, email: str) -> None:
    """From the landing page to the start page, through the e-mailed sign-in link."""
    page = tour.page
    page.goto("/")
    tour.check("landing")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("main").get_by_role("link", name="Sign in").click()
    tour.check("sign-in")
    page.get_by_label("Your e-mail address").fill(email)
    submit(tour, "Send me a sign-in link")
    tour.check("sign-in-sent")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    page.goto(outbox(email, "sign_in", "/sign-in/"))
    tour.check("sign-in-confirm")
    submit(tour, "Sign in")
    tour.check("home")
    expect(page.get_by_role("status")).to_contain_text("You are signed in.")


def graduate_joins(tour: Tour, link: str, *, name: str) -> None:
    """Invitation link → agreement → a refused first try → accepted → profile completed and saved."""
    page = tour.page
    page.goto(link)
    tour.check("invitation")
    expect(page.get_by_role("heading", level=1)).to_have_text("Join Test Network")
    expect(page.get_by_role("region", name="Network agreement and communication rules")).to_be_visible()

    # Forgetting the box: the page comes back with the error next to the field and a summary on top.
    page.get_by_label("Name shown to other members").fill(name)
    submit(tour, "Accept and join")
    tour.check("invitation-error", status=422)
    expect(page.get_by_role("alert")).to_contain_text("Please correct the marked fields.")
    checkbox = page.get_by_label("I have read the agreement")
    expect(checkbox).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#accept_agreement-error")).to_contain_text("tick the box")
    # The summary links to the field; following the link puts the focus on it (no JavaScript involved).
    page.get_by_role("alert").get_by_role(
        "link", name="To join, tick the box to accept the agreement."
    ).click()
    expect(checkbox).to_be_focused()

    checkbox.check()
    submit(tour, "Accept and join")
    # (Chromium keeps the #fragment of the form's page across the redirect, as the URL standard says.)
    assert urlsplit(page.url).path == "/profile", page.url
    profile = tour.check("profile")
    # The redirect after the POST belongs to this page load and is weighed with it.
    assert [row["status"] for row in profile["responses"]][:2] == [302, 200], profile["responses"]
    expect(page.get_by_role("status")).to_contain_text("Welcome to Test Network")
    expect(page.get_by_label("Name shown to other members")).to_have_value(name)

    page.get_by_label("Languages you speak").fill("Arabic, English, Italian")
    page.get_by_label("Region or city").fill("Bologna")
    page.get_by_label("What you can help others with").fill("housing, paperwork")
    submit(tour, "Save profile")
    tour.check("profile-saved")
    expect(page.get_by_role("status")).to_contain_text("Your profile is saved.")
    expect(page.get_by_label("Languages you speak")).to_have_value("Arabic, English, Italian")
    expect(page.get_by_label("Region or city")).to_have_value("Bologna")
    expect(page.get_by_label("What you can help others with")).to_have_value("housing, paperwork")

    # The new member finds the network and is listed there with what they entered.
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("navigation", name="Main").get_by_role("link", name="My networks").click()
    tour.check("home-member")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Test Network").click()
    tour.check("network-member")
    card = page.get_by_role("listitem").filter(has_text=name)
    expect(card).to_contain_text("Arabic, English, Italian")
    expect(card).to_contain_text("Bologna")
