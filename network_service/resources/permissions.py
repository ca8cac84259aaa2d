"""Who may do what with a network's library (docs/resources.md).

| action                          | site admin | coordinator | meta_mentor | office | mentor     |
|---------------------------------|------------|-------------|-------------|--------|------------|
| see the library, download files | yes        | yes         | yes         | yes    | yes        |
| add a link, file or note        | yes        | yes         | yes         | yes    | yes        |
| edit or delete a resource       | yes        | yes         | yes         | yes    | the author |
"""

from __future__ import annotations

from network_service.accounts.models import Person
from network_service.networks.models import Network, Role
from network_service.networks.permissions import ALL_ROLES, has_role, is_member
from network_service.resources.models import Resource

CURATORS = frozenset({Role.coordinator, Role.meta_mentor, Role.office})


def can_view_library(person: Person | None, network: Network) -> bool:
    return has_role(person, network, ALL_ROLES)


def can_add_resource(person: Person | None, network: Network) -> bool:
    return has_role(person, network, ALL_ROLES)


def can_change_resource(person: Person | None, resource: Resource) -> bool:
    """Curators of the network, and the author while an active member."""
    if has_role(person, resource.network, CURATORS):
        return True
    return person is not None and resource.created_by_id == person.id and is_member(person, resource.network)
