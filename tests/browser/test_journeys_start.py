"""The start of a network at 360 px and 1280 px: a person signs in, follows the guided start (organisation →
network → agreement → course → first invitations), opens the promotion kit, and the widget is framed by another
page."""

from __future__ import annotations

import contextlib
import http.server
import threading

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from network_service.accounts.models import Person
from network_service.db import session
from network_service.directory.operations import update_public_page
from network_service.networks.operations import get_network
from tests.browser import support
from tests.browser.journeys import sign_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_an_organisation_starts_a_network(new_tour, outbox, live, width):
    email = f"founder-{width}@example.org"
    slug = f"founders-{width}".replace("px", "")
    with live.app.test_request_context():
        if session.scalar(sa.select(Person.id).where(Person.email == email)) is None:
            session.add(Person(email=email, display_name="Fatima Founder"))
            session.commit()
    tour = new_tour()
    page = tour.page
    sign_in(tour, outbox, email)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Start a network for your organisation").click()
    tour.check("start")
    submit(tour, "Begin")
    tour.check("start-organisation")
    expect(page.get_by_text("Step 1 of 5")).to_be_visible()
    submit(tour, "Next")  # nothing entered: the step says what is missing
    tour.check("start-organisation-error", status=422)
    page.get_by_label("Or a new organisation: its name").fill(f"Neighbours {width}")
    page.get_by_label("Country (two letters, like DE)").fill("GR")
    submit(tour, "Next")
    tour.check("start-network")
    page.get_by_label("Name of the network").fill(f"Neighbours Network {width}")
    page.get_by_label("Address").fill(slug)
    page.get_by_label("Languages").fill("Greek, Arabic")
    submit(tour, "Next")
    tour.check("start-agreement")
    expect(page.get_by_label("Agreement and communication rules")).to_contain_text("personal data")
    submit(tour, "Publish and create the network")
    tour.check("start-course")
    page.get_by_label("Course key of your MOOC (optional)").fill(f"course-v1:Neighbours+M1+{width}")
    submit(tour, "Next")
    tour.check("start-invitations")
    expect(page.get_by_role("main")).to_contain_text(f"course-v1:Neighbours+M1+{width}")
    page.get_by_label("E-mail addresses of your first members").fill(f"first-{width}@example.org")
    submit(tour, "Send the invitations and finish")
    tour.check("network")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Neighbours Network {width}")

    with live.app.test_request_context():
        network = get_network(slug)
        founder = session.scalar(sa.select(Person).where(Person.email == email))
        update_public_page(network, founder, public=True, country="GR", how_to_join="Write to us.")
        session.commit()
    page.goto(f"/networks/{slug}/promote")
    tour.check("promote")
    expect(page.get_by_role("img", name=f"QR code of {live.base_url}/n/{slug}")).to_be_visible()

    # Another site frames the widget: it loads and shows the network's figures.
    page.goto(f"/n/{slug}/flyer")
    support.assert_no_axe_violations(page, "flyer")
    page.goto(f"/n/{slug}/widget")
    support.assert_no_axe_violations(page, "widget")
    partner_site = (
        '<!doctype html><html lang="en"><title>Partner site</title><main><h1>Partner</h1>'
        f'<iframe title="Widget" src="{live.base_url}/n/{slug}/widget"></iframe></main></html>'
    )
    # A page of another origin: a second server on 127.0.0.1 (another port). Its page request is let through
    # here; the guard still checks everything else.
    with partner_server(partner_site) as partner_url:
        page.route(partner_url, lambda route: route.continue_())
        page.goto(partner_url)
        frame = page.frame_locator("iframe")
        expect(frame.get_by_role("heading", level=1)).to_have_text(f"Neighbours Network {width}")
        expect(frame.get_by_text("Active members")).to_be_visible()


@contextlib.contextmanager
def partner_server(html: str):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/partner-site"
    finally:
        server.shutdown()
        server.server_close()
