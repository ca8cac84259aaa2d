"""The signed-in person's own notifications and e-mail choice. Nobody sees or changes anyone else's: another
person's notification id answers 404, like one that does not exist."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from network_service.api.auth import authenticate, require_json_body, require_person
from network_service.api.schemas import Strict
from network_service.notifications import operations
from network_service.notifications.models import EmailFrequency

blp = Blueprint(
    "api_notifications", __name__, description="Your notifications and notification e-mail settings"
)
blp.before_request(authenticate)
blp.before_request(require_json_body)

FREQUENCIES = [kind.value for kind in EmailFrequency]


class NotificationNetworkSchema(Strict):
    slug = fields.Str()
    name = fields.Str()


class NotificationSchema(Strict):
    id = fields.Int()
    kind = fields.Str(metadata={"description": "e.g. help.matched"})
    title = fields.Function(
        operations.title_of, metadata={"description": "The notification's text, in the caller's language"}
    )
    url = fields.Str(metadata={"description": "The path on this service the notification is about"})
    network = fields.Nested(NotificationNetworkSchema, allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    read = fields.Function(lambda n: n.read_at is not None)


class NotificationPageSchema(Strict):
    items = fields.List(fields.Nested(NotificationSchema))
    next_cursor = fields.Int(
        allow_none=True,
        metadata={"description": "Pass as `before` for the next (older) page; null at the end"},
    )


class PageArgsSchema(Strict):
    before = fields.Int(
        validate=validate.Range(min=1), metadata={"description": "The cursor of the previous page"}
    )
    limit = fields.Int(
        load_default=operations.PAGE_SIZE, validate=validate.Range(min=1, max=operations.MAX_PAGE_SIZE)
    )


class UnreadCountSchema(Strict):
    unread = fields.Int()


class MarkedSchema(Strict):
    marked = fields.Int(metadata={"description": "How many notifications were unread and are now read"})


class SettingsSchema(Strict):
    email_frequency = fields.Str(required=True, validate=validate.OneOf(FREQUENCIES))


@blp.route("/notifications")
class Notifications(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, NotificationPageSchema)
    def get(self, args):
        """Your notifications, newest first, one page at a time (cursor pagination)."""
        items, next_cursor = operations.list_for(
            require_person(), before=args.get("before"), limit=args["limit"]
        )
        return {"items": items, "next_cursor": next_cursor}


@blp.route("/notifications/unread-count")
class UnreadCount(MethodView):
    @blp.response(200, UnreadCountSchema)
    def get(self):
        """How many of your notifications are unread."""
        return {"unread": operations.unread_count(require_person())}


@blp.route("/notifications/<int:notification_id>/read")
class MarkRead(MethodView):
    @blp.response(200, NotificationSchema)
    def post(self, notification_id):
        """Mark one of your notifications read (404 for anyone else's)."""
        return operations.mark_read(require_person(), notification_id)


@blp.route("/notifications/read-all")
class MarkAllRead(MethodView):
    @blp.response(200, MarkedSchema)
    def post(self):
        """Mark all your notifications read."""
        return {"marked": operations.mark_all_read(require_person())}


@blp.route("/notifications/settings")
class Settings(MethodView):
    @blp.response(200, SettingsSchema)
    def get(self):
        """How often you get notification e-mails: immediately, daily, weekly or never."""
        return {"email_frequency": operations.frequency_of(require_person()).value}

    @blp.arguments(SettingsSchema)
    @blp.response(200, SettingsSchema)
    def put(self, data):
        """Choose how often you get notification e-mails."""
        person = require_person()
        setting = operations.set_frequency(person, data["email_frequency"], actor=person, via="api")
        return {"email_frequency": setting.email_frequency.value}
