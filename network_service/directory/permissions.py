"""Who may do what with the directory (docs/directory.md).

| action                                             | site admin | coordinator | meta_mentor | office | mentor | anyone |
|----------------------------------------------------|------------|-------------|-------------|--------|--------|--------|
| search the directory, read entries, export         | yes        | yes         | yes         | yes    | yes    | yes    |
| suggest an organisation                            | yes        | yes         | yes         | yes    | yes    | yes    |
| review suggestions, add, edit, delete, import      | yes        | no          | no          | no     | no     | no     |
| turn the network's public page on or off, edit it  | yes        | yes         | no          | no     | no     | no     |
"""

from __future__ import annotations

from network_service.accounts.models import Person
from network_service.networks.models import Network, Role
from network_service.networks.permissions import has_role


def can_manage_directory(person: Person | None) -> bool:
    return person is not None and person.is_site_admin


def can_manage_public_page(person: Person | None, network: Network) -> bool:
    return has_role(person, network, {Role.coordinator})
