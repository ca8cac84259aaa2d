"""Rendered HTML shared by all requests of a process, keyed by what it shows (content-addressed).

A key holds everything the fragment shows or depends on (the row values, the reader's language and time zone,
the network's address, ...): a change to any of them gives a new key and so a new rendering at once, with no
invalidation to forget and nothing to tell the other worker processes. Entries no longer asked for are dropped
when the cache is full (least recently used): more than ``size`` entries, or more than ``max_bytes`` of keys and
HTML (about, see ``page_cache.size_of``). What differs from reader to reader must never be part of a cached
fragment: the callers render such parts apart (docs/conversations.md and docs/help.md, "For operators").
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import request
from flask_babel import get_locale, get_timezone

from network_service.page_cache import size_of

_ENTRY_OVERHEAD = 150  # the entry's tuple and the dict's share, in bytes (about)
# Each cache of a worker process at most (about); in the load run's mix (bench/load.py) the conversation articles
# take under 1 MB and the help card lists reach it (dead first pages), docs/performance.md.
DEFAULT_MAX_BYTES = 4 * 1024 * 1024


class FragmentCache:
    def __init__(self, size: int, max_bytes: int = DEFAULT_MAX_BYTES):
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[tuple, tuple[str, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: tuple, html: str) -> None:
        size = size_of(key) + size_of(html) + _ENTRY_OVERHEAD
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._entries[key] = (html, size)
            self.bytes += size
            while self._entries and (len(self._entries) > self.size or self.bytes > self.max_bytes):
                _key, (_html, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)


def reader_context() -> tuple:
    """What every rendering depends on besides its rows: language, time zone and the application's root."""
    return str(get_locale()), str(get_timezone()), request.script_root
