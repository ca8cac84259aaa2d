"""Time zones: validating IANA names, turning the organiser's wall-clock time into UTC, and the zones offered."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from network_service.db import session
from network_service.errors import InvalidInput
from network_service.meetings.models import Meeting

# The zones of the partner countries offered first in the form; any other valid IANA name is accepted too.
COMMON_TIMEZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/Vienna",
    "Europe/Zurich",
    "Europe/Rome",
    "Europe/Madrid",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Brussels",
    "Europe/Amsterdam",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Warsaw",
    "Europe/Prague",
    "Europe/Stockholm",
    "Europe/Athens",
    "Europe/Sofia",
    "Europe/Bucharest",
    "Europe/Kyiv",
    "Europe/Istanbul",
]


@functools.cache
def _known() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def is_valid_timezone(name: str | None) -> bool:
    return bool(name) and name in _known()


def validate_timezone(name: str | None, field: str = "timezone") -> str:
    name = (name or "").strip()
    if not is_valid_timezone(name):
        raise InvalidInput(
            _("Choose a time zone from the list, or enter a name like Europe/Berlin."),
            field=field,
        )
    return name


def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name if is_valid_timezone(name) else "UTC")


def default_timezone(person, network=None) -> str:
    """The zone a new meeting's form starts with: the organiser's own; else the zone the network's latest meeting
    was planned in (an organiser who never set one plans where the network meets: a Berlin network's form did
    start on UTC, an hour off if unnoticed); else the site default."""
    own = getattr(person, "timezone", None)
    if is_valid_timezone(own):
        return own
    if network is not None and network.id is not None:
        latest = session.scalar(
            sa.select(Meeting.timezone)
            .where(Meeting.network_id == network.id)
            .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
            .limit(1)
        )
        if is_valid_timezone(latest):
            return latest
    configured = current_app.config.get("DEFAULT_TIMEZONE") or "UTC"
    return configured if is_valid_timezone(configured) else "UTC"


def to_utc(value: dt.datetime, tzname: str, field: str = "starts_at") -> dt.datetime:
    """A wall-clock time in ``tzname`` (or an aware datetime) as UTC. A time that does not exist in that zone
    (skipped when clocks go forward) is refused; a time that occurs twice (clocks go back) means the first."""
    if value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    tz = zone(tzname)
    local = value.replace(tzinfo=tz, fold=0)
    utc = local.astimezone(dt.UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != value:
        raise InvalidInput(
            _(
                "%(time)s does not exist in %(zone)s: the clocks go forward then. Choose another time.",
                time=value.strftime("%H:%M"),
                zone=tzname,
            ),
            field=field,
        )
    return utc


def zone_label(tzname: str) -> str:
    """'Europe/Berlin' -> 'Berlin' (the city is what people recognise)."""
    if tzname == "UTC":
        return "UTC"
    return tzname.rsplit("/", 1)[-1].replace("_", " ")
