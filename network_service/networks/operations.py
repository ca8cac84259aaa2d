"""Networks and the way into them. Plain functions: they check permissions, flush, and leave the commit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import typing
import unicodedata

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import lazyload

from network_service.accounts.models import Person
from network_service.accounts.operations import get_or_create_person, normalise_email
from network_service.audit.operations import record
from network_service.db import session, utcnow
from network_service.errors import Conflict, Forbidden, InvalidInput, LinkInvalid, NotFound
from network_service.mail.operations import queue_mail
from network_service.markup import MAX_MARKDOWN_CHARS, refuse_html_in_markdown
from network_service.networks import permissions
from network_service.networks.models import (
    Agreement,
    AgreementAcceptance,
    Invitation,
    InvitationReminder,
    Level,
    Membership,
    MembershipStatus,
    Network,
    Organisation,
    Origin,
    Role,
)
from network_service.notifications.operations import notify, register_kind
from network_service.tokens import hash_token, new_token
from network_service.urls import public_url

register_kind(
    "agreement.new",
    lambda p: _(
        "%(network)s has a new agreement (version %(version)s): please read and accept it.",
        network=p.get("network_name", ""),
        version=p.get("version", ""),
    ),
)
register_kind(
    "agreement.reminder",
    lambda p: _(
        "Reminder: please accept version %(version)s of the agreement of %(network)s.",
        network=p.get("network_name", ""),
        version=p.get("version", ""),
    ),
)


def _appointed_title(p: dict) -> str:
    from network_service.networks.forms import LEVEL_LABELS, ROLE_LABELS

    role = ROLE_LABELS.get(Role(p["role"])) if p.get("role") in set(Role) else p.get("role", "")
    level = LEVEL_LABELS.get(Level(p["level"])) if p.get("level") in set(Level) else p.get("level", "")
    return _(
        "You are now %(role)s (%(level)s) in %(network)s.",
        role=role,
        level=level,
        network=p.get("network_name", ""),
    )


register_kind("networks.appointed", _appointed_title)

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def create_organisation(
    name: str, country: str | None = None, *, actor: Person | None = None, **details
) -> Organisation:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput(_("Give the organisation a name of at most 200 characters."), field="name")
    if country:
        country = country.strip().upper()
        if not _COUNTRY.match(country):
            raise InvalidInput(_("Use the two-letter country code, like DE or IT."), field="country")
    if session.scalar(sa.select(Organisation.id).where(sa.func.lower(Organisation.name) == name.lower())):
        raise Conflict(_("An organisation with this name already exists."), field="name")
    organisation = Organisation(name=name, country=country or None, **details)
    session.add(organisation)
    session.flush()
    record("organisation.create", actor=actor, target=organisation)
    return organisation


def get_organisation_by_name(name: str) -> Organisation:
    organisation = session.scalar(
        sa.select(Organisation).where(sa.func.lower(Organisation.name) == name.lower())
    )
    if organisation is None:
        raise NotFound(_("No organisation is called %(name)s.", name=name), field="org")
    return organisation


DEFAULT_AGREEMENT_TITLE = "Network agreement and communication rules"


def create_network(
    slug: str,
    name: str,
    organisation: Organisation,
    *,
    actor: Person | None = None,
    coordinator: Person | None = None,
    agreement_body: str | None = None,
    description: str = "",
) -> Network:
    """A network with its founding organisation and a first agreement; ``coordinator`` becomes active at once."""
    slug = (slug or "").strip().lower()
    if not _SLUG.match(slug):
        raise InvalidInput(
            _("Use 1 to 64 lower-case letters, digits and hyphens for the address, like 'berlin-mentors'."),
            field="slug",
        )
    if not (name or "").strip():
        raise InvalidInput(_("Give the network a name."), field="name")
    if session.scalar(sa.select(Network.id).where(Network.slug == slug)):
        raise Conflict(_("The address %(slug)s is taken.", slug=slug), field="slug")
    network = Network(
        slug=slug,
        name=name.strip()[:200],
        organisation=organisation,
        description=description,
        languages=[],
        region="",
    )
    session.add(network)
    session.flush()
    session.add(
        Agreement(
            network=network,
            version=1,
            title=DEFAULT_AGREEMENT_TITLE,
            body=agreement_body or default_agreement_body(),
            published_by_id=getattr(actor, "id", None),
        )
    )
    if coordinator is not None:
        # The founding coordinator starts the network on its first agreement (they would otherwise be asked to
        # accept the text they start with before they can do anything).
        session.flush()
        session.add(
            AgreementAcceptance(
                agreement=current_agreement(network), person_id=coordinator.id, accepted_at=utcnow()
            )
        )
        session.add(
            Membership(
                network=network,
                person=coordinator,
                role=Role.coordinator,
                level=Level.experienced,
                status=MembershipStatus.active,
                origin=Origin.invited,
                joined_at=utcnow(),
            )
        )
    session.flush()
    record("network.create", actor=actor, target=network, network=network, slug=slug)
    from network_service.conversations.operations import (
        create_default_channels,  # the module builds on this one
    )

    create_default_channels(network, actor=actor)
    return network


def default_agreement_body() -> str:
    return (
        "1. We support each other in our mentoring and answer help requests when we can.\n"
        "2. We keep the personal data of the people we mentor out of the network: no names, phone numbers, "
        "addresses or case details that identify anyone.\n"
        "3. We treat each other with respect, whatever our language, origin or experience.\n"
        "4. We meet regularly and keep the network office informed when we cannot take part for a while.\n"
        "5. We follow the communication rules of the network and the guidance of the Meta-Mentor."
    )


_NETWORK_BY_SLUG = sa.select(Network).where(Network.slug == sa.bindparam("slug"))  # built once: every page


def get_network(slug: str) -> Network:
    network = session.scalar(_NETWORK_BY_SLUG, {"slug": slug})
    if network is None:
        raise NotFound(_("There is no network at this address."), field="network")
    return network


def people_in_roles(network: Network, roles) -> list[Person]:
    """The network's active members in ``roles`` (to notify its coordinators, its moderators...), loaded
    without their memberships."""
    return list(
        session.scalars(
            sa.select(Person)
            .join(Membership, Membership.person_id == Person.id)
            .where(
                Membership.network_id == network.id,
                Membership.status == MembershipStatus.active,
                Membership.role.in_(list(roles)),
            )
            .options(lazyload(Person.memberships))
        )
    )


def networks_of(person: Person) -> list[Membership]:
    """The person's memberships that are not over, networks in name order."""
    return list(
        session.scalars(
            sa.select(Membership)
            .join(Network)
            .where(
                Membership.person_id == person.id,
                Membership.status.in_([MembershipStatus.active, MembershipStatus.invited]),
            )
            .order_by(Network.name)
        )
    )


