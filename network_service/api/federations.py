"""JSON API of federations: member networks (invite, ask to join, accept, leave or remove), shared channels and
resources, and the federated dashboard (docs/federations.md)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from network_service.api.auth import authenticate, require_json_body, require_person
from network_service.api.schemas import Strict
from network_service.federations import dashboard, operations
from network_service.federations.models import LinkStatus
from network_service.networks.operations import get_network

blp = Blueprint(
    "api_federations", __name__, description="Federations of networks: members, sharing, dashboard"
)
blp.before_request(authenticate)
blp.before_request(require_json_body)


class NetworkRefSchema(Strict):
    slug = fields.Str()
    name = fields.Str()


class LinkSchema(Strict):
    id = fields.Int()
    federation = fields.Nested(NetworkRefSchema)
    member = fields.Nested(NetworkRefSchema)
    status = fields.Enum(LinkStatus, metadata={"description": "invited, requested, active or ended"})
    asked_at = fields.DateTime()
    accepted_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)


class ChannelRefSchema(Strict):
    id = fields.Int()
    slug = fields.Str()
    name = fields.Str()
    network = fields.Nested(NetworkRefSchema)


class ResourceRefSchema(Strict):
    id = fields.Int()
    title = fields.Str()
    network = fields.Nested(NetworkRefSchema)


class SharedChannelSchema(Strict):
    id = fields.Int()
    federation = fields.Nested(NetworkRefSchema)
    channel = fields.Nested(ChannelRefSchema)
    allow_posting = fields.Bool()
    shared_at = fields.DateTime()


class SharedResourceSchema(Strict):
    id = fields.Int()
    federation = fields.Nested(NetworkRefSchema)
    resource = fields.Nested(ResourceRefSchema)
    shared_at = fields.DateTime()


class SharedWithUsSchema(Strict):
    channels = fields.List(fields.Nested(ChannelRefSchema))
    resources = fields.List(fields.Nested(ResourceRefSchema))


class WeShareSchema(Strict):
    channels = fields.List(fields.Nested(SharedChannelSchema))
    resources = fields.List(fields.Nested(SharedResourceSchema))


class OverviewSchema(Strict):
    federations = fields.List(
        fields.Nested(LinkSchema), metadata={"description": "Federations it belongs to."}
    )
    members = fields.List(fields.Nested(LinkSchema), metadata={"description": "Its member networks."})
    shared_with_us = fields.Nested(
        SharedWithUsSchema, metadata={"description": "Channels and resources other networks share with it."}
    )
    we_share = fields.Nested(
        WeShareSchema, metadata={"description": "What it shares, and with which federation."}
    )


class InviteSchema(Strict):
    network = fields.Str(required=True, validate=validate.Length(min=1, max=64))


class JoinSchema(Strict):
    federation = fields.Str(required=True, validate=validate.Length(min=1, max=64))


class ShareChannelSchema(Strict):
    channel_id = fields.Int(required=True, strict=True)
    federation_id = fields.Int(required=True, strict=True)
    allow_posting = fields.Bool(load_default=True)


class ShareResourceSchema(Strict):
    resource_id = fields.Int(required=True, strict=True)
    federation_id = fields.Int(required=True, strict=True)


def _ref(network) -> dict:
    return {"slug": network.slug, "name": network.name}


def _channel(share) -> dict:
    channel = share.channel
    return {
        "id": share.id,
        "federation": _ref(share.federation),
        "channel": {
            "id": channel.id,
            "slug": channel.slug,
            "name": channel.name,
            "network": _ref(channel.network),
        },
        "allow_posting": share.allow_posting,
        "shared_at": share.shared_at,
    }


def _resource(share) -> dict:
    resource = share.resource
    return {
        "id": share.id,
        "federation": _ref(share.federation),
        "resource": {"id": resource.id, "title": resource.title, "network": _ref(resource.network)},
        "shared_at": share.shared_at,
    }


@blp.route("/networks/<slug>/federation")
class Overview(MethodView):
    @blp.response(200, OverviewSchema)
    def get(self, slug):
        """The federations the network belongs to, its member networks, and what is shared."""
        network = get_network(slug)
        viewer = require_person()
        links = operations.links_of(network, viewer)
        channels, resources = operations.shared_with(network, viewer)
        own_channels, own_resources = operations.shared_by(network)
        return {
            "federations": links.federations,
            "members": links.members,
            "shared_with_us": {
                "channels": [
                    {"id": c.id, "slug": c.slug, "name": c.name, "network": _ref(c.network)} for c in channels
                ],
                "resources": [{"id": r.id, "title": r.title, "network": _ref(r.network)} for r in resources],
            },
            "we_share": {
                "channels": [_channel(s) for s in own_channels],
                "resources": [_resource(s) for s in own_resources],
            },
        }


@blp.route("/networks/<slug>/federation/members")
class Members(MethodView):
    @blp.arguments(InviteSchema)
    @blp.response(201, LinkSchema)
    def post(self, data, slug):
        """Invite another network into this federation (its coordinator accepts). Coordinators only."""
        return operations.invite_member(get_network(slug), data["network"], actor=require_person())


@blp.route("/networks/<slug>/federation/memberships")
class Memberships(MethodView):
    @blp.arguments(JoinSchema)
    @blp.response(201, LinkSchema)
    def post(self, data, slug):
        """Ask to join a federation (its coordinator accepts). Coordinators only."""
        return operations.request_to_join(get_network(slug), data["federation"], actor=require_person())


@blp.route("/federation-links/<int:link_id>/accept")
class Accept(MethodView):
    @blp.response(200, LinkSchema)
    def post(self, link_id):
        """Accept an invitation (member network's coordinator) or a request (federation's coordinator)."""
        viewer = require_person()
        return operations.accept_link(operations.get_link(link_id, viewer), actor=viewer)


@blp.route("/federation-links/<int:link_id>")
class Link(MethodView):
    @blp.response(200, LinkSchema)
    def get(self, link_id):
        """One link, for members of either network."""
        return operations.get_link(link_id, require_person())

    @blp.response(200, LinkSchema)
    def delete(self, link_id):
        """Decline, withdraw, leave or remove: either side's coordinator ends the link."""
        viewer = require_person()
        return operations.end_link(operations.get_link(link_id, viewer), actor=viewer)


