"""Who may do what with federations (docs/federations.md, docs/permissions.md).

| action                                              | site admin | coordinator | meta_mentor | office | mentor |
|-----------------------------------------------------|------------|-------------|-------------|--------|--------|
| see the federation page of a network                | yes        | yes         | yes         | yes    | yes    |
| invite a member network / ask to join a federation  | yes        | yes         | no          | no     | no     |
| accept, decline, leave, remove (own side)           | yes        | yes         | no          | no     | no     |
| share / unshare own network's channel or resource   | yes        | yes         | no          | no     | no     |
| see the federated dashboard (federation's network)  | yes        | yes         | yes         | no     | no     |

The coordinator meant is always the coordinator of the network whose side acts: the federation's coordinator
invites and removes, the member network's coordinator accepts, asks and leaves.
"""

from __future__ import annotations

from network_service.accounts.models import Person
from network_service.networks.models import Network, Role
from network_service.networks.permissions import ALL_ROLES, LEADERS, has_role

COORDINATORS = frozenset({Role.coordinator})


def can_view_federation(person: Person | None, network: Network) -> bool:
    return has_role(person, network, ALL_ROLES)


def can_manage_links(person: Person | None, network: Network) -> bool:
    """Invite member networks into ``network``, ask to join a federation for ``network``, accept, leave."""
    return has_role(person, network, COORDINATORS)


def can_share(person: Person | None, network: Network) -> bool:
    """Share one of ``network``'s open channels or resources with a federation it belongs to (or is)."""
    return has_role(person, network, COORDINATORS)


def can_view_dashboard(person: Person | None, federation: Network) -> bool:
    return has_role(person, federation, LEADERS)
