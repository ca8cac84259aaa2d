"""JSON API of conversations: channels, messages and threads, direct messages, read markers, search."""

from __future__ import annotations

from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import fields, validate

from network_service.api.auth import authenticate, require_json_body, require_person
from network_service.api.schemas import Strict
from network_service.conversations import operations, permissions
from network_service.conversations.models import ChannelKind, Message
from network_service.errors import Forbidden
from network_service.markup import MAX_MARKDOWN_CHARS
from network_service.networks import operations as networks

blp = Blueprint(
    "api_conversations", __name__, description="Conversations: channels, threads, direct messages"
)
blp.before_request(authenticate)
blp.before_request(require_json_body)


class AuthorSchema(Strict):
    id = fields.Int()
    display_name = fields.Str(attribute="name_or_email")


class ChannelSchema(Strict):
    slug = fields.Str()
    name = fields.Str()
    description = fields.Str()
    kind = fields.Enum(ChannelKind)
    archived = fields.Bool()
    last_message_at = fields.DateTime(allow_none=True)
    unread = fields.Int()
    members = fields.List(fields.Nested(AuthorSchema))


class FederationChannelSchema(ChannelSchema):
    network = fields.Str(
        metadata={"description": "The slug of the network the channel belongs to (and is read at)."}
    )
    network_name = fields.Str()


class ChannelCreateSchema(Strict):
    name = fields.Str(required=True)
    description = fields.Str(load_default="")
    kind = fields.Enum(ChannelKind, load_default=ChannelKind.open)
    member_ids = fields.List(fields.Int(), load_default=list, validate=validate.Length(max=200))


class ChannelUpdateSchema(Strict):
    name = fields.Str()
    description = fields.Str()
    archived = fields.Bool()


class MessageSchema(Strict):
    id = fields.Int()
    channel = fields.Str()
    parent_id = fields.Int(allow_none=True)
    author = fields.Nested(AuthorSchema, allow_none=True)
    state = fields.Str(
        metadata={
            "description": "shown, deleted, or hidden (hidden text is given only to moderators and the author)"
        }
    )
    body = fields.Str(
        allow_none=True, metadata={"description": "Markdown source; null when deleted or hidden"}
    )
    created_at = fields.DateTime()
    edited_at = fields.DateTime(allow_none=True)
    reply_count = fields.Int()
    last_reply_at = fields.DateTime(allow_none=True)


class MessagePageSchema(Strict):
    messages = fields.List(fields.Nested(MessageSchema))
    next_cursor = fields.Int(
        allow_none=True,
        metadata={"description": "Pass as `before` (or `after` for replies) for the next page"},
    )


class ThreadSchema(Strict):
    root = fields.Nested(MessageSchema)
    replies = fields.List(fields.Nested(MessageSchema))
    next_cursor = fields.Int(allow_none=True)


class RevisionSchema(Strict):
    id = fields.Int()
    body = fields.Str(metadata={"description": "The earlier text (Markdown source)"})
    editor = fields.Nested(
        AuthorSchema, allow_none=True, metadata={"description": "Who replaced it (an edit or the deletion)"}
    )
    replaced_at = fields.DateTime()


class RevisionsSchema(Strict):
    message = fields.Nested(MessageSchema, metadata={"description": "The message as it is now"})
    revisions = fields.List(
        fields.Nested(RevisionSchema),
        metadata={
            "description": "Newest first. Empty for a deleted message whose text is no longer kept "
            '(docs/privacy.md, "Deleted messages")'
        },
    )
    deleted_text_kept_until = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "For a deleted message whose text is still kept: the latest moment it is kept "
            "(it may go earlier, when the report that held it is closed); null otherwise"
        },
    )


class PostSchema(Strict):
    body = fields.Str(required=True, validate=validate.Length(max=MAX_MARKDOWN_CHARS))


class BeforeSchema(Strict):
    before = fields.Int(load_default=None, validate=validate.Range(min=1))


class AfterSchema(Strict):
    after = fields.Int(load_default=None, validate=validate.Range(min=1))


class DirectCreateSchema(Strict):
    person_ids = fields.List(fields.Int(), required=True, validate=validate.Length(min=1, max=7))
    body = fields.Str(load_default=None, validate=validate.Length(max=MAX_MARKDOWN_CHARS))


class SearchSchema(Strict):
    q = fields.Str(required=True)
    before = fields.Int(load_default=None, validate=validate.Range(min=1))


class GroupMemberAddSchema(Strict):
    person_id = fields.Int(
        required=True, metadata={"description": "An active member of the network, not in the group yet"}
    )


class ReadSchema(Strict):
    last_read_message_id = fields.Int(allow_none=True)


def message_data(message: Message, viewer) -> dict:
    if message.deleted_at is not None:
        state, body = "deleted", None
    elif message.hidden_at is not None:
        state = "hidden"
        body = message.body if permissions.sees_hidden_text(viewer, message) else None
    else:
        state, body = "shown", message.body
    return {
        "id": message.id,
        "channel": message.channel.slug,
        "parent_id": message.parent_id,
        "author": message.author,
        "state": state,
        "body": body,
        "created_at": message.created_at,
        "edited_at": message.edited_at,
        "reply_count": message.reply_count,
        "last_reply_at": message.last_reply_at,
    }


