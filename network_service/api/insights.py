"""JSON API of a network's insights, its members going quiet, and friendly nudges (docs/insights.md)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from network_service.api.auth import authenticate, require_json_body, require_person
from network_service.api.schemas import Strict
from network_service.insights import operations
from network_service.networks.operations import get_network

blp = Blueprint("api_insights", __name__, description="Insights of a network for its leaders")
blp.before_request(authenticate)
blp.before_request(require_json_body)


class InsightsQuerySchema(Strict):
    refresh = fields.Bool(load_default=False, metadata={"description": "Compute again instead of the cache."})


class QuietMemberSchema(Strict):
    id = fields.Int()
    name = fields.Str()
    joined_at = fields.DateTime(allow_none=True)
    last_active_at = fields.DateTime(allow_none=True)
    nudged_at = fields.DateTime(allow_none=True)
    can_nudge = fields.Bool()


class QuietSchema(Strict):
    total = fields.Int()
    members = fields.List(fields.Nested(QuietMemberSchema))


class NudgeInSchema(Strict):
    person_id = fields.Int(required=True, strict=True)


class NudgeSchema(Strict):
    id = fields.Int()
    person_id = fields.Int()
    sent_at = fields.DateTime()


@blp.route("/networks/<slug>/insights")
class Insights(MethodView):
    @blp.arguments(InsightsQuerySchema, location="query")
    @blp.response(200)
    def get(self, args, slug):
        """Active members, new members, retention by cohort, help, goals, the course funnel, who helps whom."""
        return operations.insights(get_network(slug), require_person(), refresh=args["refresh"])


@blp.route("/networks/<slug>/insights/quiet")
class Quiet(MethodView):
    @blp.response(200, QuietSchema)
    def get(self, slug):
        """Active members with nothing done in the last 30 days (at most 50, the earliest quiet first)."""
        return operations.quiet_members(get_network(slug), require_person())


@blp.route("/networks/<slug>/insights/nudges")
class Nudges(MethodView):
    @blp.arguments(NudgeInSchema)
    @blp.response(201, NudgeSchema)
    def post(self, data, slug):
        """Send a friendly nudge to a member (at most one per member every 14 days)."""
        return operations.nudge(get_network(slug), data["person_id"], actor=require_person())
