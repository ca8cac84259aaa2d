"""The sections of a network's pages (conversations, help, meetings, ...), registered by their modules.

Each domain module registers its section once, at import; the network pages show the sections the viewer may
open, in ``order``. A module adds its page without editing the network templates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import render_template, request, url_for
from flask_babel import get_locale
from markupsafe import Markup

from network_service import page_cache
from network_service.accounts.models import Person
from network_service.db import flushed_connection
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
    # them (or the viewer's own people rows, their memberships and roles, the network, page_cache.STRUCTURE as
    # ``page_cache.of_person`` has it) changes. None: counted every time. A badge must not read another
    # person's row or membership (a new member of the network changes no one else's badge).
    badge_domains: tuple[str, ...] | None = None
    # The badge as a count the navigation asks together with the other sections' (one statement for every badge
    # of a page instead of one each): ``badge_query(viewer, network)`` gives (a scalar SELECT built once, its
    # parameters), or the count itself when no statement is needed (0 for someone who may not see it). The
    # statements of all sections share one namespace of parameters: ``network_id`` and ``viewer_id`` mean the
    # page's network and viewer everywhere; any other name must be the section's own. ``badge`` stays the
    # count of this section alone (the embedded panel asks for one).
    badge_query: Callable[[Person, Network], tuple[sa.Select, dict] | int] | None = None


_SECTIONS: dict[str, Section] = {}


@dataclass(frozen=True)
class Fact:
    """Something else the navigation shows per viewer (the agreement banner), asked with the badges: kept per
    viewer and network until one of ``domains`` changes (a scoped domain as ``page_cache.for_person`` has it
    for the viewer: as a badge, a fact must not read another person's rows). ``query`` as a Section's
    ``badge_query``; ``compute`` the value alone."""

    key: str
    domains: tuple[str, ...]
    query: Callable[[Person, Network], tuple[sa.Select, dict] | int | bool]
    compute: Callable[[Person, Network], int | bool]


_FACTS: dict[str, Fact] = {}


def register_fact(fact: Fact) -> None:
    _FACTS[fact.key] = fact


def fact(viewer: Person, network: Network, key: str) -> int | bool:
    """The value of fact ``key`` for ``viewer`` (kept, or asked alone)."""
    return badges(viewer, network, [key])[key]


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
    """(key, label, url) of the sections the viewer may open. Which ones depends on their roles and the
    network's links (page_cache.STRUCTURE, the viewer's own rows and unattributed writes: another person's new
    membership changes nothing here): kept per viewer and network. Their labels and addresses depend only on
    which they are, the network's address, the language and where the application is mounted: kept for every
    viewer who may open the same sections."""
    visible = page_cache.cached(
        "network_sections",
        (viewer.id if viewer is not None else None, network.id),
        page_cache.of_person(page_cache.STRUCTURE, viewer.id if viewer is not None else None),
        lambda: tuple(
            section.key
            for section in sorted(_SECTIONS.values(), key=lambda s: (s.order, s.key))
            if section.visible(viewer, network)
        ),
    )
    return page_cache.cached(
        "network_section_links",
        (visible, network.slug, str(get_locale()), request.script_root),
        (),  # the key is all they depend on (the viewers who may open the same sections share them)
        lambda: tuple(
            (key, _SECTIONS[key].label(), url_for(_SECTIONS[key].endpoint, slug=network.slug))
            for key in visible
        ),
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

    domains = _badge_domains(section, viewer.id)
    if domains is None:
        return compute()
    return page_cache.cached(
        f"badge:{key}",
        (viewer.id, network_id),
        domains,
        compute,
        max_age=BADGE_MAX_AGE.get(key, page_cache.MAX_AGE),
    )


def _badge_domains(section: Section, viewer_id: int) -> tuple[str, ...] | None:
    domains = section.badge_domains or BADGE_DOMAINS.get(section.key)
    return None if domains is None else page_cache.for_person((page_cache.STRUCTURE, *domains), viewer_id)


def badges(viewer: Person, network: Network, keys: Iterable[str]) -> dict[str, int | bool]:
    """The badges of sections ``keys`` (and the facts among ``keys``) for ``viewer``: those kept from before as
    they are, the others asked together in one statement (each one's ``badge_query`` or ``query``) and kept as
    ``badge`` keeps them."""
    found: dict[str, int | bool] = {}
    wanted: list[tuple[str, sa.Select]] = []
    params: dict = {"network_id": network.id, "viewer_id": viewer.id}
    stamps: dict[str, tuple[str, tuple | None]] = {}
    for key in keys:
        section, known = _SECTIONS.get(key), _FACTS.get(key)
        if known is not None:
            name, max_age = f"fact:{key}", page_cache.MAX_AGE
            domains = page_cache.for_person(known.domains, viewer.id)
            make_query, alone = known.query, known.compute
        elif section is not None and section.badge is not None:
            name, domains = f"badge:{key}", _badge_domains(section, viewer.id)
            max_age = BADGE_MAX_AGE.get(key, page_cache.MAX_AGE)
            make_query, alone = section.badge_query, section.badge
            if domains is None or make_query is None:
                found[key] = badge(viewer, network, key)
                continue
        else:
            continue
        value, stamp = page_cache.lookup(name, (viewer.id, network.id), domains, max_age=max_age)
        if value is not page_cache.MISSING:
            found[key] = value
            continue
        stamps[key] = (name, stamp)
        query = make_query(viewer, network)
        if not isinstance(query, tuple):
            found[key] = query
            continue
        statement, its_params = query
        if any(params.get(param, value) != value for param, value in its_params.items()):
            found[key] = alone(viewer, network)  # a parameter of another meaning: asked on its own
            continue
        params.update(its_params)
        wanted.append((key, statement))
    if wanted:
        values = flushed_connection().execute(_together(tuple(wanted)), params).one()
        for (key, _statement), value in zip(wanted, values, strict=True):
            found[key] = bool(value) if key in _FACTS else value or 0
    for key, (name, stamp) in stamps.items():
        if stamp is not None:
            page_cache.keep(name, (viewer.id, network.id), stamp, found[key])
    return found


# shape -> (the SELECT, the statements it was built from: kept alive, so that their ids in the shape stay theirs)
_TOGETHER: dict[tuple, tuple[sa.Select, list[sa.Select]]] = {}


def _together(wanted: tuple[tuple[str, sa.Select], ...]) -> sa.Select:
    """One SELECT of the badges' scalar subqueries, built once per combination of sections (and kept with the
    statements it was built from, whose identities are its key)."""
    shape = tuple((key, id(statement)) for key, statement in wanted)
    together = _TOGETHER.get(shape)
    if together is None:
        statements = [statement for _key, statement in wanted]
        select = sa.select(
            *(
                statement.scalar_subquery().label(f"badge_{index}")
                for index, statement in enumerate(statements)
            )
        )
        together = _TOGETHER[shape] = (select, statements)
    return together[0]


def sections_for(viewer: Person | None, network: Network) -> list[dict]:
    """What the network's navigation shows this viewer: label, URL, badge count, and its key (for aria-current)."""
    visible = _visible_sections(viewer, network)
    keys = [key for key, _label, _url in visible] + list(_FACTS)  # the facts asked with them, for the page
    counts = badges(viewer, network, keys) if viewer is not None else {}
    return [
        {"key": key, "label": label, "url": url, "badge": counts.get(key, 0)} for key, label, url in visible
    ]


