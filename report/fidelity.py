"""Fidelity over the year, by region: the share of practitioners meeting the practice's fidelity
criterion, pooled over each site's latest fidelity assessment at every month's close.

Practitioners are people, so the pooled counts go through small-cell suppression: a region's
month is hidden (counts and percent) when its practitioners assessed, those meeting the criterion
or those not meeting it number fewer than the minimum, and another region's beside it when a lone
hidden one could be recovered from the statewide figure.
"""

from __future__ import annotations

from datetime import datetime

from domain.criteria import ExitCriteria
from report import charts
from report.model import Chart, Section, Table
from store.report_queries import Score
from report.suppression import HIDDEN, Suppressor
from report.trends import (
    Pooled, coinciding, latest_as_of, percent_text, pooled_fidelity,
)

STATEWIDE = "Statewide"
TITLE = "Fidelity by region"


def section(scores: list[Score], moments: list[datetime], labels: list[str],
            criteria: ExitCriteria, privacy: Suppressor) -> Section:
    goal = criteria.full_implementation.fidelity_min_percent
    out = Section(
        "fidelity", TITLE,
        paragraphs=[
            "Fidelity assessments count the practitioners assessed and those meeting the "
            "practice's fidelity criterion (counts only, never names). At every month's close "
            "each site counts with its latest assessment so far; a region's figure pools its "
            "sites' practitioners.",
            f"A site reaches the plan's fidelity mark when {goal:g}% of its practitioners meet "
            "the criterion."])
    if not scores:
        out.notes.append("No fidelity assessment was recorded by the year's end.")
        return out
    snapshots = [latest_as_of(scores, m, key=lambda s: (s.stream_id,)) for m in moments]
    regions = sorted({s.region for s in scores})
    series: dict[str, list[float | None]] = {r: [] for r in [*regions, STATEWIDE]}
    rows, hidden_points = [], 0
    for label, snap in zip(labels, snapshots):
        pooled = pooled_fidelity(snap.values(), lambda s: s.region)
        state = pooled_fidelity(snap.values(), lambda s: STATEWIDE).get(STATEWIDE)
        pairs = {r: (p.meeting, p.assessed) for r, p in pooled.items()}
        hidden = privacy.parts(TITLE, "practitioners assessed and meeting fidelity",
                               {f"{r}, {label}": v for r, v in pairs.items()})
        hidden = {r for r in pooled if f"{r}, {label}" in hidden}
        if state is not None and privacy.parts(
                TITLE, "practitioners assessed and meeting fidelity",
                {f"{STATEWIDE}, {label}": (state.meeting, state.assessed)}, total_shown=False):
            hidden.add(STATEWIDE)
        cells = []
        for key in series:
            p: Pooled | None = state if key == STATEWIDE else pooled.get(key)
            if p is None:
                series[key].append(None)
                cells.append("-")
            elif key in hidden:
                series[key].append(None)
                cells.append(HIDDEN)
                hidden_points += 1
            else:
                series[key].append(p.percent)
                cells.append(f"{percent_text(p.percent)} of {p.assessed}")
        rows.append([label, *cells])
    png = charts.lines(labels, series, "Practitioners meeting the fidelity criterion, by region",
                       "percent of practitioners", goal, "site fidelity mark")
    table = Table("fidelity-by-region",
                  "Percent of practitioners meeting the fidelity criterion (of those assessed)",
                  ["As of", *series], rows,
                  note="'-' means no site of the region had been assessed yet.")
    end = ", ".join(f"{k} {percent_text(v[-1]) if v[-1] is not None else 'not shown'}"
                    for k, v in series.items())
    alt = (f"Line chart of the percent of practitioners meeting the fidelity criterion per "
           f"region and statewide, {labels[0]} to {labels[-1]}, with the {goal:g}% site mark "
           f"drawn. At the year's end: {end}.")
    note = " ".join(filter(None, [
        f"{hidden_points} point{'s' if hidden_points != 1 else ''} left out of the chart and "
        "marked 'suppressed' in the table (small cells)." if hidden_points else "",
        coinciding(series)]))
    out.charts.append(Chart("chart-fidelity-by-region", TITLE, alt, png, table, note))
    out.tables.append(_sites_at_mark(snapshots[-1], regions, goal, labels[-1]))
    return out


def _sites_at_mark(snapshot: dict[tuple, Score], regions: list[str], goal: float,
                   end_label: str) -> Table:
    rows = []
    for region in [*regions, None]:
        latest = [s for s in snapshot.values() if region is None or s.region == region]
        met = sum(1 for s in latest if s.percent >= goal)
        rows.append([region or "All regions", str(len(latest)), str(met)])
    return Table("fidelity-sites-at-mark",
                 f"Sites whose latest fidelity assessment reached {goal:g}%, {end_label}",
                 ["Region", "Sites assessed", f"Sites at {goal:g}% or more"], rows,
                 note="Counts of sites, not of people.", total_row=True)