class NetworkCard(typing.NamedTuple):
    status: MembershipStatus
    role: Role
    level: Level
    network_name: str
    slug: str
    organisation_name: str


class HomeSummary(typing.NamedTuple):
    """What the signed-in home page shows below its header, as plain values (networks/views.py ``home`` keys its
    cache with them)."""

    cards: tuple[NetworkCard, ...]  # the memberships that are not over
    applications: tuple  # of growth.operations.ApplicationCard, newest first
    sharing_undecided: bool  # no answer yet to sharing the profile (privacy.operations.sharing_undecided)


def home_summary(person: Person, applications: int = 5) -> HomeSummary:
    """The home page's reads in one statement built once, on the Core connection, no ORM objects: the person's
    memberships that are not over with their networks and organisations (networks in name order: case and
    accents aside, then as written), their latest ``applications`` applications (newest first) and their latest
    answer to sharing their profile (privacy.operations ``LATEST_CONSENT`` and ``state_of``)."""
    from network_service.growth.operations import ApplicationCard  # noqa: PLC0415 - growth builds on networks
    from network_service.privacy.operations import NOT_CHOSEN, PROFILE_SHARING, state_of  # noqa: PLC0415

    rows = (
        session.connection()
        .execute(
            _home_statement(), {"person_id": person.id, "purpose": PROFILE_SHARING, "limit": applications}
        )
        .all()
    )
    first = rows[0]  # the anchor's row is always there (outer joins)
    cards = [
        (
            NetworkCard(
                MembershipStatus(row.status),
                Role(row.role),
                Level(row.level),
                row.network_name,
                row.slug,
                row.organisation_name,
            ),
            row.sort,
        )
        for row in rows
        if row.part == 0
    ]
    cards.sort(key=lambda item: (_name_key(item[0].network_name), item[0].network_name, item[1]))
    applied = sorted((row for row in rows if row.part == 1), key=lambda row: -row.sort)
    return HomeSummary(
        tuple(card for card, _network_id in cards),
        tuple(ApplicationCard(row.status, row.network_name, row.slug) for row in applied),
        state_of(PROFILE_SHARING, first if first.given is not None else None) == NOT_CHOSEN,
    )