def _nav_domains() -> tuple[str, ...]:
    domains = {page_cache.STRUCTURE}
    for section in _SECTIONS.values():
        if section.badge is not None:
            domains.update(section.badge_domains or BADGE_DOMAINS.get(section.key) or page_cache.DOMAINS)
    for known in _FACTS.values():
        domains.update(known.domains)
    return tuple(sorted(domains))


def network_nav(network: Network, section: str | None) -> Markup:
    """The navigation of a network's page and the agreement banner, as HTML.

    Kept twice: per viewer, network, language and current section under the versions of everything it shows
    (the viewer's scopes of ``structure`` and every badge's and fact's domain; a minute at most, since "upcoming
    meetings" follows the clock), the whole navigation in one question while nothing changed; and, when that
    is gone, under exactly what it shows (content-addressed): the sections the viewer may open with their
    labels, addresses and badges (each kept as it says), the banner, the network's name and address, the
    language and the current section. In a busy network (a post changes every reader's conversations badge)
    the first is mostly gone, and the second renders again only when a value shown changed, shared by every
    viewer who sees the same. Until session 11 only the first existed, under the global ``structure``."""
    from network_service.security import current_person

    viewer = current_person()
    viewer_id = viewer.id if viewer is not None else None
    key = (viewer_id, network.id, network.slug, network.name, str(get_locale()), request.script_root, section)
    domains = page_cache.for_person(_nav_domains(), viewer_id)
    max_age = min(BADGE_MAX_AGE.values(), default=page_cache.MAX_AGE)
    return page_cache.cached(
        "network_nav", key, domains, lambda: _nav_shown(viewer, network, section), max_age=max_age
    )


def _nav_shown(viewer: Person | None, network: Network, section: str | None) -> Markup:
    visible = _visible_sections(viewer, network)
    keys = [key for key, _label, _url in visible] + list(_FACTS)
    counts = badges(viewer, network, keys) if viewer is not None else {}
    items = tuple((key, label, url, counts.get(key, 0)) for key, label, url in visible)
    pending = section != "agreement" and bool(counts.get("agreement_pending", False))

    def compute() -> Markup:
        html = render_template(
            "networks/_nav_render.html",
            network=network,
            section=section,
            nav_items=[
                {"key": k, "label": label, "url": url, "badge": badge} for k, label, url, badge in items
            ],
            nav_agreement_pending=pending,
        )
        return Markup(html)  # noqa: S704  # nosec B704 - rendered by our autoescaping template

    return page_cache.cached(
        "network_nav_shown",
        (network.slug, network.name, str(get_locale()), request.script_root, section, items, pending),
        (),  # the key is all it shows
        compute,
    )
