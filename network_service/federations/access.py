"""What sharing with a federation opens, as small queries the conversations and resources permission checks call
(they import this module; it imports no permissions module of theirs).

A share is in force while its federation still holds the owner: the channel's or resource's network is the
federation itself or an active member of it. A person reaches a federation when they are an active member of the
federation's network or of one of its active member networks. Only open channels are ever shared.
"""

from __future__ import annotations

import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.conversations.models import Channel, ChannelKind
from network_service.db import session
from network_service.federations.models import FederationLink, LinkStatus, SharedChannel, SharedResource
from network_service.networks.models import Membership, MembershipStatus, Network
from network_service.resources.models import Resource


def federations_reached_by(person_id) -> sa.Select:
    """Ids of the federations the person reaches: their own networks and the federations those belong to."""
    mine = sa.select(Membership.network_id).where(
        Membership.person_id == person_id, Membership.status == MembershipStatus.active
    )
    above = sa.select(FederationLink.federation_id).where(
        FederationLink.status == LinkStatus.active, FederationLink.member_id.in_(mine)
    )
    return sa.union(mine, above)


def federations_of_network(network_id) -> sa.Select:
    """Ids of the federations whose members see what is shared with them from ``network_id``'s point of view:
    the network itself and the federations it is an active member of."""
    own = (
        sa.cast(network_id, sa.Integer)  # a statement built once, with the network as a bound parameter
        if isinstance(network_id, sa.BindParameter)
        else sa.literal(network_id)
    )
    return sa.union(
        sa.select(own),
        sa.select(FederationLink.federation_id).where(
            FederationLink.member_id == network_id, FederationLink.status == LinkStatus.active
        ),
    )


def _in_force(share_federation, owner_network):
    """The owner (the shared thing's network) is the federation or an active member of it."""
    return sa.or_(
        owner_network == share_federation,
        sa.exists().where(
            FederationLink.federation_id == share_federation,
            FederationLink.member_id == owner_network,
            FederationLink.status == LinkStatus.active,
        ),
    )


def _channel_share(person: Person | None, channel: Channel, *, posting: bool) -> bool:
    if person is None or person.id is None or channel.id is None or channel.kind != ChannelKind.open:
        return False
    query = sa.select(SharedChannel.id).where(
        SharedChannel.channel_id == channel.id,
        SharedChannel.federation_id.in_(federations_reached_by(person.id)),
        _in_force(SharedChannel.federation_id, channel.network_id),
    )
    if posting:
        query = query.where(SharedChannel.allow_posting.is_(True))
    return session.scalar(query.limit(1)) is not None


def can_read_shared_channel(person: Person | None, channel: Channel) -> bool:
    """An open channel of another network, shared with a federation the person reaches."""
    return _channel_share(person, channel, posting=False)


def can_post_shared_channel(person: Person | None, channel: Channel) -> bool:
    """... and shared with posting allowed (archived channels take no messages from anyone)."""
    return channel.archived_at is None and _channel_share(person, channel, posting=True)


def networks_posting_in(person: Person, channel: Channel) -> list[Network]:
    """The person's own networks through which they may write in a shared ``channel``: networks they are an
    active member of that are the federation of an in-force share allowing posting, or an active member of it.
    (Whose agreement a writer from the federation has to have accepted: docs/federations.md.)"""
    return _networks_sharing(person, channel, posting=True)


def _networks_sharing(person: Person | None, channel: Channel, *, posting: bool) -> list[Network]:
    """The person's active networks other than the channel's that an in-force share of ``channel`` reaches (as
    the federation, or as an active member of it); with ``posting``, only shares that allow writing."""
    if person is None or person.id is None or channel.id is None or channel.kind != ChannelKind.open:
        return []
    share = [SharedChannel.channel_id == channel.id]
    if posting:
        share.append(SharedChannel.allow_posting.is_(True))
    return _my_networks_reached(person, SharedChannel.federation_id, channel.network_id, share)


