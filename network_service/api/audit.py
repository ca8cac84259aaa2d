"""JSON API of the audit log: the same entries, filters and keyset paging as the page /admin/audit."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from network_service.api.auth import authenticate, require_json_body, require_person
from network_service.api.schemas import Strict
from network_service.audit import operations
from network_service.audit.labels import action_label

blp = Blueprint(
    "api_audit", __name__, description="The audit log (site administrators; coordinators: their networks)"
)
blp.before_request(authenticate)
blp.before_request(require_json_body)


class AuditArgsSchema(Strict):
    action = fields.Str(load_default="", validate=validate.Length(max=80))
    actor = fields.Str(
        load_default="",
        validate=validate.Length(max=254),
        metadata={"description": "The e-mail address (any case) or id of who acted."},
    )
    network = fields.Str(
        load_default="", validate=validate.Length(max=80), metadata={"description": "A slug."}
    )
    since = fields.Date(load_default=None, metadata={"description": "From this day on (UTC)."})
    until = fields.Date(load_default=None, metadata={"description": "Up to and including this day (UTC)."})
    before = fields.Int(
        load_default=None,
        validate=validate.Range(min=1),
        metadata={"description": "Keyset cursor: the `next_before` of the previous page."},
    )
    limit = fields.Int(
        load_default=operations.PAGE_SIZE, validate=validate.Range(min=1, max=operations.MAX_PAGE_SIZE)
    )


class AuditEntrySchema(Strict):
    id = fields.Int()
    at = fields.DateTime()
    action = fields.Str()
    label = fields.Function(lambda entry: action_label(entry.action))
    actor_id = fields.Int(allow_none=True)
    network_id = fields.Int(allow_none=True)
    target_type = fields.Str()
    target_id = fields.Int(allow_none=True)
    detail = fields.Dict()


class AuditPageSchema(Strict):
    entries = fields.List(fields.Nested(AuditEntrySchema))
    next_before = fields.Int(allow_none=True, metadata={"description": "Pass as `before` for the next page."})


@blp.route("/audit")
class Audit(MethodView):
    @blp.arguments(AuditArgsSchema, location="query")
    @blp.response(200, AuditPageSchema)
    def get(self, args):
        """Audit entries, newest first (site administrators: all; coordinators: their networks' entries)."""
        viewer = require_person()
        operations.audit_scope(viewer)
        filters = operations.AuditFilter(
            action=args["action"],
            actor=args["actor"],
            network=args["network"],
            since=args["since"],
            until=args["until"],
        )
        return operations.search(viewer, filters, before=args["before"], limit=args["limit"])
