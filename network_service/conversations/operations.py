"""Conversations: channels, threads, direct messages, mentions, read markers and search.

Plain functions: they check permissions, validate, flush, and leave the commit to the request.

Mentions are written ``@[Display Name]``: the name between the brackets is compared, ignoring case, with the
display names of the active members of the network who can read the channel; each match (all people of that
name) is notified once. Anything else (``@name`` without brackets, an unknown name) stays plain text.
"""

from __future__ import annotations

import datetime as dt
import logging
import pickle  # nosec B403 - the channel page's own rows, see list_thread_rows
import re
import secrets
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy.orm import joinedload, lazyload, selectinload

from network_service import page_cache
from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.conversations import permissions
from network_service.conversations.models import (
    Channel,
    ChannelKind,
    ChannelMember,
    Message,
    MessageRevision,
)
from network_service.db import db, flushed_connection, session, utcnow
from network_service.errors import Conflict, Forbidden, InvalidInput, MentorNetError, NotFound
from network_service.federations import access as federation_access
from network_service.federations.models import SharedChannel
from network_service.markup import MAX_MARKDOWN_CHARS, refuse_html_in_markdown, render_markdown
from network_service.moderation.models import Block, Report, ReportStatus
from network_service.networks.models import Membership, MembershipStatus, Network
from network_service.networks.operations import has_accepted_current, require_current_agreement
from network_service.networks.permissions import active_membership, is_member
from network_service.networks.roadmap import Checkpoint, Phase, register_checkpoint
from network_service.notifications.operations import notify, register_kind

log = logging.getLogger(__name__)

PAGE_SIZE = 30
REPLIES_PAGE_SIZE = 50
SEARCH_PAGE_SIZE = 30
MAX_DIRECT_PEOPLE = 8  # the writer included
MAX_NAME_CHARS = 80
MAX_DESCRIPTION_CHARS = 500
FLOOD_LIMIT = 20  # messages per person ...
FLOOD_WINDOW = dt.timedelta(minutes=1)  # ... in this window
DEFAULT_CHANNEL_SLUG = "general"

register_kind("conversations.mention", lambda p: _("%(author)s mentioned you in %(channel)s", **p))
register_kind("conversations.direct", lambda p: _("%(author)s sent you a message", **p))
register_kind("conversations.reply", lambda p: _("%(author)s replied in a thread in %(channel)s", **p))


class TooManyMessages(MentorNetError):
    status = 429
    title = _l("Slow down")


MENTION = re.compile(r"@\[([^\[\]\n]{1,120})\]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~&])")


def mentioned_names(body: str) -> set[str]:
    """The names mentioned (``@[Name]``), lower-cased as the database's ``lower()`` does (``_readers_named``
    compares them with it): ``str.lower``, not ``casefold``, which turns a final "ς" into "σ" and "ß" into "ss"."""
    return {name.strip().lower() for name in MENTION.findall(body or "") if name.strip()}


def render_message(body: str) -> Markup:
    """The message's Markdown as safe HTML, mentions shown as emphasised ``@Name``."""

    def emphasise(match: re.Match) -> str:
        name = _MARKDOWN_SPECIAL.sub(r"\\\1", match.group(1).strip())
        return f"**@{name}**"

    return render_markdown(MENTION.sub(emphasise, body or ""))


# -- channels ------------------------------------------------------------------------------------------


_connection = flushed_connection


def _slugify(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:48].strip("-")
    return text or "channel"


def _free_slug(network: Network, wanted: str) -> str:
    taken = set(
        session.scalars(
            sa.select(Channel.slug).where(Channel.network_id == network.id, Channel.slug.like(f"{wanted}%"))
        )
    )
    if wanted not in taken:
        return wanted
    number = 2
    while f"{wanted}-{number}" in taken:
        number += 1
    return f"{wanted}-{number}"


def _clean_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME_CHARS:
        raise InvalidInput(
            _("Give the channel a name of 1 to %(max)s characters.", max=MAX_NAME_CHARS), field="name"
        )
    return name


def _clean_description(description: str | None) -> str:
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise InvalidInput(
            _("Keep the description under %(max)s characters.", max=MAX_DESCRIPTION_CHARS),
            field="description",
        )
    return description


def _active_members(network_id: int, *conditions) -> sa.Select:
    """The active members of the network meeting every condition (on ``Person``): the one query behind choosing,
    finding and checking people in conversations (``_active_people``, ``find_members``, ``chosen_people``)."""
    return (
        sa.select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(
            Membership.network_id == network_id,
            Membership.status == MembershipStatus.active,
            *conditions,
        )
        .options(lazyload(Person.memberships))
    )


def _active_people(network: Network, person_ids, field: str) -> list[Person]:
    ids = {int(pid) for pid in person_ids or []}
    if not ids:
        return []
    people = list(session.scalars(_active_members(network.id, Person.id.in_(ids))))
    if len(people) != len(ids):
        raise InvalidInput(_("Choose only active members of this network."), field=field)
    return people


MAX_GROUP_MEMBERS = 200  # the creator included


def create_channel(
    network: Network,
    *,
    actor: Person,
    name: str,
    kind: ChannelKind = ChannelKind.open,
    description: str = "",
    member_ids=(),
) -> Channel:
    """An open channel (coordinators, Meta-Mentors, the office and experienced mentors) or a private group
    (any active member; ``member_ids`` are the other members, chosen among the active members)."""
    kind = ChannelKind(kind)
    if kind == ChannelKind.direct:
        raise InvalidInput(_("Start a direct conversation from the direct messages page."), field="kind")
    if kind == ChannelKind.open and not permissions.can_create_open_channel(actor, network):
        raise Forbidden(
            _("Only coordinators, Meta-Mentors, the network office and experienced mentors open channels.")
        )
    if kind == ChannelKind.private and not permissions.can_create_private_group(actor, network):
        raise Forbidden(_("Only active members of this network can start a group."))
    require_current_agreement(actor, network)  # site administrators without a membership are not asked
    name = _clean_name(name)
    description = _clean_description(description)
    others = _active_people(network, member_ids, "members") if kind == ChannelKind.private else []
    if kind == ChannelKind.private and len({p.id for p in others} | {actor.id}) > MAX_GROUP_MEMBERS:
        raise InvalidInput(_("A group has at most %(max)s members.", max=MAX_GROUP_MEMBERS), field="members")
    channel = Channel(
        network=network,
        slug=_free_slug(network, _slugify(name)),
        name=name,
        description=description,
        kind=kind,
        created_by_id=actor.id,
    )
    session.add(channel)
    session.flush()
    if kind == ChannelKind.private:
        for person_id in {actor.id, *(p.id for p in others)}:
            session.add(ChannelMember(channel_id=channel.id, person_id=person_id, member=True))
        session.flush()
    record("conversations.channel_create", actor=actor, target=channel, network=network, kind=kind.value)
    return channel


def _group_to_change(channel: Channel) -> None:
    if channel.kind != ChannelKind.private:
        raise Conflict(_("Only private groups have members to add or remove."))
    if channel.archived_at is not None:
        raise Conflict(_("This group is archived: its members do not change."))


def add_group_member(channel: Channel, *, actor: Person, person_id) -> tuple[Person, bool]:
    """Whoever manages the private group (its creator, the network's coordinators and Meta-Mentors, while they
    read it) adds an active member of the network. Adding someone who is in it already changes nothing. Returns
    the person and whether they were added (False: they were a member already)."""
    if not permissions.can_read(actor, channel):
        raise NotFound(_("There is no such conversation, or it is not open to you."))
    if not permissions.can_manage_channel(actor, channel):
        raise Forbidden(_("Only the group's creator, the coordinator and the Meta-Mentor can add members."))
    _group_to_change(channel)
    require_current_agreement(actor, channel.network)
    try:
        wanted = int(person_id)
    except (TypeError, ValueError):
        raise InvalidInput(_("Choose an active member of this network."), field="person_id") from None
    added = _active_people(channel.network, [wanted], "person_id")[0]
    row = session.scalar(
        sa.select(ChannelMember).where(
            ChannelMember.channel_id == channel.id, ChannelMember.person_id == wanted
        )
    )
    if row is not None and row.member:
        return added, False
    members = session.scalar(
        sa.select(sa.func.count(ChannelMember.id)).where(
            ChannelMember.channel_id == channel.id, ChannelMember.member.is_(True)
        )
    )
    if members >= MAX_GROUP_MEMBERS:
        raise Conflict(_("A group has at most %(max)s members.", max=MAX_GROUP_MEMBERS), field="person_id")
    if row is None:
        session.add(ChannelMember(channel_id=channel.id, person_id=wanted, member=True))
    else:  # a former member: their read marker is kept
        row.member = True
        row.joined_at = utcnow()
    session.flush()
    record(
        "conversations.group_member_add",
        actor=actor,
        target=channel,
        network=channel.network,
        person_id=wanted,
    )
    return added, True


