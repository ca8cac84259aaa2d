"""Who may do what with applications, partners, the start of a network and the promotion kit.

The matrix is in docs/permissions.md ("Joining, partners, starting networks, promotion kit").
"""

from __future__ import annotations

import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.db import session
from network_service.networks.models import Membership, MembershipStatus, Network, Role
from network_service.networks.permissions import has_role

DECIDERS = frozenset({Role.coordinator, Role.office})  # the network office and the coordinators
PROMOTERS = frozenset({Role.coordinator, Role.office, Role.meta_mentor})


def can_manage_applications(person: Person | None, network: Network) -> bool:
    """See the applications to join and decide them; switch applications on or off."""
    return has_role(person, network, DECIDERS)


def can_decide_partners(person: Person | None, network: Network) -> bool:
    return has_role(person, network, {Role.coordinator})


def can_use_promotion_kit(person: Person | None, network: Network) -> bool:
    return has_role(person, network, PROMOTERS)


def can_request_course_link(person: Person | None, network: Network) -> bool:
    return has_role(person, network, {Role.coordinator})


def can_manage_site(person: Person | None) -> bool:
    """Approve course links and network starts; set who may start networks."""
    return person is not None and person.is_site_admin


def coordinated_organisations(person: Person | None) -> list:
    """Organisations the person represents: those of networks they actively coordinate."""
    from network_service.networks.models import Organisation

    if person is None or person.id is None:
        return []
    return list(
        session.scalars(
            sa.select(Organisation)
            .join(Network, Network.organisation_id == Organisation.id)
            .join(Membership, Membership.network_id == Network.id)
            .where(
                Membership.person_id == person.id,
                Membership.role == Role.coordinator,
                Membership.status == MembershipStatus.active,
            )
            .distinct()
            .order_by(Organisation.name)
        )
    )
