"""Markdown written by members (posts, help requests, notes, goals) turned into safe HTML.

CommonMark by markdown-it-py with raw HTML switched off, then nh3 (the Rust ammonia sanitiser) as the single
place that decides which tags and attributes survive: whatever the parser lets through, the page gets only
these. Links open nothing on our origin's behalf (``rel="nofollow noopener noreferrer ugc"``) and only
http(s) and mailto URLs survive.
"""

from __future__ import annotations

import functools

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# The most a member can write in one post, help request or note (characters of Markdown source).
MAX_MARKDOWN_CHARS = 20_000

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


def _demote_headings(html: str) -> str:
    # A member's "# Title" must not compete with the page's own h1/h2 (screen-reader outline).
    for level in (2, 1):
        html = html.replace(f"<h{level}>", f"<h{level + 2}>").replace(f"</h{level}>", f"</h{level + 2}>")
    return html


# Rendering is a pure function of the source, and a page shows the same messages to every reader again and
# again (a busy channel, the agreement on every invitation): the last results are kept per process. Only short
# sources are kept, so the cache stays within a few megabytes.
RENDER_CACHE_SIZE = 2048
RENDER_CACHE_MAX_CHARS = 4000


def render_markdown(source: str | None) -> Markup:
    """Safe HTML for ``source``; empty input gives empty markup."""
    if not source:
        return Markup("")
    if len(source) <= RENDER_CACHE_MAX_CHARS:
        return Markup(_render_cached(source))  # noqa: S704  # nosec B704 - cleaned by nh3 in _render
    return Markup(_render(source))  # noqa: S704  # nosec B704 - cleaned by nh3 in _render


def _render(source: str) -> str:
    html = _demote_headings(_parser.render(source))
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer ugc",
        strip_comments=True,
    )


_render_cached = functools.lru_cache(maxsize=RENDER_CACHE_SIZE)(_render)


def plain_text(source: str | None, limit: int = 200) -> str:
    """The text of ``source`` without markup, shortened to ``limit`` characters (previews, e-mail subjects)."""
    if not source:
        return ""
    text = nh3.clean(_parser.render(source), tags=set()).strip()
    text = " ".join(text.split())
    # nh3 escapes what it keeps as text; previews are escaped again by Jinja, so undo the entity escaping.
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
