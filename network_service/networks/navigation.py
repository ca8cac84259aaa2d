"""The sections of a network's pages (conversations, help, meetings, ...), registered by their modules.

Each domain module registers its section once, at import; the network pages show the sections the viewer may
open, in ``order``. A module adds its page without editing the network templates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import render_template, url_for
from flask_babel import get_locale
from markupsafe import Markup

from network_service import page_cache
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
    # The data the badge counts (page_cache domains): the badge is kept per viewer and network until one of
    # them (or the networks, memberships and roles, page_cache.STRUCTURE) changes. None: counted every time.
    badge_domains: tuple[str, ...] | None = None


_SECTIONS: dict[str, Section] = {}

# Badges of sections registered by other modules, by section key, when they do not say it themselves.
BADGE_DOMAINS = {
    "conversations": (page_cache.CONVERSATIONS, page_cache.READ_MARKERS),
    "help": (page_cache.HELP,),
    "meetings": (page_cache.MEETINGS,),
    "moderation": (page_cache.MODERATION,),
}
# "Upcoming meetings" changes with the clock, not only with writes.
BADGE_MAX_AGE = {"meetings": 60.0}


def register_section(section: Section) -> None:
    _SECTIONS[section.key] = section


def _visible_sections(viewer: Person | None, network: Network) -> tuple[tuple[str, str, str], ...]:
    """(key, label, url) of the sections the viewer may open: it depends on their roles and the network's
    links (page_cache.STRUCTURE) and on the language, so it is kept per viewer, network and language."""

    def compute():
        return tuple(
            (section.key, section.label(), url_for(section.endpoint, slug=network.slug))
            for section in sorted(_SECTIONS.values(), key=lambda s: (s.order, s.key))
            if section.visible(viewer, network)
        )

    return page_cache.cached(
        "network_sections",
        (viewer.id if viewer is not None else None, network.id, network.slug, str(get_locale())),
        (page_cache.STRUCTURE,),
        compute,
    )


def badge(viewer: Person, network: Network | int, key: str, load: Callable[[], Network] | None = None) -> int:
    """The badge of section ``key`` for ``viewer`` (0 when the section has none), kept while its data is the
    same (see ``BADGE_DOMAINS``). ``network``: the Network, or its id and ``load`` to fetch it when the badge
    has to be counted again. The section's visibility is the caller's to check."""
    section = _SECTIONS.get(key)
    if section is None or section.badge is None:
        return 0
    network_id = network if isinstance(network, int) else network.id
    row = (lambda: network) if not isinstance(network, int) else load

    def compute() -> int:
        return section.badge(viewer, row())

    domains = section.badge_domains or BADGE_DOMAINS.get(key)
    if domains is None:
        return compute()
    return page_cache.cached(
        f"badge:{key}",
        (viewer.id, network_id),
        (page_cache.STRUCTURE, *domains),
        compute,
        max_age=BADGE_MAX_AGE.get(key, page_cache.MAX_AGE),
    )


def sections_for(viewer: Person | None, network: Network) -> list[dict]:
    """What the network's navigation shows this viewer: label, URL, badge count, and its key (for aria-current)."""
    return [
        {
            "key": key,
            "label": label,
            "url": url,
            "badge": badge(viewer, network, key) if viewer is not None else 0,
        }
        for key, label, url in _visible_sections(viewer, network)
    ]


def _nav_domains() -> tuple[str, ...]:
    domains = {page_cache.STRUCTURE}
    for section in _SECTIONS.values():
        if section.badge is not None:
            domains.update(section.badge_domains or BADGE_DOMAINS.get(section.key) or page_cache.DOMAINS)
    return tuple(sorted(domains))


def network_nav(network: Network, section: str | None) -> Markup:
    """The navigation of a network's page and the agreement banner, as HTML kept per viewer, network, language
    and current section until the sections, a badge or the banner may have changed (the domains of every
    badge and page_cache.STRUCTURE; a minute at most, since "upcoming meetings" follows the clock)."""
    from network_service.security import current_person

    viewer = current_person()

    def compute() -> Markup:
        html = render_template("networks/_nav_render.html", network=network, section=section)
        return Markup(html)  # noqa: S704  # nosec B704 - rendered by our autoescaping template

    return page_cache.cached(
        "network_nav",
        (
            viewer.id if viewer is not None else None,
            network.id,
            network.slug,
            network.name,
            str(get_locale()),
            section,
        ),
        _nav_domains(),
        compute,
        max_age=min(BADGE_MAX_AGE.values(), default=page_cache.MAX_AGE),
    )