def remove_group_member(channel: Channel, *, actor: Person, person_id) -> bool:
    """A member leaves the private group (``person_id`` is their own), or whoever manages it removes a member.
    When the last member leaves, the group is archived: nobody reads it any more, and it takes no new messages
    nor members. Returns whether the group was archived."""
    if not permissions.can_read(actor, channel):
        raise NotFound(_("There is no such conversation, or it is not open to you."))
    leaving = int(person_id) == actor.id
    if leaving and channel.kind != ChannelKind.private:
        raise NotFound(_("Only a private group can be left."))
    if not leaving:
        if not permissions.can_manage_channel(actor, channel):
            raise Forbidden(
                _("Only the group's creator, the coordinator and the Meta-Mentor can remove members.")
            )
        _group_to_change(channel)
        require_current_agreement(actor, channel.network)  # leaving is never held back by it
    row = session.scalar(
        sa.select(ChannelMember).where(
            ChannelMember.channel_id == channel.id,
            ChannelMember.person_id == int(person_id),
            ChannelMember.member.is_(True),
        )
    )
    if row is None:
        raise NotFound(_("This person is not a member of the group."), field="person_id")
    row.member = False
    session.flush()
    remaining = session.scalar(
        sa.select(sa.func.count(ChannelMember.id)).where(
            ChannelMember.channel_id == channel.id, ChannelMember.member.is_(True)
        )
    )
    record(
        "conversations.group_leave" if leaving else "conversations.group_member_remove",
        actor=actor,
        target=channel,
        network=channel.network,
        person_id=int(person_id),
    )
    if remaining == 0 and channel.archived_at is None:
        channel.archived_at = utcnow()
        session.flush()
        record(
            "conversations.channel_archive", actor=actor, target=channel, network=channel.network, empty=True
        )
        return True
    return False


def group_candidates(channel: Channel, viewer: Person, q: str, limit: int = 20) -> list[Person]:
    """Active members of the network whose name contains ``q`` (2 to 80 characters, case does not matter) and who
    are not in the private group yet, by name, at most ``limit``: whom its manager may add."""
    if not permissions.can_manage_channel(viewer, channel) or not permissions.can_read(viewer, channel):
        raise Forbidden(_("Only the group's creator, the coordinator and the Meta-Mentor can add members."))
    q = search_text(q)
    if not q:
        raise InvalidInput(_("Search for 2 to 80 characters of a name."), field="q")
    in_group = sa.select(ChannelMember.person_id).where(
        ChannelMember.channel_id == channel.id, ChannelMember.member.is_(True)
    )
    return find_members(channel.network_id, q, excluded=[Person.id.in_(in_group)], limit=limit)[0]


# -- choosing people (new direct message, new private group, blocks) ------------------------------------------

PICK_PAGE_SIZE = 20  # people shown at a time on the pages that choose among the members


def search_text(q: str | None) -> str:
    """The name searched for, spaces collapsed: empty (everyone), else 2 to 80 characters."""
    q = " ".join((q or "").split())
    if q and (len(q) < 2 or len(q) > MAX_NAME_CHARS):
        raise InvalidInput(_("Search for 2 to 80 characters of a name."), field="q")
    return q


def find_members(
    network_id: int, q: str, *, excluded=(), after: int | None = None, limit: int = PICK_PAGE_SIZE
) -> tuple[list[Person], int | None]:
    """Active members of the network whose display name contains ``q`` (case does not matter, as in
    ``group_candidates``; everyone for an empty ``q``), but those meeting any condition of ``excluded``, by name
    then id, ``limit`` at a time after the person ``after`` (keyset, as the members page): one statement.
    Returns the people and the cursor of the next page (None on the last)."""
    name_key = sa.func.lower(Person.display_name)
    query = _active_members(network_id, *(sa.not_(condition) for condition in excluded))
    if q:
        query = query.where(Person.display_name.ilike(_like_pattern(q), escape="\\"))
    if after is not None:
        last = sa.orm.aliased(Person)
        cursor = sa.select(sa.func.lower(last.display_name)).where(last.id == after).scalar_subquery()
        query = query.where(sa.or_(name_key > cursor, sa.and_(name_key == cursor, Person.id > after)))
    rows = list(session.scalars(query.order_by(name_key, Person.id).limit(limit + 1)))
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def _blocked_either_way(person_id: int) -> list:
    """Conditions on ``Person.id``: blocked by ``person_id``, or blocking them."""
    return [
        Person.id.in_(sa.select(Block.blocked_id).where(Block.blocker_id == person_id)),
        Person.id.in_(sa.select(Block.blocker_id).where(Block.blocked_id == person_id)),
    ]


def _pick_conditions(network: Network, viewer: Person, direct: bool) -> list:
    """Whom the viewer may not choose, as conditions on ``Person.id``; refuses who may not choose at all. The
    same rules as ``open_direct`` (active members, no block either way) and ``create_channel`` (active
    members)."""
    if direct and not permissions.can_write_directly(viewer, network):
        raise Forbidden(_("Only active members of this network can send direct messages."))
    if not direct and not permissions.can_create_private_group(viewer, network):
        raise Forbidden(_("Only active members of this network can start a group."))
    return [Person.id == viewer.id, *(_blocked_either_way(viewer.id) if direct else ())]


def pick_candidates(
    network: Network,
    viewer: Person,
    q: str,
    *,
    direct: bool,
    chosen=(),
    after: int | None = None,
    limit: int = PICK_PAGE_SIZE,
) -> tuple[list[Person], int | None]:
    """A page of the people the viewer may choose for a direct conversation (``direct``) or a new private group,
    whose name contains ``q``, but those ``chosen`` already (ids checked by ``chosen_people``)."""
    excluded = _pick_conditions(network, viewer, direct)
    ids = [pid for pid in chosen if isinstance(pid, int)]
    if ids:
        excluded.append(Person.id.in_(ids))
    return find_members(network.id, search_text(q), excluded=excluded, after=after, limit=limit)


def chosen_people(
    network: Network, viewer: Person, ids, *, direct: bool, most: int
) -> tuple[list[Person], bool]:
    """Of ``ids`` (from the page's address or form: never trusted), the people the viewer may choose, in the
    order given, at most ``most``: active members of the network but the viewer, and for a direct conversation
    nobody blocked either way (one statement). Returns them and whether any id was left out."""
    wanted: list[int] = []
    for raw in ids:
        try:
            pid = int(raw)
        except (TypeError, ValueError):
            continue
        if pid not in wanted:
            wanted.append(pid)
    wanted = wanted[:most]
    if not wanted:
        return [], bool(ids)
    excluded = _pick_conditions(network, viewer, direct)
    found = {
        p.id: p
        for p in session.scalars(
            _active_members(
                network.id, Person.id.in_(wanted), *(sa.not_(condition) for condition in excluded)
            )
        )
    }
    people = [found[pid] for pid in wanted if pid in found]
    return people, len(people) != len(ids)


def create_default_channels(network: Network, *, actor: Person | None = None) -> list[Channel]:
    """The open channel "general" every network starts with (idempotent). Called when a network is created;
    the conversations page offers it to coordinators of a network that has none."""
    existing = session.scalar(
        sa.select(Channel).where(Channel.network_id == network.id, Channel.slug == DEFAULT_CHANNEL_SLUG)
    )
    if existing is not None:
        return [existing]
    channel = Channel(
        network=network,
        slug=DEFAULT_CHANNEL_SLUG,
        name="general",
        description="",
        kind=ChannelKind.open,
        created_by_id=getattr(actor, "id", None),
    )
    session.add(channel)
    session.flush()
    record("conversations.channel_create", actor=actor, target=channel, network=network, kind="open")
    return [channel]


def setup_default_channels(network: Network, *, actor: Person) -> list[Channel]:
    """What the conversations page offers to people who may open channels in a network without any."""
    if not permissions.can_create_open_channel(actor, network):
        raise Forbidden(_("Only people who may open channels can create the first one."))
    return create_default_channels(network, actor=actor)


_CHANNEL_BY_SLUG = sa.select(*Channel.__table__.c).where(  # built once: every channel page and post asks it
    Channel.__table__.c.network_id == sa.bindparam("network_id", type_=sa.Integer),
    Channel.__table__.c.slug == sa.bindparam("slug", type_=sa.String),
)


def get_channel(network: Network, slug: str, viewer: Person | None) -> Channel:
    row = _connection().execute(_CHANNEL_BY_SLUG, {"network_id": network.id, "slug": slug}).one_or_none()
    channel = None if row is None else _as_loaded(row)
    if channel is None or not permissions.can_read(viewer, channel):
        # the same answer for "does not exist" and "not yours": private names stay private
        raise NotFound(_("There is no such conversation, or it is not open to you."))
    return channel


