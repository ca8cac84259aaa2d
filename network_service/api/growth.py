"""JSON API of applications to join a network and of partner organisations (docs/guide-organisations.md)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from network_service.api.auth import authenticate, require_json_body, require_person
from network_service.api.schemas import Strict
from network_service.db import session
from network_service.errors import NotFound
from network_service.growth import operations
from network_service.growth.models import ApplicationStatus, PartnerStatus
from network_service.networks.models import Level, Organisation
from network_service.networks.operations import get_network

blp = Blueprint("api_growth", __name__, description="Applications to join networks, partner organisations")
blp.before_request(authenticate)
blp.before_request(require_json_body)


class ApplicantSchema(Strict):
    id = fields.Int()
    display_name = fields.Str(attribute="name_or_email")


class ApplicationSchema(Strict):
    id = fields.Int(dump_only=True)
    person = fields.Nested(ApplicantSchema, dump_only=True)
    motivation = fields.Str(required=True, validate=validate.Length(min=1, max=operations.MAX_MOTIVATION))
    experience = fields.Str(load_default="", validate=validate.Length(max=operations.MAX_EXPERIENCE))
    languages = fields.List(
        fields.Str(validate=validate.Length(max=40)),
        load_default=list,
        validate=validate.Length(max=operations.MAX_LANGUAGES),
    )
    region = fields.Str(load_default="", validate=validate.Length(max=120))
    status = fields.Enum(ApplicationStatus, dump_only=True)
    level = fields.Str(dump_only=True, metadata={"description": "The level granted on acceptance."})
    decision_message = fields.Str(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    decided_at = fields.DateTime(dump_only=True, allow_none=True)


class ApplicationListQuerySchema(Strict):
    status = fields.Str(
        load_default="pending", validate=validate.OneOf([*[s.value for s in ApplicationStatus], "all"])
    )


class DecisionSchema(Strict):
    accept = fields.Bool(required=True)
    level = fields.Enum(Level, load_default=Level.experienced, metadata={"description": "When accepted."})
    message = fields.Str(load_default="", validate=validate.Length(max=operations.MAX_MESSAGE))


class PartnerOrganisationSchema(Strict):
    id = fields.Int()
    name = fields.Str()
    country = fields.Str(allow_none=True)
    website = fields.Str()


class PartnerSchema(Strict):
    id = fields.Int(dump_only=True)
    organisation = fields.Nested(PartnerOrganisationSchema, dump_only=True)
    status = fields.Enum(PartnerStatus, dump_only=True)
    message = fields.Str(dump_only=True)
    decision_message = fields.Str(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class PartnerRequestSchema(Strict):
    organisation_id = fields.Int(
        load_default=None,
        allow_none=True,
        metadata={"description": "An organisation whose network you coordinate; or give `name` instead."},
    )
    name = fields.Str(load_default="", validate=validate.Length(max=200))
    country = fields.Str(load_default="", validate=validate.Length(max=2))
    website = fields.Str(load_default="", validate=validate.Length(max=300))
    message = fields.Str(load_default="", validate=validate.Length(max=operations.MAX_MESSAGE))


class PartnerListQuerySchema(Strict):
    all = fields.Bool(
        load_default=False, metadata={"description": "Requests and declined ones too (coordinators)."}
    )


class PartnerDecisionSchema(Strict):
    accept = fields.Bool(required=True)
    message = fields.Str(load_default="", validate=validate.Length(max=operations.MAX_MESSAGE))


@blp.route("/networks/<slug>/applications")
class Applications(MethodView):
    @blp.arguments(ApplicationListQuerySchema, location="query")
    @blp.response(200, ApplicationSchema(many=True))
    def get(self, args, slug):
        """The network's applications, newest first (network office, coordinators)."""
        status = None if args["status"] == "all" else ApplicationStatus(args["status"])
        return operations.list_applications(get_network(slug), require_person(), status)

    @blp.arguments(ApplicationSchema)
    @blp.response(201, ApplicationSchema)
    def post(self, data, slug):
        """Apply to join the network (any signed-in person; the network must accept applications)."""
        return operations.apply(get_network(slug), require_person(), **data)


@blp.route("/networks/<slug>/applications/<int:application_id>/decision")
class ApplicationDecision(MethodView):
    @blp.arguments(DecisionSchema)
    @blp.response(200, ApplicationSchema)
    def post(self, data, slug, application_id):
        """Accept (the applicant is invited, as a mentor of ``level``) or decline (network office,
        coordinators)."""
        network = get_network(slug)
        actor = require_person()
        if not operations.permissions.can_manage_applications(actor, network):
            operations.list_applications(network, actor)  # raises the 403 problem
        return operations.decide_application(
            operations.get_application(network, application_id), actor, **data
        )


@blp.route("/networks/<slug>/partners")
class Partners(MethodView):
    @blp.arguments(PartnerListQuerySchema, location="query")
    @blp.response(200, PartnerSchema(many=True))
    def get(self, args, slug):
        """The network's partner organisations (members and anyone signed in); with ``all``, the requests too
        (coordinators)."""
        return operations.list_partners(get_network(slug), require_person(), everything=args["all"])

    @blp.arguments(PartnerRequestSchema)
    @blp.response(201, PartnerSchema)
    def post(self, data, slug):
        """Ask that an organisation join the network as a partner (its representative, signed in)."""
        organisation = None
        if data["organisation_id"] is not None:
            organisation = session.get(Organisation, data["organisation_id"])
            if organisation is None:
                raise NotFound(field="organisation_id")
        return operations.request_partnership(
            get_network(slug),
            require_person(),
            organisation=organisation,
            new_name=data["name"],
            country=data["country"],
            website=data["website"],
            message=data["message"],
        )


@blp.route("/networks/<slug>/partners/<int:partner_id>/decision")
class PartnerDecision(MethodView):
    @blp.arguments(PartnerDecisionSchema)
    @blp.response(200, PartnerSchema)
    def post(self, data, slug, partner_id):
        """Accept or decline a partner request (coordinators)."""
        network = get_network(slug)
        actor = require_person()
        if not operations.permissions.can_decide_partners(actor, network):
            operations.list_partners(network, actor, everything=True)  # raises the 403 problem
        return operations.decide_partner(operations.get_partner(network, partner_id), actor, **data)
