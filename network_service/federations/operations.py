"""Federations: links between a federation and its member networks, shares, and the federated dashboard.

Plain functions; they flush, the request commits. Authorisation is checked here (permissions.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm
from flask_babel import gettext as _

from network_service import page_cache
from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.conversations.models import Channel, ChannelKind
from network_service.db import session, utcnow
from network_service.errors import Conflict, Forbidden, InvalidInput, NotFound
from network_service.federations import access, permissions
from network_service.federations.models import FederationLink, LinkStatus, SharedChannel, SharedResource
from network_service.networks import roadmap
from network_service.networks.models import Network, Role
from network_service.networks.operations import people_in_roles
from network_service.notifications.operations import notify, register_kind
from network_service.resources.models import Resource


def _names(p: dict) -> dict:
    return {"federation": p.get("federation_name", ""), "network": p.get("member_name", "")}


register_kind(
    "federations.invited",
    lambda p: _("%(federation)s invites %(network)s to join the federation.", **_names(p)),
)
register_kind(
    "federations.requested",
    lambda p: _("%(network)s asks to join the federation %(federation)s.", **_names(p)),
)
register_kind(
    "federations.accepted",
    lambda p: _("%(network)s is now a member of the federation %(federation)s.", **_names(p)),
)
register_kind(
    "federations.ended",
    lambda p: _("%(network)s is no longer a member of the federation %(federation)s.", **_names(p)),
)

MAX_DEPTH = 20  # federations of federations: how far up the cycle check walks


def _params(link: FederationLink) -> dict:
    return {"federation_name": link.federation.name, "member_name": link.member.name}


def _tell(network: Network, kind: str, link: FederationLink, actor: Person | None) -> None:
    notify(
        people_in_roles(network, {Role.coordinator}),
        kind,
        url=f"/networks/{network.slug}/federation",
        network=network,
        actor=actor,
        **_params(link),
    )


def _network_named(slug: str | None, field: str) -> Network:
    slug = (slug or "").strip().lower()
    network = session.scalar(sa.select(Network).where(Network.slug == slug)) if slug else None
    if network is None:
        raise InvalidInput(_("There is no network at this address."), field=field)
    return network


# -- reading -------------------------------------------------------------------------------------------------


@dataclass
class Links:
    federations: list[
        FederationLink
    ]  # the federations the network belongs to, or is asked into / asks to join
    members: list[FederationLink]  # the network's own member networks (it is a federation), pending ones too

    @property
    def active_federations(self) -> list[FederationLink]:
        return [link for link in self.federations if link.status == LinkStatus.active]

    @property
    def active_members(self) -> list[FederationLink]:
        return [link for link in self.members if link.status == LinkStatus.active]


def links_of(network: Network, viewer: Person | None) -> Links:
    if not permissions.can_view_federation(viewer, network):
        raise Forbidden(_("Only members of this network can see its federations."))
    rows = session.scalars(
        sa.select(FederationLink)
        .where(
            sa.or_(FederationLink.federation_id == network.id, FederationLink.member_id == network.id),
            FederationLink.status != LinkStatus.ended,
        )
        .order_by(FederationLink.id)
    ).all()
    return Links(
        federations=[row for row in rows if row.member_id == network.id],
        members=[row for row in rows if row.federation_id == network.id],
    )


def member_ids(federation: Network) -> list[int]:
    return list(
        session.scalars(
            sa.select(FederationLink.member_id)
            .where(FederationLink.federation_id == federation.id, FederationLink.status == LinkStatus.active)
            .order_by(FederationLink.member_id)
        )
    )


def member_networks(federation: Network) -> list[Network]:
    return list(
        session.scalars(
            sa.select(Network)
            .join(FederationLink, FederationLink.member_id == Network.id)
            .where(FederationLink.federation_id == federation.id, FederationLink.status == LinkStatus.active)
            .order_by(Network.name, Network.id)
        )
    )


def is_federation(network: Network) -> bool:
    return bool(member_ids(network))


def get_link(link_id: int, viewer: Person | None) -> FederationLink:
    link = session.get(FederationLink, link_id)
    if link is None or not (
        permissions.can_view_federation(viewer, link.federation)
        or permissions.can_view_federation(viewer, link.member)
    ):
        raise NotFound(_("There is no such federation link, or it is not open to you."))
    return link


# -- links ---------------------------------------------------------------------------------------------------


def _federations_above(network_id: int) -> set[int]:
    """Every federation the network belongs to, directly or through other federations (pending links count,
    so that two invitations accepted one after the other cannot close a circle)."""
    found: set[int] = set()
    frontier = {network_id}
    for _depth in range(MAX_DEPTH):
        if not frontier:
            break
        frontier = (
            set(
                session.scalars(
                    sa.select(FederationLink.federation_id).where(
                        FederationLink.member_id.in_(frontier), FederationLink.status != LinkStatus.ended
                    )
                )
            )
            - found
        )
        found |= frontier
    return found


def _check_no_cycle(federation: Network, member: Network, *, field: str) -> None:
    if federation.id == member.id:
        raise InvalidInput(_("A network cannot be a member of itself."), field=field)
    # the member may not be the federation itself or above it: that would make a circle
    if member.id in _federations_above(federation.id):
        raise InvalidInput(
            _("%(network)s already contains %(federation)s: a federation cannot go round in a circle.",
              network=member.name, federation=federation.name),
            field=field,
        )  # fmt: skip


def _open_link(federation: Network, member: Network, status: LinkStatus, actor: Person, field: str):
    _check_no_cycle(federation, member, field=field)
    link = session.scalar(
        sa.select(FederationLink).where(
            FederationLink.federation_id == federation.id, FederationLink.member_id == member.id
        )
    )
    if link is not None and link.status == LinkStatus.active:
        raise Conflict(_("%(network)s is already a member of %(federation)s.",
                         network=member.name, federation=federation.name))  # fmt: skip
    if link is not None and link.pending:
        if link.status == status:
            raise Conflict(_("This has been asked already; the other network has not answered yet."))
        # both sides asked: that is consent from both
        return _activate(link, actor)
    if link is None:
        link = FederationLink(federation_id=federation.id, member_id=member.id)
        session.add(link)
    link.status = status
    link.asked_by_id = actor.id
    link.asked_at = utcnow()
    link.accepted_by_id = link.accepted_at = link.ended_at = None
    session.flush()
    session.refresh(link)
    return link


def invite_member(federation: Network, member_slug: str, *, actor: Person) -> FederationLink:
    """The federation's coordinator invites another network; its coordinator accepts (or declines)."""
    if not permissions.can_manage_links(actor, federation):
        raise Forbidden(_("Only the coordinator can invite networks into the federation."))
    member = _network_named(member_slug, "network")
    link = _open_link(federation, member, LinkStatus.invited, actor, "network")
    if link.status == LinkStatus.invited:
        record("federations.invite", actor=actor, target=link, network=federation, member=member.slug)
        _tell(member, "federations.invited", link, actor)
    return link