def _as_loaded(row) -> Channel:
    """The ``Channel`` of a Core row of all its columns, in the session as if the ORM had loaded it (the one already
    there, if any, as a query would give): a Core row and one constructor cost less than the ORM's loading."""
    current = db.session  # the request's session itself, not the proxy
    existing = current.identity_map.get(sa.orm.util.identity_key(Channel, row.id))
    if existing is not None:
        return existing
    channel = Channel(**row._mapping)
    sa.orm.make_transient_to_detached(channel)  # every column set: nothing to load, nothing to flush
    current.add(channel)
    return channel


_CHANNELS = Channel.__table__.c
# Built once and run on the session's connection (a Core row, no ORM entity): the channel page's channel, with what
# the page needs to know of the reader at the same time: the channel's newest message and the reader's read marker
# (whether the page moves the marker), and whether the reader blocked anyone (else whom is not asked at all).
_CHANNEL_PAGE = sa.select(
    _CHANNELS.id,
    _CHANNELS.network_id,
    _CHANNELS.slug,
    _CHANNELS.name,
    _CHANNELS.description,
    _CHANNELS.kind,
    _CHANNELS.direct_key,
    _CHANNELS.created_by_id,
    _CHANNELS.archived_at,
    _CHANNELS.last_message_at,
    _CHANNELS.created_at,
    sa.select(sa.func.max(Message.id)).where(Message.channel_id == _CHANNELS.id).scalar_subquery(),
    sa.select(ChannelMember.last_read_message_id)
    .where(
        ChannelMember.channel_id == _CHANNELS.id,
        ChannelMember.person_id == sa.bindparam("person_id", type_=sa.Integer),
    )
    .scalar_subquery(),
    sa.exists().where(Block.blocker_id == sa.bindparam("person_id", type_=sa.Integer)),
).where(
    _CHANNELS.network_id == sa.bindparam("network_id", type_=sa.Integer),
    _CHANNELS.slug == sa.bindparam("slug", type_=sa.String),
)


@dataclass(slots=True)
class PageChannel:
    """A channel as the channel page reads it: the row's values and its network (the page's), no ORM entity.
    It answers what ``Channel`` answers to the permission checks, the template and ``mark_read``."""

    id: int
    network_id: int
    slug: str
    name: str
    description: str
    kind: ChannelKind
    direct_key: str | None
    created_by_id: int | None
    archived_at: dt.datetime | None
    last_message_at: dt.datetime | None
    created_at: dt.datetime
    network: Network


@dataclass(slots=True)
class ReadState:
    """The channel's newest message id and the reader's read marker, as the channel page read them."""

    newest: int | None
    marker: int | None


def channel_page(
    network: Network, slug: str, viewer: Person
) -> tuple[PageChannel, ReadState, frozenset[int]]:
    """``get_channel`` for the channel page, in one statement with what else the page asks of the reader: the
    channel, its read state for ``viewer`` (for ``mark_read``) and whom ``viewer`` blocked (asked only when they
    blocked anyone)."""
    row = (
        _connection()
        .execute(_CHANNEL_PAGE, {"network_id": network.id, "slug": slug, "person_id": viewer.id})
        .one_or_none()
    )
    channel = None if row is None else PageChannel(*row[:11], network=network)
    if channel is None or not permissions.can_read(viewer, channel):
        # the same answer for "does not exist" and "not yours": private names stay private
        raise NotFound(_("There is no such conversation, or it is not open to you."))
    return channel, ReadState(row[11], row[12]), blocked_ids(viewer) if row[13] else frozenset()


def update_channel(
    channel: Channel, *, actor: Person, name: str | None = None, description: str | None = None
) -> Channel:
    if not permissions.can_manage_channel(actor, channel):
        raise Forbidden(_("Only the channel's creator, the coordinator and the Meta-Mentor can change it."))
    changes = {}
    if name is not None:
        channel.name = changes["name"] = _clean_name(name)
    if description is not None:
        channel.description = changes["description"] = _clean_description(description)
    session.flush()
    record("conversations.channel_update", actor=actor, target=channel, network=channel.network, **changes)
    return channel


def archive_channel(channel: Channel, *, actor: Person, archived: bool = True) -> Channel:
    """An archived channel stays readable and takes no new messages."""
    if not permissions.can_manage_channel(actor, channel):
        raise Forbidden(_("Only the channel's creator, the coordinator and the Meta-Mentor can archive it."))
    channel.archived_at = utcnow() if archived else None
    session.flush()
    action = "conversations.channel_archive" if archived else "conversations.channel_unarchive"
    record(action, actor=actor, target=channel, network=channel.network)
    return channel


def open_direct(network: Network, *, actor: Person, person_ids) -> Channel:
    """A direct conversation between the actor and 1 to 7 other active members. A one-to-one conversation
    between the same two people is found again rather than duplicated."""
    if not permissions.can_write_directly(actor, network):
        raise Forbidden(_("Only active members of this network can send direct messages."))
    require_current_agreement(actor, network)
    ids = {int(pid) for pid in person_ids or []} - {actor.id}
    if not ids:
        raise InvalidInput(_("Choose at least one person to write to."), field="members")
    if len(ids) > MAX_DIRECT_PEOPLE - 1:
        raise InvalidInput(
            _("A direct conversation has at most %(max)s people.", max=MAX_DIRECT_PEOPLE), field="members"
        )
    others = _active_people(network, ids, "members")
    blocked = blocked_between(actor.id, ids)
    if blocked:
        raise Forbidden(_("You cannot write directly to someone who blocked you or whom you blocked."))
    key = "-".join(str(i) for i in sorted({actor.id, *ids})) if len(ids) == 1 else None
    if key is not None:
        existing = session.scalar(
            sa.select(Channel).where(Channel.network_id == network.id, Channel.direct_key == key)
        )
        if existing is not None:
            return existing
    channel = Channel(
        network=network,
        slug=f"dm-{secrets.token_hex(6)}",
        name="",
        kind=ChannelKind.direct,
        direct_key=key,
        created_by_id=actor.id,
    )
    session.add(channel)
    session.flush()
    for person_id in {actor.id, *(p.id for p in others)}:
        session.add(ChannelMember(channel_id=channel.id, person_id=person_id, member=True))
    session.flush()
    record("conversations.direct_open", actor=actor, target=channel, network=network, people=len(others) + 1)
    return channel


def blocked_between(person_id: int, other_ids) -> set[int]:
    """The ids among ``other_ids`` that block ``person_id`` or are blocked by them (one query)."""
    other_ids = set(other_ids)
    if not other_ids:
        return set()
    rows = session.execute(
        sa.select(Block.blocker_id, Block.blocked_id).where(
            sa.or_(
                sa.and_(Block.blocker_id == person_id, Block.blocked_id.in_(other_ids)),
                sa.and_(Block.blocked_id == person_id, Block.blocker_id.in_(other_ids)),
            )
        )
    ).all()
    return {blocked if blocker == person_id else blocker for blocker, blocked in rows}


def blocked_in_direct_text() -> str:
    """Why someone may not write in a direct conversation (a block); the page says it instead of the form too."""
    return _(
        "You cannot write in this conversation: you blocked someone in it, or someone in it blocked you."
    )


def blocks_in_direct(channel: Channel, person: Person | None) -> bool:
    """Whether a block stands between ``person`` and another member of the direct conversation ``channel``, in
    either direction (one query): then they cannot continue it (docs/conversations.md, "Report, block")."""
    if person is None or channel.kind != ChannelKind.direct:
        return False
    others = (
        sa.select(ChannelMember.person_id)
        .where(
            ChannelMember.channel_id == channel.id,
            ChannelMember.member.is_(True),
            ChannelMember.person_id != person.id,
        )
        .scalar_subquery()
    )
    return bool(
        session.scalar(
            sa.select(
                sa.exists().where(
                    sa.or_(
                        sa.and_(Block.blocker_id == person.id, Block.blocked_id.in_(others)),
                        sa.and_(Block.blocked_id == person.id, Block.blocker_id.in_(others)),
                    )
                )
            )
        )
    )


def blocked_by(person: Person | None) -> set[int]:
    """Whom ``person`` blocked."""
    if person is None:
        return set()
    return set(session.scalars(sa.select(Block.blocked_id).where(Block.blocker_id == person.id)))


# -- listing and unread ----------------------------------------------------------------------------------


@dataclass
class ChannelRow:
    channel: Channel
    unread: int
    members: list[Person]


def _readable_channels(network: Network, viewer: Person | None, kinds) -> sa.Select:
    """The ids of the channels of ``kinds`` in ``network`` that ``viewer`` may read."""
    query = sa.select(Channel.id).where(Channel.network_id == network.id, Channel.kind.in_(list(kinds)))
    private = [k for k in kinds if k != ChannelKind.open]
    mine = (
        sa.select(ChannelMember.channel_id)
        .where(ChannelMember.person_id == viewer.id, ChannelMember.member.is_(True))
        .scalar_subquery()
        if viewer is not None and private and is_member(viewer, network)
        else None
    )
    if mine is None:
        if ChannelKind.open not in kinds or not permissions.can_read_network_conversations(viewer, network):
            return query.where(sa.false())
        return query.where(Channel.kind == ChannelKind.open)
    if ChannelKind.open in kinds:
        return query.where(sa.or_(Channel.kind == ChannelKind.open, Channel.id.in_(mine)))
    return query.where(Channel.id.in_(mine))