@functools.cache
def _home_statement() -> sa.Select:
    """Built once, at first use (every model imported): a one-row anchor, outer-joined to the latest consent
    record for sharing the profile and to the memberships and applications (``part`` 0 and 1; a UNION ALL keeps
    no order: ``sort`` is the network's id, the application's id). The statuses, roles and levels come as their
    stored values (the two parts' enums differ)."""
    from network_service.growth.models import NetworkApplication  # noqa: PLC0415 - growth builds on networks
    from network_service.privacy.operations import LATEST_CONSENT  # noqa: PLC0415

    person_id = sa.bindparam("person_id", type_=sa.Integer)
    text = sa.String(20)
    none = sa.cast(sa.null(), text)
    memberships = (
        sa.select(
            sa.literal_column("0", sa.Integer).label("part"),
            sa.cast(Membership.status, text).label("status"),
            sa.cast(Membership.role, text).label("role"),
            sa.cast(Membership.level, text).label("level"),
            Network.name.label("network_name"),
            Network.slug.label("slug"),
            Organisation.name.label("organisation_name"),
            Network.id.label("sort"),
        )
        .join_from(Membership, Network, Network.id == Membership.network_id)
        .join(Organisation, Organisation.id == Network.organisation_id)
        .where(Membership.person_id == person_id, Membership.status.in_(_SHOWN_ON_HOME))
    )
    latest = (
        sa.select(
            NetworkApplication.id,
            sa.cast(NetworkApplication.status, text).label("status"),
            Network.name,
            Network.slug,
        )
        .join_from(NetworkApplication, Network, Network.id == NetworkApplication.network_id)
        .where(NetworkApplication.person_id == person_id)
        .order_by(NetworkApplication.id.desc())
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .subquery("latest")
    )
    applications = sa.select(
        sa.literal_column("1", sa.Integer),
        latest.c.status,
        none,
        none,
        latest.c.name,
        latest.c.slug,
        sa.cast(sa.null(), Organisation.name.type),
        latest.c.id,
    )
    rows = sa.union_all(memberships, applications).subquery("home_rows")
    consent = LATEST_CONSENT.subquery("consent")
    anchor = sa.select(sa.literal_column("1", sa.Integer).label("one")).subquery("anchor")
    return sa.select(consent.c.given, consent.c.text_version, rows).select_from(
        anchor.outerjoin(consent, sa.true()).outerjoin(rows, sa.true())
    )


_SHOWN_ON_HOME = (MembershipStatus.active, MembershipStatus.invited)


def _name_key(name: str) -> str:
    return (
        unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold() or name.casefold()
    )


_ROLE_ORDER = sa.case(
    {Role.coordinator: 0, Role.meta_mentor: 1, Role.office: 2, Role.mentor: 3}, value=Membership.role
)


OVERVIEW_NEWEST = 12  # newest mentors shown on the network page; the members page pages through everyone
OVERVIEW_INVITED = 20


class ShownPerson(typing.NamedTuple):
    """What a member card shows of the person (the attributes of ``Person`` that networks/_member.html reads)."""

    id: int
    name_or_email: str
    languages: tuple[str, ...]
    region: str


class MemberCard(typing.NamedTuple):
    """One member on the network page, as plain values (the attributes of ``Membership`` that
    networks/_member.html reads): hashable, so the page's HTML can be kept under exactly what it shows."""

    id: int
    person: ShownPerson
    role: Role
    level: Level
    joined_at: dt.datetime | None


class InvitedCard(typing.NamedTuple):
    email: str | None
    origin: Origin


class ShownAgreement(typing.NamedTuple):
    version: int
    title: str
    body: str


@dataclasses.dataclass
class Overview:
    active_count: int
    invited_count: int
    shown: list[MemberCard]  # the leaders (coordinators, Meta-Mentors, office), then the newest mentors
    invited: list[InvitedCard]  # the most recent invitees (only for those who may invite)
    agreement: ShownAgreement  # the current version
    profile_shared: frozenset[int]  # the people shown who share their profile (privacy.operations.given_flag)
    partners: tuple[str, ...]  # the names of the accepted partner organisations, in name order


def check_can_view_members(viewer: Person | None, network: Network) -> None:
    if not permissions.can_view_members(viewer, network):
        raise Forbidden(_("Only members of this network can see who belongs to it."))


def network_overview(network: Network, viewer: Person | None) -> Overview:
    """What the network page shows, in one statement whatever the network's size (the counts, the current
    agreement, the leaders and the newest mentors with whether each shares their profile, the partners' names),
    and one more for those who may invite (the latest invitees). Everyone else is on the members page, fifty at
    a time. Plain rows, no ORM objects: the page keys its HTML on them (networks/views.py ``_overview_html``)."""
    check_can_view_members(viewer, network)
    statement, invited_statement = _overview_statements()
    connection = session.connection()
    rows = connection.execute(statement, {"network_id": network.id}).all()
    first = rows[0]  # the counts' row is always there (outer joins)
    if first.version is None:  # create_network always makes version 1; this guards hand-made data
        raise NotFound(_("This network has no agreement yet."))
    members = sorted((row for row in rows if row.part is not None), key=lambda row: (row.part, row.rank))
    partners = tuple(row.display_name for row in members if row.part == 2)
    members = [row for row in members if row.part != 2]
    shown = [
        MemberCard(
            row.id,
            ShownPerson(
                row.person_id,
                row.display_name or (row.email or "").split("@")[0],  # Person.name_or_email
                tuple(row.languages or ()),
                row.region,
            ),
            row.role,
            row.level,
            row.joined_at,
        )
        for row in members
        if row.part == 0 or row.rank <= OVERVIEW_NEWEST
    ]
    invited: list[InvitedCard] = []
    if permissions.can_invite(viewer, network):
        invited = [
            InvitedCard(*row) for row in connection.execute(invited_statement, {"network_id": network.id})
        ]
    return Overview(
        active_count=first.active_count,
        invited_count=first.invited_count,
        shown=shown,
        invited=invited,
        agreement=ShownAgreement(first.version, first.title, first.body),
        profile_shared=frozenset(row.person_id for row in members if row.shared),
        partners=partners,
    )


