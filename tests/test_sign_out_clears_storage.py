"""Signing out empties what the tab kept in the browser's storage (``Clear-Site-Data: "storage"``): a draft typed on
the new direct message page (static/js/draft.js) must not wait there for the next person on a shared phone or an
office computer. The browser's side is tests/browser/test_draft_sign_out.py."""

from __future__ import annotations

import pytest

from tests.helpers import csrf_from, sign_in_as

MENTOR = "mentor@example.org"
CLEAR = '"storage"'


def _signed_in(app, run):
    client = app.test_client()
    sign_in_as(client, run, MENTOR)
    return client


def _csrf(client, path: str = "/profile/sessions") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/sign-out", {}),
        ("/profile/sessions/sign-out-all", {}),
        ("/profile/erase", {"confirm": MENTOR}),
    ],
)
def test_every_way_of_signing_out_here_clears_the_browsers_storage(app, run, world, path, form):
    client = _signed_in(app, run)
    token = _csrf(client, "/profile/erase" if path == "/profile/erase" else "/profile/sessions")
    response = client.post(path, data={"csrf_token": token, **form})
    assert response.status_code == 302
    assert response.headers.get("Clear-Site-Data") == CLEAR
    # only storage: "cookies" would clear every cookie of the registrable domain, other sites' too
    assert "cookies" not in response.headers.get("Clear-Site-Data")


def test_signing_out_this_device_from_the_devices_list_clears_its_storage(app, run, world):
    client = _signed_in(app, run)
    with client.session_transaction() as flask_session:
        sid = flask_session["sid"]
    response = client.post(f"/profile/sessions/{sid}/sign-out", data={"csrf_token": _csrf(client)})
    assert response.status_code == 302
    assert response.headers.get("Clear-Site-Data") == CLEAR


def test_a_session_ended_elsewhere_clears_the_storage_at_its_next_request(app, run, world):
    phone = _signed_in(app, run)
    laptop = _signed_in(app, run)
    laptop.post("/profile/sessions/sign-out-others", data={"csrf_token": _csrf(laptop)})
    response = phone.get("/")
    assert response.status_code == 200
    assert response.headers.get("Clear-Site-Data") == CLEAR
    # once: it is signed out now, nothing more to clear
    assert "Clear-Site-Data" not in phone.get("/").headers


def test_pages_of_a_signed_in_member_leave_the_storage_alone(app, run, world):
    client = _signed_in(app, run)
    for path in ("/", "/profile", "/profile/sessions", "/networks/test-net"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Clear-Site-Data" not in response.headers, path
    token = _csrf(client)
    response = client.post("/profile/sessions/sign-out-others", data={"csrf_token": token})
    assert response.status_code == 302 and "Clear-Site-Data" not in response.headers  # still signed in here