_UNREAD_KEY = "mentornet.conversations.unread"


def _unread_of(viewer_id, since):
    """(read marker alias, message alias, conditions): a message of ``Channel`` the viewer has not read — by
    someone else, not deleted or hidden, after their read marker or, before their first visit, written since they
    joined (``since``). The conditions walk the (channel_id, id) index from the marker on. ``viewer_id`` and
    ``since`` are values or bound parameters (for a statement built once)."""
    marker = sa.orm.aliased(ChannelMember)
    counted = sa.orm.aliased(Message)
    first_since = (
        sa.select(sa.func.min(Message.id) - 1)
        .where(Message.channel_id == Channel.id, Message.created_at > since)
        .correlate(Channel)
        .scalar_subquery()
    )
    conditions = (
        counted.channel_id == Channel.id,
        counted.id > sa.func.coalesce(marker.last_read_message_id, first_since),
        sa.or_(counted.author_id.is_(None), counted.author_id != viewer_id),
        counted.deleted_at.is_(None),
        counted.hidden_at.is_(None),
    )
    return marker, counted, conditions


def _since(membership: Membership):
    return membership.joined_at or membership.created_at


def unread_counts(network: Network, viewer: Person, kinds=tuple(ChannelKind)) -> dict[int, int]:
    """Unread messages per channel of ``kinds`` (channels without any are left out): messages of others after
    the viewer's read marker, or, before their first visit, since they joined the network.

    One statement for every kind at once, kept for the request until the next flush (the list, the direct
    messages link and the section badge of one page share it). Each channel's count is a correlated
    subquery that walks the (channel_id, id) index from the marker on, so its cost follows the number of
    unread messages, not the size of the channel."""
    membership = active_membership(viewer, network)
    if membership is None:
        return {}
    cache = session.info.setdefault(_UNREAD_KEY, {})
    key = (viewer.id, network.id)
    if key not in cache:
        marker, counted, unread_here = _unread_of(viewer.id, _since(membership))
        unread = (
            sa.select(sa.func.count(counted.id))
            .where(*unread_here)
            .correlate(Channel, marker)
            .scalar_subquery()
        )
        rows = session.execute(
            sa.select(Channel.id, Channel.kind, unread)
            .join(
                marker,
                sa.and_(marker.channel_id == Channel.id, marker.person_id == viewer.id),
                isouter=True,
            )
            .where(
                Channel.id.in_(_readable_channels(network, viewer, tuple(ChannelKind))),
                # nothing can be unread where nothing was written since the marker was set
                Channel.last_message_at.is_not(None),
            )
        ).all()
        cache[key] = {channel_id: (kind, count) for channel_id, kind, count in rows if count}
    return {channel_id: count for channel_id, (kind, count) in cache[key].items() if kind in kinds}


@sa.event.listens_for(sa.orm.Session, "after_flush")
@sa.event.listens_for(sa.orm.Session, "after_rollback")
def _forget_unread(session_, *_args) -> None:
    session_.info.pop(_UNREAD_KEY, None)


def unread_channel_count(viewer: Person, network: Network) -> int:
    """The section badge: how many conversations have unread messages.

    Shown on every network page, so it asks only whether each channel has an unread message (EXISTS stops at
    the first one) instead of counting them: a member who has not opened a busy channel for months costs no
    more than one who has. When the page also lists the channels, their counts are already known."""
    query = unread_channel_query(viewer, network)
    if isinstance(query, int):
        return query
    # on the session's connection: a Core row, not the ORM's execution path
    return _connection().execute(*query).scalar_one()


def unread_channel_query(viewer: Person, network: Network) -> tuple[sa.Select, dict] | int:
    """``unread_channel_count`` as (statement, parameters) for the navigation to ask with the other badges, or
    the count when it is known without asking. In a network that is part of a federation, the channels of other
    networks shared with it count too ("From the federation" on the conversations page)."""
    from network_service.federations.operations import in_a_federation  # noqa: PLC0415 - it imports us

    federated = in_a_federation(network)
    cache = session.info.get(_UNREAD_KEY, {})
    if not federated and (viewer.id, network.id) in cache:
        return len(unread_counts(network, viewer))
    membership = active_membership(viewer, network)
    if membership is None:
        return 0
    # an active member reads the open channels and the groups and conversations they belong to
    return _federated_badge_statement() if federated else _badge_statement(), {
        "viewer_id": viewer.id,
        "network_id": network.id,
        "unread_since": _since(membership),
    }


_BADGE: list = []
_FEDERATED_BADGE: list = []


def _federated_badge_statement() -> sa.Select:
    """The section badge in a network of a federation: its own channels with unread messages plus the shared
    channels of other networks with unread messages since the reader joined the network or the channel was
    first shared with it, whichever is later (as ``shared_unread_counts``). Built once per process."""
    if not _FEDERATED_BADGE:
        viewer_id = sa.bindparam("viewer_id", type_=sa.Integer)
        network_id = sa.bindparam("network_id", type_=sa.Integer)
        joined = sa.bindparam("unread_since", type_=Message.__table__.c.created_at.type)
        first_shared = federation_access.first_shared_at(network_id)
        since = sa.case((first_shared > joined, first_shared), else_=joined)
        marker, _counted, unread_here = _unread_of(viewer_id, since)
        has_unread = sa.exists().where(*unread_here).correlate(Channel, marker)
        shared = (
            sa.select(sa.func.count(sa.distinct(Channel.id)))
            .select_from(Channel)
            .join(SharedChannel, SharedChannel.channel_id == Channel.id)
            .join(
                marker, sa.and_(marker.channel_id == Channel.id, marker.person_id == viewer_id), isouter=True
            )
            .where(
                *federation_access.shared_with(network_id), Channel.last_message_at.is_not(None), has_unread
            )
        )
        _FEDERATED_BADGE.append(sa.select(_badge_statement().scalar_subquery() + shared.scalar_subquery()))
    return _FEDERATED_BADGE[0]


def _badge_statement() -> sa.Select:
    """The section badge's statement, built once per process (it is asked on every network page; building it
    cost more than running it)."""
    if not _BADGE:
        viewer_id = sa.bindparam("viewer_id", type_=sa.Integer)
        since = sa.bindparam("unread_since", type_=Message.__table__.c.created_at.type)
        marker, _counted, unread_here = _unread_of(viewer_id, since)
        has_unread = sa.exists().where(*unread_here).correlate(Channel, marker)
        mine = (
            sa.select(ChannelMember.channel_id)
            .where(ChannelMember.person_id == viewer_id, ChannelMember.member.is_(True))
            .scalar_subquery()
        )
        readable = sa.select(Channel.id).where(
            Channel.network_id == sa.bindparam("network_id", type_=sa.Integer),
            Channel.kind.in_(list(ChannelKind)),
            sa.or_(Channel.kind == ChannelKind.open, Channel.id.in_(mine)),
        )
        _BADGE.append(
            sa.select(sa.func.count(Channel.id))
            .select_from(Channel)
            .join(
                marker, sa.and_(marker.channel_id == Channel.id, marker.person_id == viewer_id), isouter=True
            )
            .where(Channel.id.in_(readable), Channel.last_message_at.is_not(None), has_unread)
        )
    return _BADGE[0]


def list_channels(network: Network, viewer: Person | None, *, direct: bool = False) -> list[ChannelRow]:
    """Open channels and groups (or, with ``direct``, direct conversations) the viewer may read, with unread
    counts; archived channels last. Three statements whatever the number of channels."""
    if not permissions.can_read_network_conversations(viewer, network):
        raise Forbidden(_("Only members of this network can see its conversations."))
    kinds = (ChannelKind.direct,) if direct else (ChannelKind.open, ChannelKind.private)
    channels = list(
        session.scalars(
            sa.select(Channel)
            .where(Channel.id.in_(_readable_channels(network, viewer, kinds)))
            .order_by(
                Channel.archived_at.is_not(None),
                Channel.last_message_at.desc().nulls_last() if direct else sa.func.lower(Channel.name),
                Channel.id,
            )
            .limit(200)
        )
    )
    members: dict[int, list[Person]] = {}
    if direct and channels:
        for row in session.scalars(
            sa.select(ChannelMember)
            .where(ChannelMember.channel_id.in_([c.id for c in channels]), ChannelMember.member.is_(True))
            .options(joinedload(ChannelMember.person).lazyload(Person.memberships))
        ):
            if row.person_id != getattr(viewer, "id", None):
                members.setdefault(row.channel_id, []).append(row.person)
    unread = unread_counts(network, viewer, kinds) if viewer is not None else {}
    return [ChannelRow(c, unread.get(c.id, 0), members.get(c.id, [])) for c in channels]


