from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from network_service.errors import MentorNetError
from network_service.meetings import display, ical, operations, permissions
from network_service.meetings.forms import CancelForm, FeedForm, MeetingForm, RsvpForm
from network_service.meetings.models import Meeting, RsvpAnswer
from network_service.meetings.timezones import default_timezone, zone
from network_service.networks import navigation
from network_service.networks.operations import get_network
from network_service.security import (
    current_person,
    declare_shared_limit,
    exempt_from_csrf,
    keeps_form,
    login_required,
)
from network_service.web import form_status, keep_form_for_agreement

bp = Blueprint("meetings", __name__)

# Planning, changing and cancelling a meeting notifies every active member or every attendee: limited per
# person, the pages and the API spending one budget (docs/security.md).
MEETING_RATE_LIMIT = "30 per hour;100 per day"
MEETING_ENDPOINTS = (
    ("meetings.new", ["POST"]),
    ("meetings.edit", ["POST"]),
    ("meetings.cancel", ["POST"]),
    ("api_meetings.Meetings", ["POST"]),
    ("api_meetings.MeetingDetail", ["PATCH"]),
    ("api_meetings.CancelMeeting", ["POST"]),
)


declare_shared_limit(bp, "meetings", MEETING_RATE_LIMIT, MEETING_ENDPOINTS)


navigation.register_section(
    navigation.Section(
        key="meetings",
        endpoint="meetings.index",
        label=lambda: _("Meetings"),
        order=30,
        visible=permissions.can_view,
        badge=lambda viewer, network: operations.unanswered_count(viewer, network),
        badge_query=lambda viewer, network: operations.unanswered_query(viewer, network),
    )
)


@bp.app_template_global()
def meeting_when(meeting: Meeting) -> display.When:
    return display.when(meeting, current_person())


ANSWER_LABELS = {
    RsvpAnswer.yes: lambda: _("Yes, I will come"),
    RsvpAnswer.maybe: lambda: _("Maybe"),
    RsvpAnswer.no: lambda: _("No, I cannot come"),
}


class _TranslatedLabels(Mapping):
    """``ANSWER_LABELS``, each translated when a template reads it: every page's context has them, few pages
    show one, and translating all three for every page was most of this context processor's cost."""

    def __getitem__(self, answer) -> str:
        return ANSWER_LABELS[answer]()

    def __iter__(self):
        return iter(ANSWER_LABELS)

    def __len__(self) -> int:
        return len(ANSWER_LABELS)


_RSVP_LABELS = _TranslatedLabels()


@bp.app_context_processor
def _labels():
    return {"rsvp_labels": _RSVP_LABELS}


def _get(slug: str, meeting_id: int):
    network = get_network(slug)
    return network, operations.get_meeting(network, meeting_id, current_person())


@bp.get("/networks/<slug>/meetings")
@login_required
def index(slug: str):
    network = get_network(slug)
    viewer = current_person()
    upcoming, upcoming_next = operations.list_meetings(network, viewer, cursor=request.args.get("after"))
    past, past_next = operations.list_meetings(
        network,
        viewer,
        past=True,
        cursor=request.args.get("before"),
        limit=10 if not request.args.get("before") else 50,
    )
    return render_template(
        "meetings/index.html",
        network=network,
        upcoming=upcoming,
        upcoming_next=upcoming_next,
        past=past,
        past_next=past_next,
        can_create=permissions.can_create(viewer, network),
    )


def _input_from(form: MeetingForm) -> operations.MeetingInput:
    return operations.MeetingInput(
        title=form.title.data or "",
        description=form.description.data or "",
        starts_at=dt.datetime.combine(form.date.data, form.start_time.data),
        ends_at=_end_from(form),
        timezone=form.chosen_timezone(),
        online_url=form.online_url.data or "",
        place=form.place.data or "",
    )


PAST_MIDNIGHT_HOURS = 12


