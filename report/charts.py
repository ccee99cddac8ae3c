"""The report's charts: matplotlib figures drawn off-screen (Agg) into PNG bytes.

Figures are built with `matplotlib.figure.Figure`, never pyplot, so no global state is kept
between charts and nothing needs a display. Colours follow the Okabe-Ito palette (readable with
colour-vision deficiencies), and every series also differs by marker or hatch where lines cross.
"""

from __future__ import annotations

import io
import math
import textwrap
from typing import Sequence

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000", "#999999"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "h"]
WIDTH, HEIGHT, DPI = 9.0, 4.2, 100
LEGEND_CHARS = 28
"""A legend entry wraps at this many characters: a long cohort or region name (the names the
plan gives) takes more lines, not the plot's width."""
LABEL_CHARS = 30
"""A category label (a bar's name) wraps likewise."""


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes, cropped to what is drawn (legends and labels outside the plot
    included) with a margin, so nothing is cut at an edge."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight",
                metadata={"Software": None})
    return buffer.getvalue()


def _figure(height: float = HEIGHT, width: float = WIDTH) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig


def _style(ax, title: str, ylabel: str = "", xlabel: str = "") -> None:
    ax.set_title(title, fontsize=12, loc="left")
    ax.set_ylabel(ylabel)
    ax.set_xlabel(xlabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)


def _ticks(ax, labels: Sequence[str]) -> None:
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(_wrapped(labels), rotation=45, ha="right", fontsize=8)


def _wrapped(labels: Sequence[str], width: int = LABEL_CHARS) -> list[str]:
    return [textwrap.fill(str(label), width, break_long_words=False) for label in labels]


