"""JSON API of moderation: reports and their handling, hiding messages, suspensions, blocks."""

from __future__ import annotations

from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import ValidationError, fields, validate, validates_schema

from network_service.api.auth import authenticate, require_json_body, require_person
from network_service.api.conversations import AuthorSchema, MessageSchema, message_data
from network_service.api.schemas import MemberSchema, Strict
from network_service.conversations import operations as conversations
from network_service.conversations.permissions import is_moderator
from network_service.errors import Forbidden
from network_service.moderation import operations
from network_service.moderation.models import ReportReason, ReportStatus
from network_service.networks import operations as networks
from network_service.networks.models import MembershipStatus
from network_service.privacy.operations import profile_shared_among

blp = Blueprint("api_moderation", __name__, description="Moderation: reports, hiding, suspension, blocks")
blp.before_request(authenticate)
blp.before_request(require_json_body)


class ReportCreateSchema(Strict):
    message_id = fields.Int(load_default=None)
    person_id = fields.Int(load_default=None)
    reason = fields.Enum(ReportReason, required=True)
    note = fields.Str(load_default="", validate=validate.Length(max=operations.MAX_NOTE_CHARS))

    @validates_schema
    def _one_target(self, data, **_kwargs):
        if (data.get("message_id") is None) == (data.get("person_id") is None):
            raise ValidationError(_("Give either message_id or person_id."), "message_id")


class ReportedMessageSchema(Strict):
    id = fields.Int()
    body = fields.Str(allow_none=True, metadata={"description": "The text now (null once deleted)."})
    deleted = fields.Bool()
    hidden = fields.Bool()
    reported_body = fields.Str(
        allow_none=True,
        metadata={
            "description": "The text at the time of the report (null for reports made before it was kept)."
        },
    )
    reported_at = fields.DateTime(allow_none=True, metadata={"description": "When reported_body was taken."})
    edited_since = fields.Bool(metadata={"description": "The author edited the message after the report."})


class ReportSchema(Strict):
    id = fields.Int()
    reason = fields.Enum(ReportReason)
    note = fields.Str()
    status = fields.Enum(ReportStatus)
    created_at = fields.DateTime()
    reporter = fields.Nested(AuthorSchema, allow_none=True)
    person = fields.Nested(AuthorSchema, allow_none=True)
    message = fields.Nested(ReportedMessageSchema, allow_none=True)
    handled_by = fields.Nested(AuthorSchema, allow_none=True)
    handled_at = fields.DateTime(allow_none=True)
    resolution = fields.Str()


class ReportPageSchema(Strict):
    reports = fields.List(fields.Nested(ReportSchema))
    next_cursor = fields.Int(allow_none=True)


class ReportQuerySchema(Strict):
    status = fields.Enum(ReportStatus, load_default=ReportStatus.open)
    before = fields.Int(load_default=None, validate=validate.Range(min=1))


class ReportHandleSchema(Strict):
    status = fields.Enum(ReportStatus, required=True)
    resolution = fields.Str(load_default="", validate=validate.Length(max=operations.MAX_NOTE_CHARS))


class ReportForwardSchema(Strict):
    network = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    note = fields.Str(load_default="", validate=validate.Length(max=operations.MAX_NOTE_CHARS))


class HideSchema(Strict):
    hidden = fields.Bool(required=True)
    reason = fields.Str(load_default="", validate=validate.Length(max=operations.MAX_NOTE_CHARS))


class SuspensionSchema(Strict):
    suspended = fields.Bool(required=True)
    reason = fields.Str(load_default="", validate=validate.Length(max=operations.MAX_NOTE_CHARS))


class SuspensionResultSchema(Strict):
    person_id = fields.Int()
    status = fields.Enum(MembershipStatus)


class BlockCreateSchema(Strict):
    person_id = fields.Int(required=True)


class BlockSchema(Strict):
    person = fields.Nested(AuthorSchema, attribute="blocked")
    created_at = fields.DateTime()


def report_data(report) -> dict:
    """A report for those who handle it (callers blank ``message`` for anyone else, the reporter included)."""
    message = report.message
    evidence = operations.evidence(report)
    return {
        "id": report.id,
        "reason": report.reason,
        "note": report.note,
        "status": report.status,
        "created_at": report.created_at,
        "reporter": report.reporter,
        "person": report.person,
        "message": None
        if message is None
        else {
            "id": message.id,
            "body": message.body if message.deleted_at is None else None,
            "deleted": message.deleted_at is not None,
            "hidden": message.hidden_at is not None,
            "reported_body": evidence.body if evidence else None,
            "reported_at": evidence.taken_at if evidence else None,
            "edited_since": bool(evidence and evidence.edited_since),
        },
        "handled_by": report.handled_by,
        "handled_at": report.handled_at,
        "resolution": report.resolution,
    }