def shared_unread_counts(network: Network, viewer: Person, channel_ids) -> dict[int, int]:
    """Unread messages per channel shared with ``network``'s federations (``channel_ids``, channels of other
    networks) for one of its active members: messages of others after the reader's marker in the channel or,
    before their first visit, since they joined ``network`` or since the channel was first shared with it,
    whichever is later. One statement, as ``unread_counts``."""
    membership = active_membership(viewer, network)
    if membership is None or not channel_ids:
        return {}
    joined = sa.bindparam("joined", _since(membership), type_=Message.__table__.c.created_at.type)
    shared = federation_access.first_shared_at(network.id)
    marker, counted, unread_here = _unread_of(viewer.id, sa.case((shared > joined, shared), else_=joined))
    unread = (
        sa.select(sa.func.count(counted.id)).where(*unread_here).correlate(Channel, marker).scalar_subquery()
    )
    rows = session.execute(
        sa.select(Channel.id, unread)
        .join(marker, sa.and_(marker.channel_id == Channel.id, marker.person_id == viewer.id), isouter=True)
        .where(Channel.id.in_(list(channel_ids)), Channel.last_message_at.is_not(None))
    ).all()
    return {channel_id: count for channel_id, count in rows if count}


def list_shared_channels(network: Network, viewer: Person | None) -> list[ChannelRow]:
    """ "From the federation" on ``network``'s conversations page: open channels of other networks shared with
    the network or a federation it belongs to, with the viewer's unread counts (for its active members)."""
    if not permissions.can_read_network_conversations(viewer, network):
        raise Forbidden(_("Only members of this network can see its conversations."))
    channels = federation_access.shared_channels_for(network)
    unread = shared_unread_counts(network, viewer, [c.id for c in channels]) if viewer is not None else {}
    return [ChannelRow(c, unread.get(c.id, 0), []) for c in channels]


def channel_members(channel: Channel, viewer: Person | None) -> list[Person]:
    if not permissions.can_read(viewer, channel):
        raise NotFound(_("There is no such conversation, or it is not open to you."))
    if channel.kind == ChannelKind.open:
        return []
    return list(
        session.scalars(
            sa.select(Person)
            .join(ChannelMember, ChannelMember.person_id == Person.id)
            .where(ChannelMember.channel_id == channel.id, ChannelMember.member.is_(True))
            .order_by(sa.func.lower(Person.display_name), Person.id)
            .options(lazyload(Person.memberships))
        )
    )


def _message_query():
    # authors in a second statement: a join would keep the planner from walking the index backwards to LIMIT
    return sa.select(Message).options(selectinload(Message.author).lazyload(Person.memberships))


def list_threads(
    channel: Channel, viewer: Person | None, *, before: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[Message], int | None]:
    """The channel's threads, newest first, ``limit`` at a time: (roots, cursor for the older ones or None)."""
    if not permissions.can_read(viewer, channel):
        raise NotFound(_("There is no such conversation, or it is not open to you."))
    query = _message_query().where(Message.channel_id == channel.id, Message.parent_id.is_(None))
    if before is not None:
        query = query.where(Message.id < before)
    rows = list(session.scalars(query.order_by(Message.id.desc()).limit(limit + 1)))
    older = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], older


@dataclass(slots=True)
class Author:
    """The author of a listed message: what a page shows of them."""

    id: int
    display_name: str | None
    email: str | None
    blocked: bool = False  # blocked by the reader of the page

    @property
    def name_or_email(self) -> str:
        return self.display_name or (self.email or "").split("@")[0]


@dataclass(slots=True)
class MessageRow:
    """A message of a channel page as plain values (no ORM entity): the attributes the message template and the
    permission checks read, with its channel and author."""

    id: int
    channel_id: int
    parent_id: int | None
    author_id: int | None
    body: str
    created_at: dt.datetime
    edited_at: dt.datetime | None
    deleted_at: dt.datetime | None
    hidden_at: dt.datetime | None
    reply_count: int
    channel: Channel | None = None
    author: Author | None = None


# Built once: a channel page's roots, newest first (with and without the cursor), each with its author's name and
# e-mail (an outer join on the page of roots, so that the planner still walks the (channel_id, id) index backwards
# to the LIMIT). Run on the session's connection (Core rows, no ORM entities).
_ROOT_COLUMNS = (
    Message.id,
    Message.channel_id,
    Message.parent_id,
    Message.author_id,
    Message.body,
    Message.created_at,
    Message.edited_at,
    Message.deleted_at,
    Message.hidden_at,
    Message.reply_count,
)


def _roots_with_authors(before: bool) -> sa.Select:
    roots = sa.select(*_ROOT_COLUMNS).where(
        Message.channel_id == sa.bindparam("channel_id", type_=sa.Integer), Message.parent_id.is_(None)
    )
    if before:
        roots = roots.where(Message.id < sa.bindparam("before", type_=sa.Integer))
    page = roots.order_by(Message.id.desc()).limit(sa.bindparam("limit", type_=sa.Integer)).subquery("roots")
    return (
        sa.select(*page.c, Person.id, Person.display_name, Person.email)
        .select_from(page.outerjoin(Person, Person.id == page.c.author_id))
        .order_by(page.c.id.desc())
    )


_ROOTS = _roots_with_authors(before=False)
_ROOTS_BEFORE = _roots_with_authors(before=True)


def list_thread_rows(
    channel: Channel,
    viewer: Person | None,
    *,
    before: int | None = None,
    limit: int = PAGE_SIZE,
    blocked: frozenset[int] | None = None,
) -> tuple[list[MessageRow], int | None]:
    """What ``list_threads`` gives, as ``MessageRow`` values for the channel page: one prebuilt statement and no
    ORM entities (the API keeps ``list_threads``). Each author says whether the viewer blocked them: ``blocked``
    when the caller knows whom the viewer blocked (``channel_page``), else ``blocked_ids``."""
    if not permissions.can_read(viewer, channel):
        raise NotFound(_("There is no such conversation, or it is not open to you."))

    def load() -> bytes:
        params = {"channel_id": channel.id, "limit": limit + 1}
        if before is not None:
            params["before"] = before
        statement = _ROOTS if before is None else _ROOTS_BEFORE
        found = tuple(tuple(row) for row in _connection().execute(statement, params))
        older = found[limit - 1][0] if len(found) > limit else None
        # Kept as one bytes value: page_cache.size_of counts it in one step (walking the 30 rows' 400 values took
        # about 0.2 ms of every page rendered after a write), and it holds a quarter of the memory.
        return pickle.dumps((found[:limit], older), protocol=pickle.HIGHEST_PROTOCOL)

    # Kept per worker (page cache) and shared by all readers of the channel: messages and channels are the domain
    # ``conversations``, the authors' names ``structure``. Whom the reader blocked is the reader's own (blocks are
    # ``structure`` too, see blocked_ids).
    kept = page_cache.cached(
        "channel_threads",
        (channel.id, before, limit),
        (page_cache.CONVERSATIONS, page_cache.STRUCTURE),
        load,
    )
    # made by load() above in this process from database rows (numbers, strings, datetimes): never outside data
    found, older = pickle.loads(kept)  # noqa: S301  # nosec B301
    if blocked is None:
        blocked = blocked_ids(viewer) if found else frozenset()
    return [_message_row(row, channel, blocked) for row in found], older


def _message_row(row: tuple, channel: Channel, blocked: frozenset[int]) -> MessageRow:
    message = MessageRow(*row[:10], channel=channel)
    if row[10] is not None:  # the author's row (none: erased, or the message has no author)
        message.author = Author(row[10], row[11], row[12], blocked=row[10] in blocked)
    return message


def blocked_ids(person: Person | None) -> frozenset[int]:
    """Whom ``person`` blocked, kept per worker (page cache, domain ``structure``)."""
    if person is None:
        return frozenset()
    return page_cache.cached(
        "blocked_by",
        person.id,
        page_cache.of_person(page_cache.STRUCTURE, person.id),
        lambda: frozenset(blocked_by(person)),
    )


def get_message(message_id: int, viewer: Person | None) -> Message:
    message = session.scalar(
        _message_query().options(joinedload(Message.channel)).where(Message.id == message_id)
    )
    if message is None or not permissions.can_read(viewer, message.channel):
        raise NotFound(_("There is no such message, or it is not open to you."))
    return message


def get_thread(
    message_id: int, viewer: Person | None, *, after: int | None = None, limit: int = REPLIES_PAGE_SIZE
) -> tuple[Message, list[Message], int | None]:
    """A thread's root and its replies, oldest first, ``limit`` at a time (cursor for the next ones)."""
    root = get_message(message_id, viewer)
    if root.parent_id is not None:
        root = get_message(root.parent_id, viewer)
    query = _message_query().where(Message.parent_id == root.id)
    if after is not None:
        query = query.where(Message.id > after)
    rows = list(session.scalars(query.order_by(Message.id).limit(limit + 1)))
    newer = rows[limit - 1].id if len(rows) > limit else None
    return root, rows[:limit], newer


