"""The event body: exactly the JSON openedx-webhooks posts, so the bridge parses one shape from both sources.

``{"<module>.<DataClass>": attrs.asdict(data), "event_metadata": attrs.asdict(metadata)}`` with course keys,
UUIDs and datetimes written as ``str()`` of the value, as openedx-webhooks does.
"""

from __future__ import annotations

import datetime as dt
import json
from uuid import UUID

import attr
from opaque_keys import OpaqueKey

METADATA_KEY = "event_metadata"


def data_key(data) -> str:
    """``openedx_events.learning.data.CoursePassingStatusData`` and the like."""
    cls = type(data)
    return f"{cls.__module__}.{cls.__qualname__}"


def _plain(_inst, _field, value):
    if isinstance(value, OpaqueKey | UUID | dt.date | dt.time):
        return str(value)
    return value


def event_body(data, metadata) -> bytes:
    """The body to sign and send; built once, so the signed bytes are the posted bytes."""
    payload = {
        data_key(data): attr.asdict(data, value_serializer=_plain),
        METADATA_KEY: attr.asdict(metadata, value_serializer=_plain),
    }
    # default=str as openedx-webhooks does, for any value type a future openedx-events adds.
    return json.dumps(payload, default=str).encode("utf-8")
