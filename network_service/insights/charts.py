"""Small SVG charts built on the server as plain strings: no JavaScript, no external library, no ``style=``
(presentation attributes only, allowed by the CSP). Every chart has a <title> and <desc>; the page puts the
same numbers in a table next to it. Text is escaped; numbers are printed, never shown by colour alone."""

from __future__ import annotations

import math

from markupsafe import Markup, escape

BAR = "#2b6cb0"
MUTED = "#cbd5e0"
INK = "#1a202c"


def _svg(width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'class="chart" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704  # nosec B704  # every text in it went through escape()


def _number(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def bar_chart(title: str, desc: str, labels: list[str], values: list, *, suffix: str = "") -> Markup:
    """Vertical bars with the value above each bar and the label below."""
    width, height, top, bottom = max(320, 56 * len(labels) + 20), 220, 24, 40
    peak = max([v for v in values if v is not None] or [0]) or 1
    step = (width - 20) / max(1, len(labels))
    body = [f'<line x1="10" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="{INK}"/>']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        bar = (height - top - bottom) * (value or 0) / peak
        x = 10 + i * step + step * 0.15
        y = height - bottom - bar
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{bar:.1f}" fill="{BAR}"/>'
            f'<text x="{x + step * 0.35:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="12" '
            f'fill="{INK}">{escape(_number(value))}{escape(suffix)}</text>'
            f'<text x="{x + step * 0.35:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" '
            f'fill="{INK}">{escape(label)}</text>'
        )
    return _svg(int(width), height, title, desc, body)


def hbar_chart(title: str, desc: str, labels: list[str], values: list) -> Markup:
    """Horizontal bars (a funnel): label on the left, value at the end of the bar."""
    width, row, left = 480, 32, 120
    height = row * len(labels) + 10
    peak = max([v for v in values if v is not None] or [0]) or 1
    body = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 5 + i * row
        length = (width - left - 60) * (value or 0) / peak
        body.append(
            f'<text x="{left - 8}" y="{y + 19}" text-anchor="end" font-size="13" fill="{INK}">{escape(label)}</text>'
            f'<rect x="{left}" y="{y + 4}" width="{length:.1f}" height="{row - 10}" fill="{BAR}"/>'
            f'<text x="{left + length + 6:.1f}" y="{y + 19}" font-size="13" fill="{INK}">'
            f"{escape(_number(value))}</text>"
        )
    return _svg(width, height, title, desc, body)


def _shade(share: float | None) -> str:
    if share is None:
        return "#ffffff"
    # light (low) to dark blue (high); the number is printed in every cell as well
    steps = ["#ebf4ff", "#c3dafe", "#a3bffa", "#7f9cf5", "#667eea"]
    return steps[min(4, int(share * 5))]


def heatmap(title: str, desc: str, rows: list[str], columns: list[str], cells: list[list]) -> Markup:
    """A table of shares (0..1 or None) as shaded cells with the percentage printed in each."""
    left, cell_w, cell_h, top = 90, 90, 28, 28
    width, height = left + cell_w * len(columns) + 10, top + cell_h * len(rows) + 10
    body = [
        f'<text x="{left + j * cell_w + cell_w / 2:.0f}" y="18" text-anchor="middle" font-size="12" '
        f'fill="{INK}">{escape(column)}</text>'
        for j, column in enumerate(columns)
    ]
    for i, (label, values) in enumerate(zip(rows, cells, strict=True)):
        y = top + i * cell_h
        body.append(
            f'<text x="{left - 8}" y="{y + 19}" text-anchor="end" font-size="12" fill="{INK}">{escape(label)}</text>'
        )
        for j, share in enumerate(values):
            x = left + j * cell_w
            text = "–" if share is None else f"{round(share * 100)}%"
            body.append(
                f'<rect x="{x + 2}" y="{y + 2}" width="{cell_w - 4}" height="{cell_h - 4}" fill="{_shade(share)}" '
                f'stroke="{MUTED}"/><text x="{x + cell_w / 2:.0f}" y="{y + 19}" text-anchor="middle" '
                f'font-size="12" fill="{INK}">{escape(text)}</text>'
            )
    return _svg(width, height, title, desc, body)


def network_graph(title: str, desc: str, edges: list[dict]) -> Markup:
    """Who helps whom: people on a circle (in a stable order: by id), an arrow from helper to helped, its
    width growing with the number of requests answered."""
    names: dict[int, str] = {}
    for edge in edges:
        names.setdefault(edge["helper_id"], edge["helper"])
        names.setdefault(edge["helped_id"], edge["helped"])
    size, radius = 520, 180
    centre = size / 2
    ids = sorted(names)
    places = {
        pid: (
            centre + radius * math.cos(2 * math.pi * i / max(1, len(ids)) - math.pi / 2),
            centre + radius * math.sin(2 * math.pi * i / max(1, len(ids)) - math.pi / 2),
        )
        for i, pid in enumerate(ids)
    }
    peak = max([e["count"] for e in edges] or [1])
    body = [
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="18" refY="5" markerWidth="5" markerHeight="5" '
        f'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="{BAR}"/></marker></defs>'
    ]
    for edge in edges:
        (x1, y1), (x2, y2) = places[edge["helper_id"]], places[edge["helped_id"]]
        stroke = 1 + 5 * edge["count"] / peak
        body.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{BAR}" '
            f'stroke-opacity="0.7" stroke-width="{stroke:.1f}" marker-end="url(#arrow)"/>'
        )
    for pid in ids:
        x, y = places[pid]
        anchor = "start" if x >= centre else "end"
        dx = 10 if x >= centre else -10
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="#ffffff" stroke="{INK}" stroke-width="2"/>'
            f'<text x="{x + dx:.1f}" y="{y + 4:.1f}" text-anchor="{anchor}" font-size="12" fill="{INK}">'
            f"{escape(names[pid])}</text>"
        )
    return _svg(size, size, title, desc, body)