@functools.cache
def _overview_statements() -> tuple[sa.Select, sa.Select]:
    """The network page's statements, built once at first use (building one costs more CPU than running it; the
    mappers are complete only once every model is imported), for the Core connection: the counts' row,
    outer-joined to the current agreement and to the leaders, the newest mentors (with whether each shares their
    profile: privacy.operations ``given_flag``) and the accepted partners (each with its place in its own order,
    ``part`` and ``rank``: a UNION ALL keeps no order); and the latest invitees."""
    from network_service.growth.models import NetworkPartner, PartnerStatus  # noqa: PLC0415 - growth builds on us
    from network_service.privacy.operations import PROFILE_SHARING, given_flag  # noqa: PLC0415

    network_id = sa.bindparam("network_id", type_=sa.Integer)
    is_active = Membership.status == MembershipStatus.active
    counts = (
        sa.select(
            sa.func.count(sa.case((is_active, Membership.id))).label("active_count"),
            sa.func.count(sa.case((Membership.status == MembershipStatus.invited, Membership.id))).label(
                "invited_count"
            ),
        )
        .where(
            Membership.network_id == network_id,
            Membership.status.in_([MembershipStatus.active, MembershipStatus.invited]),
        )
        .subquery("counts")
    )
    agreement = (
        sa.select(Agreement.version, Agreement.title, Agreement.body)
        .where(Agreement.network_id == network_id)
        .order_by(Agreement.version.desc())
        .limit(1)
        .subquery("agreement")
    )
    columns = (
        Membership.id,
        Membership.person_id,
        Membership.role,
        Membership.level,
        Membership.joined_at,
        Person.display_name,
        Person.email,
        Person.languages,
        Person.region,
        given_flag(Membership.person_id, PROFILE_SHARING).label("shared"),
    )

    def part(number: int, order: tuple, *conditions) -> sa.Select:
        return (
            sa.select(
                sa.literal_column(str(number), sa.Integer).label("part"),
                sa.func.row_number().over(order_by=order).label("rank"),
                *columns,
            )
            .join_from(Membership, Person, Person.id == Membership.person_id)
            .where(Membership.network_id == network_id, is_active, *conditions)
        )

    leaders = part(
        0, (_ROLE_ORDER, sa.func.lower(Person.display_name), Membership.id), Membership.role != Role.mentor
    )
    newest = part(
        1,
        (Membership.joined_at.desc().nulls_last(), Membership.id.desc()),
        Membership.id.in_(_newest_mentor_ids(network_id)),
    )
    # The accepted partners' names, in name order, in the place of the person's name.
    partners = sa.select(
        sa.literal_column("2", sa.Integer),
        sa.func.row_number().over(order_by=Organisation.name),
        NetworkPartner.id,
        *(sa.cast(sa.null(), column.type) for column in columns[1:5]),
        Organisation.name,
        *(sa.cast(sa.null(), column.type) for column in columns[6:]),
    ).join_from(NetworkPartner, Organisation, Organisation.id == NetworkPartner.organisation_id)
    partners = partners.where(
        NetworkPartner.network_id == network_id, NetworkPartner.status == PartnerStatus.accepted
    )
    members = sa.union_all(leaders, newest, partners).subquery("members")
    statement = sa.select(counts, agreement, members).select_from(
        counts.outerjoin(agreement, sa.true()).outerjoin(members, sa.true())
    )
    invited = (
        sa.select(Person.email, Membership.origin)
        .join_from(Membership, Person, Person.id == Membership.person_id)
        .where(Membership.network_id == network_id, Membership.status == MembershipStatus.invited)
        .order_by(Membership.created_at.desc(), Membership.id.desc())
        .limit(OVERVIEW_INVITED)
    )
    return statement, invited


def _newest_mentor_ids(network_id) -> sa.Select:
    """The ids of the newest active mentors, walked along ix_membership_newest instead of sorting every member:
    those with a join date, newest first, then (rare) those without one, each part at most OVERVIEW_NEWEST."""
    mentors = sa.select(Membership.id).where(
        Membership.network_id == network_id,
        Membership.status == MembershipStatus.active,
        Membership.role == Role.mentor,
    )
    dated = (
        mentors.where(Membership.joined_at.is_not(None))
        .order_by(Membership.joined_at.desc(), Membership.id.desc())
        .limit(OVERVIEW_NEWEST)
        .subquery()
    )
    undated = (
        mentors.where(Membership.joined_at.is_(None))
        .order_by(Membership.id.desc())
        .limit(OVERVIEW_NEWEST)
        .subquery()
    )
    return sa.union_all(sa.select(dated.c.id), sa.select(undated.c.id))


