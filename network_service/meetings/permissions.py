"""Who may do what with meetings (docs/meetings.md).

| action                         | site admin | coordinator | meta_mentor | office | experienced | novice |
|--------------------------------|------------|-------------|-------------|--------|-------------|--------|
| see meetings, answer (RSVP)    | yes        | yes         | yes         | yes    | yes         | yes    |
| create a meeting               | yes        | yes         | yes         | yes    | yes         | no     |
| edit or cancel a meeting       | yes        | yes         | yes         | organiser | organiser | organiser |
| subscribe to the calendar      | yes        | yes         | yes         | yes    | yes         | yes    |

Only active memberships count; an organiser who left the network can no longer edit their meetings.
"""

from __future__ import annotations

from network_service.accounts.models import Person
from network_service.meetings.models import Meeting
from network_service.networks.models import Network, Role
from network_service.networks.permissions import ALL_ROLES, LEADERS, has_role, is_member


def can_view(person: Person | None, network: Network) -> bool:
    return has_role(person, network, ALL_ROLES)


def can_rsvp(person: Person | None, network: Network) -> bool:
    return has_role(person, network, ALL_ROLES)


def can_create(person: Person | None, network: Network) -> bool:
    return has_role(
        person, network, {Role.coordinator, Role.meta_mentor, Role.office}, experienced_mentors=True
    )


def can_edit(person: Person | None, meeting: Meeting) -> bool:
    network = meeting.network
    if has_role(person, network, LEADERS):
        return True
    return person is not None and person.id == meeting.organiser_id and is_member(person, network)


def can_subscribe(person: Person | None, network: Network) -> bool:
    return has_role(person, network, ALL_ROLES)