_NEWEST_AND_MARKER = sa.select(
    sa.select(sa.func.max(Message.id))
    .where(Message.channel_id == sa.bindparam("channel_id"))
    .scalar_subquery(),
    sa.select(ChannelMember.last_read_message_id)
    .where(
        ChannelMember.channel_id == sa.bindparam("channel_id"),
        ChannelMember.person_id == sa.bindparam("person_id"),
    )
    .scalar_subquery(),
)


_MARKERS = ChannelMember.__table__.c
# Built once: move a reader's marker forward to ``upto`` (never backwards), when they have a marker row.
_MOVE_MARKER = (
    sa.update(ChannelMember.__table__)
    .where(
        _MARKERS.channel_id == sa.bindparam("in_channel", type_=sa.Integer),
        _MARKERS.person_id == sa.bindparam("of_person", type_=sa.Integer),
        sa.or_(
            _MARKERS.last_read_message_id.is_(None),
            _MARKERS.last_read_message_id < sa.bindparam("upto", type_=sa.Integer),
        ),
    )
    .values(last_read_message_id=sa.bindparam("upto", type_=sa.Integer))
)


def _move_marker(channel_id: int, person_id: int, upto: int) -> bool:
    """Move the marker of ``person_id`` in ``channel_id`` to ``upto`` if it is behind (one prebuilt statement, no
    ORM flush); False when it did not move (no marker row yet, or one already there). What a flush of the row would
    do besides is done here: the request's unread counts are forgotten, and a ``ChannelMember`` of this row loaded
    in the session gets the new value."""
    current = db.session  # the request's session itself, not the proxy
    # On the session's connection, not through session.execute: an UPDATE there makes every membership answer of
    # the request be asked again (networks.permissions._forget_loaded_on_write), which a marker does not change.
    moved = (
        _connection()
        .execute(_MOVE_MARKER, {"in_channel": channel_id, "of_person": person_id, "upto": upto})
        .rowcount
    )
    if not moved:
        return False
    _marker_moved(current, channel_id, person_id, upto)
    return True


def _marker_moved(current: sa.orm.Session, channel_id: int, person_id: int, upto: int) -> None:
    """What a flush of a moved marker does besides: the request's unread counts are forgotten, and a
    ``ChannelMember`` of this row loaded in the session gets the new value."""
    current.info.pop(_UNREAD_KEY, None)
    for loaded in list(current.identity_map.values()):
        if (
            isinstance(loaded, ChannelMember)
            and loaded.channel_id == channel_id
            and loaded.person_id == person_id
        ):
            sa.orm.attributes.set_committed_value(loaded, "last_read_message_id", upto)


def mark_read(
    channel: Channel, viewer: Person, upto: int | None = None, state: ReadState | None = None
) -> int | None:
    """Move the viewer's read marker to the channel's newest message (or ``upto``); never backwards. ``state``:
    the channel's newest message and the viewer's marker, as read in this transaction (``channel_page``)."""
    if not permissions.reads_as_member(viewer, channel):
        return None  # site administrators reading an open channel keep no marker
    if state is not None:
        newest, marker = state.newest, state.marker
    else:
        # Kept per worker (page cache: a new message changes ``conversations``, a moved marker ``read_markers``).
        newest, marker = page_cache.cached(
            "channel_read_state",
            (channel.id, viewer.id),
            (page_cache.CONVERSATIONS, page_cache.READ_MARKERS),
            lambda: tuple(
                session.execute(_NEWEST_AND_MARKER, {"channel_id": channel.id, "person_id": viewer.id}).one()
            ),
        )
    if upto is not None:
        newest = min(newest or 0, upto)
    if not newest:
        return None
    if marker is not None:
        if marker >= newest:
            return marker  # already there: nothing to write (one statement for a page seen again)
        # behind (a message came since the last visit): one UPDATE, not the row loaded and flushed
        if _move_marker(channel.id, viewer.id, newest):
            return newest
    row = session.scalar(
        sa.select(ChannelMember)
        .where(ChannelMember.channel_id == channel.id, ChannelMember.person_id == viewer.id)
        .options(lazyload(ChannelMember.person))
    )
    if row is None:
        row = ChannelMember(channel_id=channel.id, person_id=viewer.id, member=False)
        session.add(row)
    if row.last_read_message_id is None or row.last_read_message_id < newest:
        row.last_read_message_id = newest
    session.flush()
    return row.last_read_message_id


def mark_thread_read(root: Message, viewer: Person, upto: int) -> int | None:
    """After reading a thread up to reply ``upto``: move the channel's marker there, but never past an
    unread message of another thread (one marker per channel keeps unread counts cheap, so it must not
    run ahead of what the reader saw); the channel page itself marks everything read."""
    membership = active_membership(viewer, root.channel.network)
    if membership is None and not permissions.reads_as_member(viewer, root.channel):
        return None
    marker = session.scalar(
        sa.select(ChannelMember.last_read_message_id).where(
            ChannelMember.channel_id == root.channel_id, ChannelMember.person_id == viewer.id
        )
    )
    if membership is None and marker is None:
        # a reader from the federation: the channel page sets their first marker (what counts as unread before
        # it depends on the network they read from, list_shared_channels)
        return None
    since = (membership.joined_at or membership.created_at) if membership is not None else None
    skipped = session.scalar(
        sa.select(Message.id)
        .where(
            Message.channel_id == root.channel_id,
            Message.id <= upto,
            Message.id > marker if marker is not None else Message.created_at > since,
            Message.id != root.id,
            sa.or_(Message.parent_id.is_(None), Message.parent_id != root.id),
            sa.or_(Message.author_id.is_(None), Message.author_id != viewer.id),
            Message.deleted_at.is_(None),
            Message.hidden_at.is_(None),
        )
        .order_by(Message.id)
        .limit(1)
    )
    if skipped is not None:  # read up to just before the first message of another thread not read yet
        upto = skipped - 1
        if upto <= (marker or 0):
            return marker
    return mark_read(root.channel, viewer, upto=upto)


# -- writing -----------------------------------------------------------------------------------------------


def _clean_body(body: str | None) -> str:
    body = (body or "").strip()
    if not body:
        raise InvalidInput(_("Write a message first."), field="body")
    if len(body) > MAX_MARKDOWN_CHARS:
        raise InvalidInput(
            _("A message has at most %(max)s characters.", max=MAX_MARKDOWN_CHARS), field="body"
        )
    refuse_html_in_markdown(body, "body")
    return body


_RECENT_MESSAGES = sa.select(sa.func.count(Message.id)).where(  # built once: asked before every post
    Message.author_id == sa.bindparam("author_id", type_=sa.Integer),
    Message.created_at > sa.bindparam("since", type_=Message.__table__.c.created_at.type),
)


def _check_flood(actor: Person) -> None:
    recent = (
        _connection()
        .execute(_RECENT_MESSAGES, {"author_id": actor.id, "since": utcnow() - FLOOD_WINDOW})
        .scalar_one()
    )
    if recent >= FLOOD_LIMIT:
        raise TooManyMessages(_("You are writing very fast. Wait a minute, then send your message again."))


def thread_url(message: Message) -> str:
    root_id = message.parent_id or message.id
    # a plain path: notifications are also created outside requests (demo, jobs), where url_for has no host
    return f"/networks/{message.channel.network.slug}/conversations/threads/{root_id}#m{message.id}"


def channel_title(channel: Channel) -> str:
    return channel.name if channel.kind != ChannelKind.direct else _("a direct conversation")


def post_message(channel: Channel, *, actor: Person, body: str, parent: Message | None = None) -> Message:
    """A new thread in ``channel``, or a reply when ``parent`` is given (a reply to a reply joins the thread)."""
    if not permissions.can_read(actor, channel):
        raise NotFound(_("There is no such conversation, or it is not open to you."))
    if not permissions.can_post(actor, channel):
        if channel.archived_at is not None:
            raise Conflict(_("This channel is archived: it takes no new messages."))
        raise Forbidden(_("Only active members of this conversation can write in it."))
    _require_agreement_to_write(actor, channel)
    if channel.kind == ChannelKind.direct and blocks_in_direct(channel, actor):
        raise Forbidden(blocked_in_direct_text(), field="body")
    body = _clean_body(body)
    root = None
    if parent is not None:
        if parent.channel_id != channel.id:
            raise InvalidInput(_("The message you reply to is in another conversation."), field="parent_id")
        root = parent if parent.parent_id is None else session.get(Message, parent.parent_id)
        if root.deleted_at is not None:
            raise Conflict(_("This thread was deleted: it takes no replies."))
    _check_flood(actor)
    message, marker_moved = _insert_message(channel, actor, root, body)
    if root is not None:
        root.reply_count = (root.reply_count or 0) + 1
        root.last_reply_at = message.created_at
        session.flush()
    # every poster reads the channel as a member (of its network, or of one it is shared with): see can_post
    if marker_moved is None:
        _mark_own_post_read(channel, actor, message.id)
    elif not marker_moved:  # no marker yet, or one already past it: the general way
        mark_read(channel, actor, upto=message.id)
    _notify_about(message, channel, actor, root)
    return message