@blp.route("/networks/<slug>/reports")
class Reports(MethodView):
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, ReportPageSchema)
    def get(self, args, slug):
        """The moderation queue (coordinators and Meta-Mentors), newest first, 50 at a time."""
        viewer = require_person()
        reports, older = operations.list_reports(
            networks.get_network(slug), viewer, status=args["status"], before=args["before"]
        )
        return {"reports": [report_data(r) for r in reports], "next_cursor": older}

    @blp.arguments(ReportCreateSchema)
    @blp.response(201, ReportSchema)
    def post(self, data, slug):
        """Report a message or a member to the network's moderators (any active member). A message in an open
        channel shared with a federation is also reported by its readers from the federation's networks, here
        under the channel's network (whose moderators handle it)."""
        viewer = require_person()
        network = networks.get_network(slug)
        if data["message_id"] is not None:
            message = conversations.get_message(data["message_id"], viewer)
            if message.channel.network_id != network.id:
                raise Forbidden(_("This message is not in this network."))
            report = operations.report_message(
                message, actor=viewer, reason=data["reason"], note=data["note"]
            )
        else:
            person = operations.get_person(data["person_id"])
            report = operations.report_member(
                network, person, actor=viewer, reason=data["reason"], note=data["note"]
            )
        data = report_data(report)
        if not is_moderator(viewer, network):
            data["message"] = None  # the reporter learns nothing new through the report
        return data


@blp.route("/networks/<slug>/reports/<int:report_id>")
class ReportDetail(MethodView):
    @blp.arguments(ReportHandleSchema)
    @blp.response(200, ReportSchema)
    def patch(self, data, slug, report_id):
        """Resolve, dismiss or reopen a report (coordinators and Meta-Mentors)."""
        viewer = require_person()
        report = operations.get_report(networks.get_network(slug), report_id, viewer)
        return report_data(
            operations.handle_report(
                report, actor=viewer, status=data["status"], resolution=data["resolution"]
            )
        )


@blp.route("/networks/<slug>/reports/<int:report_id>/forward")
class ReportForward(MethodView):
    @blp.arguments(ReportForwardSchema)
    @blp.response(201, ReportSchema)
    def post(self, data, slug, report_id):
        """Pass an open report on to the network of the person reported (coordinators and Meta-Mentors): when
        they are not a member of this network but read the message's channel, shared with a federation, as a
        member of ``network``. Its moderators get a new open report (answered here); this one is resolved."""
        viewer = require_person()
        report = operations.get_report(networks.get_network(slug), report_id, viewer)
        forwarded = operations.forward_report(
            report, actor=viewer, to_network=operations.network_named(data["network"]), note=data["note"]
        )
        return report_data(forwarded)


@blp.route("/networks/<slug>/messages/<int:message_id>/hidden")
class Hidden(MethodView):
    @blp.arguments(HideSchema)
    @blp.response(200, MessageSchema)
    def put(self, data, slug, message_id):
        """Hide or show again a message of the network (coordinators and Meta-Mentors)."""
        viewer = require_person()
        network = networks.get_network(slug)
        if not is_moderator(viewer, network):
            raise Forbidden(_("Only the coordinator and the Meta-Mentor can hide messages."))
        message = operations.get_message_for_moderation(network, message_id, viewer)
        operations.hide_message(message, actor=viewer, hidden=data["hidden"], reason=data["reason"])
        return message_data(message, viewer)


@blp.route("/networks/<slug>/suspensions")
class Suspensions(MethodView):
    @blp.response(200, MemberSchema(many=True))
    def get(self, slug):
        """The network's suspended members, as the moderation queue lists them (coordinators and Meta-Mentors);
        reinstate one with ``PUT /networks/{slug}/members/{person_id}/suspension``."""
        viewer = require_person()
        members = operations.suspended_members(networks.get_network(slug), viewer)
        profile_shared_among(m.person_id for m in members)  # one query for the cards' profile_shared
        return members


@blp.route("/networks/<slug>/members/<int:person_id>/suspension")
class Suspension(MethodView):
    @blp.arguments(SuspensionSchema)
    @blp.response(200, SuspensionResultSchema)
    def put(self, data, slug, person_id):
        """Suspend (with a reason) or reinstate a member (coordinators and Meta-Mentors)."""
        viewer = require_person()
        network = networks.get_network(slug)
        person = operations.get_person(person_id)
        if data["suspended"]:
            membership = operations.suspend_member(network, person, actor=viewer, reason=data["reason"])
        else:
            membership = operations.reinstate_member(network, person, actor=viewer, reason=data["reason"])
        return {"person_id": person.id, "status": membership.status}


@blp.route("/networks/<slug>/blocks")
class Blocks(MethodView):
    @blp.response(200, BlockSchema(many=True))
    def get(self, slug):
        """The people the caller blocks."""
        viewer = require_person()
        networks.get_network(slug)
        return operations.blocks_of(viewer)

    @blp.arguments(BlockCreateSchema)
    @blp.response(201, BlockSchema)
    def post(self, data, slug):
        """Block a member of the network: no direct messages, no mentions, their messages collapsed."""
        viewer = require_person()
        person = operations.get_person(data["person_id"])
        entry = operations.block(networks.get_network(slug), person, actor=viewer)
        return {"blocked": person, "created_at": entry.created_at}


@blp.route("/networks/<slug>/blocks/<int:person_id>")
class BlockDetail(MethodView):
    @blp.response(204)
    def delete(self, slug, person_id):
        """Stop blocking someone."""
        viewer = require_person()
        operations.unblock(networks.get_network(slug), operations.get_person(person_id), actor=viewer)
