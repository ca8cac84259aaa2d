"""Insights: the numbers on a constructed dataset with a fixed clock, cohort maths, quiet members, nudges, CSV,
SVG, the cache, permissions of every endpoint for every role, and constant statement counts."""

from __future__ import annotations

import csv
import datetime as dt
import io
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.accounts.operations import get_or_create_person
from network_service.audit.models import AuditLog
from network_service.conversations.models import Channel, Message
from network_service.db import session, utcnow
from network_service.errors import Conflict, Forbidden
from network_service.help.models import HelpRequest, HelpResponse
from network_service.insights import charts, operations
from network_service.insights.models import InsightCache, InsightNudge
from network_service.networks.models import Level, Membership, MembershipStatus, Origin, Role
from network_service.networks.operations import create_network, create_organisation, get_network
from network_service.notifications.models import Notification
from tests.goals_roles import API, ROLES, act_as, bearer, build_cast, count_statements

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
SVG = "{http://www.w3.org/2000/svg}"


def at(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


def _member(network, email, name, joined, status=MembershipStatus.active, role=Role.mentor):
    person, _created = get_or_create_person(email, display_name=name)
    session.add(
        Membership(
            network=network,
            person=person,
            role=role,
            level=Level.novice,
            status=status,
            origin=Origin.invited,
            joined_at=joined,
        )
    )
    session.flush()
    return person


def build_stats():
    """A network whose numbers at NOW are worked out by hand in the tests below."""
    organisation = create_organisation("Stats Org", "IT")
    coordinator, _created = get_or_create_person("stats-coord@example.org", display_name="Sam Coordinator")
    network = create_network("stats-net", "Stats Network", organisation, coordinator=coordinator)
    a = _member(network, "a@example.org", "Anna", at(1, 10))
    b = _member(network, "b@example.org", "Bruno", at(1, 20))
    c = _member(network, "c@example.org", "Chiara", at(3, 5))
    d = _member(network, "d@example.org", "Dario", at(5, 1))
    e = _member(network, "e@example.org", "Elena", at(6, 1))
    _member(network, "f@example.org", "Fabio", at(1, 5), status=MembershipStatus.left)
    channel = Channel(network=network, slug="stats-talk", name="Talk")
    session.add(channel)
    session.flush()
    for when in (at(2, 15), at(4, 12), at(6, 10)):
        session.add(Message(channel_id=channel.id, author_id=a.id, body="hello", created_at=when))
    old = HelpRequest(
        network=network, author_id=b.id, topic="Housing", created_at=at(2, 25), first_response_at=at(5, 20)
    )
    answered = HelpRequest(
        network=network, author_id=a.id, topic="School", created_at=at(6, 1), first_response_at=at(6, 2)
    )
    unanswered = HelpRequest(network=network, author_id=a.id, topic="Papers", created_at=at(6, 5))
    session.add_all([old, answered, unanswered])
    session.flush()
    session.add_all(
        [
            HelpResponse(request_id=old.id, author_id=c.id, body="x", created_at=at(5, 20)),
            HelpResponse(request_id=answered.id, author_id=c.id, body="x", created_at=at(6, 2)),
        ]
    )
    e.last_sign_in_at = at(6, 14)
    session.flush()
    return {
        "network": network.slug,
        "coordinator": coordinator.id,
        **{p.display_name: p.id for p in (a, b, c, d, e)},
    }


@pytest.fixture
def stats(run, world):
    return run(build_stats)


def _as(person_id):
    return session.get(Person, person_id)


def test_numbers_on_a_constructed_dataset(run, stats):
    def compute():
        return operations.insights(get_network(stats["network"]), _as(stats["coordinator"]), now=NOW)

    data = run(compute)
    assert data["active"]["members"] == 6  # the coordinator and A..E; F left
    assert [(p["days"], p["active"]) for p in data["active"]["periods"]] == [(7, 2), (30, 3), (90, 3)]
    joined = {row["month"]: row["joined"] for row in data["new_members"]}
    assert len(data["new_members"]) == 12 and data["new_members"][-1]["month"] == "2026-06"
    assert data["new_members"][0]["month"] == "2025-07"
    assert joined == {**dict.fromkeys(joined, 0), "2026-01": 3, "2026-03": 1, "2026-05": 1, "2026-06": 1}
    help_ = data["help"]
    assert (help_["count"], help_["answered"]) == (2, 1)
    assert help_["median_hours_to_first_response"] == 24.0
    assert help_["answered_within_48h_share"] == 0.5
    edges = {(e["helper"], e["helped"], e["count"]) for e in data["helpers"]}
    assert edges == {("Chiara", "Bruno", 1), ("Chiara", "Anna", 1)}


def test_retention_by_cohort(run, stats):
    def compute():
        return operations.retention([get_network(stats["network"]).id], NOW)

    cohorts = {row["month"]: row for row in run(compute)}

    def marks(month):
        return [(m["months"], m["eligible"], m["retained"], m["share"]) for m in cohorts[month]["marks"]]

    # January: A active on day 36 and day 92, B on day 36, F never; nobody is 6 months + 30 days in yet.
    assert cohorts["2026-01"]["joined"] == 3
    assert marks("2026-01") == [(1, 3, 2, 0.6667), (3, 3, 1, 0.3333), (6, 0, 0, None)]
    # March: C's first activity is on day 76, outside the +1 window (days 30-59); +3 is not over yet.
    assert marks("2026-03") == [(1, 1, 0, 0.0), (3, 0, 0, None), (6, 0, 0, None)]
    assert marks("2026-05") == [(1, 0, 0, None), (3, 0, 0, None), (6, 0, 0, None)]
    assert cohorts["2025-12"]["joined"] == 0


def test_quiet_members_and_nudge_once_per_14_days(run, stats):
    def quiet(now=NOW):
        return operations.quiet_members(get_network(stats["network"]), _as(stats["coordinator"]), now=now)

    result = run(quiet)
    assert result["total"] == 2
    assert [(m["name"], m["last_active_at"]) for m in result["members"]] == [
        ("Bruno", at(2, 25)),
        ("Dario", None),
    ]
    assert all(m["can_nudge"] for m in result["members"])

    def nudge(now=NOW):
        return operations.nudge(
            get_network(stats["network"]), stats["Bruno"], actor=_as(stats["coordinator"]), now=now
        ).id

    run(nudge)
    with pytest.raises(Conflict):
        run(nudge, NOW + dt.timedelta(days=13))
    bruno = next(m for m in run(quiet)["members"] if m["name"] == "Bruno")
    assert bruno["nudged_at"] == NOW and not bruno["can_nudge"]
    run(nudge, NOW + dt.timedelta(days=15))

    def stored():
        nudges = session.scalar(sa.select(sa.func.count(InsightNudge.id)))
        notes = list(session.scalars(sa.select(Notification).where(Notification.kind == "insights.nudge")))
        audit = session.scalar(
            sa.select(sa.func.count(AuditLog.id)).where(AuditLog.action == "insights.nudge")
        )
        return nudges, [(n.person_id, n.params["network_name"]) for n in notes], audit

    nudges, notes, audit = run(stored)
    assert nudges == 2 and audit == 2
    assert notes == [(stats["Bruno"], "Stats Network")] * 2


def test_nudge_refuses_non_members_and_mentors(run, stats, cast):
    from network_service.errors import NotFound

    def nudge_as(actor_id, person_id):
        return operations.nudge(get_network(stats["network"]), person_id, actor=_as(actor_id))

    with pytest.raises(Forbidden):
        run(nudge_as, stats["Anna"], stats["Bruno"])
    with pytest.raises(NotFound):
        run(nudge_as, stats["coordinator"], cast.ids["novice"])  # a member of another network


def _backdate_novice(run, world, cast, days=60):
    def change():
        membership = session.scalar(
            sa.select(Membership).where(
                Membership.person_id == cast.ids["novice"], Membership.network_id == world.network_id
            )
        )
        membership.joined_at = utcnow() - dt.timedelta(days=days)

    run(change)


def test_page_shows_charts_with_tables_and_the_nudge_works(client, run, world, cast):
    _backdate_novice(run, world, cast)
    token = act_as(client, cast, "meta_mentor")
    page = client.get(f"/networks/{world.slug}/insights")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count("<figure>") >= 3 and html.count("<table>") >= 3
    assert "style=" not in html
    assert "Mina Mentor" in html  # never active since joining 60 days ago
    response = client.post(
        f"/networks/{world.slug}/insights/nudge", data={"csrf_token": token, "person_id": cast.ids["novice"]}
    )
    assert response.status_code == 303
    again = client.post(
        f"/networks/{world.slug}/insights/nudge", data={"csrf_token": token, "person_id": cast.ids["novice"]}
    )
    assert again.status_code == 303
    follow = client.get(f"/networks/{world.slug}/insights").get_data(as_text=True)
    assert "less than 14 days ago" in follow
    assert run(lambda: session.scalar(sa.select(sa.func.count(InsightNudge.id)))) == 1
    # without the CSRF token nothing is sent
    assert (
        client.post(
            f"/networks/{world.slug}/insights/nudge", data={"person_id": cast.ids["novice"]}
        ).status_code
        == 400
    )


def test_svg_charts_are_well_formed_with_a_title_and_escape_text():
    for svg in (
        charts.bar_chart("New <members>", "desc", ["2026-01", "2026-02"], [3, 0]),
        charts.hbar_chart("Funnel", "desc", ["passed", "invited"], [5, 2]),
        charts.heatmap("Retention", "desc", ["2026-01"], ["+1", "+3"], [[0.5, None]]),
        charts.network_graph(
            "Who helps whom",
            "desc",
            [{"helper_id": 1, "helper": "A & <b>", "helped_id": 2, "helped": "B", "count": 3}],
        ),
        charts.bar_chart("Empty", "desc", [], []),
    ):
        root = ET.fromstring(str(svg))  # noqa: S314 - our own output
        assert root.tag == f"{SVG}svg" and root.get("role") == "img"
        assert root.find(f"{SVG}title").text and root.find(f"{SVG}desc") is not None
        assert "style" not in str(svg)
    assert "A &amp; &lt;b&gt;" in str(
        charts.network_graph(
            "t", "d", [{"helper_id": 1, "helper": "A & <b>", "helped_id": 2, "helped": "B", "count": 1}]
        )
    )


def test_csv_exports(client, run, world, cast):
    _backdate_novice(run, world, cast)
    act_as(client, cast, "coordinator")
    response = client.get(f"/networks/{world.slug}/insights/new-members.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["month", "joined"] and len(rows) == 13
    assert (
        sum(int(r[1]) for r in rows[1:]) == 5
    )  # coordinator, Meta-Mentor, novice (backdated), experienced, office
    quiet = list(
        csv.reader(
            io.StringIO(client.get(f"/networks/{world.slug}/insights/quiet.csv").get_data(as_text=True))
        )
    )
    assert [r[0] for r in quiet[1:]] == ["Mina Mentor"]
    for dataset in operations.DATASETS:
        assert client.get(f"/networks/{world.slug}/insights/{dataset}.csv").status_code == 200
    assert client.get(f"/networks/{world.slug}/insights/secrets.csv").status_code == 404


def test_csv_neutralises_formulas():
    assert operations.to_csv([["=HYPERLINK(1)", 3, None]]) == "'=HYPERLINK(1),3,\r\n"


def test_cache_is_served_until_refresh(client, run, world, cast):
    token = act_as(client, cast, "coordinator")
    client.get(f"/networks/{world.slug}/insights")
    first = run(lambda: session.get(InsightCache, world.network_id).computed_at)
    client.get(f"/networks/{world.slug}/insights")
    assert run(lambda: session.get(InsightCache, world.network_id).computed_at) == first
    assert (
        client.post(f"/networks/{world.slug}/insights/refresh", data={"csrf_token": token}).status_code == 303
    )
    assert run(lambda: session.get(InsightCache, world.network_id).computed_at) > first

    def expire():
        row = session.get(InsightCache, world.network_id)
        row.computed_at = utcnow() - operations.CACHE_TTL - dt.timedelta(seconds=1)
        row.data = {**row.data, "active": {**row.data["active"], "members": 999}}

    run(expire)
    data = client.get(f"{API}/networks/{world.slug}/insights", headers=bearer(cast, "coordinator")).get_json()
    assert data["active"]["members"] == 5


LEADERS = {"meta_mentor", "coordinator", "admin"}


@pytest.mark.parametrize("label", list(ROLES))
def test_who_may_see_insights_and_nudge(client, run, world, cast, label):
    _backdate_novice(run, world, cast)
    allowed = label in LEADERS
    token = act_as(client, cast, label)
    page = client.get(f"/networks/{world.slug}/insights")
    csv_ = client.get(f"/networks/{world.slug}/insights/active.csv")
    if label == "anonymous":
        assert page.status_code == 302 and csv_.status_code == 302
    else:
        assert page.status_code == (200 if allowed else 403)
        assert csv_.status_code == (200 if allowed else 403)
        network_page = client.get(f"/networks/{world.slug}").get_data(as_text=True)
        assert (f"/networks/{world.slug}/insights" in network_page) == allowed or label == "outsider"
    if token:
        refresh = client.post(f"/networks/{world.slug}/insights/refresh", data={"csrf_token": token})
        assert refresh.status_code == (303 if allowed else 403)
    api = client.get(f"{API}/networks/{world.slug}/insights", headers=bearer(cast, label))
    quiet = client.get(f"{API}/networks/{world.slug}/insights/quiet", headers=bearer(cast, label))
    nudge = client.post(
        f"{API}/networks/{world.slug}/insights/nudges",
        json={"person_id": cast.ids["novice"]},
        headers=bearer(cast, label),
    )
    expected = 401 if label == "anonymous" else 200 if allowed else 403
    assert api.status_code == expected and quiet.status_code == expected
    assert nudge.status_code == (201 if allowed else 401 if label == "anonymous" else 403)
    sent = run(lambda: session.scalar(sa.select(sa.func.count(InsightNudge.id))))
    assert sent == (1 if allowed else 0)
    if allowed:
        assert [m["name"] for m in quiet.get_json()["members"]] == ["Mina Mentor"]


def test_api_nudge_validation(client, run, world, cast):
    _backdate_novice(run, world, cast)
    headers = bearer(cast, "coordinator")
    url = f"{API}/networks/{world.slug}/insights/nudges"
    assert client.post(url, json={"person_id": "x"}, headers=headers).status_code == 422
    assert client.post(url, json={}, headers=headers).status_code == 422
    assert client.post(url, json={"person_id": cast.ids["outsider"]}, headers=headers).status_code == 404
    assert client.post(url, json={"person_id": cast.ids["coordinator"]}, headers=headers).status_code == 422
    assert client.post(url, json={"person_id": cast.ids["novice"]}, headers=headers).status_code == 201
    second = client.post(url, json={"person_id": cast.ids["novice"]}, headers=headers)
    assert second.status_code == 409 and second.mimetype == "application/problem+json"


def _grow(network_id: int, start: int, count: int) -> None:
    from network_service.networks.models import Network

    network = session.get(Network, network_id)
    channel = session.scalar(sa.select(Channel).where(Channel.network_id == network_id))
    if channel is None:
        channel = Channel(network=network, slug="grow", name="Grow")
        session.add(channel)
        session.flush()
    for i in range(start, start + count):
        person = _member(
            network, f"grow{i}@example.org", f"Grow {i}", utcnow() - dt.timedelta(days=40 + i % 200)
        )
        if i % 3 == 0:
            session.add(
                Message(
                    channel_id=channel.id,
                    author_id=person.id,
                    body="hi",
                    created_at=utcnow() - dt.timedelta(days=i % 90),
                )
            )
        if i % 4 == 0:
            request = HelpRequest(
                network=network,
                author_id=person.id,
                topic="t",
                created_at=utcnow() - dt.timedelta(days=i % 60),
            )
            session.add(request)
    session.flush()


def test_statement_count_is_constant(app, client, run, world, cast):
    act_as(client, cast, "coordinator")
    url = f"/networks/{world.slug}/insights"

    def measure():
        run(lambda: operations.forget(get_network(world.slug)))
        with count_statements(app) as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    run(_grow, world.network_id, 0, 10)
    small = measure()
    run(_grow, world.network_id, 10, 40)
    assert measure() == small


def test_demo_gives_every_chart_data(run, world):
    from network_service.insights.demo import seed_demo

    def seed():
        network = get_network(world.slug)
        people = {
            "Coordinator": session.get(Person, world.coordinator_id),
            "Meta-Mentor": session.get(Person, world.meta_mentor_id),
            "Novice mentor": session.get(Person, world.mentor_id),
            "Experienced mentor": session.get(Person, world.meta_mentor_id),
        }
        seed_demo(network, people)

    run(seed)
    data = run(
        lambda: operations.insights(get_network(world.slug), session.get(Person, world.coordinator_id))
    )
    assert sum(row["joined"] for row in data["new_members"]) >= 5
    assert any(m["eligible"] for row in data["retention"] for m in row["marks"])
    assert data["helpers"] and data["active"]["periods"][1]["active"] >= 2
    quiet = run(
        lambda: operations.quiet_members(get_network(world.slug), session.get(Person, world.coordinator_id))
    )
    assert {"Tomasz Nowak", "Karim Benali"} <= {m["name"] for m in quiet["members"]}


def test_retention_and_help_sections_come_with_their_data_and_csv(client, run, world, cast):
    """The sections a network's insights share with a federation's dashboard (one partial) are all there."""
    act_as(client, cast, "meta_mentor")
    html = client.get(f"/networks/{world.slug}/insights").get_data(as_text=True)
    for dataset in ("retention", "help"):
        assert f"/insights/{dataset}.csv" in html
    assert 'id="h-retention"' in html and 'id="h-help"' in html
    assert "Median time to first answer" in html
