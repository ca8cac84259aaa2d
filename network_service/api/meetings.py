"""Meetings over JSON: list, plan, change, cancel, answer, and the secret calendar addresses."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from network_service.api.auth import authenticate, require_json_body, require_person
from network_service.api.schemas import DateAndTime, Strict
from network_service.markup import MAX_MARKDOWN_CHARS
from network_service.meetings import ical, operations
from network_service.meetings.models import Meeting, RsvpAnswer
from network_service.meetings.timezones import zone
from network_service.networks.operations import get_network
from network_service.urls import public_url

blp = Blueprint("api_meetings", __name__, description="Meetings, answers and calendar feeds")
blp.before_request(authenticate)
blp.before_request(require_json_body)


class OrganiserSchema(Strict):
    id = fields.Int()
    display_name = fields.Str()


class MeetingSchema(Strict):
    id = fields.Int()
    title = fields.Str()
    description = fields.Str(metadata={"description": "Markdown"})
    starts_at = fields.DateTime(metadata={"description": "UTC"})
    ends_at = fields.DateTime(metadata={"description": "UTC"})
    timezone = fields.Str(metadata={"description": "The IANA time zone the organiser planned in"})
    online_url = fields.Str()
    place = fields.Str()
    organiser = fields.Nested(OrganiserSchema, allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.Str()
    sequence = fields.Int()
    yes_count = fields.Int()
    maybe_count = fields.Int()
    my_answer = fields.Enum(RsvpAnswer, allow_none=True)
    url = fields.Str(metadata={"description": "The meeting's page"})


class MeetingPageSchema(Strict):
    items = fields.List(fields.Nested(MeetingSchema))
    next_cursor = fields.Str(allow_none=True, metadata={"description": "Pass as `cursor` for the next page"})


class MeetingListArgs(Strict):
    past = fields.Bool(load_default=False)
    cursor = fields.Str(load_default=None, validate=validate.Length(max=40))


_TIME_HELP = "ISO 8601; without an offset it is the wall-clock time in `timezone`"


class MeetingCreateSchema(Strict):
    title = fields.Str(required=True, validate=validate.Length(min=1, max=operations.MAX_TITLE))
    description = fields.Str(load_default="", validate=validate.Length(max=MAX_MARKDOWN_CHARS))
    starts_at = DateAndTime(required=True, metadata={"description": _TIME_HELP})
    ends_at = DateAndTime(required=True, metadata={"description": _TIME_HELP})
    timezone = fields.Str(required=True, validate=validate.Length(max=64))
    online_url = fields.Str(load_default="", validate=validate.Length(max=operations.MAX_URL))
    place = fields.Str(load_default="", validate=validate.Length(max=operations.MAX_PLACE))


class MeetingUpdateSchema(Strict):
    title = fields.Str(validate=validate.Length(min=1, max=operations.MAX_TITLE))
    description = fields.Str(validate=validate.Length(max=MAX_MARKDOWN_CHARS))
    starts_at = DateAndTime(metadata={"description": _TIME_HELP})
    ends_at = DateAndTime(metadata={"description": _TIME_HELP})
    timezone = fields.Str(validate=validate.Length(max=64))
    online_url = fields.Str(validate=validate.Length(max=operations.MAX_URL))
    place = fields.Str(validate=validate.Length(max=operations.MAX_PLACE))


class CancelSchema(Strict):
    reason = fields.Str(load_default="", validate=validate.Length(max=operations.MAX_REASON))


class RsvpSchema(Strict):
    answer = fields.Enum(RsvpAnswer, required=True)


class FeedSchema(Strict):
    https = fields.Str(metadata={"description": "The secret address (shown once)"})
    webcal = fields.Str(metadata={"description": "The same address for calendar apps"})


def _dump(meeting: Meeting, yes: int, maybe: int, answer: RsvpAnswer | None) -> dict:
    organiser = meeting.organiser
    return {
        "id": meeting.id,
        "title": meeting.title,
        "description": meeting.description,
        "starts_at": meeting.starts_at,
        "ends_at": meeting.ends_at,
        "timezone": meeting.timezone,
        "online_url": meeting.online_url,
        "place": meeting.place,
        "organiser": {"id": organiser.id, "display_name": organiser.name_or_email} if organiser else None,
        "cancelled_at": meeting.cancelled_at,
        "cancel_reason": meeting.cancel_reason,
        "sequence": meeting.sequence,
        "yes_count": yes,
        "maybe_count": maybe,
        "my_answer": answer,
        "url": public_url(operations.meeting_path(meeting)),
    }


def _dump_one(meeting: Meeting, viewer) -> dict:
    attending = operations.attendees(meeting)
    return _dump(
        meeting,
        len(attending[RsvpAnswer.yes]),
        len(attending[RsvpAnswer.maybe]),
        operations.answer_of(meeting, viewer),
    )


@blp.route("/networks/<slug>/meetings")
class Meetings(MethodView):
    @blp.arguments(MeetingListArgs, location="query")
    @blp.response(200, MeetingPageSchema)
    def get(self, args, slug):
        """Upcoming meetings, soonest first (or past ones, latest first, with `past=true`), 50 at a time."""
        viewer = require_person()
        rows, next_cursor = operations.list_meetings(
            get_network(slug), viewer, past=args["past"], cursor=args["cursor"]
        )
        return {
            "items": [_dump(r.meeting, r.yes, r.maybe, r.answer) for r in rows],
            "next_cursor": next_cursor,
        }

    @blp.arguments(MeetingCreateSchema)
    @blp.response(201, MeetingSchema)
    def post(self, data, slug):
        """Plan a meeting (coordinator, Meta-Mentor, network office, experienced mentors); members are told."""
        actor = require_person()
        meeting = operations.create_meeting(get_network(slug), operations.MeetingInput(**data), actor=actor)
        return _dump(meeting, 0, 0, None)


def _meeting(slug: str, meeting_id: int):
    viewer = require_person()
    network = get_network(slug)
    return viewer, operations.get_meeting(network, meeting_id, viewer)


@blp.route("/networks/<slug>/meetings/<int:meeting_id>")
class MeetingDetail(MethodView):
    @blp.response(200, MeetingSchema)
    def get(self, slug, meeting_id):
        """One meeting, with the counts of yes and maybe and the caller's own answer (members)."""
        viewer, meeting = _meeting(slug, meeting_id)
        return _dump_one(meeting, viewer)

    @blp.arguments(MeetingUpdateSchema)
    @blp.response(200, MeetingSchema)
    def patch(self, changes, slug, meeting_id):
        """Change a meeting (organiser, coordinator, Meta-Mentor); a new time or place is told to who comes."""
        viewer, meeting = _meeting(slug, meeting_id)
        tzname = changes.get("timezone", meeting.timezone)
        if "timezone" in changes and not ({"starts_at", "ends_at"} <= changes.keys()):
            # Keep the wall-clock times the organiser planned and read them in the new zone.
            own = zone(meeting.timezone)
            changes.setdefault("starts_at", meeting.starts_at.astimezone(own).replace(tzinfo=None))
            changes.setdefault("ends_at", meeting.ends_at.astimezone(own).replace(tzinfo=None))
        data = operations.MeetingInput(
            title=changes.get("title", meeting.title),
            description=changes.get("description", meeting.description),
            starts_at=changes.get("starts_at", meeting.starts_at),
            ends_at=changes.get("ends_at", meeting.ends_at),
            timezone=tzname,
            online_url=changes.get("online_url", meeting.online_url),
            place=changes.get("place", meeting.place),
        )
        operations.update_meeting(meeting, data, actor=viewer)
        return _dump_one(meeting, viewer)


