"""Stage progression over the year and the stage board at its end, per cohort and region.

Both come from `store.board_queries.board_at`, the read behind `rollout board`, and count each
site once with the board's rule: completed, paused and cancelled sites apart, the others by their
stage ("Not started" before their first stage is set up). The column names are the ones the
initiative workflow's status query uses, so the two can be compared directly.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from domain.board import COLUMNS, NOT_STARTED, column
from domain.stages import Stage
from report import charts
from report.model import Chart, Section, Table
from store.board_queries import BoardCell

COLORS = {NOT_STARTED: "#BBBBBB", Stage.EXPLORATION.value: "#E69F00",
          Stage.INSTALLATION.value: "#56B4E9", Stage.INITIAL_IMPLEMENTATION.value: "#0072B2",
          Stage.FULL_IMPLEMENTATION.value: "#009E73", "Completed": "#004D40",
          "Paused": "#CC79A7", "Cancelled": "#D55E00"}
YEAR_END_BY_COHORT = "year-end-by-cohort"
YEAR_END_BY_REGION = "year-end-by-region"
ALL_SITES = "All sites"


def tally(cells: list[BoardCell], at: datetime, group=lambda c: "") -> dict[str, Counter]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for c in cells:
        if c.at == at:
            counts[group(c)][column(c.stage, c.status)] += c.sites
    return counts


def progression(cells: list[BoardCell], moments: list[datetime], labels: list[str]) -> Section:
    by_moment = [tally(cells, m)[""] for m in moments]
    series = {col: [counts[col] for counts in by_moment] for col in COLUMNS}
    shown = [col for col in COLUMNS if any(series[col])] or [NOT_STARTED]
    table = Table(
        "stage-progression", "Sites per stage at the close of each month",
        ["As of", *shown, "Sites on the board"],
        [[label, *(str(counts[col]) for col in shown), str(sum(counts.values()))]
         for label, counts in zip(labels, by_moment)],
        note="Stages with no site all year are left out of this table.")
    end = by_moment[-1]
    alt = (f"Stacked bar chart of the number of sites in each stage at the close of each month, "
           f"from {labels[0]} to "
           f"{labels[-1]}. At the year's end: " + _sentence(end) + ".")
    png = charts.stacked_bars(labels, {col: series[col] for col in shown}, COLORS,
                              "Sites per stage at the close of each month", "sites")
    return Section(
        "stage-progression", "Stage progression over the year",
        paragraphs=["How many sites stood in each implementation stage at the close of every "
                    "month, from the stage history recorded in the event store (the same read "
                    "as the rollout board command). Each site counts once: completed, paused "
                    "and cancelled sites apart, the others by their stage."],
        charts=[Chart("chart-stage-progression", "Sites per stage over the year", alt, png, table)])


def year_end(cells: list[BoardCell], end: datetime, end_label: str,
             unstarted_cohorts: list[str], cohort_names: dict[str, str] | None = None) -> Section:
    """`cohort_names` (the plan's, when given) label the cohorts; without them, their ids."""
    names = cohort_names or {}
    by_cohort = tally(cells, end, lambda c: names.get(c.cohort_id, c.cohort_id))
    by_region = tally(cells, end, lambda c: c.region)
    section = Section(
        "year-end-board", f"Stage board at the year's end ({end_label})",
        paragraphs=["Sites per stage when the year closed, by cohort and by region. These are "
                    "counts of sites (districts and schools), not of people, so none is "
                    "suppressed."])
    for key, title, counts in ((YEAR_END_BY_COHORT, "cohort", by_cohort),
                               (YEAR_END_BY_REGION, "region", by_region)):
        table = _board_table(key, f"Sites per stage at the year's end, by {title}", title, counts)
        png = charts.stacked_barh(
            sorted(counts), {col: [counts[g][col] for g in sorted(counts)] for col in COLUMNS},
            COLORS, f"Stage board at the year's end, by {title}", "sites")
        alt = (f"Horizontal stacked bar chart: one bar per {title}, divided by stage. " +
               "; ".join(f"{g}: {_sentence(counts[g])}" for g in sorted(counts)) + ".")
        section.charts.append(Chart(f"chart-{key}", f"Year-end board by {title}", alt, png, table))
    if unstarted_cohorts:
        section.notes.append(
            f"Not on the board: cohort{'s' if len(unstarted_cohorts) > 1 else ''} "
            f"{', '.join(names.get(c, c) for c in unstarted_cohorts)} had not started by the "
            "year's end, so "
            f"{'their' if len(unstarted_cohorts) > 1 else 'its'} sites were not yet enrolled.")
    return section


def totals(cells: list[BoardCell], at: datetime) -> Counter:
    return tally(cells, at)[""]


def _board_table(key: str, caption: str, title: str, counts: dict[str, Counter]) -> Table:
    total = sum(counts.values(), Counter())
    rows = [[group, *(str(counts[group][col]) for col in COLUMNS), str(sum(counts[group].values()))]
            for group in sorted(counts)]
    rows.append([ALL_SITES, *(str(total[col]) for col in COLUMNS), str(sum(total.values()))])
    return Table(key, caption, [title.capitalize(), *COLUMNS, "Total"], rows, total_row=True)


def _sentence(counts: Counter) -> str:
    parts = [f"{counts[col]} {col}" for col in COLUMNS if counts[col]]
    return ", ".join(parts) if parts else "no sites"