_MESSAGES = Message.__table__.c
# Built once: a new message (its id back with it) and the channel's time of its last message, run on the session's
# connection: no ORM unit of work for the two rows of every post.
_INSERT_MESSAGE = sa.insert(Message.__table__).returning(_MESSAGES.id)
_TOUCH_CHANNEL = (
    sa.update(Channel.__table__)
    .where(_CHANNELS.id == sa.bindparam("channel_id", type_=sa.Integer))
    .values(last_message_at=sa.bindparam("now", type_=_CHANNELS.last_message_at.type))
)


def _post_statement() -> sa.Select:
    """PostgreSQL: the message, the channel's ``last_message_at`` and the writer's read marker moved to the new
    message (when they have one behind it) in one statement: (message id, 1, markers moved)."""
    new_message = (
        sa.insert(Message.__table__)
        .values({column: sa.bindparam(f"v_{column}", type_=_MESSAGES[column].type) for column in _POSTED})
        .returning(_MESSAGES.id)
        .cte("new_message")
    )
    new_id = sa.select(new_message.c.id).scalar_subquery()
    touched = (
        sa.update(Channel.__table__)
        .where(_CHANNELS.id == sa.bindparam("v_channel_id", type_=sa.Integer))
        .values(last_message_at=sa.bindparam("v_created_at", type_=_CHANNELS.last_message_at.type))
        .returning(_CHANNELS.id)
        .cte("touched")
    )
    moved = (
        sa.update(ChannelMember.__table__)
        .where(
            _MARKERS.channel_id == sa.bindparam("v_channel_id", type_=sa.Integer),
            _MARKERS.person_id == sa.bindparam("v_author_id", type_=sa.Integer),
            sa.or_(_MARKERS.last_read_message_id.is_(None), _MARKERS.last_read_message_id < new_id),
        )
        .values(last_read_message_id=new_id)
        .returning(_MARKERS.id)
        .cte("moved")
    )
    return sa.select(
        new_message.c.id,
        sa.select(sa.func.count()).select_from(touched).scalar_subquery(),
        sa.select(sa.func.count()).select_from(moved).scalar_subquery(),
    ).select_from(new_message)


_POSTED = (
    "channel_id",
    "author_id",
    "parent_id",
    "body",
    "created_at",
    "edited_at",
    "deleted_at",
    "deleted_by_id",
    "hidden_at",
    "hidden_by_id",
    "reply_count",
    "last_reply_at",
)
_POST: list = []  # _post_statement(), built once


def _insert_message(
    channel: Channel, actor: Person, root: Message | None, body: str
) -> tuple[Message, bool | None]:
    """Write the message and the channel's ``last_message_at`` with two prebuilt statements; the ``Message``
    returned is in the session as if loaded (every column set: reading it asks nothing), and a ``Channel`` of the
    session gets its new ``last_message_at``. What a flush would do besides is done here: the request's unread
    counts are forgotten."""
    current = db.session  # the request's session itself, not the proxy
    connection = _connection()
    now = utcnow()
    values = {
        "channel_id": channel.id,
        "author_id": actor.id,
        "parent_id": root.id if root is not None else None,
        "body": body,
        "created_at": now,
        "edited_at": None,
        "deleted_at": None,
        "deleted_by_id": None,
        "hidden_at": None,
        "hidden_by_id": None,
        "reply_count": 0,
        "last_reply_at": None,
    }
    # On the session's connection, not through session.execute (see _move_marker): no membership answer changes.
    moved = None
    if connection.dialect.name == "postgresql":
        if not _POST:
            _POST.append(_post_statement())
        message_id, _touched, moved = connection.execute(
            _POST[0], {f"v_{column}": value for column, value in values.items()}
        ).one()
        moved = bool(moved)
        if moved:
            _marker_moved(current, channel.id, actor.id, message_id)
    else:
        message_id = connection.execute(_INSERT_MESSAGE, values).scalar_one()
        connection.execute(_TOUCH_CHANNEL, {"channel_id": channel.id, "now": now})
    current.info.pop(_UNREAD_KEY, None)
    if isinstance(channel, Channel):
        sa.orm.attributes.set_committed_value(channel, "last_message_at", now)
    message = Message(id=message_id, **values)
    sa.orm.make_transient_to_detached(message)
    current.add(message)  # persistent, nothing to flush
    return message, moved


def _require_agreement_to_write(actor: Person, channel: Channel) -> None:
    """Writing (a new message, a reply, an edit) needs the current agreement: of the channel's network for its
    members, of a network through which one writes for a reader from the federation. Site administrators who are
    not members are not asked (``require_current_agreement``)."""
    if is_member(actor, channel.network):
        require_current_agreement(actor, channel.network)
    else:
        _require_agreement_of_sharing_network(actor, channel)


def _require_agreement_of_sharing_network(actor: Person, channel: Channel) -> None:
    """Writing in a channel shared with a federation needs what writing at home needs: the current agreement of
    a network through which the writer may write there (their own network; docs/federations.md, "Agreement").
    Site administrators who are not members never get here (they post in no shared channel)."""
    networks = federation_access.networks_posting_in(actor, channel)
    if any(has_accepted_current(actor, network) for network in networks):
        return
    if not networks:  # can_post let them write, so there is one; refuse rather than write without a rule
        raise Forbidden(_("Only active members of this conversation can write in it."))
    require_current_agreement(actor, networks[0])  # raises, with the link to that agreement


def _mark_own_post_read(channel: Channel, actor: Person, message_id: int) -> None:
    """``mark_read(channel, actor, upto=message_id)`` after the actor's own post, in one statement when the actor
    has a marker already (the usual case: people write where they read). The actor may read the channel as a
    member (checked before the post)."""
    if not _move_marker(
        channel.id, actor.id, message_id
    ):  # no marker yet, or one already past it: the general way
        mark_read(channel, actor, upto=message_id)


def _readers_named(channel: Channel, names: set[str]) -> list[Person]:
    if not names:
        return []
    query = (
        sa.select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(
            Membership.network_id == channel.network_id,
            Membership.status == MembershipStatus.active,
            sa.func.lower(Person.display_name).in_(names),
        )
        .options(lazyload(Person.memberships))
    )
    if channel.kind != ChannelKind.open:
        query = query.join(
            ChannelMember,
            sa.and_(
                ChannelMember.person_id == Person.id,
                ChannelMember.channel_id == channel.id,
                ChannelMember.member.is_(True),
            ),
        )
    # lower() in SQL (on SQLite Python's str.lower, network_service.db) and str.lower in mentioned_names agree.
    return list(session.scalars(query))


def _notify_about(message: Message, channel: Channel, actor: Person, root: Message | None) -> None:
    network = channel.network
    url = thread_url(message)
    params = {"author": actor.name_or_email, "channel": channel_title(channel)}
    mentioned = _readers_named(channel, mentioned_names(message.body))
    candidates: dict[str, list[Person]] = {"conversations.mention": mentioned}
    if channel.kind == ChannelKind.direct:
        candidates["conversations.direct"] = channel_members(channel, actor)
    if root is not None:
        earlier = session.scalars(
            sa.select(Person)
            .where(
                sa.or_(
                    Person.id == root.author_id,
                    Person.id.in_(
                        sa.select(Message.author_id).where(
                            Message.parent_id == root.id, Message.id != message.id
                        )
                    ),
                )
            )
            .options(lazyload(Person.memberships))
        )
        candidates["conversations.reply"] = [p for p in earlier if permissions.can_read(p, channel)]
    everyone = {p.id for people in candidates.values() for p in people}
    blocking = blocked_between(actor.id, everyone)
    told: set[int] = {actor.id} | blocking
    for kind in ("conversations.mention", "conversations.direct", "conversations.reply"):
        people = [p for p in candidates.get(kind, []) if p.id not in told]
        if people:
            notify(people, kind, url=url, network=network, actor=actor, **params)
            told |= {p.id for p in people}


def edit_message(message: Message, *, actor: Person, body: str) -> Message:
    """The author changes the text; the earlier text is kept as a revision."""
    if not permissions.can_edit(actor, message):
        raise Forbidden(_("Only the author can edit a message, while they may write in its conversation."))
    _require_agreement_to_write(actor, message.channel)
    if message.channel.kind == ChannelKind.direct and blocks_in_direct(message.channel, actor):
        raise Forbidden(
            blocked_in_direct_text(), field="body"
        )  # as for a new message: a block stops rewriting too
    body = _clean_body(body)
    if body == message.body:
        return message
    session.add(MessageRevision(message_id=message.id, body=message.body, editor_id=actor.id))
    message.body = body
    message.edited_at = utcnow()
    session.flush()
    return message