@blp.route("/networks/<slug>/meetings/<int:meeting_id>/cancel")
class CancelMeeting(MethodView):
    @blp.arguments(CancelSchema)
    @blp.response(200, MeetingSchema)
    def post(self, data, slug, meeting_id):
        """Cancel a meeting (organiser, coordinator, Meta-Mentor); who said yes or maybe is told."""
        viewer, meeting = _meeting(slug, meeting_id)
        operations.cancel_meeting(meeting, actor=viewer, reason=data["reason"])
        return _dump_one(meeting, viewer)


@blp.route("/networks/<slug>/meetings/<int:meeting_id>/rsvp")
class Answer(MethodView):
    @blp.arguments(RsvpSchema)
    @blp.response(200, MeetingSchema)
    def put(self, data, slug, meeting_id):
        """Answer yes, maybe or no (members); answering again replaces the answer."""
        viewer, meeting = _meeting(slug, meeting_id)
        operations.set_rsvp(meeting, viewer, data["answer"])
        return _dump_one(meeting, viewer)


@blp.route("/me/calendar-feed")
class MyFeed(MethodView):
    @blp.response(201, FeedSchema)
    def post(self):
        """A new secret address for the caller's own calendar (every network, with their answers); the previous
        address stops working."""
        _feed, token = ical.create_feed(require_person())
        return ical.feed_urls(token)

    @blp.response(204)
    def delete(self):
        """Stop the caller's own calendar address (nothing to stop is fine too)."""
        ical.revoke_feed(require_person())


@blp.route("/networks/<slug>/calendar-feed")
class NetworkFeed(MethodView):
    @blp.response(201, FeedSchema)
    def post(self, slug):
        """A new secret address for the network's calendar (members); the caller's previous one stops working."""
        _feed, token = ical.create_feed(require_person(), get_network(slug))
        return ical.feed_urls(token)

    @blp.response(204)
    def delete(self, slug):
        """Stop the caller's address of the network's calendar (nothing to stop is fine too)."""
        ical.revoke_feed(require_person(), get_network(slug))