def request_to_join(member: Network, federation_slug: str, *, actor: Person) -> FederationLink:
    """A network's coordinator asks to join a federation; the federation's coordinator accepts (or declines)."""
    if not permissions.can_manage_links(actor, member):
        raise Forbidden(_("Only the coordinator can ask to join a federation."))
    federation = _network_named(federation_slug, "federation")
    link = _open_link(federation, member, LinkStatus.requested, actor, "federation")
    if link.status == LinkStatus.requested:
        record("federations.request", actor=actor, target=link, network=member, federation=federation.slug)
        _tell(federation, "federations.requested", link, actor)
    return link


def _deciding_side(link: FederationLink) -> Network:
    return link.member if link.status == LinkStatus.invited else link.federation


def may_accept(person: Person | None, link: FederationLink) -> bool:
    return link.pending and permissions.can_manage_links(person, _deciding_side(link))


def may_end(person: Person | None, link: FederationLink) -> bool:
    return link.status != LinkStatus.ended and (
        permissions.can_manage_links(person, link.federation)
        or permissions.can_manage_links(person, link.member)
    )


def _activate(link: FederationLink, actor: Person) -> FederationLink:
    _check_no_cycle(link.federation, link.member, field="network")
    link.status = LinkStatus.active
    link.accepted_by_id = actor.id
    link.accepted_at = utcnow()
    session.flush()
    record("federations.accept", actor=actor, target=link, network=link.federation, member=link.member.slug)
    record(
        "federations.accept", actor=actor, target=link, network=link.member, federation=link.federation.slug
    )
    for side in (link.federation, link.member):
        _tell(side, "federations.accepted", link, actor)
    return link


def accept_link(link: FederationLink, *, actor: Person) -> FederationLink:
    """The other side's coordinator accepts an invitation or a request."""
    if not (
        permissions.can_manage_links(actor, link.federation)
        or permissions.can_manage_links(actor, link.member)
    ):  # the person first: whether the link waits is none of a stranger's business
        raise Forbidden(
            _("Only the coordinator of %(network)s can accept this.", network=_deciding_side(link).name)
        )
    if not link.pending:
        raise Conflict(_("There is nothing to accept: this link is not waiting for an answer."))
    if not may_accept(actor, link):
        raise Forbidden(
            _("Only the coordinator of %(network)s can accept this.", network=_deciding_side(link).name)
        )
    return _activate(link, actor)


