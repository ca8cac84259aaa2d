"""Who may see a network's insights and nudge quiet members (docs/insights.md).

| action                                   | site admin | coordinator | meta_mentor | office | mentor |
|------------------------------------------|------------|-------------|-------------|--------|--------|
| see insights, CSV exports, who helps whom | yes        | yes         | yes         | no     | no     |
| refresh insights, send a friendly nudge  | yes        | yes         | yes         | no     | no     |
"""

from __future__ import annotations

from network_service.accounts.models import Person
from network_service.networks.models import Network
from network_service.networks.permissions import LEADERS, has_role


def can_view_insights(person: Person | None, network: Network) -> bool:
    return has_role(person, network, LEADERS)


def can_nudge(person: Person | None, network: Network) -> bool:
    return has_role(person, network, LEADERS)
