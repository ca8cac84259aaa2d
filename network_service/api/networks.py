from __future__ import annotations

from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint

from network_service.accounts.models import Person
from network_service.api.auth import authenticate, require_json_body, require_person
from network_service.api.schemas import (
    AcceptInvitationSchema,
    AgreementSchema,
    AppointSchema,
    InvitationCreateSchema,
    InvitationSchema,
    MemberSchema,
    MyNetworkSchema,
    NetworkSchema,
)
from network_service.db import session
from network_service.errors import Forbidden, NotFound
from network_service.networks import operations, permissions

blp = Blueprint("api_networks", __name__, description="Networks, members and invitations")
blp.before_request(authenticate)
blp.before_request(require_json_body)


@blp.route("/networks")
class MyNetworks(MethodView):
    @blp.response(200, MyNetworkSchema(many=True))
    def get(self):
        """The networks the signed-in person belongs to or is invited to."""
        return operations.networks_of(require_person())


@blp.route("/networks/<slug>")
class NetworkDetail(MethodView):
    @blp.response(200, NetworkSchema)
    def get(self, slug):
        """One network (members only)."""
        viewer = require_person()
        network = operations.get_network(slug)
        if not permissions.can_view_members(viewer, network):
            raise Forbidden(_("Only members of this network can see it."))
        return network


@blp.route("/networks/<slug>/members")
class Members(MethodView):
    @blp.response(200, MemberSchema(many=True))
    def get(self, slug):
        """Active members with their roles; people who may invite also see pending invitees."""
        viewer = require_person()
        return operations.list_members(operations.get_network(slug), viewer, include_invited=True)


@blp.route("/networks/<slug>/members/<int:person_id>")
class Member(MethodView):
    @blp.arguments(AppointSchema)
    @blp.response(200, MemberSchema)
    def patch(self, changes, slug, person_id):
        """Appoint a member to a role or level (coordinators)."""
        actor = require_person()
        network = operations.get_network(slug)
        person = session.get(Person, person_id)
        if person is None:
            raise NotFound(_("No such person."), field="person_id")
        return operations.appoint(
            network, person, actor=actor, role=changes.get("role"), level=changes.get("level")
        )


@blp.route("/networks/<slug>/agreement")
class CurrentAgreement(MethodView):
    @blp.response(200, AgreementSchema)
    def get(self, slug):
        """The current version of the network's agreement and communication rules (members only)."""
        viewer = require_person()
        network = operations.get_network(slug)
        if not permissions.can_view_members(viewer, network):
            raise Forbidden(_("Only members of this network can see its agreement."))
        return operations.current_agreement(network)


@blp.route("/networks/<slug>/invitations")
class Invitations(MethodView):
    @blp.arguments(InvitationCreateSchema)
    @blp.response(201, InvitationSchema)
    def post(self, data, slug):
        """Invite a person by e-mail; the invitation e-mail goes out once the request commits."""
        actor = require_person()
        return operations.invite_person(
            operations.get_network(slug),
            data["email"],
            actor=actor,
            display_name=data["display_name"],
            role=data["role"],
            level=data["level"],
        )


@blp.route("/invitations/accept")
class AcceptInvitation(MethodView):
    @blp.doc(security=[])  # the invitation token is the credential
    @blp.arguments(AcceptInvitationSchema)
    @blp.response(200, MemberSchema)
    def post(self, data):
        """Accept an invitation with its token; needs an explicit yes to the current agreement version."""
        return operations.accept_invitation(
            data["token"],
            agreement_version=data["agreement_version"],
            accept=data["accept_agreement"],
            display_name=data["display_name"],
        )