def end_link(link: FederationLink, *, actor: Person) -> FederationLink:
    """Decline, withdraw, leave or remove: either side's coordinator ends the link. What the member network
    shared with the federation stops being shared."""
    if link.status == LinkStatus.ended:
        raise Conflict(_("This link has already ended."))
    if not may_end(actor, link):
        raise Forbidden(_("Only a coordinator of the federation or of the member network can end this."))
    was = link.status
    link.status = LinkStatus.ended
    link.ended_at = utcnow()
    channel_ids = sa.select(Channel.id).where(Channel.network_id == link.member_id)
    resource_ids = sa.select(Resource.id).where(Resource.network_id == link.member_id)
    session.execute(
        sa.delete(SharedChannel).where(
            SharedChannel.federation_id == link.federation_id, SharedChannel.channel_id.in_(channel_ids)
        )
    )
    session.execute(
        sa.delete(SharedResource).where(
            SharedResource.federation_id == link.federation_id, SharedResource.resource_id.in_(resource_ids)
        )
    )
    session.flush()
    for side in (link.federation, link.member):
        record("federations.end", actor=actor, target=link, network=side, was=was.value,
               federation=link.federation.slug, member=link.member.slug)  # fmt: skip
    other = link.member if permissions.can_manage_links(actor, link.federation) else link.federation
    _tell(other, "federations.ended", link, actor)
    return link


# -- sharing -------------------------------------------------------------------------------------------------


def sharing_targets(network: Network) -> list[Network]:
    """The federations ``network`` may share with: itself when it has member networks, and every federation it
    is an active member of."""
    targets = [network] if is_federation(network) else []
    targets += list(
        session.scalars(
            sa.select(Network)
            .join(FederationLink, FederationLink.federation_id == Network.id)
            .where(FederationLink.member_id == network.id, FederationLink.status == LinkStatus.active)
            .order_by(Network.name, Network.id)
        )
    )
    return targets


def _target(network: Network, federation_id) -> Network:
    for target in sharing_targets(network):
        if target.id == federation_id:
            return target
    raise InvalidInput(_("Choose a federation this network belongs to."), field="federation_id")


def shared_by(network: Network) -> tuple[list[SharedChannel], list[SharedResource]]:
    """What ``network`` shares (its own channels and resources), for the page that manages it."""
    channels = session.scalars(
        sa.select(SharedChannel)
        .join(Channel, Channel.id == SharedChannel.channel_id)
        .where(Channel.network_id == network.id)
        .order_by(SharedChannel.id)
    ).all()
    resources = session.scalars(
        sa.select(SharedResource)
        .join(Resource, Resource.id == SharedResource.resource_id)
        .where(Resource.network_id == network.id)
        .order_by(SharedResource.id)
    ).all()
    return list(channels), list(resources)


def share_channel(
    network: Network, channel_id, federation_id, *, actor: Person, allow_posting: bool = True
) -> SharedChannel:
    if not permissions.can_share(actor, network):
        raise Forbidden(_("Only the coordinator can share the network's channels."))
    channel = session.get(Channel, channel_id) if isinstance(channel_id, int) else None
    if channel is None or channel.network_id != network.id:
        raise InvalidInput(_("Choose one of this network's channels."), field="channel_id")
    if channel.kind != ChannelKind.open:
        raise InvalidInput(_("Private groups and direct messages can never be shared."), field="channel_id")
    federation = _target(network, federation_id)
    share = session.scalar(
        sa.select(SharedChannel).where(
            SharedChannel.federation_id == federation.id, SharedChannel.channel_id == channel.id
        )
    )
    if share is None:
        share = SharedChannel(federation_id=federation.id, channel_id=channel.id, shared_by_id=actor.id)
        session.add(share)
    share.allow_posting = bool(allow_posting)
    session.flush()
    record("federations.share_channel", actor=actor, target=channel, network=network,
           federation=federation.slug, allow_posting=share.allow_posting)  # fmt: skip
    return share


def share_resource(network: Network, resource_id, federation_id, *, actor: Person) -> SharedResource:
    if not permissions.can_share(actor, network):
        raise Forbidden(_("Only the coordinator can share the network's resources."))
    resource = session.get(Resource, resource_id) if isinstance(resource_id, int) else None
    if resource is None or resource.network_id != network.id:
        raise InvalidInput(_("Choose one of this network's resources."), field="resource_id")
    federation = _target(network, federation_id)
    share = session.scalar(
        sa.select(SharedResource).where(
            SharedResource.federation_id == federation.id, SharedResource.resource_id == resource.id
        )
    )
    if share is None:
        share = SharedResource(federation_id=federation.id, resource_id=resource.id, shared_by_id=actor.id)
        session.add(share)
        session.flush()
        record("federations.share_resource", actor=actor, target=resource, network=network,
               federation=federation.slug)  # fmt: skip
    return share


