"""Who may do what with help requests (docs/help.md has the table).

| action                                   | site admin | coordinator | meta_mentor | office | mentor |
|------------------------------------------|------------|-------------|-------------|--------|--------|
| see requests and responses               | yes (read) | yes         | yes         | yes    | yes    |
| ask for help, respond                    | no         | yes         | yes         | yes    | yes    |
| edit a request while open                | no         | author      | author      | author | author |
| resolve or close a request               | no         | yes         | yes         | author | author |
| reopen a resolved or closed request      | no         | yes         | yes         | author | author |
| see suggestions and reasons              | yes (read) | yes         | yes         | author | author |
| notify more members                      | no         | yes         | yes         | author | author |
| see the network's help metrics           | yes        | yes         | yes         | no     | no     |
"""

from __future__ import annotations

from network_service.accounts.models import Person
from network_service.help.models import HelpRequest
from network_service.networks.models import Network
from network_service.networks.permissions import ALL_ROLES, LEADERS, has_role, is_member


def can_view(person: Person | None, network: Network) -> bool:
    return has_role(person, network, ALL_ROLES)


def can_ask(person: Person | None, network: Network) -> bool:
    return is_member(person, network)


def can_respond(person: Person | None, request: HelpRequest) -> bool:
    return request.is_open and is_member(person, request.network)


def _is_author(person: Person | None, request: HelpRequest) -> bool:
    return person is not None and request.author_id is not None and request.author_id == person.id


def can_edit(person: Person | None, request: HelpRequest) -> bool:
    return request.is_open and _is_author(person, request) and is_member(person, request.network)


def can_resolve(person: Person | None, request: HelpRequest) -> bool:
    network = request.network
    if _is_author(person, request) and is_member(person, network):
        return True
    return has_role(person, network, LEADERS, site_admin=False)


def can_reopen(person: Person | None, request: HelpRequest) -> bool:
    """Reopen a resolved or closed request: whoever may resolve or close it (the same rule)."""
    return not request.is_open and can_resolve(person, request)


def can_see_suggestions(person: Person | None, request: HelpRequest) -> bool:
    return can_resolve(person, request) or bool(person is not None and person.is_site_admin)


def can_notify_more(person: Person | None, request: HelpRequest) -> bool:
    return request.is_open and can_resolve(person, request)


def can_see_metrics(person: Person | None, network: Network) -> bool:
    return has_role(person, network, LEADERS)
