"""Page titles are text: the browser tab and the first thing a screen reader reads on every page."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "network_service" / "templates"
TITLE_BLOCK = re.compile(r"\{%-?\s*block title\s*-?%\}(.*?)\{%-?\s*endblock", re.DOTALL)


def test_no_title_block_holds_markup():
    """A <script> put in the title block (two conversation pages) showed as text in the tab and was read out."""
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for block in TITLE_BLOCK.findall(path.read_text(encoding="utf-8")):
            text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", block, flags=re.DOTALL)
            if "<" in text or ">" in text:
                offenders.append(f"{path.relative_to(TEMPLATES)}: {block.strip()[:80]}")
    assert not offenders, offenders
