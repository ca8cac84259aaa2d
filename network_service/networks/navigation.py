"""The sections of a network's pages (conversations, help, meetings, ...), registered by their modules.

Each domain module registers its section once, at import; the network pages show the sections the viewer may
open, in ``order``. A module adds its page without editing the network templates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import url_for

from network_service.accounts.models import Person
from network_service.networks.models import Network


@dataclass(frozen=True)
class Section:
    key: str
    endpoint: str  # takes the network's ``slug``
    label: Callable[[], str]  # called at render time, in the viewer's language
    order: int
    visible: Callable[[Person | None, Network], bool]
    badge: Callable[[Person, Network], int] | None = None  # e.g. unread messages; 0 shows nothing


_SECTIONS: dict[str, Section] = {}


def register_section(section: Section) -> None:
    _SECTIONS[section.key] = section


def sections_for(viewer: Person | None, network: Network) -> list[dict]:
    """What the network's navigation shows this viewer: label, URL, badge count, and its key (for aria-current)."""
    shown = []
    for section in sorted(_SECTIONS.values(), key=lambda s: (s.order, s.key)):
        if not section.visible(viewer, network):
            continue
        shown.append(
            {
                "key": section.key,
                "label": section.label(),
                "url": url_for(section.endpoint, slug=network.slug),
                "badge": section.badge(viewer, network) if section.badge and viewer is not None else 0,
            }
        )
    return shown
