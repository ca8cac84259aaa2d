"""What the bridge takes from any completion source before it reaches ``provision_graduate``."""

from __future__ import annotations

import dataclasses
from typing import Any


class PayloadError(ValueError):
    """The payload breaks the source's format; ``field`` names where (a JSON pointer-like path)."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclasses.dataclass(frozen=True)
class Completion:
    event_id: str
    course_key: str
    identity: dict[str, Any]
    kind: str = "passed"  # passed | certificate | grade
    is_passing: bool = True
    grade: float | None = None


@dataclasses.dataclass(frozen=True)
class Ignored:
    """A well-formed event that never provisions (another event type, another verb)."""

    event_id: str
    reason: str


def as_bool(value: Any) -> bool:
    """openedx-webhooks serialises values with ``str``: ``True`` arrives as ``"True"``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


def as_grade(value: Any) -> float | None:
    """A grade between 0 and 1, or None when absent or not a number."""
    if value in (None, ""):
        return None
    try:
        grade = float(value)
    except (TypeError, ValueError):
        return None
    return grade if 0 <= grade <= 1 else None
