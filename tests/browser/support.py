"""What every browser test checks on every page it reaches: weight, foreign hosts, axe-core, structure.

A `Tour` follows one Playwright page through a journey. After each page has loaded the journey calls
``tour.check("name")``, which measures the first load of that page, makes sure nothing went to another host,
runs axe-core (WCAG 2.0/2.1 A and AA rules) when JavaScript is on, and optionally saves a screenshot.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
VENDOR = Path(__file__).resolve().parent / "vendor"
SCREENSHOTS = ROOT / "docs" / "screenshots"
RESULTS = ROOT / "bench" / "results" / "browser-weight.json"

# The budget: a page's first load, everything it fetches, at most 100 KB compressed.
BUDGET_BYTES = 100_000
# Generous: a loaded 2-core CI machine must not turn a slow page into a flaky test (nothing here times anything).
TIMEOUT_MS = 30_000
NAVIGATION_TIMEOUT_MS = 60_000

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# The page's CSP is script-src 'self', so axe cannot come in as an inline <script> (add_script_tag(content=...)).
# page.evaluate() runs the file through the DevTools protocol, which the page's CSP does not govern: the pages are
# checked with their real CSP, no bypass_csp anywhere.
AXE_SOURCE = (VENDOR / "axe.min.js").read_text(encoding="utf-8")

VIEWPORTS = {
    # A small phone: 360 CSS px wide, a touch screen, twice as many device pixels.
    "360px": {
        "viewport": {"width": 360, "height": 740},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
    "1280px": {"viewport": {"width": 1280, "height": 800}},
}

# (journey, page) -> docs/screenshots/<file>.png, taken at 360 px when MENTORNET_TEST_SCREENSHOTS=1. One journey
# takes each picture, so a rerun gives the same pictures whatever else ran.
_GRADUATE = "test_graduate_accepts_the_invitation_and_completes_the_profile"
_COORDINATOR = "test_coordinator_signs_in_by_mail_and_invites_someone"
SCREENSHOT_PAGES = {
    (_COORDINATOR, "landing"): "landing",
    (_COORDINATOR, "sign-in"): "sign-in",
    (_COORDINATOR, "sign-in-sent"): "sign-in-sent",
    (_GRADUATE, "invitation"): "invitation",
    (_GRADUATE, "invitation-error"): "invitation-error",
    (_GRADUATE, "profile"): "profile",
    (_GRADUATE, "network-member"): "network-mentor-view",
    (_COORDINATOR, "network"): "network",
    (_COORDINATOR, "invite-sent"): "invite",
    ("test_mentor_writes_in_general_and_asks_for_help", "channel-posted"): "channel",
    ("test_mentor_writes_in_general_and_asks_for_help", "help-findings"): "help-personal-data",
    ("test_mentor_writes_in_general_and_asks_for_help", "help-request"): "help-request",
    ("test_meta_mentor_reads_the_roadmap_and_the_goals", "roadmap"): "roadmap",
    ("test_meta_mentor_reads_the_roadmap_and_the_goals", "meetings"): "meetings",
    ("test_visitor_searches_the_directory", "directory-results"): "directory",
    ("test_meta_mentor_nudges_a_quiet_member", "insights"): "insights",
}
# tests/conftest.py removes every MENTORNET_* variable except MENTORNET_TEST_* before the tests start.
TAKE_SCREENSHOTS = os.environ.get("MENTORNET_TEST_SCREENSHOTS") == "1"

_SECRET_IN_PATH = re.compile(r"(/(?:sign-in|invitations)/)[^/?#]+")

MEASURED: list[dict] = []  # every page load checked in this session, written to RESULTS at the end


def redact(url: str) -> str:
    """The path of a URL without the single-use token some paths carry."""
    parts = urlsplit(url)
    return _SECRET_IN_PATH.sub(r"\1<token>", parts.path) + (f"?{parts.query}" if parts.query else "")


@dataclasses.dataclass
class Load:
    """One page load and every response it caused, for the weight budget."""

    url: str
    responses: list = dataclasses.field(default_factory=list)


class Guard:
    """Routes every request of a context: 127.0.0.1 goes through, anything else is aborted and remembered.

    Routing also turns off Chromium's HTTP cache for the context, so every navigation is a first load.
    """

    def __init__(self, base_url: str):
        self.origin = urlsplit(base_url).netloc
        self.foreign: list[str] = []

    def __call__(self, route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != self.origin:
            self.foreign.append(url)
            route.abort("blockedbyclient")
        else:
            route.continue_()


class Tour:
    def __init__(self, page, *, journey: str, width: str, guard: Guard, javascript: bool = True):
        self.page = page
        self.journey = journey
        self.width = width
        self.guard = guard
        self.javascript = javascript
        self.current: Load | None = None
        self.checked: list[str] = []
        # Console errors include what the CSP refused to load or run, and broken resources.
        self.errors: list[str] = []
        page.on("response", self._on_response)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _on_console(self, message) -> None:
        # "Failed to load resource: ... status of 422": the statuses are checked in check() and measure().
        if message.type == "error" and not message.text.startswith(
            "Failed to load resource: the server responded"
        ):
            self.errors.append(message.text)

    def _on_response(self, response) -> None:
        # Only bookkeeping here: Playwright's sync API must not be called from inside an event handler.
        request = response.request
        if request.is_navigation_request() and response.frame == self.page.main_frame:
            if request.redirected_from is not None and self.current is not None:
                self.current.url = response.url  # the redirect's target: the same page load goes on
            else:
                self.current = Load(response.url)
        if self.current is not None:
            self.current.responses.append(response)

    def check(self, name: str, *, status: int = 200) -> dict:
        """Everything a page of a journey must satisfy; call it once the page has loaded."""
        page = self.page
        page.wait_for_load_state("load")
        assert not self.guard.foreign, f"requests to another host on {name}: {self.guard.foreign}"
        assert not self.errors, f"errors in the console on {name}: {self.errors}"
        load = self.current
        here = page.url.split("#")[0]
        assert load is not None and load.url == here, f"{name}: no page load recorded for {page.url}"
        document = next(r for r in load.responses if r.status not in range(300, 400))
        assert document.status == status, f"{name}: {page.url} answered {document.status}, expected {status}"
        weight = measure(load, name=name)
        weight.update(journey=self.journey, width=self.width, javascript=self.javascript)
        MEASURED.append(weight)
        assert weight["compressed_bytes"] <= BUDGET_BYTES, (
            f"{name} weighs {weight['compressed_bytes']} bytes compressed, over the budget of {BUDGET_BYTES}: "
            f"{weight['responses']}"
        )
        check_structure(page, name, javascript=self.javascript)
        if self.javascript:
            assert_no_axe_violations(page, name)
        picture = SCREENSHOT_PAGES.get((self.journey, name))
        if TAKE_SCREENSHOTS and picture and self.width == "360px" and self.javascript:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=str(SCREENSHOTS / f"{picture}.png"), full_page=True, scale="css", animations="disabled"
            )
        self.checked.append(name)
        return weight


def measure(load: Load, *, name: str) -> dict:
    """Bytes of one page load. The app does not compress its responses itself (a reverse proxy usually does),
    so each body is also gzip-compressed here at level 6, what nginx and Apache use by default; a response the
    server did compress counts with the bytes it actually sent."""
    rows = []
    for response in load.responses:
        if response.status in range(300, 400):
            headers_size = response.request.sizes()["responseHeadersSize"]
            rows.append(
                {
                    "url": redact(response.url),
                    "status": response.status,
                    "raw": 0,
                    "compressed": 0,
                    "headers": headers_size,
                }
            )
            continue
        assert urlsplit(response.url).netloc == urlsplit(load.url).netloc
        if response.request.resource_type != "document":
            assert response.status < 400, f"{name}: {response.url} answered {response.status}"
        body = response.body()
        sizes = response.request.sizes()
        encoded = response.headers.get("content-encoding")
        compressed = sizes["responseBodySize"] if encoded else len(gzip.compress(body, compresslevel=6))
        rows.append(
            {
                "url": redact(response.url),
                "status": response.status,
                "type": response.request.resource_type,
                "raw": len(body),
                "compressed": compressed,
                "headers": sizes["responseHeadersSize"],
                "content_encoding": encoded or None,
            }
        )
    return {
        "page": name,
        "url": redact(load.url),
        "requests": len(rows),
        "raw_bytes": sum(r["raw"] + r["headers"] for r in rows),
        "compressed_bytes": sum(r["compressed"] + r["headers"] for r in rows),
        "responses": rows,
    }


_STRUCTURE = """() => {
  const visible = el => !!el && el.getClientRects().length > 0;
  const skip = document.querySelector('a.skip-link');
  const target = skip && document.getElementById((skip.getAttribute('href') || '').slice(1));
  return {
    lang: document.documentElement.lang,
    title: document.title,
    h1: document.querySelectorAll('h1').length,
    main: document.querySelectorAll('main').length,
    banner: document.querySelectorAll('body > header').length,
    contentinfo: document.querySelectorAll('body > footer').length,
    firstFocusable: skip === document.querySelector('a[href], button, input:not([type=hidden]), select, textarea'),
    skipTarget: !!target && target.tagName === 'MAIN',
    scrollsSideways: document.documentElement.scrollWidth > document.documentElement.clientWidth,
    inlineStyles: document.querySelectorAll('[style]').length,
    inlineScripts: [...document.scripts].filter(s => !s.src).length,
    unlabelled: [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
      .filter(el => visible(el) && !(el.labels && el.labels.length) && !el.getAttribute('aria-label')).length,
  };
}"""


def check_structure(page, name: str, *, javascript: bool = True) -> None:
    """The landmarks and conventions axe does not insist on: one h1, one main, header and footer, the skip
    link first and pointing at main, no sideways scrolling at the viewport's width, no inline styles or scripts."""
    if not javascript:
        # Without JavaScript the same checks run through Playwright's locators (its own isolated world).
        assert page.locator("h1").count() == 1, f"{name}: not exactly one h1"
        assert page.locator("main#main").count() == 1, f"{name}: no main#main"
        assert page.locator("a.skip-link[href='#main']").count() == 1, f"{name}: no skip link"
        return
    facts = page.evaluate(_STRUCTURE)
    expected = {
        "h1": 1,
        "main": 1,
        "banner": 1,
        "contentinfo": 1,
        "firstFocusable": True,
        "skipTarget": True,
        "scrollsSideways": False,
        "inlineStyles": 0,
        "inlineScripts": 0,
        "unlabelled": 0,
    }
    wrong = {key: facts[key] for key, value in expected.items() if facts[key] != value}
    assert not wrong, f"{name} ({page.url}): {wrong}"
    assert facts["lang"] and facts["title"].strip(), f"{name}: no lang or no title"


def assert_no_axe_violations(page, name: str) -> None:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
    result = page.evaluate(
        "options => axe.run(document, options)",
        {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
    )
    violations = result["violations"]
    assert not violations, (
        f"axe-core found {len(violations)} violation(s) on {name} ({page.url}):\n"
        + format_violations(violations)
    )


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} [{violation.get('impact')}]: {violation['help']} ({violation['helpUrl']})"
        )
        for node in violation["nodes"][:10]:
            target = " ".join(" > ".join(part) if isinstance(part, list) else part for part in node["target"])
            lines.append(f"    at {target}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"       {summary}")
        if len(violation["nodes"]) > 10:
            lines.append(f"    ... and {len(violation['nodes']) - 10} more")
    return "\n".join(lines)


def write_results() -> Path | None:
    if not MEASURED:
        return None
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    heaviest = max(MEASURED, key=lambda m: m["compressed_bytes"])
    RESULTS.write_text(
        json.dumps(
            {
                "budget_bytes": BUDGET_BYTES,
                "note": "compressed = gzip level 6 of each body (the app does not compress) + response headers",
                "heaviest": {k: heaviest[k] for k in ("page", "url", "compressed_bytes", "raw_bytes")},
                "pages": MEASURED,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return RESULTS


def summary_lines() -> list[str]:
    seen: dict[tuple, dict] = {}
    for m in MEASURED:
        seen.setdefault((m["page"], m["width"]), m)
    lines = [f"{'page':<22} {'width':<7} {'requests':>8} {'raw bytes':>10} {'gzip bytes':>10}"]
    for (page, width), m in sorted(seen.items()):
        lines.append(
            f"{page:<22} {width:<7} {m['requests']:>8} {m['raw_bytes']:>10} {m['compressed_bytes']:>10}"
        )
    return lines
