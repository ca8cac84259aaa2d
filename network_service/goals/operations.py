"""Goals of a network and their progress. Plain functions: check permission, validate, flush; never commit."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.db import session, utcnow
from network_service.errors import Conflict, Forbidden, InvalidInput, NotFound
from network_service.goals import permissions
from network_service.goals.models import Goal, GoalStatus, GoalUpdate
from network_service.markup import MAX_MARKDOWN_CHARS, refuse_html_in_markdown
from network_service.networks.models import Membership, MembershipStatus, Network
from network_service.networks.operations import require_current_agreement
from network_service.notifications.operations import notify, register_kind

PAGE_SIZE = 30
UPDATES_SHOWN = 50
MAX_TARGET = 1_000_000

register_kind("goals.assigned", lambda p: _("You are now responsible for the goal “%(goal)s”.", **p))
register_kind("goals.achieved", lambda p: _("The goal “%(goal)s” is achieved.", **p))


def goal_path(goal: Goal) -> str:
    return f"/networks/{goal.network.slug}/goals/{goal.id}"


def _title(title: str | None) -> str:
    title = " ".join((title or "").split())
    if not title or len(title) > 200:
        raise InvalidInput(_("Give the goal a title of at most 200 characters."), field="title")
    return title


def _markdown(text: str | None, field: str, stored: str | None = None) -> str:
    text = (text or "").strip()
    if len(text) > MAX_MARKDOWN_CHARS:
        raise InvalidInput(
            _("Keep the text under %(limit)s characters.", limit=format_decimal(MAX_MARKDOWN_CHARS)),
            field=field,
        )
    refuse_html_in_markdown(text, field, stored=stored)
    return text


def _target(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_TARGET:
        raise InvalidInput(
            _("The target is a whole number from 1 to %(max)s.", max=format_decimal(MAX_TARGET)),
            field="target_value",
        )
    return value


def _unit(unit: str | None) -> str:
    unit = " ".join((unit or "").split())
    if not unit or len(unit) > 60:
        raise InvalidInput(
            _("Say what is counted, in at most 60 characters, like “mentors trained”."), field="unit"
        )
    return unit


def _owner(network: Network, owner_id: int | None) -> Person:
    """The owner must be an active member of the network."""
    if owner_id is None:
        raise InvalidInput(_("Choose who is responsible for the goal."), field="owner_id")
    person = session.scalar(
        sa.select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(
            Person.id == owner_id,
            Membership.network_id == network.id,
            Membership.status == MembershipStatus.active,
        )
    )
    if person is None:
        raise InvalidInput(
            _("The person responsible must be an active member of the network."), field="owner_id"
        )
    return person


def _due(due_date) -> dt.date | None:
    if due_date is None or due_date == "":
        return None
    if isinstance(due_date, dt.datetime) or not isinstance(due_date, dt.date):
        raise InvalidInput(_("Give the due date as a date."), field="due_date")
    return due_date


def active_members(network: Network) -> list[Person]:
    """The people a goal can be given to, by name (one query)."""
    return list(
        session.scalars(
            sa.select(Person)
            .join(Membership, Membership.person_id == Person.id)
            .where(Membership.network_id == network.id, Membership.status == MembershipStatus.active)
            .order_by(sa.func.lower(Person.display_name), Person.id)
        )
    )


def create_goal(
    network: Network,
    *,
    actor: Person,
    title: str,
    target_value: int,
    unit: str,
    owner_id: int | None,
    description: str = "",
    due_date: dt.date | None = None,
) -> Goal:
    if not permissions.can_manage_goals(actor, network):
        raise Forbidden(_("Only the coordinator or the Meta-Mentor can set goals for the network."))
    require_current_agreement(actor, network)
    goal = Goal(
        network=network,
        title=_title(title),
        description=_markdown(description, "description"),
        target_value=_target(target_value),
        unit=_unit(unit),
        current_value=0,
        due_date=_due(due_date),
        status=GoalStatus.open,
        created_by_id=actor.id,
    )
    owner = _owner(network, owner_id)
    goal.owner = owner
    session.add(goal)
    session.flush()
    record("goal.create", actor=actor, target=goal, network=network, title=goal.title, owner_id=owner.id)
    notify([owner], "goals.assigned", url=goal_path(goal), network=network, actor=actor, goal=goal.title)
    return goal


_UNSET = object()


def edit_goal(
    goal: Goal,
    *,
    actor: Person,
    title=_UNSET,
    description=_UNSET,
    target_value=_UNSET,
    unit=_UNSET,
    owner_id=_UNSET,
    due_date=_UNSET,
    status=_UNSET,
) -> Goal:
    """Change what is given; a new owner is told. Dropping a goal is ``status=dropped``."""
    network = goal.network
    if not permissions.can_manage_goals(actor, network):
        raise Forbidden(_("Only the coordinator or the Meta-Mentor can change the network's goals."))
    require_current_agreement(actor, network)
    changed: dict = {}
    if title is not _UNSET:
        goal.title = _title(title)
    if description is not _UNSET:
        goal.description = _markdown(description, "description", stored=goal.description)
    if target_value is not _UNSET:
        goal.target_value = _target(target_value)
    if unit is not _UNSET:
        goal.unit = _unit(unit)
    if due_date is not _UNSET:
        goal.due_date = _due(due_date)
    new_owner = None
    if owner_id is not _UNSET and owner_id != goal.owner_id:
        new_owner = _owner(network, owner_id)
        goal.owner = new_owner
        changed["owner_id"] = new_owner.id
    if status is not _UNSET:
        try:
            status = GoalStatus(status)
        except ValueError:
            raise InvalidInput(_("Choose open, achieved or dropped."), field="status") from None
        if status != goal.status:
            changed["status"] = status.value
            goal.status = status
    goal.updated_at = utcnow()
    session.flush()
    record("goal.edit", actor=actor, target=goal, network=network, **changed)
    if new_owner is not None:
        notify(
            [new_owner], "goals.assigned", url=goal_path(goal), network=network, actor=actor, goal=goal.title
        )
    if changed.get("status") == GoalStatus.achieved.value:
        _tell_achieved(goal, actor)
    return goal


def drop_goal(goal: Goal, *, actor: Person) -> Goal:
    if goal.status == GoalStatus.dropped:
        raise Conflict(_("This goal is already dropped."), field="status")
    return edit_goal(goal, actor=actor, status=GoalStatus.dropped)


def _tell_achieved(goal: Goal, actor: Person) -> None:
    notify(
        [goal.owner, goal.created_by],
        "goals.achieved",
        url=goal_path(goal),
        network=goal.network,
        actor=actor,
        goal=goal.title,
    )


def post_update(goal: Goal, *, actor: Person, value: int, note: str = "") -> GoalUpdate:
    """Report where the goal stands now. Reaching the target marks an open goal achieved."""
    if not permissions.can_post_update(actor, goal):
        raise Forbidden(
            _(
                "Only the person responsible for the goal, the coordinator or the Meta-Mentor can report progress."
            )
        )
    require_current_agreement(actor, goal.network)
    if goal.status == GoalStatus.dropped:
        raise Conflict(_("This goal was dropped; reopen it before reporting progress."))
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TARGET * 10:
        raise InvalidInput(_("Give the current value as a whole number, 0 or more."), field="value")
    update = GoalUpdate(goal=goal, author_id=actor.id, value=value, note=_markdown(note, "note"))
    session.add(update)
    goal.current_value = value
    goal.updated_at = utcnow()
    achieved = goal.status == GoalStatus.open and value >= goal.target_value
    if achieved:
        goal.status = GoalStatus.achieved
    session.flush()
    record("goal.update", actor=actor, target=goal, network=goal.network, value=value, achieved=achieved)
    if achieved:
        _tell_achieved(goal, actor)
    return update


def get_goal(network: Network, goal_id: int, viewer: Person | None) -> Goal:
    if not permissions.can_view_goals(viewer, network):
        raise Forbidden(_("Only members of this network can see its goals."))
    goal = session.scalar(
        sa.select(Goal)
        .options(selectinload(Goal.owner), selectinload(Goal.created_by))
        .where(Goal.id == goal_id, Goal.network_id == network.id)
    )
    if goal is None:
        raise NotFound(_("This goal does not exist in this network."))
    return goal


def list_goals(
    network: Network,
    viewer: Person | None,
    *,
    status: GoalStatus | None = GoalStatus.open,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[Goal], int | None]:
    """A page of goals, newest first, and the cursor of the next page (None on the last). Two statements."""
    if not permissions.can_view_goals(viewer, network):
        raise Forbidden(_("Only members of this network can see its goals."))
    query = (
        sa.select(Goal)
        .options(selectinload(Goal.owner))
        .where(Goal.network_id == network.id)
        .order_by(Goal.id.desc())
        .limit(limit + 1)
    )
    if status is not None:
        query = query.where(Goal.status == status)
    if before is not None:
        query = query.where(Goal.id < before)
    goals = list(session.scalars(query))
    next_cursor = goals[limit - 1].id if len(goals) > limit else None
    return goals[:limit], next_cursor


def status_counts(network: Network) -> dict[GoalStatus, int]:
    """How many goals have each status (one aggregate query), for the filter tabs."""
    rows = session.execute(
        sa.select(Goal.status, sa.func.count(Goal.id))
        .where(Goal.network_id == network.id)
        .group_by(Goal.status)
    ).all()
    counts = dict.fromkeys(GoalStatus, 0)
    counts.update({GoalStatus(status): count for status, count in rows})
    return counts


def list_updates(
    goal: Goal, *, before: int | None = None, limit: int = UPDATES_SHOWN
) -> tuple[list[GoalUpdate], int | None]:
    """A page of the goal's progress updates, newest first, and the cursor of the next (older) page: pass it as
    ``before``; None on the last page. Keyset paging on the index (goal_id, id)."""
    query = (
        sa.select(GoalUpdate)
        .options(selectinload(GoalUpdate.author))
        .where(GoalUpdate.goal_id == goal.id)
        .order_by(GoalUpdate.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(GoalUpdate.id < before)
    updates = list(session.scalars(query))
    next_cursor = updates[limit - 1].id if len(updates) > limit else None
    return updates[:limit], next_cursor


def count_updates(goal: Goal, *, before: int | None = None) -> int:
    """How many updates the goal has (older than ``before``, when given): the number of the newest one on a page,
    so that the numbered list counts down across pages."""
    query = sa.select(sa.func.count(GoalUpdate.id)).where(GoalUpdate.goal_id == goal.id)
    if before is not None:
        query = query.where(GoalUpdate.id < before)
    return session.scalar(query) or 0
