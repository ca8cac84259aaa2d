"""Who may do what with a network's goals and roadmap (docs/goals.md).

| action                         | site admin | coordinator | meta_mentor | office | mentor          |
|--------------------------------|------------|-------------|-------------|--------|-----------------|
| see goals and the roadmap      | yes        | yes         | yes         | yes    | yes             |
| create, edit, drop a goal      | yes        | yes         | yes         | no     | no              |
| post a progress update         | yes        | yes         | yes         | owner  | owner           |
"""

from __future__ import annotations

from network_service.accounts.models import Person
from network_service.goals.models import Goal
from network_service.networks.models import Network
from network_service.networks.permissions import ALL_ROLES, LEADERS, has_role, is_member


def can_view_goals(person: Person | None, network: Network) -> bool:
    return has_role(person, network, ALL_ROLES)


def can_manage_goals(person: Person | None, network: Network) -> bool:
    return has_role(person, network, LEADERS)


def can_post_update(person: Person | None, goal: Goal) -> bool:
    """Leaders, and the goal's owner while an active member."""
    if has_role(person, goal.network, LEADERS):
        return True
    return person is not None and goal.owner_id == person.id and is_member(person, goal.network)