def delete_message(message: Message, *, actor: Person) -> Message:
    """The author or a moderator deletes a message: others see "message deleted". A moderator deletes only a
    message they reach: one they may read, or a reported one (``permissions.reaches_for_moderation``); any other
    is 404, as for no message at all.

    What becomes of the text (docs/privacy.md, "Deleted messages"): deleted by its author, it goes at once with
    every earlier version, unless moderation holds it (an open report on the message, or the message hidden by a
    moderator); removed by a moderator, or held, it stays in a revision for the author and the moderators for
    ``DELETED_TEXT_RETENTION_DAYS``, and the daily job ``privacy.retention`` drops it then."""
    if (
        actor is not None
        and message.author_id != actor.id
        and not permissions.reaches_for_moderation(actor, message)
    ):
        raise NotFound(_("There is no such message."))
    if not permissions.can_delete(actor, message):
        raise Forbidden(_("Only the author, the coordinator and the Meta-Mentor can delete a message."))
    session.add(MessageRevision(message_id=message.id, body=message.body, editor_id=actor.id))
    message.body = ""
    message.deleted_at = utcnow()
    message.deleted_by_id = actor.id
    session.flush()
    by_author = message.author_id == actor.id
    # One rule decides, here and in the daily job: the revision just written goes again if nothing holds it.
    dropped = by_author and drop_withdrawn_texts(message.id) > 0
    record(
        "conversations.message_delete",
        actor=actor,
        target=message,
        network=message.channel.network,
        by_author=by_author,
        text_kept=not dropped,
    )
    return message


# -- how long the text of a deleted message is kept ------------------------------------------------------------
#
# The text of a deleted message and the earlier versions of it are rows of ``message_revision``. They go:
# * at once when the author deleted the message and no moderation holds it (``_withdrawn``);
# * ``DELETED_TEXT_RETENTION_DAYS`` after the deletion otherwise (a moderator removed it, or it was held).
# Earlier versions of a message that is not deleted stay while the message exists: they are its author's own,
# visible history. A report keeps its own copy of the reported text (``Report.snapshot_body``).

PURGE_BATCH = 500  # messages whose texts one statement drops


def deleted_text_retention() -> dt.timedelta:
    return dt.timedelta(days=int(current_app.config["DELETED_TEXT_RETENTION_DAYS"]))


def _purge_interval() -> dt.timedelta:
    """The longest a text can outlive its period: the job that drops it (``privacy.retention``, registered in
    network_service/jobs.py) runs once per its interval, and only a text whose period ended before a run goes
    with that run; the in-process scheduler looks for due jobs every ``TICK_SECONDS``."""
    from network_service import jobs

    return jobs.jobs_of(current_app)[jobs.RETENTION_JOB].every + dt.timedelta(seconds=jobs.TICK_SECONDS)


def deleted_text_kept_until(message: Message) -> dt.datetime | None:
    """The latest moment the text of a deleted message is kept: the end of its period and, at most, the wait
    for the next run of the daily job (``_purge_interval``). It may go earlier: at the first run after the
    period, or when the report that held an author's deletion is closed. None for a message that is not
    deleted."""
    if message.deleted_at is None:
        return None
    return message.deleted_at + deleted_text_retention() + _purge_interval()


def _withdrawn() -> sa.ColumnElement[bool]:
    """Deleted by its author, and not held by moderation: neither hidden by a moderator nor reported in an open
    report (the evidence a moderator works on stays until the report is closed, or the period ends)."""
    return sa.and_(
        Message.deleted_at.is_not(None),
        Message.deleted_by_id == Message.author_id,
        Message.hidden_at.is_(None),
        ~sa.exists().where(Report.message_id == Message.id, Report.status == ReportStatus.open),
    )


def _drop_texts(condition: sa.ColumnElement[bool]) -> tuple[int, int]:
    """Delete the revisions of the messages that meet ``condition``, a batch of messages per statement; (messages,
    revisions) dropped. The batches page through the ids (each starts after the last id of the one before), so
    the first run over many old deletions reads the table once, not once per batch."""
    messages = revisions_dropped = 0
    last_id = None
    while True:
        query = (
            sa.select(MessageRevision.message_id)
            .join(Message, Message.id == MessageRevision.message_id)
            .where(condition)
        )
        if last_id is not None:
            query = query.where(MessageRevision.message_id > last_id)
        ids = list(session.scalars(query.distinct().order_by(MessageRevision.message_id).limit(PURGE_BATCH)))
        if not ids:
            return messages, revisions_dropped
        last_id = ids[-1]
        result = session.execute(
            sa.delete(MessageRevision)
            .where(MessageRevision.message_id.in_(ids))
            .execution_options(synchronize_session=False)
        )
        messages += len(ids)
        revisions_dropped += result.rowcount


def drop_withdrawn_texts(message_id: int) -> int:
    """Drop the texts of one message its author deleted, when nothing holds them any more (called when it is
    deleted, and when a report on it is closed); how many revisions went."""
    return _drop_texts(sa.and_(Message.id == message_id, _withdrawn()))[1]


def purge_deleted_texts(now: dt.datetime | None = None) -> tuple[int, int]:
    """Part of the daily job ``privacy.retention``: drop the texts (and earlier versions) of messages deleted
    more than ``DELETED_TEXT_RETENTION_DAYS`` ago, and of those their author deleted that nothing holds any more
    (a report closed since by a way that did not drop them, or deletions from before this rule). Idempotent: a
    second run finds nothing. (messages, revisions) dropped."""
    now = now or utcnow()
    cutoff = now - deleted_text_retention()
    messages, revisions_dropped = _drop_texts(
        sa.or_(sa.and_(Message.deleted_at.is_not(None), Message.deleted_at < cutoff), _withdrawn())
    )
    session.expire_all()
    if messages:
        log.info("dropped the texts of %d deleted message(s) (%d revision(s))", messages, revisions_dropped)
        record(
            "privacy.retention",
            deleted_messages_texts_dropped=messages,
            revisions_dropped=revisions_dropped,
            days=deleted_text_retention().days,
        )
    session.flush()
    return messages, revisions_dropped


def revisions(message: Message, viewer: Person | None) -> list[MessageRevision]:
    if not permissions.can_see_revisions(viewer, message):
        raise Forbidden(_("Only the author, the coordinator and the Meta-Mentor see earlier versions."))
    return list(
        session.scalars(
            sa.select(MessageRevision)
            .where(MessageRevision.message_id == message.id)
            .options(joinedload(MessageRevision.editor).lazyload(Person.memberships))
            .order_by(MessageRevision.id.desc())
        )
    )


# -- search ------------------------------------------------------------------------------------------------


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(
    network: Network,
    viewer: Person | None,
    q: str,
    *,
    before: int | None = None,
    limit: int = SEARCH_PAGE_SIZE,
) -> tuple[list[Message], int | None]:
    """Messages the viewer may read that contain ``q`` (case-insensitive), newest first, never hidden or
    deleted ones; (messages, cursor for older results or None)."""
    if not permissions.can_read_network_conversations(viewer, network):
        raise Forbidden(_("Only members of this network can search its conversations."))
    q = " ".join((q or "").split())
    if len(q) < 2 or len(q) > 200:
        raise InvalidInput(_("Search for 2 to 200 characters."), field="q")
    query = (
        _message_query()
        .options(joinedload(Message.channel))
        .where(
            Message.channel_id.in_(_readable_channels(network, viewer, tuple(ChannelKind))),
            Message.deleted_at.is_(None),
            Message.hidden_at.is_(None),
            Message.body.ilike(_like_pattern(q), escape="\\"),
        )
    )
    if before is not None:
        query = query.where(Message.id < before)
    rows = list(session.scalars(query.order_by(Message.id.desc()).limit(limit + 1)))
    older = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], older


# -- roadmap -----------------------------------------------------------------------------------------------


def recent_authors(network: Network, days: int = 30) -> int:
    """How many different members wrote in the network's conversations in the last ``days`` (one query)."""
    return session.scalar(
        sa.select(sa.func.count(sa.distinct(Message.author_id)))
        .join(Channel, Channel.id == Message.channel_id)
        .where(
            Channel.network_id == network.id,
            Message.created_at > utcnow() - dt.timedelta(days=days),
            Message.deleted_at.is_(None),
        )
    )


CONVERSATIONS_UNDER_WAY = 3  # different members who wrote in the last 30 days

register_checkpoint(
    Checkpoint(
        key="conversations.under_way",
        phase=Phase.sustain,
        order=10,
        label=lambda: _("Conversations under way"),
        reached=lambda network: recent_authors(network) >= CONVERSATIONS_UNDER_WAY,
        hint=lambda: _(
            "At least %(count)s different members wrote in the conversations in the last 30 days.",
            count=CONVERSATIONS_UNDER_WAY,
        ),
    )
)
