"""Network goals: pages, API, progress, notifications, permissions of every endpoint, statement counts."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from network_service.db import session
from network_service.goals import operations
from network_service.goals.models import Goal, GoalStatus, GoalUpdate
from network_service.networks.operations import get_network
from network_service.notifications.models import Notification
from tests.goals_roles import API, ROLES, act_as, bearer, build_cast, count_statements


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


def make_goal(
    run, world, cast, *, owner="novice", title="Train ten new mentors", target=10, due=None, by="coordinator"
):
    def create():
        from network_service.accounts.models import Person

        return operations.create_goal(
            get_network(world.slug),
            actor=session.get(Person, cast.ids[by]),
            title=title,
            target_value=target,
            unit="mentors trained",
            owner_id=cast.ids[owner],
            description="We want **more** mentors.",
            due_date=due,
        ).id

    return run(create)


def goal_row(run, goal_id) -> Goal:
    return run(lambda: session.get(Goal, goal_id))


def notifications(run, person_id, kind):
    return run(
        lambda: list(
            session.scalars(
                sa.select(Notification).where(Notification.person_id == person_id, Notification.kind == kind)
            )
        )
    )


# -- behaviour through the pages ----------------------------------------------------------------------------


def test_coordinator_sets_a_goal_and_the_owner_is_told(client, run, world, cast):
    token = act_as(client, cast, "coordinator")
    form = client.get(f"/networks/{world.slug}/goals/new")
    assert form.status_code == 200
    assert "Responsible member" in form.get_data(as_text=True)
    response = client.post(
        f"/networks/{world.slug}/goals/new",
        data={
            "csrf_token": token,
            "title": "Train ten new mentors",
            "target_value": "10",
            "unit": "mentors trained",
            "owner_id": str(cast.ids["novice"]),
            "due_date": "2030-06-30",
            "description": "Why: *more* help for newcomers",
        },
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Train ten new mentors" in page
    assert "0 of 10 mentors trained (0%)" in page
    assert '<progress class="goal-progress" max="10" value="0"' in page
    assert "<em>more</em>" in page
    assert '<time datetime="2030-06-30">' in page
    [note] = notifications(run, cast.ids["novice"], "goals.assigned")
    assert note.params == {"goal": "Train ten new mentors"}
    assert note.url == response.headers["Location"]


def test_goal_list_shows_progress_as_text_and_progress_element(client, run, world, cast):
    goal_id = make_goal(run, world, cast, target=4)
    run(lambda: operations.post_update(session.get(Goal, goal_id), actor=_person(cast, "novice"), value=1))
    act_as(client, cast, "novice")
    page = client.get(f"/networks/{world.slug}/goals").get_data(as_text=True)
    assert "1 of 4 mentors trained (25%)" in page
    assert f'aria-labelledby="goal-{goal_id}-progress-text"' in page
    assert 'aria-current="page">Goals</a>' in page


def _person(cast, label):
    from network_service.accounts.models import Person

    return session.get(Person, cast.ids[label])


def test_owner_reports_progress_and_reaching_the_target_achieves_the_goal(client, run, world, cast):
    goal_id = make_goal(run, world, cast, target=3)
    token = act_as(client, cast, "novice")
    url = f"/networks/{world.slug}/goals/{goal_id}"
    response = client.post(
        f"{url}/updates", data={"csrf_token": token, "value": "2", "note": "Two in the spring"}
    )
    assert response.status_code == 303
    assert goal_row(run, goal_id).current_value == 2
    response = client.post(f"{url}/updates", data={"csrf_token": token, "value": "3", "note": ""})
    assert response.status_code == 303
    goal = goal_row(run, goal_id)
    assert goal.status == GoalStatus.achieved and goal.current_value == 3
    page = client.get(url).get_data(as_text=True)
    assert "3 of 3 mentors trained (100%)" in page
    assert "Two in the spring" in page
    assert "Achieved" in page
    # the creator hears of it; the owner did it and is not told about their own act
    assert len(notifications(run, cast.ids["coordinator"], "goals.achieved")) == 1
    assert notifications(run, cast.ids["novice"], "goals.achieved") == []


def test_invalid_goal_form_is_422_with_errors_next_to_fields_and_saves_nothing(client, run, world, cast):
    token = act_as(client, cast, "meta_mentor")
    response = client.post(
        f"/networks/{world.slug}/goals/new",
        data={
            "csrf_token": token,
            "title": "",
            "target_value": "0",
            "unit": "",
            "owner_id": str(cast.ids["novice"]),
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Please correct the marked fields." in page
    assert 'id="title-error"' in page and 'id="target_value-error"' in page and 'id="unit-error"' in page
    assert run(lambda: session.scalar(sa.select(sa.func.count(Goal.id)))) == 0


def test_owner_must_be_an_active_member(client, run, world, cast):
    with pytest.raises(Exception) as caught:
        make_goal(run, world, cast, owner="outsider")
    assert "active member" in str(caught.value)
    token = act_as(client, cast, "coordinator")
    response = client.post(
        f"/networks/{world.slug}/goals/new",
        data={
            "csrf_token": token,
            "title": "X",
            "target_value": "3",
            "unit": "meetings",
            "owner_id": str(cast.ids["outsider"]),
        },
    )
    assert response.status_code == 422  # not among the choices


def test_script_in_markdown_is_neutralised(client, run, world, cast):
    goal_id = make_goal(run, world, cast)
    run(
        lambda: operations.post_update(
            session.get(Goal, goal_id),
            actor=_person(cast, "coordinator"),
            value=1,
            note='`<script>alert(1)</script>` [x](javascript:alert(2)) `<img src=x onerror="alert(3)">`',
        )
    )
    act_as(client, cast, "novice")
    page = client.get(f"/networks/{world.slug}/goals/{goal_id}").get_data(as_text=True)
    assert "<script>alert" not in page
    assert 'href="javascript' not in page
    assert "<img" not in page
    assert "&lt;script&gt;" in page


def test_overdue_goal_is_marked_in_words(client, run, world, cast):
    make_goal(run, world, cast, title="Late goal", due=dt.date.today() - dt.timedelta(days=3))
    make_goal(run, world, cast, title="Future goal", due=dt.date.today() + dt.timedelta(days=30))
    act_as(client, cast, "novice")
    page = client.get(f"/networks/{world.slug}/goals").get_data(as_text=True)
    assert page.count("Overdue:") == 1
    late = page.index("Late goal")
    future = page.index("Future goal")
    overdue = page.index("Overdue:")
    assert min(late, future) < overdue  # below one of them ...
    assert ("Overdue:" in page[late:future]) if late < future else ("Overdue:" in page[late:])


def test_editing_changes_owner_and_tells_the_new_owner(client, run, world, cast):
    goal_id = make_goal(run, world, cast)
    token = act_as(client, cast, "meta_mentor")
    edit = client.get(f"/networks/{world.slug}/goals/{goal_id}/edit").get_data(as_text=True)
    assert 'value="Train ten new mentors"' in edit
    response = client.post(
        f"/networks/{world.slug}/goals/{goal_id}/edit",
        data={
            "csrf_token": token,
            "title": "Train twelve new mentors",
            "target_value": "12",
            "unit": "mentors trained",
            "owner_id": str(cast.ids["experienced"]),
            "due_date": "",
            "status": "open",
            "description": "",
        },
    )
    assert response.status_code == 303
    goal = goal_row(run, goal_id)
    assert (goal.title, goal.target_value, goal.owner_id) == (
        "Train twelve new mentors",
        12,
        cast.ids["experienced"],
    )
    assert len(notifications(run, cast.ids["experienced"], "goals.assigned")) == 1


def test_dropped_goal_takes_no_more_progress(client, run, world, cast):
    goal_id = make_goal(run, world, cast)
    token = act_as(client, cast, "coordinator")
    assert (
        client.post(f"/networks/{world.slug}/goals/{goal_id}/drop", data={"csrf_token": token}).status_code
        == 303
    )
    assert goal_row(run, goal_id).status == GoalStatus.dropped
    response = client.post(
        f"/networks/{world.slug}/goals/{goal_id}/updates", data={"csrf_token": token, "value": "1"}
    )
    assert response.status_code == 409
    assert run(lambda: session.scalar(sa.select(sa.func.count(GoalUpdate.id)))) == 0
    assert "Dropped (1)" in client.get(f"/networks/{world.slug}/goals").get_data(as_text=True)
    dropped = client.get(f"/networks/{world.slug}/goals?status=dropped").get_data(as_text=True)
    assert "Train ten new mentors" in dropped


def test_negative_progress_is_422(client, run, world, cast):
    goal_id = make_goal(run, world, cast)
    token = act_as(client, cast, "novice")
    response = client.post(
        f"/networks/{world.slug}/goals/{goal_id}/updates", data={"csrf_token": token, "value": "-1"}
    )
    assert response.status_code == 422
    assert 'id="value-error"' in response.get_data(as_text=True)


def test_goal_of_another_network_is_404(client, run, world, cast):
    goal_id = make_goal(run, world, cast)
    act_as(client, cast, "outsider")
    assert client.get(f"/networks/other-net/goals/{goal_id}").status_code == 404


# -- permissions of every page ------------------------------------------------------------------------------

VIEW = {"novice", "experienced", "office", "meta_mentor", "coordinator", "admin"}
MANAGE = {"meta_mentor", "coordinator", "admin"}
UPDATE = MANAGE | {"novice"}  # the owner is the novice mentor


@pytest.mark.parametrize("label", ROLES)
def test_page_permissions_for_every_role(client, run, world, cast, label):
    goal_id = make_goal(run, world, cast)
    token = act_as(client, cast, label)
    base = f"/networks/{world.slug}/goals"

    def expect(response, allowed: bool, ok: int):
        if label == "anonymous" and response.request.method == "GET":
            assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
        elif label == "anonymous":  # no session, so no CSRF token: refused before anything else
            assert response.status_code == 400
        else:
            assert response.status_code == (ok if allowed else 403), (label, response.request.path)

    expect(client.get(base), label in VIEW, 200)
    expect(client.get(f"{base}/{goal_id}"), label in VIEW, 200)
    expect(client.get(f"{base}/new"), label in MANAGE, 200)
    expect(client.get(f"{base}/{goal_id}/edit"), label in MANAGE, 200)
    data = {"csrf_token": token or "", "value": "1", "note": ""}
    expect(client.post(f"{base}/{goal_id}/updates", data=data), label in UPDATE, 303)
    new = {
        "csrf_token": token or "",
        "title": "G",
        "target_value": "2",
        "unit": "meetings",
        "owner_id": str(cast.ids["novice"]),
    }
    expect(client.post(f"{base}/new", data=new), label in MANAGE, 303)
    expect(client.post(f"{base}/{goal_id}/drop", data={"csrf_token": token or ""}), label in MANAGE, 303)
    changed = run(lambda: session.scalar(sa.select(sa.func.count(GoalUpdate.id))))
    assert changed == (1 if label in UPDATE else 0)
    assert goal_row(run, goal_id).status == (GoalStatus.dropped if label in MANAGE else GoalStatus.open)
    if label in VIEW:
        page = client.get(f"{base}/{goal_id}").get_data(as_text=True)
        # leaders have dropped the goal by now, so only the owner still sees the progress form
        assert ("Report progress" in page) == (label in UPDATE - MANAGE)
        assert ("Edit goal" in page) == (label in MANAGE)


def test_owner_who_left_can_no_longer_report(client, run, world, cast):
    from network_service.networks.models import Membership, MembershipStatus

    goal_id = make_goal(run, world, cast)

    def leave():
        membership = session.scalar(sa.select(Membership).where(Membership.person_id == cast.ids["novice"]))
        membership.status = MembershipStatus.left

    run(leave)
    token = act_as(client, cast, "novice")
    assert (
        client.post(
            f"/networks/{world.slug}/goals/{goal_id}/updates", data={"csrf_token": token, "value": "1"}
        ).status_code
        == 403
    )


# -- API ----------------------------------------------------------------------------------------------------


def test_api_goal_lifecycle(client, run, world, cast):
    headers = bearer(cast, "coordinator")
    response = client.post(
        f"{API}/networks/{world.slug}/goals",
        json={
            "title": "Hold monthly meetings",
            "target_value": 12,
            "unit": "meetings",
            "owner_id": cast.ids["office"],
            "due_date": "2031-12-31",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    goal = response.get_json()
    assert goal["percent"] == 0 and goal["status"] == "open" and goal["owner"]["id"] == cast.ids["office"]
    url = f"{API}/networks/{world.slug}/goals/{goal['id']}"
    update = client.post(
        f"{url}/updates", json={"value": 6, "note": "Half way"}, headers=bearer(cast, "office")
    )
    assert update.status_code == 201
    assert client.get(url, headers=bearer(cast, "novice")).get_json()["percent"] == 50
    updates = client.get(f"{url}/updates", headers=bearer(cast, "novice")).get_json()
    assert [u["value"] for u in updates["items"]] == [6] and updates["next_cursor"] is None
    patched = client.patch(url, json={"target_value": 24}, headers=headers)
    assert patched.get_json()["percent"] == 25
    listing = client.get(f"{API}/networks/{world.slug}/goals", headers=bearer(cast, "experienced")).get_json()
    assert [g["id"] for g in listing["items"]] == [goal["id"]] and listing["next_cursor"] is None
    dropped = client.delete(url, headers=headers)
    assert dropped.status_code == 200 and dropped.get_json()["status"] == "dropped"
    assert (
        client.get(f"{API}/networks/{world.slug}/goals?status=open", headers=headers).get_json()["items"]
        == []
    )
    reopened = client.patch(url, json={"status": "open"}, headers=headers)
    assert reopened.get_json()["status"] == "open"


def test_api_rejects_bad_input(client, run, world, cast):
    headers = bearer(cast, "coordinator")
    base = f"{API}/networks/{world.slug}/goals"
    for body, field in (
        ({"title": "x", "target_value": 0, "unit": "m", "owner_id": cast.ids["novice"]}, "target_value"),
        ({"title": "x", "target_value": "5", "unit": "m", "owner_id": cast.ids["novice"]}, "target_value"),
        ({"title": "x", "target_value": 5, "unit": "m", "owner_id": cast.ids["outsider"]}, "owner_id"),
        ({"title": "x" * 201, "target_value": 5, "unit": "m", "owner_id": cast.ids["novice"]}, "title"),
        (
            {
                "title": "x",
                "target_value": 5,
                "unit": "m",
                "owner_id": cast.ids["novice"],
                "description": "y" * 20_001,
            },
            "description",
        ),
    ):
        response = client.post(base, json=body, headers=headers)
        assert response.status_code == 422, body
        assert field in response.get_json()["errors"], response.get_json()
    assert run(lambda: session.scalar(sa.select(sa.func.count(Goal.id)))) == 0


@pytest.mark.parametrize("label", ROLES)
def test_api_permissions_for_every_role(client, run, world, cast, label):
    goal_id = make_goal(run, world, cast)
    headers = bearer(cast, label)
    base = f"{API}/networks/{world.slug}/goals"

    def expect(response, allowed: bool, ok: int):
        if label == "anonymous":
            assert response.status_code == 401
        else:
            assert response.status_code == (ok if allowed else 403), (label, response.get_data(as_text=True))

    expect(client.get(base, headers=headers), label in VIEW, 200)
    expect(client.get(f"{base}/{goal_id}", headers=headers), label in VIEW, 200)
    expect(client.get(f"{base}/{goal_id}/updates", headers=headers), label in VIEW, 200)
    expect(client.get(f"{API}/networks/{world.slug}/roadmap", headers=headers), label in VIEW, 200)
    expect(client.post(f"{base}/{goal_id}/updates", json={"value": 1}, headers=headers), label in UPDATE, 201)
    expect(client.patch(f"{base}/{goal_id}", json={"unit": "mentors"}, headers=headers), label in MANAGE, 200)
    new = {"title": "G", "target_value": 2, "unit": "meetings", "owner_id": cast.ids["novice"]}
    expect(client.post(base, json=new, headers=headers), label in MANAGE, 201)
    expect(client.delete(f"{base}/{goal_id}", headers=headers), label in MANAGE, 200)


# -- paging the progress updates ---------------------------------------------------------------------------


def _add_updates(run, goal_id, cast, count) -> list[int]:
    """``count`` progress updates (values 1, 2, ...), written straight to the table; their ids, oldest first."""

    def add():
        updates = [
            GoalUpdate(goal_id=goal_id, author_id=cast.ids["novice"], value=i + 1, note=f"Step {i + 1}.")
            for i in range(count)
        ]
        session.add_all(updates)
        session.flush()
        return [update.id for update in updates]

    return run(add)


def test_older_progress_updates_are_a_link_away(client, run, world, cast):
    goal_id = make_goal(run, world, cast, target=1000)
    ids = _add_updates(run, goal_id, cast, operations.UPDATES_SHOWN + 3)
    act_as(client, cast, "novice")
    url = f"/networks/{world.slug}/goals/{goal_id}"
    first = client.get(url).get_data(as_text=True)
    assert first.count('<li class="goal-update">') == operations.UPDATES_SHOWN
    assert "Step 53." in first and "Step 4." in first and "Step 3." not in first
    assert f'start="{operations.UPDATES_SHOWN + 3}"' in first  # numbered from the first report ever
    older = f"{url}?before={ids[3]}#progress-reports"
    assert f'href="{older}">Older progress reports</a>' in first and "Newest progress reports" not in first
    second = client.get(older.split("#")[0]).get_data(as_text=True)
    assert second.count('<li class="goal-update">') == 3
    assert "Step 3." in second and "Step 1." in second and "Step 4." not in second
    assert 'start="3"' in second
    assert "Older progress reports" not in second
    assert f'href="{url}#progress-reports">Newest progress reports</a>' in second
    # past the oldest, or a cursor that is no number: a page saying so, or the newest page
    beyond = client.get(f"{url}?before={ids[0]}")
    assert beyond.status_code == 200 and "There are no older progress reports." in beyond.get_data(
        as_text=True
    )
    assert client.get(f"{url}?before=abc").get_data(as_text=True).count('<li class="goal-update">') == 50


def test_api_pages_the_progress_updates(client, run, world, cast):
    goal_id = make_goal(run, world, cast, target=1000)
    ids = _add_updates(run, goal_id, cast, operations.UPDATES_SHOWN + 3)
    url = f"{API}/networks/{world.slug}/goals/{goal_id}/updates"
    headers = bearer(cast, "novice")
    first = client.get(url, headers=headers).get_json()
    assert [u["id"] for u in first["items"]] == ids[::-1][: operations.UPDATES_SHOWN]
    assert first["next_cursor"] == ids[3]
    second = client.get(f"{url}?before={first['next_cursor']}", headers=headers).get_json()
    assert [u["id"] for u in second["items"]] == [ids[2], ids[1], ids[0]] and second["next_cursor"] is None
    assert client.get(f"{url}?before=abc", headers=headers).status_code == 422
    assert client.get(f"{url}?before={2**40}", headers=headers).status_code == 422


# -- statement counts ---------------------------------------------------------------------------------------


def _add_goals(run, world, cast, count):
    def add():
        network = get_network(world.slug)
        owners = [cast.ids[label] for label in ("novice", "experienced", "office")]
        for i in range(count):
            session.add(
                Goal(
                    network=network,
                    title=f"Goal {i}",
                    target_value=5,
                    unit="meetings",
                    current_value=i % 5,
                    owner_id=owners[i % 3],
                    created_by_id=cast.ids["coordinator"],
                )  # fmt: skip
            )
        session.flush()

    run(add)


def test_goal_list_runs_a_fixed_number_of_statements(app, client, run, world, cast):
    act_as(client, cast, "novice")
    _add_goals(run, world, cast, 3)
    client.get(f"/networks/{world.slug}/goals")  # warm up
    with count_statements(app) as small:
        assert client.get(f"/networks/{world.slug}/goals").status_code == 200
    _add_goals(run, world, cast, 12)
    with count_statements(app) as large:
        page = client.get(f"/networks/{world.slug}/goals").get_data(as_text=True)
    assert page.count('class="card goal"') == 15
    assert len(small) == len(large), (small, large)


def test_demo_seeds_goals_with_progress(client, run, world, cast):
    from network_service.accounts.models import Person
    from network_service.goals.demo import seed_demo

    def seed():
        labels = {"Coordinator": "coordinator", "Meta-Mentor": "meta_mentor", "Network office": "office",
                  "Experienced mentor": "experienced"}  # fmt: skip
        seed_demo(get_network(world.slug), {k: session.get(Person, cast.ids[v]) for k, v in labels.items()})

    run(seed)
    goals = run(lambda: list(session.scalars(sa.select(Goal).order_by(Goal.id))))
    assert [g.status for g in goals] == [GoalStatus.open, GoalStatus.achieved]
    assert run(lambda: session.scalar(sa.select(sa.func.count(GoalUpdate.id)))) == 4
    act_as(client, cast, "novice")
    assert "5 of 8 new mentors active (62%)" in client.get(f"/networks/{world.slug}/goals").get_data(
        as_text=True
    )
