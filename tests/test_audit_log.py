"""The audit log page /admin/audit and GET /api/v1/audit, as every role: site administrators read everything,
coordinators the entries of the networks they coordinate, everyone else nothing (docs/permissions.md)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.audit.models import AuditLog
from network_service.audit.operations import record
from network_service.db import session
from network_service.networks.models import Network
from tests.organise_helpers import PEOPLE, bearer_as, client_as, roles  # noqa: F401 - fixtures

ALLOWED = {"coordinator", "site_admin"}
REFUSED = set(PEOPLE) - ALLOWED - {"anonymous"}


@pytest.fixture
def entries(run, roles):  # noqa: F811
    """Marked entries: two in the test network (one old), one in the other network, one with no network."""

    def add():
        ours = session.get(Network, roles.network_id)
        other = session.scalar(sa.select(Network).where(Network.slug == roles.other_slug))
        coordinator = session.get(Person, roles.ids["coordinator"])
        old = record("test.ours_old", actor=coordinator, network=ours, marker="ours-old")
        old.at = dt.datetime(2020, 1, 15, 12, 0, tzinfo=dt.UTC)
        record("test.ours", actor=coordinator, network=ours, marker="ours")
        record("test.other", network=other, marker="other")
        record("test.global", marker="global")

    run(add)


def _markers(html: str) -> set[str]:
    return {marker for marker in ("ours-old", "ours", "other", "global") if f'"marker": "{marker}"' in html}


@pytest.mark.parametrize("label", sorted(PEOPLE))
def test_the_page_as_every_role(client_as, roles, entries, label):  # noqa: F811
    response = client_as(label).get("/admin/audit")
    if label == "anonymous":
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    elif label in REFUSED:
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        expected = {"ours-old", "ours"} | ({"other", "global"} if label == "site_admin" else set())
        assert _markers(html) == expected
        assert ('href="/admin/audit"' in html) == (
            label == "site_admin"
        )  # the header links site admins to it


@pytest.mark.parametrize("label", sorted(PEOPLE))
def test_the_api_as_every_role(app, bearer_as, roles, entries, label):  # noqa: F811
    response = app.test_client().get("/api/v1/audit?limit=200", headers=bearer_as(label))
    if label == "anonymous":
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
    elif label in REFUSED:
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        markers = {entry["detail"].get("marker") for entry in response.json["entries"]} - {None}
        expected = {"ours-old", "ours"} | ({"other", "global"} if label == "site_admin" else set())
        assert markers == expected


def test_a_coordinator_cannot_widen_the_scope_with_a_filter(client_as, roles, entries):  # noqa: F811
    html = client_as("coordinator").get(f"/admin/audit?network={roles.other_slug}").get_data(as_text=True)
    assert _markers(html) == set()
    assert f'value="{roles.other_slug}"' not in html  # not offered as a choice either


def test_filters(client_as, roles, entries):  # noqa: F811
    admin = client_as("site_admin")
    assert _markers(admin.get("/admin/audit?action=test.other").get_data(as_text=True)) == {"other"}
    assert _markers(admin.get(f"/admin/audit?network={roles.slug}").get_data(as_text=True)) >= {"ours"}
    by_actor = admin.get("/admin/audit?actor=COORD@example.org").get_data(as_text=True)
    assert _markers(by_actor) == {"ours", "ours-old"}
    by_id = admin.get(f"/admin/audit?actor={roles.ids['coordinator']}").get_data(as_text=True)
    assert _markers(by_id) == {"ours", "ours-old"}
    old = admin.get("/admin/audit?since=2020-01-01&until=2020-01-31").get_data(as_text=True)
    assert _markers(old) == {"ours-old"}
    recent = admin.get("/admin/audit?since=2021-01-01").get_data(as_text=True)
    assert _markers(recent) == {"ours", "other", "global"}
    # readable labels (gettext), the machine name beside them
    html = admin.get("/admin/audit?action=network.create").get_data(as_text=True)
    assert "Network created" in html and "<code>network.create</code>" in html


def test_bad_dates_are_a_field_error(client_as, entries):  # noqa: F811
    response = client_as("site_admin").get("/admin/audit?since=yesterday")
    assert response.status_code == 422
    assert 'aria-describedby="since-error"' in response.get_data(as_text=True)
    response = client_as("site_admin").get("/admin/audit?since=2021-02-01&until=2021-01-01")
    assert response.status_code == 422


def test_keyset_paging_visits_every_entry_once(app, run, bearer_as, entries):  # noqa: F811
    headers = bearer_as("site_admin")
    total = run(lambda: session.scalar(sa.select(sa.func.count(AuditLog.id))))
    client = app.test_client()
    seen: list[int] = []
    url = "/api/v1/audit?limit=3"
    while True:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.json
        page = response.json
        seen += [entry["id"] for entry in page["entries"]]
        if page["next_before"] is None:
            break
        url = f"/api/v1/audit?limit=3&before={page['next_before']}"
    assert len(seen) == len(set(seen)) == total
    assert seen == sorted(seen, reverse=True)


def test_the_page_pages_too(client_as, run, roles, entries):  # noqa: F811
    def many():
        for number in range(60):
            record("test.bulk", network=session.get(Network, roles.network_id), number=number)

    run(many)
    admin = client_as("site_admin")
    first = admin.get("/admin/audit?action=test.bulk").get_data(as_text=True)
    assert first.count('<li class="card">') == 50
    assert "Older entries" in first
    import re

    older = re.search(r'href="(/admin/audit\?[^"]*before=\d+[^"]*)"', first).group(1).replace("&amp;", "&")
    second = admin.get(older).get_data(as_text=True)
    assert second.count('<li class="card">') == 10
    assert "Back to the newest" in second and "Older entries" not in second


@pytest.mark.parametrize("label", sorted(PEOPLE))
def test_the_csv_export_as_every_role(client_as, roles, entries, label):  # noqa: F811
    response = client_as(label).get("/admin/audit.csv?action=")
    if label == "anonymous":
        assert response.status_code == 302
        return
    if label in REFUSED:
        assert response.status_code == 403
        return
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    markers = {row["detail"] for row in rows if "marker" in row["detail"]}
    assert any("ours" in marker for marker in markers)
    assert any('"other"' in marker for marker in markers) == (label == "site_admin")
    assert {row["label"] for row in rows if row["action"] == "network.create"} <= {"Network created"}


def test_csv_cells_cannot_become_formulas(client_as, run, entries):  # noqa: F811
    def evil():
        from network_service.accounts.operations import get_or_create_person

        person, _created = get_or_create_person("=cmd@example.org", display_name="x")
        record("test.evil", actor=person)

    run(evil)
    text = client_as("site_admin").get("/admin/audit.csv?action=test.evil").get_data(as_text=True)
    assert "'=cmd@example.org" in text


def test_only_site_admins_see_e_mail_addresses(client_as, roles, entries):  # noqa: F811
    """Coordinators see who acted by name, as the members page shows them; e-mail addresses stay with site
    administrators (docs/permissions.md)."""
    coordinator_page = client_as("coordinator").get("/admin/audit").get_data(as_text=True)
    assert "coord@example.org" not in coordinator_page and "Carla Coordinator" in coordinator_page
    assert "coord@example.org" in client_as("site_admin").get("/admin/audit").get_data(as_text=True)
    rows = list(
        csv.DictReader(io.StringIO(client_as("coordinator").get("/admin/audit.csv").get_data(as_text=True)))
    )
    assert rows and all(row["actor_email"] == "" for row in rows)
    assert "Carla Coordinator" in {row["actor_name"] for row in rows}
    admin_rows = csv.DictReader(
        io.StringIO(client_as("site_admin").get("/admin/audit.csv").get_data(as_text=True))
    )
    assert "coord@example.org" in {row["actor_email"] for row in admin_rows}


@pytest.mark.parametrize("label", ["novice", "office", "meta_mentor", "coordinator", "site_admin"])
def test_coordinators_find_it_in_their_networks_navigation(client_as, roles, entries, label):  # noqa: F811
    page = client_as(label).get(f"/networks/{roles.slug}").get_data(as_text=True)
    link = f'href="/admin/audit?slug={roles.slug}"'
    assert (link in page) == (label == "coordinator")
    if label == "coordinator":
        html = client_as(label).get(f"/admin/audit?slug={roles.slug}").get_data(as_text=True)
        assert _markers(html) == {"ours", "ours-old"}
        assert f'<option value="{roles.slug}" selected>' in html