def _end_from(form: MeetingForm) -> dt.datetime:
    """The form has one date: an end time earlier than the start time is on the next day (a meeting from 20:00
    to 00:30), as long as the meeting then lasts at most 12 hours; otherwise it stays on the same day and is
    refused as ending before it starts (18:00 to 17:00 is a typing error, not a 23-hour meeting)."""
    start = dt.datetime.combine(form.date.data, form.start_time.data)
    end = dt.datetime.combine(form.date.data, form.end_time.data)
    if end <= start and end + dt.timedelta(days=1) - start <= dt.timedelta(hours=PAST_MIDNIGHT_HOURS):
        end += dt.timedelta(days=1)
    return end


_FIELD_OF = {"starts_at": "start_time", "ends_at": "end_time"}


def _show_error(form, exc: MentorNetError) -> None:
    name = _FIELD_OF.get(exc.field, exc.field)
    if name == "timezone" and form.timezone_other.data:
        name = "timezone_other"
    target = getattr(form, name, None) if name else None
    if target is not None and hasattr(target, "errors"):
        if isinstance(target.errors, tuple):
            target.errors = list(target.errors)
        target.errors.append(exc.detail)
    else:
        form.form_errors.append(exc.detail)


@bp.route("/networks/<slug>/meetings/new", methods=["GET", "POST"])
@login_required
@keeps_form(MeetingForm)
def new(slug: str):
    network = get_network(slug)
    viewer = current_person()
    if not permissions.can_create(viewer, network):
        abort(403)
    form = MeetingForm()
    zone_name = default_timezone(viewer, network)
    form.offer_timezone(zone_name)
    if not form.is_submitted():
        form.timezone.data = zone_name
    if form.validate_on_submit():
        try:
            meeting = operations.create_meeting(network, _input_from(form), actor=viewer)
        except MentorNetError as exc:
            if not keep_form_for_agreement(form, exc):
                _show_error(form, exc)
        else:
            flash(_("The meeting is planned. The members have been told."), "success")
            return redirect(url_for("meetings.show", slug=slug, meeting_id=meeting.id), 303)
    status = form_status(form)
    return render_template("meetings/form.html", network=network, form=form, meeting=None), status


