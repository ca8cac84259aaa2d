"""Meeting times as people read them: in the viewer's time zone, with the organiser's zone when it differs."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import format_date, format_datetime, format_time
from flask_babel import gettext as _

from network_service.accounts.models import Person
from network_service.meetings.models import Meeting
from network_service.meetings.timezones import is_valid_timezone, zone, zone_label


@dataclass(frozen=True)
class When:
    text: str  # "Tuesday, 3 March 2026, 18:00–20:00"
    zone_text: str  # "Rome time"
    other_zone_text: str  # "18:00 Berlin time", or "" when the viewer's zone is the meeting's
    start_iso: str
    end_iso: str


def viewer_zone(meeting: Meeting, viewer: Person | None) -> str:
    own = getattr(viewer, "timezone", None)
    return own if is_valid_timezone(own) else meeting.timezone


def when(meeting: Meeting, viewer: Person | None) -> When:
    tzname = viewer_zone(meeting, viewer)
    tz = zone(tzname)
    start = meeting.starts_at.astimezone(tz)
    end = meeting.ends_at.astimezone(tz)
    if start.date() == end.date():
        text = _(
            "%(date)s, %(start)s–%(end)s",
            date=format_date(start, "full"),
            start=format_time(start, "short", rebase=False),
            end=format_time(end, "short", rebase=False),
        )
    else:
        text = _(
            "%(start)s – %(end)s",
            start=format_datetime(start, "full", rebase=False),
            end=format_datetime(end, "full", rebase=False),
        )
    other = ""
    if tzname != meeting.timezone:
        own_start = meeting.starts_at.astimezone(zone(meeting.timezone))
        other = _(
            "%(time)s %(zone)s time",
            time=format_time(own_start, "short", rebase=False)
            if own_start.date() == start.date()
            else format_datetime(own_start, "medium", rebase=False),
            zone=zone_label(meeting.timezone),
        )
    return When(
        text=text,
        zone_text=_("%(zone)s time", zone=zone_label(tzname)),
        other_zone_text=other,
        start_iso=meeting.starts_at.isoformat(),
        end_iso=meeting.ends_at.isoformat(),
    )
