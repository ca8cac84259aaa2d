"""The roadmap page: the strategy's four phases, checkpoints computed from data, registered by any module."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.accounts.operations import get_or_create_person
from network_service.courses.models import CourseLink
from network_service.db import session, utcnow
from network_service.goals import operations as goal_operations
from network_service.goals.roadmap import roadmap_for
from network_service.networks import roadmap
from network_service.networks.models import (
    Agreement,
    AgreementAcceptance,
    Membership,
    MembershipStatus,
    Origin,
)
from network_service.networks.operations import (
    accept_agreement,
    current_agreement,
    get_network,
    publish_agreement,
)
from tests.goals_roles import API, ROLES, act_as, bearer, build_cast, count_statements
from tests.helpers import add_member


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


def states(run, world) -> dict[str, bool]:
    def compute():
        admin = session.scalar(sa.select(Person).where(Person.email == "admin@example.org"))
        return {
            c.key: c.reached
            for phase in roadmap_for(get_network(world.slug), admin)
            for c in phase.checkpoints
        }

    return run(compute)


def current_phase(run, world) -> str | None:
    def compute():
        admin = session.scalar(sa.select(Person).where(Person.email == "admin@example.org"))
        return next((p.phase.value for p in roadmap_for(get_network(world.slug), admin) if p.current), None)

    return run(compute)


def _graduate(world, status: MembershipStatus, email="grad@example.org"):
    person, _created = get_or_create_person(email)
    session.add(
        Membership(
            network=get_network(world.slug),
            person=person,
            status=status,
            origin=Origin.graduate,
            joined_at=utcnow() if status == MembershipStatus.active else None,
        )  # fmt: skip
    )
    session.flush()


def test_initiate_checkpoints_follow_course_and_graduates(run, world, cast):
    reached = states(run, world)
    assert reached["core.course_linked"] is True  # the world links a course
    assert reached["core.graduates_invited"] is False and reached["core.graduates_joined"] is False
    assert current_phase(run, world) == "initiate"
    run(_graduate, world, MembershipStatus.invited)
    reached = states(run, world)
    assert reached["core.graduates_invited"] is True and reached["core.graduates_joined"] is False
    run(_graduate, world, MembershipStatus.active, "grad2@example.org")
    assert states(run, world)["core.graduates_joined"] is True
    assert current_phase(run, world) == "organise"


def test_course_linked_is_open_without_a_course(run, world, cast):
    run(lambda: session.execute(sa.delete(CourseLink)))
    assert states(run, world)["core.course_linked"] is False


def test_organise_checkpoints(run, world, cast):
    reached = states(run, world)
    assert reached["core.meta_mentor"] is True  # the world has one
    assert reached["core.office"] is True  # the cast adds an office member
    assert reached["core.rules_revised"] is False  # only the default agreement
    assert reached["core.agreement_accepted"] is True  # the founding coordinator accepted with the network

    def coordinator_withdraws():  # 4 of 5 active members is 80%, under the 90% the checkpoint asks
        session.execute(
            sa.delete(AgreementAcceptance).where(AgreementAcceptance.person_id == cast.ids["coordinator"])
        )

    run(coordinator_withdraws)
    assert states(run, world)["core.agreement_accepted"] is False

    def coordinator_accepts():
        network = get_network(world.slug)
        accept_agreement(session.get(Person, cast.ids["coordinator"]), current_agreement(network))

    run(coordinator_accepts)
    assert states(run, world)["core.agreement_accepted"] is True

    def new_version():
        network = get_network(world.slug)
        publish_agreement(
            network, "Our rules", "Be kind.", actor=session.get(Person, cast.ids["coordinator"])
        )

    run(new_version)
    reached = states(run, world)
    assert reached["core.rules_revised"] is True
    assert reached["core.agreement_accepted"] is False  # nobody accepted the new version yet

    def demote_meta():
        membership = session.scalar(
            sa.select(Membership).where(Membership.person_id == cast.ids["meta_mentor"])
        )
        membership.status = MembershipStatus.suspended

    run(demote_meta)
    assert states(run, world)["core.meta_mentor"] is False


def test_agreement_share_is_ninety_percent_of_active_members(run, world, cast):
    def grow_accepting(count):
        network = get_network(world.slug)
        for i in range(count):
            add_member(network, f"m{i}@example.org", f"M {i}")  # add_member accepts the agreement

    run(grow_accepting, 5)  # 9 of 10 accepted (the coordinator has not)
    assert states(run, world)["core.agreement_accepted"] is True
    assert (
        run(lambda: session.scalar(sa.select(sa.func.count(Agreement.id)))) == 2
    )  # both networks' version 1


def test_sustain_checkpoints_follow_goals(run, world, cast):
    reached = states(run, world)
    assert reached["goals.goal_set"] is False and reached["goals.goal_achieved"] is False

    def set_goal():
        network = get_network(world.slug)
        coordinator = session.get(Person, cast.ids["coordinator"])
        goal = goal_operations.create_goal(network, actor=coordinator, title="Meet", target_value=2, unit="meetings",
                                           owner_id=cast.ids["novice"])  # fmt: skip
        return goal.id

    goal_id = run(set_goal)
    assert states(run, world)["goals.goal_set"] is True

    def achieve():
        from network_service.goals.models import Goal

        goal_operations.post_update(
            session.get(Goal, goal_id), actor=session.get(Person, cast.ids["novice"]), value=2
        )

    run(achieve)
    assert states(run, world)["goals.goal_achieved"] is True


def test_grow_checkpoints(run, world, cast):
    reached = states(run, world)
    # 5 active members, all joined just now
    assert reached["core.ten_members"] is False
    assert reached["core.recent_joins"] is True
    assert reached["core.second_course"] is False

    def grow():
        network = get_network(world.slug)
        for i in range(5):
            add_member(network, f"g{i}@example.org", f"G {i}")
        session.add(CourseLink(course_key="course-v1:TestOrg+MENTOR+2027", network=network))
        session.flush()

    run(grow)
    reached = states(run, world)
    assert reached["core.ten_members"] is True and reached["core.second_course"] is True


def test_mentors_see_the_checkpoints_without_the_leaders_hints(client, run, world, cast):
    act_as(client, cast, "experienced")
    page = client.get(f"/networks/{world.slug}/roadmap").get_data(as_text=True)
    assert "Open:</strong> The first course graduates are invited" in page
    assert "Graduates are invited automatically" not in page
    assert "The coordinator and the Meta-Mentor see what to do next" in page


def test_page_shows_phases_in_order_with_current_phase_and_hints(client, run, world, cast):
    act_as(client, cast, "meta_mentor")
    page = client.get(f"/networks/{world.slug}/roadmap").get_data(as_text=True)
    headings = re.findall(r'<h2 id="phase-(\w+)">', page)
    assert headings == ["initiate", "organise", "sustain", "grow"]
    assert page.count('aria-current="step"') == 1
    current = page.index('aria-current="step"')
    assert page.index('id="phase-initiate"') > current > page.index('<ol class="roadmap">')
    assert "The network is now in the phase “Initiate the network”." in page
    assert "Reached:</strong> A MOOC course is linked to the network" in page
    assert "Open:</strong> The first course graduates are invited" in page
    assert "Graduates are invited automatically" in page  # the hint of an open checkpoint
    assert "Ask the site administrator to link" not in page  # no hint for a reached one
    assert "At least 90% of the active members accepted" in page
    assert "The shared library has at least 5 resources" in page  # registered by the resources module
    assert 'aria-current="page">Roadmap</a>' in page


def test_any_registered_checkpoint_is_shown(client, run, world, cast, monkeypatch):
    monkeypatch.setitem(
        roadmap._CHECKPOINTS,
        "test.first_meeting",
        roadmap.Checkpoint(
            "test.first_meeting",
            roadmap.Phase.sustain,
            5,
            lambda: "The first meeting is held",
            lambda network: False,
            lambda: "Plan a meeting",
        ),  # fmt: skip
    )
    act_as(client, cast, "coordinator")
    page = client.get(f"/networks/{world.slug}/roadmap").get_data(as_text=True)
    assert "Open:</strong> The first meeting is held" in page
    assert "Plan a meeting" in page
    sustain = page.index('id="phase-sustain"')
    assert sustain < page.index("The first meeting is held") < page.index("A shared goal is set")


def test_when_everything_is_reached_no_phase_is_current(client, run, world, cast, monkeypatch):
    for checkpoint in list(roadmap._CHECKPOINTS.values()):
        monkeypatch.setitem(
            roadmap._CHECKPOINTS,
            checkpoint.key,
            roadmap.Checkpoint(
                checkpoint.key, checkpoint.phase, checkpoint.order, checkpoint.label, lambda n: True
            ),
        )
    act_as(client, cast, "coordinator")
    page = client.get(f"/networks/{world.slug}/roadmap").get_data(as_text=True)
    assert 'aria-current="step"' not in page
    assert "Every checkpoint of the roadmap is reached." in page


@pytest.mark.parametrize("label", ROLES)
def test_roadmap_permissions_for_every_role(client, run, world, cast, label):
    act_as(client, cast, label)
    response = client.get(f"/networks/{world.slug}/roadmap")
    api = client.get(f"{API}/networks/{world.slug}/roadmap", headers=bearer(cast, label))
    if label == "anonymous":
        assert response.status_code == 302 and api.status_code == 401
    elif label == "outsider":
        assert response.status_code == 403 and api.status_code == 403
    else:
        assert response.status_code == 200 and api.status_code == 200
        phases = api.get_json()
        assert [p["phase"] for p in phases] == ["initiate", "organise", "sustain", "grow"]
        assert sum(p["current"] for p in phases) == 1


def test_roadmap_runs_a_fixed_number_of_statements(app, client, run, world, cast):
    act_as(client, cast, "novice")

    def grow(count, start):
        network = get_network(world.slug)
        for i in range(start, start + count):
            add_member(network, f"s{i}@example.org", f"S {i}")
            _graduate(world, MembershipStatus.active, f"grad{i}@example.org")

    run(grow, 3, 0)
    client.get(f"/networks/{world.slug}/roadmap")
    with count_statements(app) as small:
        assert client.get(f"/networks/{world.slug}/roadmap").status_code == 200
    run(grow, 12, 3)
    with count_statements(app) as large:
        assert client.get(f"/networks/{world.slug}/roadmap").status_code == 200
    assert len(small) == len(large), (small, large)
    assert len(large) <= len(roadmap.checkpoints()) + 8