@bp.route("/networks/<slug>/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@login_required
@keeps_form(MeetingForm)
def edit(slug: str, meeting_id: int):
    network, meeting = _get(slug, meeting_id)
    viewer = current_person()
    if not permissions.can_edit(viewer, meeting):
        abort(403)
    if meeting.is_cancelled:
        flash(_("This meeting is cancelled and cannot be changed any more."), "error")
        return redirect(url_for("meetings.show", slug=slug, meeting_id=meeting.id), 303)
    form = MeetingForm()
    form.offer_timezone(meeting.timezone)
    if not form.is_submitted():
        tz = zone(meeting.timezone)
        start, end = meeting.starts_at.astimezone(tz), meeting.ends_at.astimezone(tz)
        form.title.data = meeting.title
        form.description.data = meeting.description
        form.date.data = start.date()
        form.start_time.data = start.time().replace(tzinfo=None)
        form.end_time.data = end.time().replace(tzinfo=None)
        form.timezone.data = meeting.timezone
        form.online_url.data = meeting.online_url
        form.place.data = meeting.place
    if form.validate_on_submit():
        try:
            operations.update_meeting(meeting, _input_from(form), actor=viewer)
        except MentorNetError as exc:
            if not keep_form_for_agreement(form, exc):
                _show_error(form, exc)
        else:
            flash(_("The meeting is updated."), "success")
            return redirect(url_for("meetings.show", slug=slug, meeting_id=meeting.id), 303)
    status = form_status(form)
    return render_template("meetings/form.html", network=network, form=form, meeting=meeting), status


@bp.route("/networks/<slug>/meetings/<int:meeting_id>/cancel", methods=["GET", "POST"])
@login_required
@keeps_form(CancelForm)
def cancel(slug: str, meeting_id: int):
    network, meeting = _get(slug, meeting_id)
    viewer = current_person()
    if not permissions.can_edit(viewer, meeting):
        abort(403)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            operations.cancel_meeting(meeting, actor=viewer, reason=form.reason.data or "")
        except MentorNetError as exc:
            if not keep_form_for_agreement(form, exc):
                _show_error(form, exc)
        else:
            flash(_("The meeting is cancelled. Those who wanted to come have been told."), "success")
            return redirect(url_for("meetings.show", slug=slug, meeting_id=meeting.id), 303)
    status = form_status(form)
    return render_template("meetings/cancel.html", network=network, form=form, meeting=meeting), status


@bp.get("/networks/<slug>/meetings/<int:meeting_id>")
@login_required
def show(slug: str, meeting_id: int):
    network, meeting = _get(slug, meeting_id)
    viewer = current_person()
    return render_template(
        "meetings/show.html",
        network=network,
        meeting=meeting,
        answer=operations.answer_of(meeting, viewer),
        attendees=operations.attendees(meeting),
        can_edit=permissions.can_edit(viewer, meeting),
        is_over=meeting.ends_at <= dt.datetime.now(dt.UTC),
        rsvp_form=RsvpForm(),
    )


@bp.post("/networks/<slug>/meetings/<int:meeting_id>/rsvp")
@login_required
def rsvp(slug: str, meeting_id: int):
    network, meeting = _get(slug, meeting_id)
    if not permissions.can_rsvp(current_person(), network):
        abort(403)  # before the form is judged
    form = RsvpForm()
    if not form.validate_on_submit():
        flash(_("Choose yes, maybe or no."), "error")
        return redirect(url_for("meetings.show", slug=slug, meeting_id=meeting.id), 303)
    operations.set_rsvp(meeting, current_person(), form.answer.data)
    flash(
        _("Your answer is saved: %(answer)s", answer=ANSWER_LABELS[RsvpAnswer(form.answer.data)]()), "success"
    )
    return redirect(url_for("meetings.show", slug=slug, meeting_id=meeting.id), 303)


def _ics(body: bytes, filename: str) -> Response:
    response = Response(body, content_type=ical.CONTENT_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/networks/<slug>/meetings/<int:meeting_id>.ics")
@login_required
def download(slug: str, meeting_id: int):
    _network, meeting = _get(slug, meeting_id)
    return _ics(ical.meeting_calendar(meeting, current_person()), f"meeting-{meeting.id}.ics")


@bp.get("/calendar/<token>.ics")
def feed(token: str):
    response = Response(ical.feed_calendar(token), content_type=ical.CONTENT_TYPE)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = 'inline; filename="mentornet.ics"'
    return response


exempt_from_csrf(feed)


@bp.route("/networks/<slug>/meetings/calendar", methods=["GET", "POST"])
@login_required
def subscribe(slug: str):
    network = get_network(slug)
    viewer = current_person()
    if not permissions.can_subscribe(viewer, network):
        abort(403)
    form = FeedForm()
    new_urls: dict[str, dict[str, str]] = {}
    if form.validate_on_submit():
        scope = form.scope.data
        if scope not in ("personal", "network") or form.action.data not in ("create", "revoke"):
            abort(400)
        target = network if scope == "network" else None
        if form.action.data == "create":
            _feed, token = ical.create_feed(viewer, target)
            new_urls[scope] = ical.feed_urls(token)
        else:
            ical.revoke_feed(viewer, target)
            flash(_("The calendar address is revoked. Calendars that used it no longer update."), "success")
            return redirect(url_for("meetings.subscribe", slug=slug), 303)
    return render_template(
        "meetings/subscribe.html",
        network=network,
        form=form,
        personal=ical.active_feed(viewer),
        networked=ical.active_feed(viewer, network),
        new_urls=new_urls,
    )