def _legend(ax) -> None:
    """The legend beside the plot, each entry wrapped so a long name cannot squeeze the plot."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, _wrapped(labels, LEGEND_CHARS), loc="upper left",
                  bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)


def _counts_axis(ax, axis: str = "y") -> None:
    """Whole numbers only on an axis of counts (no '0.5 sessions')."""
    (ax.yaxis if axis == "y" else ax.xaxis).get_major_locator().set_params(integer=True)


def stacked_barh(categories: Sequence[str], series: dict[str, list[int]],
                 colors: dict[str, str], title: str, xlabel: str) -> bytes:
    fig = _figure(height=max(2.2, 0.45 * len(categories) + 1.4))
    ax = fig.add_subplot()
    left = [0] * len(categories)
    positions = list(range(len(categories)))[::-1]
    for name, values in series.items():
        if not any(values):
            continue
        bars = ax.barh(positions, values, left=left, color=colors[name], label=name,
                       edgecolor="white", linewidth=0.5)
        ax.bar_label(bars, labels=[str(v) if v else "" for v in values], label_type="center",
                     fontsize=7, color="white" if name != "not started" else "black")
        left = [a + b for a, b in zip(left, values)]
    ax.set_yticks(positions)
    ax.set_yticklabels(_wrapped(categories), fontsize=9)
    _style(ax, title, xlabel=xlabel)
    ax.grid(axis="x", alpha=0.3)
    ax.grid(axis="y", visible=False)
    _counts_axis(ax, "x")
    _legend(ax)
    return to_png(fig)


def lines(labels: Sequence[str], series: dict[str, list[float | None]], title: str, ylabel: str,
          goal: float | None = None, goal_label: str = "goal", percent: bool = True) -> bytes:
    fig = _figure()
    ax = fig.add_subplot()
    _draw_lines(ax, labels, series)
    _finish_lines(ax, labels, title, ylabel, goal, goal_label, percent)
    _legend(ax)
    return to_png(fig)


def panels_of_lines(labels: Sequence[str], panels: dict[str, dict[str, list[float | None]]],
                    title: str, ylabel: str, goal: float | None = None,
                    goal_label: str = "goal") -> bytes:
    """One small line chart per panel (e.g. per driver group), sharing the y axis."""
    fig = Figure(figsize=(WIDTH, 3.0 * len(panels) + 0.6), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    fig.suptitle(title, x=0.01, ha="left", fontsize=12)
    for ax, (name, series) in zip(axes, panels.items()):
        _draw_lines(ax, labels, series)
        _finish_lines(ax, labels, name, ylabel, goal, goal_label, True)
        ax.title.set_fontsize(10)
        _legend(ax)
    return to_png(fig)


def _draw_lines(ax, labels: Sequence[str], series: dict[str, list[float | None]]) -> None:
    for i, (name, values) in enumerate(series.items()):
        xs = [x for x, v in enumerate(values) if v is not None]
        ys = [v for v in values if v is not None]
        if not xs:
            continue
        ax.plot(xs, ys, label=name, color=PALETTE[i % len(PALETTE)],
                marker=MARKERS[i % len(MARKERS)], markersize=4, linewidth=1.6)


def _finish_lines(ax, labels, title, ylabel, goal, goal_label, percent) -> None:
    if goal is not None:
        ax.axhline(goal, color="#555555", linestyle="--", linewidth=1)
        ax.annotate(f"{goal_label} {goal:g}%" if percent else f"{goal_label} {goal:g}",
                    xy=(0, goal), xytext=(2, 3), textcoords="offset points", fontsize=7,
                    color="#555555")
    if percent:
        ax.set_ylim(0, 105)
    _style(ax, title, ylabel)
    _ticks(ax, labels)
    ax.set_xlim(-0.3, max(len(labels) - 0.7, 0.7))


def grouped_bars(categories: Sequence[str], series: dict[str, list[int]], title: str,
                 ylabel: str, rotate: bool = True) -> bytes:
    fig = _figure()
    ax = fig.add_subplot()
    count = max(len(series), 1)
    width = 0.8 / count
    hatches = ["", "//", "..", "xx", "\\\\"]
    for i, (name, values) in enumerate(series.items()):
        offsets = [x - 0.4 + width * (i + 0.5) for x in range(len(categories))]
        ax.bar(offsets, values, width=width, label=name, color=PALETTE[i % len(PALETTE)],
               hatch=hatches[i % len(hatches)], edgecolor="white", linewidth=0.5)
    _style(ax, title, ylabel)
    if rotate:
        _ticks(ax, categories)
    else:
        ax.set_xticks(range(len(categories)))
        ax.set_xticklabels(_wrapped(categories, max(8, 90 // max(len(categories), 1))),
                           fontsize=8)
    _counts_axis(ax)
    _legend(ax)
    return to_png(fig)


def stacked_bars(categories: Sequence[str], series: dict[str, list[int]],
                 colors: dict[str, str], title: str, ylabel: str) -> bytes:
    fig = _figure()
    ax = fig.add_subplot()
    bottom = [0] * len(categories)
    for name, values in series.items():
        ax.bar(range(len(categories)), values, bottom=bottom, label=name, color=colors[name],
               edgecolor="white", linewidth=0.5)
        bottom = [a + b for a, b in zip(bottom, values)]
    _style(ax, title, ylabel)
    ax.set_xticks(range(len(categories)))
    ax.set_xticklabels(_wrapped(categories), fontsize=8,
                       rotation=30 if len(categories) > 6 else 0,
                       ha="right" if len(categories) > 6 else "center")
    _counts_axis(ax)
    _legend(ax)
    return to_png(fig)


def heatmap(rows: Sequence[str], columns: Sequence[str], values: list[list[float | None]],
            title: str, goal: float | None = None) -> bytes:
    """Mean percent per row and column, each cell labelled; empty cells stay blank."""
    fig = _figure(height=max(2.6, 0.42 * len(rows) + 2.2))
    ax = fig.add_subplot()
    grid = [[float("nan") if v is None else v for v in row] for row in values]
    image = ax.imshow(grid, cmap="Blues", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels(columns, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(_wrapped(rows), fontsize=9)
    for r, row in enumerate(values):
        for c, v in enumerate(row):
            if v is None:
                continue
            below = goal is not None and v < goal
            ax.text(c, r, f"{v:.0f}{'*' if below else ''}", ha="center", va="center", fontsize=8,
                    color="white" if v >= 60 else "black")
    ax.set_title(title, fontsize=12, loc="left")
    fig.colorbar(image, ax=ax, label="percent of points", shrink=0.8)
    return to_png(fig)


def simr_progress(labels: Sequence[str], baseline: float, targets: Sequence[float | None],
                  actuals: Sequence[float | None], title: str,
                  direction: str = "increase") -> bytes:
    """The SiMR by FFY: its targets (dashed), its actuals (solid) and the baseline (dotted),
    every point labelled with its value; the axis spans the figures, not 0 to 100, so a change
    of a few points is visible (the axis says where it starts)."""
    fig = _figure(height=3.8)
    ax = fig.add_subplot()
    ax.axhline(baseline, color="#555555", linestyle=":", linewidth=1.2,
               label=f"baseline {baseline:.1f}%")
    for values, name, style, offset in ((targets, "target", dict(
            color=PALETTE[1], linestyle="--", marker="s", linewidth=1.4), 7),
            (actuals, "actual", dict(color=PALETTE[0], marker="o", linewidth=2.2), -13)):
        points = [(x, v) for x, v in enumerate(values) if v is not None]
        if not points:
            continue
        xs, ys = zip(*points)
        ax.plot(xs, ys, label=name, markersize=6, **style)
        for x, y in points:
            ax.annotate(f"{y:.1f}%", xy=(x, y), xytext=(0, offset), textcoords="offset points",
                        ha="center", fontsize=8, color=style["color"])
    shown = [v for v in (baseline, *targets, *actuals) if v is not None]
    low = max(0.0, math.floor((min(shown) - 4) / 5) * 5)
    high = min(100.0, math.ceil((max(shown) + 4) / 5) * 5)
    ax.set_ylim(low, high)
    _style(ax, title, "percent" + (" (higher is better)" if direction == "increase"
                                   else " (lower is better)"))
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=9)
    ax.set_xlim(-0.5, len(labels) - 0.5)
    _legend(ax)
    return to_png(fig)