def channel_data(row: operations.ChannelRow) -> dict:
    channel = row.channel
    return {
        "slug": channel.slug,
        "name": channel.name,
        "description": channel.description,
        "kind": channel.kind,
        "archived": channel.archived_at is not None,
        "last_message_at": channel.last_message_at,
        "unread": row.unread,
        "members": row.members,
    }


@blp.route("/networks/<slug>/channels")
class Channels(MethodView):
    @blp.response(200, ChannelSchema(many=True))
    def get(self, slug):
        """Open channels and private groups the caller may read, with unread counts."""
        viewer = require_person()
        return [channel_data(r) for r in operations.list_channels(networks.get_network(slug), viewer)]

    @blp.arguments(ChannelCreateSchema)
    @blp.response(201, ChannelSchema)
    def post(self, data, slug):
        """Create an open channel or a private group."""
        viewer = require_person()
        channel = operations.create_channel(
            networks.get_network(slug),
            actor=viewer,
            name=data["name"],
            kind=data["kind"],
            description=data["description"],
            member_ids=data["member_ids"],
        )
        return channel_data(operations.ChannelRow(channel, 0, []))


@blp.route("/networks/<slug>/shared-channels")
class SharedChannels(MethodView):
    @blp.response(200, FederationChannelSchema(many=True))
    def get(self, slug):
        """ "From the federation": open channels of other networks shared with this network or a federation it
        belongs to, with the caller's unread counts. Read and write them, and mark them read, under their own
        network's slug (``network``)."""
        viewer = require_person()
        return [
            {**channel_data(r), "network": r.channel.network.slug, "network_name": r.channel.network.name}
            for r in operations.list_shared_channels(networks.get_network(slug), viewer)
        ]


@blp.route("/networks/<slug>/channels/<channel_slug>")
class ChannelDetail(MethodView):
    @blp.arguments(ChannelUpdateSchema)
    @blp.response(200, ChannelSchema)
    def patch(self, data, slug, channel_slug):
        """Rename, describe, archive or reopen a channel (its creator, the coordinator, the Meta-Mentor)."""
        viewer = require_person()
        channel = operations.get_channel(networks.get_network(slug), channel_slug, viewer)
        if not permissions.can_manage_channel(viewer, channel):  # also when nothing is to change
            raise Forbidden(
                _("Only the channel's creator, the coordinator and the Meta-Mentor can change it.")
            )
        if "name" in data or "description" in data:
            operations.update_channel(
                channel, actor=viewer, name=data.get("name"), description=data.get("description")
            )
        if "archived" in data:
            operations.archive_channel(channel, actor=viewer, archived=data["archived"])
        return channel_data(operations.ChannelRow(channel, 0, []))


@blp.route("/networks/<slug>/channels/<channel_slug>/members")
class GroupMembers(MethodView):
    @blp.response(200, AuthorSchema(many=True))
    def get(self, slug, channel_slug):
        """The members of a private group, by name (an empty list for an open channel): for its members only."""
        viewer = require_person()
        channel = operations.get_channel(networks.get_network(slug), channel_slug, viewer)
        return operations.channel_members(channel, viewer)

    @blp.arguments(GroupMemberAddSchema)
    @blp.response(201, AuthorSchema, description="The person is added to the group.")
    @blp.alt_response(
        200, schema=AuthorSchema, description="The person was a member already: nothing changed."
    )
    def post(self, data, slug, channel_slug):
        """Add an active member of the network to a private group (its creator, the coordinator, the
        Meta-Mentor, while they are in it). 201 when added; 200 when they were a member already (nothing
        changes); 409 for an open channel or an archived group."""
        viewer = require_person()
        channel = operations.get_channel(networks.get_network(slug), channel_slug, viewer)
        person, added = operations.add_group_member(channel, actor=viewer, person_id=data["person_id"])
        return person, (201 if added else 200)


@blp.route("/networks/<slug>/channels/<channel_slug>/members/<int:person_id>")
class GroupMember(MethodView):
    @blp.response(204)
    def delete(self, slug, channel_slug, person_id):
        """Leave a private group (``person_id`` is the caller's own id), or remove a member (its creator, the
        coordinator, the Meta-Mentor). When the last member leaves, the group is archived."""
        viewer = require_person()
        channel = operations.get_channel(networks.get_network(slug), channel_slug, viewer)
        operations.remove_group_member(channel, actor=viewer, person_id=person_id)


