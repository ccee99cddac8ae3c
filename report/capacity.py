"""Capacity over the year: by Implementation Driver and by region, from the capacity assessments.

At each month's close every site counts with its latest capacity assessment so far (teams
assess at the start of a stage and about twice a school year), and the figure is the mean over
the sites assessed by then. Scores are percents of possible points, not counts of people.
"""

from __future__ import annotations

from datetime import datetime

from domain.criteria import ExitCriteria
from domain.drivers import DriverGroup, drivers_in, Driver
from report import charts
from report.model import Chart, Section, Table
from store.report_queries import Score
from report.trends import coinciding, latest_as_of, mean_or_none, percent_text

OVERALL = "overall"
STATEWIDE = "Statewide"


def section(scores: list[Score], moments: list[datetime], labels: list[str],
            criteria: ExitCriteria) -> Section:
    goal = criteria.initial_implementation.capacity_min_percent
    driver_goal = criteria.initial_implementation.capacity_min_percent_per_driver or goal
    snapshots = [latest_as_of(scores, m) for m in moments]
    regions = sorted({s.region for s in scores})
    out = Section(
        "capacity", "Capacity by driver and region",
        paragraphs=[
            "Capacity assessments score each item 0 (not in place), 1 (partly) or 2 (fully in "
            "place); each driver's figure is the percent of its possible points. At every "
            "month's close each site counts with its latest assessment so far; the figures are "
            "means over the sites assessed by then.",
            f"The plan's goal for leaving Initial Implementation is {goal:g}% overall"
            + (f" and {driver_goal:g}% for every driver." if driver_goal != goal else ".")])
    if not scores:
        out.notes.append("No capacity assessment was recorded by the year's end.")
        return out
    out.charts += [_by_driver(snapshots, labels, driver_goal),
                   _by_region(snapshots, labels, regions, goal),
                   _heatmap(snapshots[-1], regions, driver_goal, labels[-1])]
    out.tables.append(_meeting_goal(snapshots[-1], regions, goal))
    return out


def _mean(snapshot: dict[tuple, Score], driver: str, region: str | None = None) -> float | None:
    return mean_or_none([s.percent for (_, key), s in snapshot.items()
                         if key == driver and (region is None or s.region == region)])


def _sites(snapshot: dict[tuple, Score]) -> int:
    return len({stream for stream, key in snapshot if key == OVERALL})


def _by_driver(snapshots, labels, goal) -> Chart:
    drivers = [d.value for d in Driver]
    means = {d: [_mean(snap, d) for snap in snapshots] for d in drivers}
    panels = {f"{group.value} drivers": {d.value: means[d.value] for d in drivers_in(group)}
              for group in DriverGroup}
    png = charts.panels_of_lines(labels, panels, "Mean capacity by Implementation Driver",
                                 "percent of points", goal, "driver goal")
    table = Table("capacity-by-driver", "Mean capacity (percent of points) by driver",
                  ["As of", *drivers, "Sites assessed"],
                  [[label, *(percent_text(means[d][i]) for d in drivers), str(_sites(snap))]
                   for i, (label, snap) in enumerate(zip(labels, snapshots))])
    end = ", ".join(f"{d} {percent_text(means[d][-1])}" for d in drivers)
    alt = (f"Three line charts, one per driver group (Competency, Organization, Leadership), of "
           f"the mean capacity score of each of the nine drivers from {labels[0]} to "
           f"{labels[-1]}, with the {goal:g}% driver goal marked. At the year's end: {end}.")
    return Chart("chart-capacity-by-driver", "Capacity by driver", alt, png, table,
                 coinciding(means))


def _by_region(snapshots, labels, regions, goal) -> Chart:
    series = {r: [_mean(snap, OVERALL, r) for snap in snapshots] for r in regions}
    series[STATEWIDE] = [_mean(snap, OVERALL) for snap in snapshots]
    png = charts.lines(labels, series, "Mean overall capacity by region", "percent of points",
                       goal, "goal")
    table = Table("capacity-by-region", "Mean overall capacity (percent of points) by region",
                  ["As of", *series], [[label, *(percent_text(series[k][i]) for k in series)]
                                       for i, label in enumerate(labels)])
    end = ", ".join(f"{k} {percent_text(v[-1])}" for k, v in series.items())
    alt = (f"Line chart of the mean overall capacity score per region and statewide from "
           f"{labels[0]} to {labels[-1]}, with the {goal:g}% goal marked. At the year's end: "
           f"{end}.")
    return Chart("chart-capacity-by-region", "Capacity by region", alt, png, table,
                 coinciding(series))


def _heatmap(snapshot, regions, goal, end_label) -> Chart:
    drivers = [d.value for d in Driver]
    values = [[_mean(snapshot, d, r) for d in drivers] for r in regions]
    png = charts.heatmap(regions, drivers, values,
                         f"Mean capacity by region and driver, {end_label}", goal)
    table = Table("capacity-region-driver",
                  f"Mean capacity (percent of points) by region and driver, {end_label}",
                  ["Region", *drivers],
                  [[r, *(percent_text(v) for v in row)] for r, row in zip(regions, values)],
                  note=f"In the chart, * marks a mean below the {goal:g}% driver goal.")
    lows = [f"{d} in {r}" for r, row in zip(regions, values) for d, v in zip(drivers, row)
            if v is not None and v < goal]
    alt = (f"Heat map of mean capacity per region (rows) and driver (columns) at the year's end; "
           f"darker is higher. {len(lows)} of {len(regions) * len(drivers)} cells are below the "
           f"{goal:g}% driver goal" + (f", e.g. {', '.join(lows[:4])}." if lows else "."))
    return Chart("chart-capacity-region-driver", "Capacity by region and driver", alt, png, table)


def _meeting_goal(snapshot, regions, goal) -> Table:
    rows = []
    for region in [*regions, None]:
        overall = [s.percent for (_, key), s in snapshot.items()
                   if key == OVERALL and (region is None or s.region == region)]
        met = sum(1 for p in overall if p >= goal)
        rows.append([region or "All regions", str(len(overall)), str(met),
                     percent_text(100 * met / len(overall) if overall else None)])
    return Table("capacity-goal-met", f"Sites at or above the {goal:g}% overall capacity goal at "
                 "the year's end (latest assessment)",
                 ["Region", "Sites assessed", f"Sites at {goal:g}% or more", "Share of sites"],
                 rows, total_row=True)
