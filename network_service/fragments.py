"""Rendered HTML shared by all requests of a process, keyed by what it shows (content-addressed).

A key holds everything the fragment shows or depends on (the row values, the reader's language and time zone,
the network's address, ...): a change to any of them gives a new key and so a new rendering at once, with no
invalidation to forget and nothing to tell the other worker processes. Entries no longer asked for are dropped
when the cache is full (least recently used): more than ``size`` entries, or more than ``max_bytes`` of keys and
HTML (about, see ``page_cache.size_of``). What differs from reader to reader must never be part of a cached
fragment: the callers render such parts apart (docs/conversations.md and docs/help.md, "For operators").
"""

from __future__ import annotations

from collections.abc import Callable

from flask import request
from flask_babel import get_locale, get_timezone
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from network_service.page_cache import BoundedLRU, size_of

_ENTRY_OVERHEAD = 150  # the entry's tuple and the dict's share, in bytes (about)
# Each cache of a worker process at most (about); in the load run's mix (bench/load.py) the conversation articles
# take under 1 MB and the help card lists reach it (dead first pages), docs/performance.md.
DEFAULT_MAX_BYTES = 4 * 1024 * 1024


class FragmentCache(BoundedLRU):
    def __init__(self, size: int, max_bytes: int = DEFAULT_MAX_BYTES):
        super().__init__(max_entries=size, max_bytes=max_bytes)

    def get(self, key: tuple) -> str | None:
        return self._lookup(key)

    def put(self, key: tuple, html: str) -> None:
        self._store(key, html, size_of(key) + size_of(html) + _ENTRY_OVERHEAD)


def reader_context() -> tuple:
    """What every rendering depends on besides its rows: language, time zone and the application's root."""
    return str(get_locale()), str(get_timezone()), request.script_root


# Where a kept rendering showed the session's CSRF token: each request puts its own session's token in.
CSRF_MARK = "\x00csrf\x00"


def kept_form(cache: FragmentCache, key: tuple, render: Callable[[], str]) -> Markup:
    """``render()`` (a form without input, the same for every reader of ``key`` but for the session's CSRF token)
    kept in ``cache`` with the token taken out, and given back with this request's token put in. A rendering that
    does not show the token is not kept (whatever else of the session it shows must not be shared)."""
    token = generate_csrf()
    html = cache.get(key)
    if html is None:
        html = render()
        if not token or token not in html:
            return Markup(html)  # noqa: S704  # nosec B704 - rendered by our autoescaping templates
        html = html.replace(token, CSRF_MARK)
        cache.put(key, html)
    return Markup(html.replace(CSRF_MARK, str(escape(token))))  # noqa: S704  # nosec B704