def current_agreement(network: Network) -> Agreement:
    agreement = session.scalar(
        sa.select(Agreement)
        .where(Agreement.network_id == network.id)
        .order_by(Agreement.version.desc())
        .limit(1)
    )
    if agreement is None:  # create_network always makes version 1; this guards hand-made data
        raise NotFound(_("This network has no agreement yet."))
    return agreement


MAX_AGREEMENT_TITLE = 200
MAX_CHANGE_NOTE = 2000


def publish_agreement(
    network: Network, title: str, body: str, *, actor: Person, change_note: str = ""
) -> Agreement:
    """A new version of the agreement and communication rules. Every active member is asked to accept it again
    (a notification now, reminders later); the publisher accepts it by publishing it."""
    if not permissions.can_publish_agreement(actor, network):
        raise Forbidden(_("Only the coordinator or the Meta-Mentor can publish a new agreement."))
    title, body, change_note = (title or "").strip(), (body or "").strip(), (change_note or "").strip()
    if not title:
        raise InvalidInput(_("Give the agreement a title."), field="title")
    if len(title) > MAX_AGREEMENT_TITLE:
        raise InvalidInput(
            _("Keep the title to %(max)s characters or fewer.", max=MAX_AGREEMENT_TITLE), field="title"
        )
    if not body:
        raise InvalidInput(_("Write the text of the agreement."), field="body")
    if len(body) > MAX_MARKDOWN_CHARS:
        raise InvalidInput(
            _("The text is too long: at most %(max)s characters.", max=MAX_MARKDOWN_CHARS), field="body"
        )
    if len(change_note) > MAX_CHANGE_NOTE:
        raise InvalidInput(
            _("Keep the change note to %(max)s characters or fewer.", max=MAX_CHANGE_NOTE),
            field="change_note",
        )
    refuse_html_in_markdown(body, "body")
    refuse_html_in_markdown(change_note, "change_note")  # shown as Markdown above the text
    previous = current_agreement(network)
    if previous.title == title and previous.body == body:
        raise InvalidInput(
            _("This text is the same as the current version. Change it before publishing."), field="body"
        )
    version = previous.version + 1
    agreement = Agreement(
        network=network,
        version=version,
        title=title,
        body=body,
        change_note=change_note,
        published_by_id=actor.id,
    )
    session.add(agreement)
    session.flush()
    if permissions.is_member(actor, network):
        session.add(AgreementAcceptance(agreement=agreement, person_id=actor.id, accepted_at=utcnow()))
        session.flush()
    record("agreement.publish", actor=actor, target=agreement, network=network, version=version)
    members = session.scalars(
        sa.select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.network_id == network.id, Membership.status == MembershipStatus.active)
    ).all()
    notify(
        members,
        "agreement.new",
        url=f"/networks/{network.slug}/agreement",
        network=network,
        actor=actor,
        network_name=network.name,
        version=version,
    )
    return agreement


# Asked before every write of a member (help requests, messages...) and on every network page (the agreement
# banner): built once.
_ACCEPTED_CURRENT = sa.select(AgreementAcceptance.id).where(
    AgreementAcceptance.agreement_id
    == (
        sa.select(Agreement.id)
        .where(Agreement.network_id == sa.bindparam("network_id", type_=sa.Integer))
        .order_by(Agreement.version.desc())
        .limit(1)
        .scalar_subquery()
    ),
    AgreementAcceptance.person_id == sa.bindparam("viewer_id", type_=sa.Integer),
)
_PENDING = sa.select(~sa.exists(_ACCEPTED_CURRENT))


def has_accepted_current(person: Person | None, network: Network) -> bool:
    """Has ``person`` accepted the current version of the network's agreement? (One query.)"""
    if person is None or person.id is None:
        return False
    return session.scalar(_ACCEPTED_CURRENT, {"network_id": network.id, "viewer_id": person.id}) is not None


def agreement_pending(person: Person | None, network: Network) -> bool:
    """An active member who has not accepted the current agreement (the banner on the network's pages)."""
    return permissions.is_member(person, network) and not has_accepted_current(person, network)


def agreement_pending_query(person: Person, network: Network) -> tuple[sa.Select, dict] | bool:
    """``agreement_pending`` as (statement, parameters), for the navigation to ask with the badges, or the
    answer when no statement is needed."""
    if not permissions.is_member(person, network):
        return False
    if person.id is None:
        return True
    return _PENDING, {"network_id": network.id, "viewer_id": person.id}


