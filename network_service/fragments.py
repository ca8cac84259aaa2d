"""Rendered HTML shared by all requests of a process, keyed by what it shows (content-addressed).

A key holds everything the fragment shows or depends on (the row values, the reader's language and time zone,
the network's address, ...): a change to any of them gives a new key and so a new rendering at once, with no
invalidation to forget and nothing to tell the other worker processes. Entries no longer asked for are dropped
when the cache is full (least recently used). What differs from reader to reader must never be part of a cached
fragment: the callers render such parts apart (docs/conversations.md and docs/help.md, "For operators").
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import request
from flask_babel import get_locale, get_timezone


class FragmentCache:
    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[tuple, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> str | None:
        with self._lock:
            html = self._entries.get(key)
            if html is not None:
                self._entries.move_to_end(key)
            return html

    def put(self, key: tuple, html: str) -> None:
        with self._lock:
            self._entries[key] = html
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def reader_context() -> tuple:
    """What every rendering depends on besides its rows: language, time zone and the application's root."""
    return str(get_locale()), str(get_timezone()), request.script_root