@blp.route("/networks/<slug>/channels/<channel_slug>/messages")
class ChannelMessages(MethodView):
    @blp.arguments(BeforeSchema, location="query")
    @blp.response(200, MessagePageSchema)
    def get(self, args, slug, channel_slug):
        """The channel's threads (root messages), newest first, 30 at a time."""
        viewer = require_person()
        channel = operations.get_channel(networks.get_network(slug), channel_slug, viewer)
        roots, older = operations.list_threads(channel, viewer, before=args["before"])
        return {"messages": [message_data(m, viewer) for m in roots], "next_cursor": older}

    @blp.arguments(PostSchema)
    @blp.response(201, MessageSchema)
    def post(self, data, slug, channel_slug):
        """Start a thread in the channel."""
        viewer = require_person()
        channel = operations.get_channel(networks.get_network(slug), channel_slug, viewer)
        return message_data(operations.post_message(channel, actor=viewer, body=data["body"]), viewer)


@blp.route("/networks/<slug>/channels/<channel_slug>/read")
class ChannelRead(MethodView):
    @blp.arguments(ReadSchema)
    @blp.response(200, ReadSchema)
    def post(self, data, slug, channel_slug):
        """Mark the channel read up to its newest message (or up to ``last_read_message_id``)."""
        viewer = require_person()
        channel = operations.get_channel(networks.get_network(slug), channel_slug, viewer)
        marker = operations.mark_read(channel, viewer, upto=data.get("last_read_message_id"))
        return {"last_read_message_id": marker}


@blp.route("/messages/<int:message_id>")
class MessageDetail(MethodView):
    @blp.arguments(AfterSchema, location="query")
    @blp.response(200, ThreadSchema)
    def get(self, args, message_id):
        """A thread: its root and replies, oldest first, 50 at a time."""
        viewer = require_person()
        root, replies, newer = operations.get_thread(message_id, viewer, after=args["after"])
        return {
            "root": message_data(root, viewer),
            "replies": [message_data(m, viewer) for m in replies],
            "next_cursor": newer,
        }

    @blp.arguments(PostSchema)
    @blp.response(200, MessageSchema)
    def patch(self, data, message_id):
        """Edit one's own message; the earlier text is kept for moderators."""
        viewer = require_person()
        message = operations.get_message(message_id, viewer)
        return message_data(operations.edit_message(message, actor=viewer, body=data["body"]), viewer)

    @blp.response(204)
    def delete(self, message_id):
        """Delete a message (its author, the coordinator, the Meta-Mentor)."""
        viewer = require_person()
        operations.delete_message(operations.get_message(message_id, viewer), actor=viewer)


@blp.route("/messages/<int:message_id>/revisions")
class Revisions(MethodView):
    @blp.response(200, RevisionsSchema)
    def get(self, message_id):
        """The earlier texts of an edited or deleted message, newest first (its author while a member, the
        coordinator, the Meta-Mentor); 404 for a message the caller cannot read. A message its author deleted
        has none (unless an open report or a moderator's hiding holds them); one a moderator removed keeps them
        until ``deleted_text_kept_until``."""
        viewer = require_person()
        message = operations.get_message(message_id, viewer)
        revisions = operations.revisions(message, viewer)
        return {
            "message": message_data(message, viewer),
            "revisions": revisions,
            "deleted_text_kept_until": operations.deleted_text_kept_until(message) if revisions else None,
        }


@blp.route("/messages/<int:message_id>/replies")
class Replies(MethodView):
    @blp.arguments(PostSchema)
    @blp.response(201, MessageSchema)
    def post(self, data, message_id):
        """Reply in the message's thread."""
        viewer = require_person()
        parent = operations.get_message(message_id, viewer)
        reply = operations.post_message(parent.channel, actor=viewer, body=data["body"], parent=parent)
        return message_data(reply, viewer)


@blp.route("/networks/<slug>/direct")
class Direct(MethodView):
    @blp.response(200, ChannelSchema(many=True))
    def get(self, slug):
        """The caller's direct conversations, latest first, with the other people and unread counts."""
        viewer = require_person()
        rows = operations.list_channels(networks.get_network(slug), viewer, direct=True)
        return [channel_data(r) for r in rows]

    @blp.arguments(DirectCreateSchema)
    @blp.response(201, ChannelSchema)
    def post(self, data, slug):
        """Open (or find again) a direct conversation with 1 to 7 members, optionally with a first message."""
        viewer = require_person()
        network = networks.get_network(slug)
        channel = operations.open_direct(network, actor=viewer, person_ids=data["person_ids"])
        if data.get("body"):
            operations.post_message(channel, actor=viewer, body=data["body"])
        return channel_data(operations.ChannelRow(channel, 0, operations.channel_members(channel, viewer)))


@blp.route("/networks/<slug>/conversations/search")
class Search(MethodView):
    @blp.arguments(SearchSchema, location="query")
    @blp.response(200, MessagePageSchema)
    def get(self, args, slug):
        """Messages the caller may read that contain ``q``, newest first, 30 at a time."""
        viewer = require_person()
        found, older = operations.search(networks.get_network(slug), viewer, args["q"], before=args["before"])
        return {"messages": [message_data(m, viewer) for m in found], "next_cursor": older}
