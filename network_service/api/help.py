"""Peer help over JSON: requests, responses, resolution, the matching's suggestions, and metrics."""

from __future__ import annotations

import datetime as dt

from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import fields, validate

from network_service.api.auth import authenticate, require_json_body, require_person
from network_service.api.schemas import Strict
from network_service.db import utcnow
from network_service.errors import Forbidden, problem
from network_service.help import operations, permissions
from network_service.help.models import HelpStatus, Urgency
from network_service.markup import MAX_MARKDOWN_CHARS
from network_service.networks.operations import get_network

blp = Blueprint("api_help", __name__, description="Peer help: requests, answers, matching")
blp.before_request(authenticate)
blp.before_request(require_json_body)

_ITEMS = fields.List(
    fields.Str(validate=validate.Length(max=operations.MAX_ITEM_CHARS)),
    validate=validate.Length(max=operations.MAX_ITEMS),
)


class HelpPersonSchema(Strict):
    id = fields.Int()
    display_name = fields.Str(attribute="name_or_email")


class HelpResponseSchema(Strict):
    id = fields.Int()
    author = fields.Nested(HelpPersonSchema, allow_none=True)
    body = fields.Str()
    created_at = fields.DateTime()
    masked = fields.Bool()


class HelpRequestSchema(Strict):
    id = fields.Int()
    topic = fields.Str()
    body = fields.Str()
    languages = fields.List(fields.Str())
    region = fields.Str()
    tags = fields.List(fields.Str())
    urgency = fields.Enum(Urgency)
    status = fields.Enum(HelpStatus)
    author = fields.Nested(HelpPersonSchema, allow_none=True)
    created_at = fields.DateTime()
    first_response_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.Nested(HelpPersonSchema, allow_none=True)
    masked = fields.Bool()
    response_count = fields.Int()


class HelpRequestDetailSchema(HelpRequestSchema):
    responses = fields.List(fields.Nested(HelpResponseSchema))


class PrivacyChoiceSchema(Strict):
    mask = fields.Bool(
        load_default=False, metadata={"description": "Replace the personal data found by markers."}
    )
    confirm_no_personal_data = fields.Bool(
        load_default=False,
        metadata={
            "description": "Post as written: the author confirms it is not personal data (audit-logged)."
        },
    )


class HelpRequestCreateSchema(PrivacyChoiceSchema):
    topic = fields.Str(required=True, validate=validate.Length(min=1, max=operations.MAX_TOPIC))
    body = fields.Str(load_default="", validate=validate.Length(max=MAX_MARKDOWN_CHARS))
    languages = _ITEMS
    region = fields.Str(load_default="", validate=validate.Length(max=operations.MAX_REGION))
    tags = _ITEMS
    urgency = fields.Enum(Urgency, load_default=Urgency.normal)


class HelpRequestUpdateSchema(PrivacyChoiceSchema):
    topic = fields.Str(validate=validate.Length(min=1, max=operations.MAX_TOPIC))
    body = fields.Str(validate=validate.Length(max=MAX_MARKDOWN_CHARS))
    languages = _ITEMS
    region = fields.Str(validate=validate.Length(max=operations.MAX_REGION))
    tags = _ITEMS
    urgency = fields.Enum(Urgency)


class HelpResponseCreateSchema(PrivacyChoiceSchema):
    body = fields.Str(required=True, validate=validate.Length(min=1, max=MAX_MARKDOWN_CHARS))


class ResolveSchema(Strict):
    status = fields.Str(load_default="resolved", validate=validate.OneOf(["resolved", "closed"]))


class ReopenSchema(Strict):
    """No fields: reopening takes no input (an empty object)."""


class ListArgsSchema(Strict):
    status = fields.Str(load_default="open", validate=validate.OneOf(["open", "resolved", "closed", "any"]))
    urgency = fields.Enum(Urgency, load_default=None)
    in_my_languages = fields.Bool(load_default=True)
    mine = fields.Bool(load_default=False)
    before = fields.Int(
        load_default=None, metadata={"description": "Cursor: the id of the last request seen."}
    )
    limit = fields.Int(load_default=operations.PAGE_SIZE, validate=validate.Range(min=1, max=50))