@blp.route("/networks/<slug>/federation/shared-channels")
class SharedChannels(MethodView):
    @blp.arguments(ShareChannelSchema)
    @blp.response(201, SharedChannelSchema)
    def post(self, data, slug):
        """Share one of the network's open channels with a federation it belongs to (or is)."""
        share = operations.share_channel(
            get_network(slug), data["channel_id"], data["federation_id"], actor=require_person(),
            allow_posting=data["allow_posting"],
        )  # fmt: skip
        return _channel(share)


@blp.route("/networks/<slug>/federation/shared-channels/<int:share_id>")
class SharedChannel(MethodView):
    @blp.response(204)
    def delete(self, slug, share_id):
        """Stop sharing the channel."""
        operations.unshare_channel(get_network(slug), share_id, actor=require_person())


@blp.route("/networks/<slug>/federation/shared-resources")
class SharedResources(MethodView):
    @blp.arguments(ShareResourceSchema)
    @blp.response(201, SharedResourceSchema)
    def post(self, data, slug):
        """Share one of the network's resources with a federation it belongs to (or is)."""
        share = operations.share_resource(
            get_network(slug), data["resource_id"], data["federation_id"], actor=require_person()
        )
        return _resource(share)


@blp.route("/networks/<slug>/federation/shared-resources/<int:share_id>")
class SharedResource(MethodView):
    @blp.response(204)
    def delete(self, slug, share_id):
        """Stop sharing the resource."""
        operations.unshare_resource(get_network(slug), share_id, actor=require_person())


@blp.route("/networks/<slug>/federation/dashboard")
class Dashboard(MethodView):
    @blp.response(200)
    def get(self, slug):
        """Insights of all member networks together and per member network: counts only, never what members
        wrote. For the federation's coordinators and Meta-Mentors."""
        return dashboard.dashboard(get_network(slug), require_person())
