"""JSON API of network goals, their progress updates, and the network's roadmap."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from network_service.api.auth import authenticate, require_json_body, require_person
from network_service.api.schemas import Strict
from network_service.goals import operations
from network_service.goals.models import GoalStatus
from network_service.goals.roadmap import roadmap_for
from network_service.markup import MAX_MARKDOWN_CHARS
from network_service.networks.operations import get_network

blp = Blueprint("api_goals", __name__, description="Network goals, progress updates and the roadmap")
blp.before_request(authenticate)
blp.before_request(require_json_body)


class PersonRefSchema(Strict):
    id = fields.Int()
    display_name = fields.Str(attribute="name_or_email")


class GoalSchema(Strict):
    id = fields.Int(dump_only=True)
    title = fields.Str()
    description = fields.Str()
    owner = fields.Nested(PersonRefSchema, allow_none=True)
    target_value = fields.Int()
    unit = fields.Str()
    current_value = fields.Int()
    percent = fields.Int(metadata={"description": "Progress towards the target, 0 to 100."})
    due_date = fields.Date(allow_none=True)
    status = fields.Enum(GoalStatus)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class GoalPageSchema(Strict):
    items = fields.List(fields.Nested(GoalSchema))
    next_cursor = fields.Int(
        allow_none=True,
        metadata={"description": "Pass as `before` for the next page; null on the last page."},
    )


class GoalListQuerySchema(Strict):
    status = fields.Str(load_default="open", validate=validate.OneOf([*[s.value for s in GoalStatus], "all"]))
    before = fields.Int(load_default=None)


class GoalCreateSchema(Strict):
    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    description = fields.Str(load_default="", validate=validate.Length(max=MAX_MARKDOWN_CHARS))
    owner_id = fields.Int(required=True)
    target_value = fields.Int(required=True, strict=True)
    unit = fields.Str(required=True, validate=validate.Length(min=1, max=60))
    due_date = fields.Date(load_default=None, allow_none=True)


class GoalEditSchema(Strict):
    title = fields.Str(validate=validate.Length(min=1, max=200))
    description = fields.Str(validate=validate.Length(max=MAX_MARKDOWN_CHARS))
    owner_id = fields.Int()
    target_value = fields.Int(strict=True)
    unit = fields.Str(validate=validate.Length(min=1, max=60))
    due_date = fields.Date(allow_none=True)
    status = fields.Enum(GoalStatus)


class GoalUpdateSchema(Strict):
    id = fields.Int(dump_only=True)
    author = fields.Nested(PersonRefSchema, dump_only=True, allow_none=True)
    value = fields.Int(required=True, strict=True, validate=validate.Range(min=0))
    note = fields.Str(load_default="", validate=validate.Length(max=MAX_MARKDOWN_CHARS))
    created_at = fields.DateTime(dump_only=True)


class GoalUpdatePageSchema(Strict):
    items = fields.List(
        fields.Nested(GoalUpdateSchema),
        metadata={"description": f"At most {operations.UPDATES_SHOWN}, newest first."},
    )
    next_cursor = fields.Int(
        allow_none=True,
        metadata={"description": "Pass as `before` for the next (older) page; null on the last page."},
    )


class GoalUpdateListQuerySchema(Strict):
    before = fields.Int(
        load_default=None,
        metadata={"description": "`next_cursor` of the previous page: only updates older than this one."},
    )


class CheckpointSchema(Strict):
    key = fields.Str()
    label = fields.Str()
    hint = fields.Str()
    reached = fields.Bool()


class PhaseSchema(Strict):
    phase = fields.Str()
    title = fields.Str()
    explanation = fields.Str()
    current = fields.Bool()
    checkpoints = fields.List(fields.Nested(CheckpointSchema))


@blp.route("/networks/<slug>/goals")
class Goals(MethodView):
    @blp.arguments(GoalListQuerySchema, location="query")
    @blp.response(200, GoalPageSchema)
    def get(self, args, slug):
        """A page of the network's goals, newest first (members)."""
        status = None if args["status"] == "all" else GoalStatus(args["status"])
        items, next_cursor = operations.list_goals(
            get_network(slug), require_person(), status=status, before=args["before"]
        )
        return {"items": items, "next_cursor": next_cursor}

    @blp.arguments(GoalCreateSchema)
    @blp.response(201, GoalSchema)
    def post(self, data, slug):
        """Set a new goal (coordinator, Meta-Mentor); its owner is notified."""
        return operations.create_goal(get_network(slug), actor=require_person(), **data)


@blp.route("/networks/<slug>/goals/<int:goal_id>")
class GoalDetail(MethodView):
    @blp.response(200, GoalSchema)
    def get(self, slug, goal_id):
        """One goal (members)."""
        return operations.get_goal(get_network(slug), goal_id, require_person())

    @blp.arguments(GoalEditSchema)
    @blp.response(200, GoalSchema)
    def patch(self, changes, slug, goal_id):
        """Change a goal, its owner or its status (coordinator, Meta-Mentor)."""
        actor = require_person()
        goal = operations.get_goal(get_network(slug), goal_id, actor)
        return operations.edit_goal(goal, actor=actor, **changes)

    @blp.response(200, GoalSchema)
    def delete(self, slug, goal_id):
        """Drop a goal (coordinator, Meta-Mentor): it stays visible with status dropped and can be reopened."""
        actor = require_person()
        goal = operations.get_goal(get_network(slug), goal_id, actor)
        return operations.drop_goal(goal, actor=actor)


@blp.route("/networks/<slug>/goals/<int:goal_id>/updates")
class GoalUpdates(MethodView):
    @blp.arguments(GoalUpdateListQuerySchema, location="query")
    @blp.response(200, GoalUpdatePageSchema)
    def get(self, args, slug, goal_id):
        """A page of a goal's progress updates, newest first (members); `before` pages to older ones."""
        goal = operations.get_goal(get_network(slug), goal_id, require_person())
        items, next_cursor = operations.list_updates(goal, before=args["before"])
        return {"items": items, "next_cursor": next_cursor}

    @blp.arguments(GoalUpdateSchema)
    @blp.response(201, GoalUpdateSchema)
    def post(self, data, slug, goal_id):
        """Report progress (the owner, coordinator, Meta-Mentor); reaching the target marks the goal achieved."""
        actor = require_person()
        goal = operations.get_goal(get_network(slug), goal_id, actor)
        return operations.post_update(goal, actor=actor, value=data["value"], note=data["note"])


@blp.route("/networks/<slug>/roadmap")
class Roadmap(MethodView):
    @blp.response(200, PhaseSchema(many=True))
    def get(self, slug):
        """The roadmap's four phases with every checkpoint, reached or open (members)."""
        return roadmap_for(get_network(slug), require_person())