class ReasonSchema(Strict):
    code = fields.Str()
    value = fields.Raw(allow_none=True)
    points = fields.Float()
    text = fields.Str()


class SuggestionSchema(Strict):
    person = fields.Nested(HelpPersonSchema)
    score = fields.Float()
    reasons = fields.List(fields.Nested(ReasonSchema))
    notified_at = fields.DateTime(allow_none=True)


class SuggestionsSchema(Strict):
    notified = fields.List(fields.Nested(SuggestionSchema))
    next = fields.List(fields.Nested(SuggestionSchema))


class NotifyMoreSchema(Strict):
    count = fields.Int(load_default=5, validate=validate.Range(min=1, max=operations.MAX_NOTIFY_MORE))


class MetricsArgsSchema(Strict):
    days = fields.Int(load_default=90, validate=validate.Range(min=1, max=3660))


class MetricsSchema(Strict):
    since = fields.DateTime()
    count = fields.Int()
    answered = fields.Int()
    answered_share = fields.Float(allow_none=True)
    median_hours_to_first_response = fields.Float(allow_none=True)
    answered_within_48h_share = fields.Float(allow_none=True)
    resolved_share = fields.Float(allow_none=True)


def _personal_data_problem(exc: operations.PersonalDataFound):
    return problem(
        422,
        _("Personal data found"),
        exc.detail,
        {name: [exc.detail] for name in exc.findings},
        findings=exc.as_list(),
    )


def _reasons(reasons):
    return [dict(r, text=operations.describe_reason(r)) for r in reasons]


@blp.route("/networks/<slug>/help-requests")
class HelpRequests(MethodView):
    @blp.arguments(ListArgsSchema, location="query")
    @blp.response(200, HelpRequestSchema(many=True))
    def get(self, args, slug):
        """Help requests of the network, newest first (members; site administrators read)."""
        viewer = require_person()
        status = args["status"]
        return operations.list_requests(
            get_network(slug),
            viewer,
            in_my_languages=args["in_my_languages"],
            status=None if status == "any" else status,
            urgency=args["urgency"],
            mine=args["mine"],
            before=args["before"],
            limit=args["limit"],
        )

    @blp.arguments(HelpRequestCreateSchema)
    @blp.response(201, HelpRequestDetailSchema)
    @blp.alt_response(422, description="Invalid input, or personal data found (`findings` lists it)")
    def post(self, data, slug):
        """Ask for help. Personal data found gives 422 with `findings` unless `mask` or
        `confirm_no_personal_data` is true."""
        actor = require_person()
        try:
            return operations.create_request(
                get_network(slug),
                actor,
                topic=data["topic"],
                body=data["body"],
                languages=data.get("languages") or [],
                region=data["region"],
                tags=data.get("tags") or [],
                urgency=data["urgency"],
                mask=data["mask"],
                confirm_no_personal_data=data["confirm_no_personal_data"],
            )
        except operations.PersonalDataFound as exc:
            return _personal_data_problem(exc)


@blp.route("/networks/<slug>/help-requests/<int:request_id>")
class HelpRequestDetail(MethodView):
    @blp.response(200, HelpRequestDetailSchema)
    def get(self, slug, request_id):
        """One help request with its answers."""
        return operations.get_request(get_network(slug), request_id, require_person())

    @blp.arguments(HelpRequestUpdateSchema)
    @blp.response(200, HelpRequestDetailSchema)
    @blp.alt_response(422, description="Invalid input, or personal data found (`findings` lists it)")
    def patch(self, data, slug, request_id):
        """Edit an open request (its author); the text is scanned again."""
        actor = require_person()
        help_request = operations.get_request(get_network(slug), request_id, actor)
        mask = data.pop("mask")
        confirm = data.pop("confirm_no_personal_data")
        try:
            return operations.update_request(
                help_request, actor, mask=mask, confirm_no_personal_data=confirm, **data
            )
        except operations.PersonalDataFound as exc:
            return _personal_data_problem(exc)


