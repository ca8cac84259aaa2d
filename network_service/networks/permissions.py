"""Who may do what in a network: one small function per action, called by the operations.

The full matrix, with every function and role, is in docs/permissions.md.

Only active memberships count.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from network_service import page_cache
from network_service.accounts.models import Person
from network_service.db import session
from network_service.networks.models import Level, Membership, MembershipStatus, Network, Role

_CACHE_KEY = "mentornet.active_memberships"


def active_membership(person: Person | None, network: Network) -> Membership | None:
    """The person's active membership. A page asks several permission questions about the same viewer, so the
    answer is kept in the session until a flush writes a table of ``page_cache.STRUCTURE`` (memberships among
    them; a read marker, a message or a help request changes no membership). When the person was loaded in this
    transaction and no such table has been written since, their memberships came with them
    (``Person.memberships`` is loaded with the person): no statement at all."""
    if person is None or person.id is None:
        return None
    cache = session.info.setdefault(_CACHE_KEY, {})
    key = (person.id, network.id)
    if key not in cache:
        loaded = _loaded_membership(person, network.id)
        cache[key] = (
            loaded
            if loaded is not _NOT_LOADED
            else session.scalar(
                sa.select(Membership).where(
                    Membership.network_id == network.id,
                    Membership.person_id == person.id,
                    Membership.status == MembershipStatus.active,
                )
            )
        )
    return cache[key]


@event.listens_for(Session, "after_rollback")
def _forget_memberships(session_: Session, *_args) -> None:
    session_.info.pop(_CACHE_KEY, None)


@event.listens_for(Session, "after_flush")
def _forget_memberships_after_flush(session_: Session, _context) -> None:
    if _flush_may_change_memberships(session_):
        session_.info.pop(_CACHE_KEY, None)
        session_.info.pop(_LOADED_KEY, None)


def _flush_may_change_memberships(session_: Session) -> bool:
    """Whether the flush that just ran wrote a table of ``page_cache.STRUCTURE`` (memberships, people, networks,
    and every table not listed by the page cache). A flush of only other domains' rows (a channel page's read
    marker, a message, a help request) leaves every membership as it was: what was loaded or asked stays true."""
    for obj in (*session_.new, *session_.dirty, *session_.deleted):
        table = getattr(getattr(type(obj), "__table__", None), "name", None)
        if table is None or page_cache.STRUCTURE in page_cache.domains_of(table):
            return True
    return False


_NOT_LOADED = object()
_LOADED_KEY = "mentornet.people_loaded"  # ids of people loaded in this transaction, no write since


def loaded_memberships(person: Person) -> list[Membership] | None:
    """The person's memberships (every status) as they were loaded with the person in this transaction, when
    no table of ``page_cache.STRUCTURE`` has been written since; None when they were not (ask the database)."""
    current = session._get_current_object()  # noqa: SLF001 - the proxy's session, once
    if person.id not in current.info.get(_LOADED_KEY, ()):
        return None
    state = sa.inspect(person)
    if state.session is not current or "memberships" not in state.dict:
        return None
    if page_cache.STRUCTURE in page_cache.pending_domains(current):
        return None  # memberships (or a table of unknown domain) written, maybe outside the unit of work
    return state.dict["memberships"]


def _loaded_membership(person: Person, network_id: int):
    memberships = loaded_memberships(person)
    if memberships is None:
        return _NOT_LOADED
    for membership in memberships:
        if membership.network_id == network_id and membership.status == MembershipStatus.active:
            return membership
    return None


_COMMITTED_KEY = "mentornet.committed"


@event.listens_for(Person, "load")
def _note_loaded(person: Person, context) -> None:
    # After a commit the session keeps its objects unexpired (expire_on_commit=False): a membership loaded in an
    # earlier transaction would not be refreshed by the person's load. Only a session's first transaction counts.
    if not context.session.info.get(_COMMITTED_KEY):
        context.session.info.setdefault(_LOADED_KEY, set()).add(person.id)


@event.listens_for(Session, "after_commit")
def _note_committed(session_: Session) -> None:
    session_.info[_COMMITTED_KEY] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_loaded(session_: Session, *_args) -> None:
    session_.info.pop(_LOADED_KEY, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_loaded_on_write(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info.pop(_LOADED_KEY, None)
        state.session.info.pop(_CACHE_KEY, None)


def has_role(
    person: Person | None,
    network: Network,
    roles: set[Role] | frozenset[Role],
    *,
    experienced_mentors: bool = False,
    site_admin: bool = True,
    granted: bool = True,
) -> bool:
    """The rule every module's permission functions are written with.

    Yes for a site administrator (unless ``site_admin=False``: private conversations are not theirs to read),
    for an active member whose role is in ``roles``, and, with ``experienced_mentors=True``, for an active
    mentor of level experienced. Invited, suspended and former members count as no membership at all. With
    ``granted`` (the default), roles granted to people without an active membership (``ROLE_GRANTS``) count
    too."""
    if person is None:
        return False
    if site_admin and person.is_site_admin:
        return True
    membership = active_membership(person, network)
    if membership is not None:  # a member acts through their membership (and the pages ask no more)
        if membership.role in roles:
            return True
        return (
            experienced_mentors and membership.role == Role.mentor and membership.level == Level.experienced
        )
    return granted and any(roles & grant(person, network) for grant in ROLE_GRANTS)


# Roles held without a membership, from plugins: functions (person, network) -> the roles granted (the LTI
# tool's: LMS instructors of a course linked to the network act as its coordinators). Asked only for people
# without an active membership in the network; not counted by is_member.
ROLE_GRANTS: list[Callable[[Person, Network], frozenset[Role]]] = []


ALL_ROLES = frozenset(Role)
LEADERS = frozenset({Role.coordinator, Role.meta_mentor})  # lead the network; moderate it


def is_member(person: Person | None, network: Network) -> bool:
    """An active member of ``network`` (site administrators are not members by being administrators)."""
    return has_role(person, network, ALL_ROLES, site_admin=False, granted=False)


def can_view_members(person: Person | None, network: Network) -> bool:
    return has_role(person, network, set(Role))


def can_invite(person: Person | None, network: Network) -> bool:
    return has_role(person, network, {Role.coordinator, Role.meta_mentor, Role.office})


def can_appoint(person: Person | None, network: Network) -> bool:
    return has_role(person, network, {Role.coordinator})


def can_publish_agreement(person: Person | None, network: Network) -> bool:
    return has_role(person, network, {Role.coordinator, Role.meta_mentor})


def can_see_courses(person: Person | None, network: Network) -> bool:
    return has_role(person, network, {Role.coordinator})


def can_link_course(person: Person | None, network: Network) -> bool:
    # Site admins only: nothing yet ties a course key to the organisation that runs the course, so a
    # coordinator could otherwise claim another organisation's course and its stored graduates.
    return person is not None and person.is_site_admin


def can_manage_settings(person: Person | None, network: Network) -> bool:
    """Name, description, languages, region and the office's public contact."""
    return has_role(person, network, {Role.coordinator})


def can_follow_acceptance(person: Person | None, network: Network) -> bool:
    """See who has not accepted the current agreement, and remind them now."""
    return has_role(person, network, {Role.coordinator, Role.meta_mentor, Role.office})