class AgreementPending(Forbidden):
    """``require_current_agreement``'s refusal: a ``Forbidden`` (403, the same detail as ever, no field) that also
    says which agreement to accept (``agreement_url``, a local path), so that a form can keep what was typed and
    link to it. Code that catches ``Forbidden`` sees no difference."""

    def __init__(self, detail: str, *, network: Network):
        super().__init__(detail)
        self.network_name = network.name
        self.agreement_url = f"/networks/{network.slug}/agreement"


def require_current_agreement(person: Person | None, network: Network) -> None:
    """For write operations: an active member must have accepted the current agreement and communication rules
    first. Site administrators act without a membership and are not asked. Call it after the permission check.
    Raises ``AgreementPending`` (a ``Forbidden``)."""
    if person is not None and person.is_site_admin and not permissions.is_member(person, network):
        return
    if agreement_pending(person, network):
        raise AgreementPending(
            _(
                "The agreement of %(network)s has changed. Please read and accept the new version first: "
                "%(url)s",
                network=network.name,
                url=f"/networks/{network.slug}/agreement",
            ),
            network=network,
        )


def has_accepted(person: Person, agreement: Agreement) -> bool:
    return (
        session.scalar(
            sa.select(AgreementAcceptance.id).where(
                AgreementAcceptance.agreement_id == agreement.id, AgreementAcceptance.person_id == person.id
            )
        )
        is not None
    )


def accept_agreement(person: Person, agreement: Agreement) -> AgreementAcceptance:
    existing = session.scalar(
        sa.select(AgreementAcceptance).where(
            AgreementAcceptance.agreement_id == agreement.id, AgreementAcceptance.person_id == person.id
        )
    )
    if existing is not None:
        return existing
    acceptance = AgreementAcceptance(agreement=agreement, person_id=person.id, accepted_at=utcnow())
    session.add(acceptance)
    session.flush()
    return acceptance


def invite_person(
    network: Network,
    email: str,
    *,
    actor: Person | None,
    display_name: str = "",
    role: Role = Role.mentor,
    level: Level = Level.novice,
    origin: Origin = Origin.invited,
    locale: str | None = None,
) -> Invitation:
    """Invite someone by e-mail; ``actor=None`` is the system itself (graduate provisioning).

    Inviting someone who is already invited sends a fresh link and retires the old one; inviting an active
    member is a conflict.
    """
    if actor is not None and not permissions.can_invite(actor, network):
        raise Forbidden(_("Only the coordinator, the Meta-Mentor or the network office can invite people."))
    if actor is not None:
        require_current_agreement(actor, network)
    if (
        (role != Role.mentor or level != Level.novice)
        and actor is not None
        and not permissions.can_appoint(actor, network)
    ):
        raise Forbidden(
            _("Only the coordinator can invite someone into a role or as an experienced mentor."),
            field="role" if role != Role.mentor else "level",
        )
    person, created = get_or_create_person(normalise_email(email), display_name=display_name, locale=locale)
    # Someone who may not appoint can send a fresh link, but not change the role the earlier invitation gave.
    keep_role = actor is not None and not permissions.can_appoint(actor, network)
    return send_invitation(
        network,
        person,
        new_person=created,
        actor=actor,
        role=role,
        level=level,
        origin=origin,
        keep_role=keep_role,
    )