def unshare_channel(network: Network, share_id, *, actor: Person) -> None:
    if not permissions.can_share(actor, network):
        raise Forbidden(_("Only the coordinator can stop sharing the network's channels."))
    share = session.get(SharedChannel, share_id) if isinstance(share_id, int) else None
    if share is None or share.channel.network_id != network.id:
        raise NotFound(_("This network does not share that channel."))
    record("federations.unshare_channel", actor=actor, target=share.channel, network=network,
           federation_id=share.federation_id)  # fmt: skip
    session.delete(share)
    session.flush()


def unshare_resource(network: Network, share_id, *, actor: Person) -> None:
    if not permissions.can_share(actor, network):
        raise Forbidden(_("Only the coordinator can stop sharing the network's resources."))
    share = session.get(SharedResource, share_id) if isinstance(share_id, int) else None
    if share is None or share.resource.network_id != network.id:
        raise NotFound(_("This network does not share that resource."))
    record("federations.unshare_resource", actor=actor, target=share.resource, network=network,
           federation_id=share.federation_id)  # fmt: skip
    session.delete(share)
    session.flush()


def shared_with(network: Network, viewer: Person | None) -> tuple[list[Channel], list[Resource]]:
    """What other networks of the network's federations share with its members."""
    if not permissions.can_view_federation(viewer, network):
        raise Forbidden(_("Only members of this network can see its federations."))
    return access.shared_channels_for(network), access.shared_resources_for(network)


# -- the public page -----------------------------------------------------------------------------------------


def public_members(network: Network) -> list[dict]:
    """Member networks shown on a federation's public page (it is public, or this is never called): their
    names, and a link to their own public page when they have one."""
    from network_service.directory.models import NetworkPublicPage

    rows = session.execute(
        sa.select(Network, NetworkPublicPage.public)
        .join(FederationLink, FederationLink.member_id == Network.id)
        .outerjoin(NetworkPublicPage, NetworkPublicPage.network_id == Network.id)
        .where(FederationLink.federation_id == network.id, FederationLink.status == LinkStatus.active)
        .order_by(Network.name, Network.id)
    ).all()
    return [{"name": member.name, "slug": member.slug, "public": bool(public)} for member, public in rows]


def public_federations(network: Network) -> list[dict]:
    """The federations with a public page that ``network`` is an active member of (on its own public page)."""
    from network_service.directory.models import NetworkPublicPage

    rows = session.scalars(
        sa.select(Network)
        .join(FederationLink, FederationLink.federation_id == Network.id)
        .join(NetworkPublicPage, NetworkPublicPage.network_id == Network.id)
        .where(
            FederationLink.member_id == network.id,
            FederationLink.status == LinkStatus.active,
            NetworkPublicPage.public.is_(True),
        )
        .order_by(Network.name, Network.id)
    ).all()
    return [{"name": federation.name, "slug": federation.slug} for federation in rows]


# -- roadmap -------------------------------------------------------------------------------------------------


_LINKED_KEY = "mentornet.federations.linked"


def in_a_federation(network: Network) -> bool:
    """The network has an active link, as federation or member (the roadmap checkpoint, and whether members see
    the Federation section): asked on every network page, so kept for the request until the next flush."""
    cache = session.info.setdefault(_LINKED_KEY, {})
    if network.id not in cache:
        # and kept for the worker until a link (or another unattributed write of page_cache.STRUCTURE: a new
        # member or a notification changes no link) changes: the answer is the same for every viewer
        network_id = network.id
        cache[network_id] = page_cache.cached(
            "in_a_federation",
            network_id,
            page_cache.unattributed(page_cache.STRUCTURE),
            lambda: _linked(network),
        )
    return cache[network.id]


@sa.event.listens_for(sa.orm.Session, "after_flush")
@sa.event.listens_for(sa.orm.Session, "after_rollback")
def _forget_linked(session_, *_args) -> None:
    session_.info.pop(_LINKED_KEY, None)


def _linked(network: Network) -> bool:
    return session.scalar(_LINKED, {"network_id": network.id}) is not None


# Asked by every network page that renders its navigation: built once, at import.
_LINKED = (
    sa.select(FederationLink.id)
    .where(
        sa.or_(
            FederationLink.federation_id == sa.bindparam("network_id", type_=sa.Integer),
            FederationLink.member_id == sa.bindparam("network_id", type_=sa.Integer),
        ),
        FederationLink.status == LinkStatus.active,
    )
    .limit(1)
)


roadmap.register_checkpoint(
    roadmap.Checkpoint(
        key="federations.joined",
        phase=roadmap.Phase.grow,
        order=80,
        label=lambda: _("The network is part of a federation of networks"),
        reached=in_a_federation,
        hint=lambda: _("Join a federation, or invite other networks into yours, on the Federation page."),
    )
)