def networks_reading_resource(person: Person | None, resource: Resource) -> list[Network]:
    """The person's own networks (other than the resource's) through which they may read a shared ``resource``:
    networks they are an active member of that are the federation of an in-force share of the resource, or an
    active member of it. (Where the links on the resource's page lead such a reader: docs/federations.md.)"""
    if person is None or person.id is None or resource.id is None:
        return []
    share = [SharedResource.resource_id == resource.id]
    return _my_networks_reached(person, SharedResource.federation_id, resource.network_id, share)


def _my_networks_reached(person: Person, federation_id, owner_network_id: int, share: list) -> list[Network]:
    """The person's active networks other than the owner's that a share (the rows ``share`` selects, whose
    federation is the column ``federation_id``) reaches while in force: as the federation itself, or as an active
    member of it."""
    conditions = [
        *share,
        _in_force(federation_id, owner_network_id),
        sa.or_(
            federation_id == Network.id,
            sa.exists().where(
                FederationLink.federation_id == federation_id,
                FederationLink.member_id == Network.id,
                FederationLink.status == LinkStatus.active,
            ),
        ),
    ]
    mine = sa.select(Membership.network_id).where(
        Membership.person_id == person.id, Membership.status == MembershipStatus.active
    )
    return list(
        session.scalars(
            sa.select(Network)
            .where(Network.id.in_(mine), Network.id != owner_network_id, sa.exists().where(*conditions))
            .order_by(Network.id)
        )
    )


def can_read_shared_resource(person: Person | None, resource: Resource) -> bool:
    if person is None or person.id is None:
        return False
    return (
        session.scalar(
            sa.select(SharedResource.id)
            .where(
                SharedResource.resource_id == resource.id,
                SharedResource.federation_id.in_(federations_reached_by(person.id)),
                _in_force(SharedResource.federation_id, resource.network_id),
            )
            .limit(1)
        )
        is not None
    )


def shared_resources_for(network: Network, limit: int = 50) -> list[Resource]:
    """ "From the federation" in ``network``'s library: resources of other networks shared with the network
    itself (as a federation) or with a federation it belongs to, newest first."""
    return list(
        session.scalars(
            sa.select(Resource)
            .join(SharedResource, SharedResource.resource_id == Resource.id)
            .where(
                SharedResource.federation_id.in_(federations_of_network(network.id)),
                Resource.network_id != network.id,
                _in_force(SharedResource.federation_id, Resource.network_id),
            )
            .distinct()
            .order_by(Resource.id.desc())
            .limit(limit)
        )
    )


def shared_with(network_id) -> tuple:
    """The conditions on ``Channel`` joined to ``SharedChannel``: a channel of another network shared with
    ``network_id`` (a value or a bound parameter) or a federation it belongs to, the share in force."""
    return (
        SharedChannel.federation_id.in_(federations_of_network(network_id)),
        Channel.network_id != network_id,
        Channel.kind == ChannelKind.open,
        _in_force(SharedChannel.federation_id, Channel.network_id),
    )


def shared_channels_for(network: Network, limit: int = 50) -> list[Channel]:
    """Channels of other networks shared with the network (as a federation) or a federation it belongs to."""
    return list(
        session.scalars(
            sa.select(Channel)
            .join(SharedChannel, SharedChannel.channel_id == Channel.id)
            .where(*shared_with(network.id))
            .distinct()
            .order_by(Channel.name, Channel.id)
            .limit(limit)
        )
    )


def first_shared_at(network_id) -> sa.ScalarSelect:
    """When ``Channel`` (correlated: the enclosing statement's channel) was first shared with ``network_id`` or a
    federation it belongs to: what counts as unread for a reader from that network starts there at the
    earliest."""
    return (
        sa.select(sa.func.min(SharedChannel.shared_at))
        .where(
            SharedChannel.channel_id == Channel.id,
            SharedChannel.federation_id.in_(federations_of_network(network_id)),
        )
        .correlate(Channel)
        .scalar_subquery()
    )


def networks_reading_in(person: Person, channel: Channel) -> list[Network]:
    """The person's own networks (other than the channel's) through which they may read a shared ``channel``:
    networks they are an active member of that are the federation of an in-force share of the channel, or an
    active member of it. (Where a report about their message is passed on to: docs/federations.md.)"""
    return _networks_sharing(person, channel, posting=False)