def send_invitation(
    network: Network,
    person: Person,
    *,
    new_person: bool,
    actor: Person | None,
    role: Role = Role.mentor,
    level: Level = Level.novice,
    origin: Origin = Origin.invited,
    keep_role: bool = False,
) -> Invitation:
    """Invite ``person`` (permissions already checked). ``new_person``: created in this transaction, so there is
    no membership or earlier invitation to look for (two queries fewer on the graduates' hot path)."""
    membership = None
    if not new_person:
        membership = session.scalar(
            sa.select(Membership).where(
                Membership.network_id == network.id, Membership.person_id == person.id
            )
        )
    if membership is not None and membership.status in (MembershipStatus.active, MembershipStatus.suspended):
        raise Conflict(_("%(email)s is already a member of this network.", email=person.email), field="email")
    if membership is None:
        membership = Membership(network=network, person=person)
        session.add(membership)
        keep_role = False
    if not (keep_role and membership.status == MembershipStatus.invited):
        membership.role, membership.level, membership.origin = role, level, origin
    membership.status = MembershipStatus.invited

    if not new_person:
        # One usable link per person and network: a new invitation retires the earlier ones.
        session.execute(
            sa.update(Invitation)
            .where(
                Invitation.network_id == network.id,
                Invitation.person_id == person.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    invitation, token = stage_invitation(network, person, actor=actor, origin=origin)
    session.flush()
    announce_invitation(invitation, token, actor=actor, role=role, origin=origin)
    return invitation


def stage_invitation(
    network: Network, person: Person, *, actor: Person | None, origin: Origin
) -> tuple[Invitation, str]:
    """The invitation row with its secret link (not flushed); ``announce_invitation`` mails it once it has an
    id. Split so that graduate provisioning can stage many and write them in one flush."""
    token, token_hash = new_token()
    invitation = Invitation(
        network=network,
        person=person,
        invited_by_id=getattr(actor, "id", None),
        token_hash=token_hash,
        expires_at=utcnow() + dt.timedelta(days=_invitation_days(origin)),
    )
    session.add(invitation)
    return invitation, token


def _invitation_days(origin: Origin) -> int:
    return current_app.config["GRADUATE_INVITATION_DAYS" if origin == Origin.graduate else "INVITATION_DAYS"]


def announce_invitation(
    invitation: Invitation, token: str, *, actor: Person | None, role: Role, origin: Origin
) -> None:
    """Queue the invitation e-mail and write the audit entry, for an invitation that has been flushed."""
    person, network = invitation.person, invitation.network
    queue_mail(
        "invitation",
        person.email,
        "invitation_graduate" if origin == Origin.graduate else "invitation",
        locale=person.locale,
        person=person,
        network=network,
        inviter=actor,
        link=public_url(f"/invitations/{token}"),
        days=_invitation_days(origin),
    )
    record(
        "invitation.send",
        actor=actor,
        target=invitation,
        network=network,
        person_id=person.id,
        origin=origin.value,
        role=role.value,
    )


def check_invitation(token: str) -> Invitation:
    token_hash = hash_token(token)
    invitation = session.scalar(sa.select(Invitation).where(Invitation.token_hash == token_hash))
    if invitation is None:  # the link of a reminder
        invitation = session.scalar(
            sa.select(Invitation).join(InvitationReminder).where(InvitationReminder.token_hash == token_hash)
        )
    if invitation is None:
        raise LinkInvalid(
            _("This invitation link is not known. Ask the person who invited you for a new one.")
        )
    if invitation.accepted_at is not None:
        raise LinkInvalid(_("This invitation has already been accepted. Sign in to reach your network."))
    if invitation.revoked_at is not None:
        raise LinkInvalid(_("A newer invitation replaced this one. Use the link in the latest e-mail."))
    if invitation.expires_at <= utcnow():
        raise LinkInvalid(_("This invitation has expired. Ask the network office for a new one."))
    return invitation


def accept_invitation(
    token: str,
    *,
    agreement_version: int | None,
    accept: bool,
    display_name: str = "",
    share_profile: bool | None = None,
) -> Membership:
    """Accepting needs an explicit yes to the agreement version the invitee was shown, and that must be current.
    ``share_profile``: the person's answer to sharing their profile (True, False, or None: not answered)."""
    return _accept(
        check_invitation(token),
        agreement_version=agreement_version,
        accept=accept,
        display_name=display_name,
        share_profile=share_profile,
    )


def open_invitation_of(person: Person, network: Network) -> Invitation:
    """The usable invitation of a signed-in person (they proved who they are by signing in, so the e-mailed
    link is not needed: a graduate who arrives from their course can join at once)."""
    invitation = session.scalar(
        sa.select(Invitation)
        .where(
            Invitation.network_id == network.id,
            Invitation.person_id == person.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.id.desc())
        .limit(1)
    )
    if invitation is None:
        raise LinkInvalid(_("You have no open invitation to this network. Ask the network office for one."))
    return invitation


def join_invited(
    person: Person,
    network: Network,
    *,
    agreement_version: int | None,
    accept: bool,
    display_name: str = "",
    share_profile: bool | None = None,
) -> Membership:
    """Accept one's own open invitation while signed in: the same checks as accepting by the e-mailed link."""
    invitation = open_invitation_of(person, network)
    return _accept(
        invitation,
        agreement_version=agreement_version,
        accept=accept,
        display_name=display_name,
        share_profile=share_profile,
    )


def _accept(
    invitation: Invitation,
    *,
    agreement_version: int | None,
    accept: bool,
    display_name: str,
    share_profile: bool | None = None,
) -> Membership:
    network = invitation.network
    agreement = current_agreement(network)
    if not accept:
        raise InvalidInput(
            _("To join, read the agreement and tick the box to accept it."), field="accept_agreement"
        )
    if agreement_version != agreement.version:
        raise Conflict(
            _("The agreement changed while you were reading it. Please read the new version and accept it."),
            field="agreement_version",
        )
    person = invitation.person
    if display_name.strip():
        person.display_name = display_name.strip()[:120]
    if not person.display_name:
        raise InvalidInput(_("Enter the name other members will see."), field="display_name")
    # Conditional update so that two clicks on the same link accept once.
    result = session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
        .values(accepted_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise LinkInvalid(_("This invitation has already been accepted. Sign in to reach your network."))
    membership = session.scalar(
        sa.select(Membership).where(Membership.network_id == network.id, Membership.person_id == person.id)
    )
    if membership is None:  # the membership was removed after the invitation went out
        raise LinkInvalid(_("This invitation is no longer valid. Ask the network office for a new one."))
    membership.status = MembershipStatus.active
    membership.joined_at = utcnow()
    accept_agreement(person, agreement)
    if share_profile is not None:
        # the person's own answer, asked when joining (None: not answered, nothing is recorded or assumed)
        from network_service.privacy.operations import PROFILE_SHARING, set_consent

        set_consent(person, PROFILE_SHARING, share_profile, actor=person, via="join")
    session.flush()
    session.refresh(invitation)
    record(
        "invitation.accept",
        actor=person,
        target=membership,
        network=network,
        agreement_version=agreement.version,
    )
    return membership


def leaves_no_coordinator(membership: Membership, network: Network) -> bool:
    """Whether the network would have no active coordinator left if ``membership`` stopped being one (a change
    of role, leaving, a suspension). Locks the coordinators' rows (PostgreSQL; SQLite writes are serial) so that
    two coordinators stepping down at once cannot both count the other as the one who remains."""
    if membership.role != Role.coordinator:
        return False
    remaining = session.scalars(
        sa.select(Membership.id)
        .where(
            Membership.network_id == network.id,
            Membership.role == Role.coordinator,
            Membership.status == MembershipStatus.active,
        )
        .with_for_update()
    ).all()
    return not set(remaining) - {membership.id}


def appoint(
    network: Network, person: Person, *, actor: Person, role: Role | None = None, level: Level | None = None
) -> Membership:
    if not permissions.can_appoint(actor, network):
        raise Forbidden(_("Only the coordinator can appoint roles."))
    require_current_agreement(actor, network)
    membership = session.scalar(
        sa.select(Membership).where(Membership.network_id == network.id, Membership.person_id == person.id)
    )
    if membership is None or membership.status not in (MembershipStatus.active, MembershipStatus.invited):
        raise NotFound(_("This person is not a member of the network."), field="person")
    if role is not None and role != Role.coordinator and leaves_no_coordinator(membership, network):
        raise Conflict(
            _("A network needs at least one coordinator. Appoint another one first."), field="role"
        )
    before = {"role": membership.role.value, "level": membership.level.value}
    if role is not None:
        membership.role = role
    if level is not None:
        membership.level = level
    session.flush()
    record(
        "membership.appoint",
        actor=actor,
        target=membership,
        network=network,
        before=before,
        after={"role": membership.role.value, "level": membership.level.value},
    )
    if before != {"role": membership.role.value, "level": membership.level.value}:
        notify(
            [person],
            "networks.appointed",
            url=f"/networks/{network.slug}",
            network=network,
            actor=actor,
            network_name=network.name,
            role=membership.role.value,
            level=membership.level.value,
        )
    return membership


def send_invitation_reminders(now: dt.datetime | None = None) -> int:
    """Remind invitees who have not answered, ``INVITATION_REMINDER_DAYS`` after the invitation (3 and 10 by
    default). Each reminder has a link of its own; each is sent once, even when several processes run this."""
    now = now or utcnow()
    schedule = sorted(current_app.config["INVITATION_REMINDER_DAYS"])
    if not schedule:
        return 0
    sent_so_far = (
        sa.select(sa.func.count(InvitationReminder.id))
        .where(InvitationReminder.invitation_id == Invitation.id)
        .scalar_subquery()
    )
    candidates = session.execute(
        sa.select(Invitation, sent_so_far)
        .where(
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
            Invitation.created_at <= now - dt.timedelta(days=schedule[0]),
            sent_so_far < len(schedule),
        )
        .order_by(Invitation.id)
    ).all()
    sent = 0
    for invitation, count in candidates:
        due = [days for days in schedule if invitation.created_at + dt.timedelta(days=days) <= now]
        if len(due) <= count:
            continue
        if _remind(invitation, sequence=count + 1, now=now):
            sent += 1
    return sent


def _remind(invitation: Invitation, *, sequence: int, now: dt.datetime) -> bool:
    token, token_hash = new_token()
    try:
        with session.begin_nested():
            session.add(
                InvitationReminder(
                    invitation=invitation, sequence=sequence, token_hash=token_hash, sent_at=now
                )
            )
            session.flush()
    except sa.exc.IntegrityError:
        return False  # another process sent this reminder a moment ago
    person, network = invitation.person, invitation.network
    queue_mail(
        "invitation_reminder",
        person.email,
        "invitation_reminder",
        locale=person.locale,
        person=person,
        network=network,
        link=public_url(f"/invitations/{token}"),
        expires_at=invitation.expires_at,
    )
    record("invitation.remind", target=invitation, network=network, sequence=sequence)
    return True
