"""Markdown written by members (posts, help requests, notes, goals) turned into safe HTML.

CommonMark by markdown-it-py with raw HTML switched off, then nh3 (the Rust ammonia sanitiser) as the single
place that decides which tags and attributes survive: whatever the parser lets through, the page gets only
these. Links open nothing on our origin's behalf (``rel="nofollow noopener noreferrer ugc"``) and only
http(s) and mailto URLs survive.

Before anything is saved, ``refuse_html_in_markdown`` turns away real HTML (a tag of a known HTML element, an
HTML comment, a processing instruction, CDATA or a declaration) with a message that names what was found, and
keeps the angle brackets volunteers write without meaning HTML: ``Dear <name>,``, a pasted ``<Ana Silva>``,
``a <3 b``, autolinks, and anything in code spans or code blocks (docs/security.md, "Input").
"""

from __future__ import annotations

import functools
import re

import nh3
from flask_babel import gettext as _
from markdown_it import MarkdownIt
from markupsafe import Markup

from network_service.errors import InvalidInput

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


# Every element of the HTML standard (WHATWG) with ``svg`` and ``math``, which start embedded documents, and the
# obsolete ones browsers still build (``<image>`` becomes ``<img>``). A tag whose name is in this set is HTML; any
# other name in angle brackets (``<name>``, ``<Ana Silva>``) is a word the member put in brackets. The elements
# that live only inside SVG or MathML (``<text>``, ``<path>``) are left out: alone they are words, not HTML.
HTML_ELEMENTS = frozenset(
    """
    a abbr acronym address applet area article aside audio b base basefont bdi bdo bgsound big blink blockquote
    body br button canvas caption center cite code col colgroup data datalist dd del details dfn dialog dir div dl
    dt em embed fieldset figcaption figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr
    html i iframe image img input ins isindex kbd keygen label legend li link listing main map mark marquee math
    menu menuitem meta meter multicol nav nextid nobr noembed noframes noscript object ol optgroup option output p
    param picture plaintext portal pre progress q rb rp rt rtc ruby s samp script search section select slot small
    source spacer span strike strong style sub summary sup svg table tbody td template textarea tfoot th thead time
    title tr track tt u ul var video wbr xmp
    """.split()  # noqa: SIM905 - the list reads as the standard prints it
)

# Elements whose names are also ordinary words a volunteer writes as a placeholder ("send it to <address>",
# "the <title> of the meeting", "at <time>"). Such a tag alone, without attributes and never closed in the text,
# is a word in brackets, not HTML; closed (``<title>x</title>``) or with attributes, it is HTML. Letting these
# through is safe: rendering never passes raw HTML on (html off, then nh3).
PLACEHOLDER_WORDS = frozenset(
    """
    address area article aside body button caption center cite code data details dialog dir figure font footer
    form frame head header image input label legend link main map mark menu meter nav option output picture
    progress search section select slot small source summary table template time title track var
    """.split()  # noqa: SIM905 - a list of words
)

HTML_LISTED_AT_MOST = 3  # how many distinct findings the refusal names

# Markdown as CommonMark reads it with raw HTML on: the parser finds the HTML, the rest of this module decides.
# ``text_join`` is off so that an escaped ``\<`` stays its own token and never counts as the start of a tag.
_html_parser = (
    MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    .enable(["table", "strikethrough"])
    .disable("text_join")
)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(?=[\s/>]|$)([^<>]*)")
_CLOSING_TAG = re.compile(r"</([A-Za-z][A-Za-z0-9-]*)\s*>")
# Text that CommonMark leaves as text but a browser reads as a tag with attributes: ``<svg/onload=...>``.
_SLASHED_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)/[A-Za-z]")


def _is_html_tag(slash: str, name: str, rest: str, closed: frozenset[str]) -> bool:
    """Whether ``<name rest`` (``slash``: a closing tag) is HTML: a known element, but a placeholder word (no
    attribute with a value, not closed anywhere in the text) is a word in brackets."""
    name = name.lower()
    if name not in HTML_ELEMENTS:
        return False
    if name not in PLACEHOLDER_WORDS or slash:
        return True
    # attributes have a value ("<address class=x>"); more words are the rest of a placeholder ("<Image of me>")
    return any(mark in rest for mark in "=\"'") or name in closed


