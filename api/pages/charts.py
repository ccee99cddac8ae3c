"""A horizontal stacked bar chart as inline SVG: drawn on the server, no script, no download.

Each bar is a group (a cohort, a region, a moment) and each coloured segment a board column
(a stage, or completed/paused/cancelled). Segments link to the sites they count, and carry a
<title> so a screen reader or a hover says what they are; pages print the same numbers in a
table next to the chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from domain.board import NOT_STARTED
from domain.stages import Stage

COLORS: dict[str, tuple[str, str]] = {
    NOT_STARTED: ("#8c8c8c", "#000"),
    Stage.EXPLORATION.value: ("#e69f00", "#000"),
    Stage.INSTALLATION.value: ("#56b4e9", "#000"),
    Stage.INITIAL_IMPLEMENTATION.value: ("#0072b2", "#fff"),
    Stage.FULL_IMPLEMENTATION.value: ("#009e73", "#000"),
    "Completed": ("#004d38", "#fff"),
    "Paused": ("#cc79a7", "#000"),
    "Cancelled": ("#d55e00", "#000"),
}
"""Segment fill and text colour per column (Okabe-Ito, readable with colour-blindness)."""

LABEL_WIDTH, BAR_AREA, BAR_HEIGHT, GAP, LEGEND_ROW = 190, 560, 26, 10, 22
CHAR_WIDTH = 6.8
"""Rough width of one legend character at 13px, to lay the legend out without overlaps."""
ALWAYS_IN_LEGEND = {s.value for s in Stage}


@dataclass
class Bar:
    label: str
    counts: dict[str, int]
    links: dict[str, str] = field(default_factory=dict)
    """column -> URL of the sites that segment counts"""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def stacked_bars(title: str, bars: list[Bar], columns: list[str], *, unit: str = "sites",
                 chart_id: str = "chart") -> str:
    """The chart's SVG markup (every text escaped). Not role="img": its segments are links a
    keyboard or screen reader must reach; the title and description label the whole."""
    widest = max((b.total for b in bars), default=0) or 1
    width = LABEL_WIDTH + BAR_AREA + 50
    shown = [c for c in columns if c in ALWAYS_IN_LEGEND or any(b.counts.get(c) for b in bars)]
    legend = _legend_places(shown)
    legend_rows = 1 + max((row for _, _, row in legend), default=0)
    height = len(bars) * (BAR_HEIGHT + GAP) + GAP + legend_rows * LEGEND_ROW + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="group" '
           f'aria-labelledby="{chart_id}-title" aria-describedby="{chart_id}-desc" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
           f'<title id="{chart_id}-title">{escape(title)}</title>',
           f'<desc id="{chart_id}-desc">{escape(_describe(bars, columns, unit))}</desc>']
    for row, bar in enumerate(bars):
        y = GAP + row * (BAR_HEIGHT + GAP)
        out.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT * 0.68:.1f}" '
                   f'text-anchor="end" class="bar-label">{escape(bar.label)}</text>')
        x = float(LABEL_WIDTH)
        for column in columns:
            n = bar.counts.get(column, 0)
            if not n:
                continue
            w = BAR_AREA * n / widest
            fill, ink = COLORS.get(column, ("#444", "#fff"))
            segment = (f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR_HEIGHT}" '
                       f'fill="{fill}"><title>{escape(bar.label)}, {escape(column)}: {n} '
                       f'{unit.removesuffix("s") if n == 1 else unit}</title></rect>')
            if w >= 16:
                segment += (f'<text x="{x + w / 2:.1f}" y="{y + BAR_HEIGHT * 0.68:.1f}" '
                            f'text-anchor="middle" fill="{ink}" class="bar-count">{n}</text>')
            link = bar.links.get(column)
            out.append(f'<a href="{escape(link)}">{segment}</a>' if link else segment)
            x += w
        out.append(f'<text x="{x + 6:.1f}" y="{y + BAR_HEIGHT * 0.68:.1f}" class="bar-total">'
                   f'{bar.total}</text>')
    legend_y = GAP + len(bars) * (BAR_HEIGHT + GAP) + 4
    for column, lx, row in legend:
        ly = legend_y + row * LEGEND_ROW
        fill, _ = COLORS.get(column, ("#444", "#fff"))
        out.append(f'<rect x="{lx:.0f}" y="{ly}" width="14" height="14" fill="{fill}"/>'
                   f'<text x="{lx + 20:.0f}" y="{ly + 12}" class="legend">{escape(column)}</text>')
    out.append("</svg>")
    return "".join(out)


def _legend_places(columns: list[str]) -> list[tuple[str, float, int]]:
    """(column, x, row) for each legend entry, wrapping to a new row at the bar area's edge."""
    places, x, row = [], float(LABEL_WIDTH), 0
    for column in columns:
        width = 20 + CHAR_WIDTH * len(column) + 18
        if x + width > LABEL_WIDTH + BAR_AREA + 40 and x > LABEL_WIDTH:
            x, row = float(LABEL_WIDTH), row + 1
        places.append((column, x, row))
        x += width
    return places


def _describe(bars: list[Bar], columns: list[str], unit: str) -> str:
    parts = []
    for bar in bars:
        counted = ", ".join(f"{bar.counts[c]} {c}" for c in columns if bar.counts.get(c))
        parts.append(f"{bar.label}: {counted or 'no ' + unit}")
    return "; ".join(parts)
