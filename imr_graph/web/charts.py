"""Charts drawn on the server as SVG: no JavaScript chart library, readable without colour."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

UPHELD = "#8a3b12"  # dark orange: 5.9:1 on white
OVERTURNED = "#1f5f8b"  # dark blue: 6.6:1 on white


@dataclass(frozen=True)
class Bar:
    """One row of a stacked bar chart: a label and its upheld and overturned counts (links are in
    the table beside it: an SVG image holds no control)."""

    label: str
    upheld: int
    overturned: int

    @property
    def total(self) -> int:
        return self.upheld + self.overturned


def stacked_bars(bars: list[Bar], title: str, width: int = 640) -> Markup:
    """Horizontal bars, upheld then overturned (hatched), each with its counts written out."""
    row, label_w, gap = 22, 250, 6
    plot_w = width - label_w - 120
    top = max((b.total for b in bars), default=1) or 1
    h = len(bars) * (row + gap) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{h}" '
        f'viewBox="0 0 {width} {h}" class="chart">',
        f"<title>{escape(title)}</title>",
        _defs(),
    ]
    for i, b in enumerate(bars):
        y = i * (row + gap)
        wu = plot_w * b.upheld / top
        wo = plot_w * b.overturned / top
        name = escape(b.label if len(b.label) <= 38 else b.label[:36] + "…")
        text = f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{name}</text>'
        parts.append(
            f"<g><title>{escape(b.label)}: {b.upheld} upheld, {b.overturned} overturned</title>"
            f"{text}"
            f'<rect x="{label_w}" y="{y}" width="{wu:.1f}" height="{row}" fill="{UPHELD}"/>'
            f'<rect x="{label_w + wu:.1f}" y="{y}" width="{wo:.1f}" height="{row}" '
            f'fill="url(#hatch)" stroke="{OVERTURNED}"/>'
            f'<text x="{label_w + wu + wo + 6:.1f}" y="{y + 15}">'
            f"{b.upheld} up / {b.overturned} over</text></g>"
        )
    ly = len(bars) * (row + gap) + 14
    parts.append(
        f'<rect x="{label_w}" y="{ly - 10}" width="12" height="12" fill="{UPHELD}"/>'
        f'<text x="{label_w + 18}" y="{ly}">upheld (denial stands)</text>'
        f'<rect x="{label_w + 200}" y="{ly - 10}" width="12" height="12" fill="url(#hatch)" '
        f'stroke="{OVERTURNED}"/>'
        f'<text x="{label_w + 218}" y="{ly}">overturned (approved)</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def _defs() -> str:
    return (
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="#e6f0f7"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{OVERTURNED}" stroke-width="3"/>'
        "</pattern></defs>"
    )