def _findings_in_html(content: str, closed: frozenset[str] = frozenset()) -> tuple[list[str], bool]:
    """What ``content`` (one HTML token) holds, and whether it starts with HTML (not a bracketed word);
    ``closed``: the names of the closing tags anywhere in the text."""
    text = content.lstrip()
    if text.startswith("<!--"):
        return ["<!-- -->"], True
    if text.startswith("<?"):
        return ["<? ?>"], True
    if text.startswith("<![CDATA["):
        return ["<![CDATA[ ]]>"], True
    if re.match(r"<![A-Za-z]", text):
        return [f"<!{re.match(r'<!([A-Za-z]+)', text).group(1).upper()}>"], True
    found = [
        f"<{name.lower()}>"
        for slash, name, rest in _TAG.findall(text)
        if _is_html_tag(slash, name, rest, closed)
    ]
    first = _TAG.match(text)
    return found, bool(first and _is_html_tag(*first.groups(), closed))


def _findings(source: str, closed: frozenset[str]) -> list[str]:
    found: list[str] = []
    for token in _html_parser.parse(source):
        found += _token_findings(token, closed)
    return found


def _token_findings(token, closed: frozenset[str]) -> list[str]:
    found: list[str] = []
    if token.type == "html_block":
        block_found, starts_with_html = _findings_in_html(token.content, closed)
        if starts_with_html:
            found += block_found
        else:
            # A block that starts with a bracketed word (``<Ana Silva>`` alone on a line) runs to the next blank
            # line; what follows the word is read again as inline Markdown, so code spans stay code. Inline only:
            # read as blocks, each further bracketed line would start a block of its own to read again (a text of
            # 20,000 characters of "<xy>" lines went 4,000 levels deep: RecursionError, found in review).
            first = _TAG.match(token.content.lstrip())
            rest = token.content.lstrip()[first.end() :] if first else ""
            rest = rest.split(">", 1)[1] if ">" in rest else ""
            if rest.strip():
                for inline in _html_parser.parseInline(rest):
                    found += _token_findings(inline, closed)
    for child in token.children or []:
        if child.type == "html_inline":
            inline_found, starts_with_html = _findings_in_html(child.content, closed)
            if starts_with_html:
                found += inline_found
        elif child.type == "text":
            found += [
                f"<{name.lower()}>"
                for name in _SLASHED_TAG.findall(child.content)
                if name.lower() in HTML_ELEMENTS
            ]
    return found


def html_in_markdown(source: str | None) -> list[str]:
    """The HTML that ``source`` holds, each kind once, in the order written (``["<script>", "<b>"]``); empty
    when there is none. Code spans and code blocks are not looked at: members show HTML there as code."""
    if not source or "<" not in source:
        return []
    closed = frozenset(name.lower() for name in _CLOSING_TAG.findall(source))
    return list(dict.fromkeys(_findings(source, closed)))


def html_refusal(source: str | None) -> str | None:
    """What to tell the member when ``source`` holds HTML, naming at most three findings; None when it has none."""
    found = html_in_markdown(source)
    if not found:
        return None
    listed = ", ".join(found[:HTML_LISTED_AT_MOST]) + (", …" if len(found) > HTML_LISTED_AT_MOST else "")
    return _(
        "HTML is not used here. Write Markdown instead (for example **bold** or [a link](https://example.org)),"
        " or put the HTML between backticks (`like this`) to show it as code. Found: %(tags)s",
        tags=listed,
    )


def refuse_html_in_markdown(source: str | None, field: str, *, stored: str | None = None) -> None:
    """Raise ``InvalidInput`` on ``field`` when ``source`` holds HTML (``html_refusal`` says what). ``stored``: the
    text saved already; sent again unchanged (an edit of another field), it is not judged again, so that a text
    saved before this rule (session 11) does not block changing anything else."""
    if stored is not None and (source or "").strip() == stored.strip():
        return
    message = html_refusal(source)
    if message:
        raise InvalidInput(message, field=field)