@blp.route("/networks/<slug>/help-requests/<int:request_id>/responses")
class HelpResponses(MethodView):
    @blp.arguments(HelpResponseCreateSchema)
    @blp.response(201, HelpResponseSchema)
    @blp.alt_response(422, description="Invalid input, or personal data found (`findings` lists it)")
    def post(self, data, slug, request_id):
        """Answer an open request (members). Scanned for personal data like requests."""
        actor = require_person()
        help_request = operations.get_request(get_network(slug), request_id, actor)
        try:
            return operations.respond(
                help_request,
                actor,
                data["body"],
                mask=data["mask"],
                confirm_no_personal_data=data["confirm_no_personal_data"],
            )
        except operations.PersonalDataFound as exc:
            return _personal_data_problem(exc)


@blp.route("/networks/<slug>/help-requests/<int:request_id>/resolve")
class ResolveRequest(MethodView):
    @blp.arguments(ResolveSchema)
    @blp.response(200, HelpRequestSchema)
    def post(self, data, slug, request_id):
        """Resolve or close an open request (author, coordinator, Meta-Mentor)."""
        actor = require_person()
        help_request = operations.get_request(get_network(slug), request_id, actor)
        return operations.resolve(help_request, actor, data["status"])


@blp.route("/networks/<slug>/help-requests/<int:request_id>/reopen")
class ReopenRequest(MethodView):
    @blp.arguments(ReopenSchema)
    @blp.response(200, HelpRequestSchema)
    @blp.alt_response(409, description="The request is already open")
    def post(self, _data, slug, request_id):
        """Reopen a resolved or closed request (author, coordinator, Meta-Mentor: who may resolve it). Its
        answers and the time of its first answer are kept; `resolved_at` and `resolved_by` are cleared."""
        actor = require_person()
        help_request = operations.get_request(get_network(slug), request_id, actor)
        return operations.reopen(help_request, actor)


@blp.route("/networks/<slug>/help-requests/<int:request_id>/suggestions")
class Suggestions(MethodView):
    @blp.response(200, SuggestionsSchema)
    def get(self, slug, request_id):
        """Who was notified and why, and the next suggestions (author, coordinator, Meta-Mentor)."""
        viewer = require_person()
        help_request = operations.get_request(get_network(slug), request_id, viewer)
        notified, candidates = operations.suggestions(help_request, viewer)
        shared = operations.sharing_among((s.person_id for s in notified), viewer)
        shown = [operations.shown_suggestion(s.score, s.reasons, s.person_id in shared) for s in notified]
        return {
            "notified": [
                {
                    "person": s.person,
                    "score": score,
                    "reasons": _reasons(reasons),
                    "notified_at": s.notified_at,
                }
                for s, (score, reasons) in zip(notified, shown, strict=True)
            ],
            "next": [
                {"person": person, "score": s.score, "reasons": _reasons(s.reasons), "notified_at": None}
                for person, s in candidates
            ],
        }

    @blp.arguments(NotifyMoreSchema)
    @blp.response(200, SuggestionsSchema)
    def post(self, data, slug, request_id):
        """Notify the next `count` best-matching members (author, coordinator, Meta-Mentor)."""
        actor = require_person()
        help_request = operations.get_request(get_network(slug), request_id, actor)
        rows = operations.notify_more(help_request, actor, data["count"])
        people = operations.people_by_id(r.person_id for r in rows)
        return {
            "notified": [
                {
                    "person": people[r.person_id],
                    "score": r.score,
                    "reasons": _reasons(r.reasons),
                    "notified_at": r.notified_at,
                }
                for r in rows
            ],
            "next": [],
        }


@blp.route("/networks/<slug>/help-metrics")
class Metrics(MethodView):
    @blp.arguments(MetricsArgsSchema, location="query")
    @blp.response(200, MetricsSchema)
    def get(self, args, slug):
        """Answer rates and times of the last `days` days (coordinators, Meta-Mentors, site administrators)."""
        viewer = require_person()
        network = get_network(slug)
        if not permissions.can_see_metrics(viewer, network):
            raise Forbidden(_("Only the coordinator and the Meta-Mentor can see the help metrics."))
        since = utcnow() - dt.timedelta(days=args["days"])
        return dict(operations.help_metrics(network, since), since=since)
