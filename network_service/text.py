"""Small text helpers shared by the forms and operations."""

from __future__ import annotations

import re

# Members type lists (languages, tags, topics) with the comma of their own script: Latin ",", Arabic "،",
# ideographic "、", or a semicolon.
_LIST_SEPARATORS = re.compile(r"[,،、;]")


def split_list(text: str | None) -> list[str]:
    """``"Arabic، German, English"`` → ``["Arabic", "German", "English"]`` (blank items dropped)."""
    return [part.strip() for part in _LIST_SEPARATORS.split(text or "") if part.strip()]
