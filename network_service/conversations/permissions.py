"""Who may do what in conversations. Operations call these; views use them only to hide links.

| action                                  | site admin | coordinator | meta_mentor | office | experienced | novice |
|-----------------------------------------|------------|-------------|-------------|--------|-------------|--------|
| read open channels                      | yes        | yes         | yes         | yes    | yes         | yes    |
| post and reply in open channels         | no*        | yes         | yes         | yes    | yes         | yes    |
| read/post in private groups and DMs     | no*        | members     | members     | members| members     | members|
| create an open channel                  | yes        | yes         | yes         | yes    | yes         | no     |
| create a private group, start a DM      | no*        | yes         | yes         | yes    | yes         | yes    |
| rename / archive a channel              | open only  | yes         | yes         | creator| creator     | creator|
| edit own message                        | author     | author      | author      | author | author      | author |
| delete others' messages, see revisions  | no         | yes         | yes         | no     | no          | no     |
| report a message they read              | no*        | yes         | yes         | yes    | yes         | yes    |

(*) unless they are also an active member of the network (and of the group).

An open channel shared with a federation (network_service/federations/access.py) is also read by the active
members of the federation's network and of its active member networks (written in when shared with posting):
they report its messages to the channel's network and keep a read marker there, like its own members.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm

from network_service.accounts.models import Person
from network_service.conversations.models import Channel, ChannelKind, ChannelMember, Message
from network_service.db import session
from network_service.federations import access as federation_access
from network_service.moderation.models import Report
from network_service.networks.models import Network, Role
from network_service.networks.permissions import ALL_ROLES, LEADERS, has_role, is_member

_CHANNEL_MEMBERS_KEY = "mentornet.channel_members"


def is_channel_member(person: Person | None, channel: Channel) -> bool:
    """A member of the private group or direct conversation (kept per request, like active memberships)."""
    if person is None or person.id is None or channel.id is None:
        return False
    cache = session.info.setdefault(_CHANNEL_MEMBERS_KEY, {})
    key = (person.id, channel.id)
    if key not in cache:
        cache[key] = bool(
            session.scalar(
                sa.select(ChannelMember.id).where(
                    ChannelMember.channel_id == channel.id,
                    ChannelMember.person_id == person.id,
                    ChannelMember.member.is_(True),
                )
            )
        )
    return cache[key]


def forget_channel_members() -> None:
    session.info.pop(_CHANNEL_MEMBERS_KEY, None)


def can_read_network_conversations(person: Person | None, network: Network) -> bool:
    return has_role(person, network, ALL_ROLES)


def can_read(person: Person | None, channel: Channel) -> bool:
    if channel.kind == ChannelKind.open:
        # an open channel shared with a federation is read by the members of its member networks too
        return has_role(person, channel.network, ALL_ROLES) or federation_access.can_read_shared_channel(
            person, channel
        )
    return is_member(person, channel.network) and is_channel_member(person, channel)


def can_post(person: Person | None, channel: Channel) -> bool:
    if channel.archived_at is not None:
        return False
    if not is_member(person, channel.network):
        return federation_access.can_post_shared_channel(person, channel)
    return channel.kind == ChannelKind.open or is_channel_member(person, channel)


def can_create_open_channel(person: Person | None, network: Network) -> bool:
    return has_role(
        person, network, {Role.coordinator, Role.meta_mentor, Role.office}, experienced_mentors=True
    )


def can_create_private_group(person: Person | None, network: Network) -> bool:
    return is_member(person, network)


def can_write_directly(person: Person | None, network: Network) -> bool:
    return is_member(person, network)


def can_manage_channel(person: Person | None, channel: Channel) -> bool:
    """Rename, describe, archive. Direct conversations have nothing to manage."""
    if person is None or channel.kind == ChannelKind.direct:
        return False
    if has_role(person, channel.network, LEADERS, site_admin=channel.kind == ChannelKind.open):
        return True
    return channel.created_by_id == person.id and can_read(person, channel)


def reads_as_member(person: Person | None, channel: Channel) -> bool:
    """Reads the channel as a member: of its network, or of a network it is shared with (a federation's). Such
    readers keep a read marker and report messages; a site administrator reading an open channel of a network
    they are not in does neither."""
    if is_member(person, channel.network):
        return can_read(person, channel)
    return channel.kind == ChannelKind.open and federation_access.can_read_shared_channel(person, channel)


def is_moderator(person: Person | None, network: Network) -> bool:
    """Coordinators and Meta-Mentors moderate; site administrators do not."""
    return has_role(person, network, LEADERS, site_admin=False)


def reaches_for_moderation(person: Person | None, message: Message) -> bool:
    """The rule of every moderator action on a message (hide, show, delete): a message one may read, or one
    reported in its network. A private group's or direct conversation's message is reached only once it was
    reported, and then without the conversation around it. Callers check ``is_moderator`` (or authorship)."""
    if person is None:
        return False
    if can_read(person, message.channel):
        return True
    return bool(
        session.scalar(
            sa.select(
                sa.exists().where(
                    Report.message_id == message.id, Report.network_id == message.channel.network_id
                )
            )
        )
    )


def can_edit(person: Person | None, message: Message) -> bool:
    return (
        person is not None
        and message.author_id == person.id
        and message.deleted_at is None
        and can_post(person, message.channel)
    )


def can_delete(person: Person | None, message: Message) -> bool:
    if person is None or message.deleted_at is not None:
        return False
    if message.author_id == person.id and (
        is_member(person, message.channel.network)
        or federation_access.can_read_shared_channel(person, message.channel)  # an author from the federation
    ):
        return True
    return is_moderator(person, message.channel.network)


def can_see_revisions(person: Person | None, message: Message) -> bool:
    if person is None:
        return False
    if message.author_id == person.id and is_member(person, message.channel.network):
        return True
    return is_moderator(person, message.channel.network)


def sees_hidden_text(person: Person | None, message: Message) -> bool:
    """Moderators and the author still see a hidden message's text (marked as hidden)."""
    if person is None:
        return False
    return message.author_id == person.id or is_moderator(person, message.channel.network)


@sa.event.listens_for(sa.orm.Session, "after_flush")
@sa.event.listens_for(sa.orm.Session, "after_rollback")
def _forget(session_, *_args) -> None:
    session_.info.pop(_CHANNEL_MEMBERS_KEY, None)
