"""Coaching and professional development delivered during the year, by month and by region.

Sessions and cycles are counted from their events (PD sessions scheduled for a day in the year,
held, coaching cycles started and completed); coaching steps from the task inbox. PD attendees
and practitioners observed in coaching are people, so those totals go through small-cell
suppression, with a complementary cell hidden when the all-regions total would give one away.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from report import charts
from report.model import Chart, Section, Table
from store.report_queries import Delivery
from report.suppression import HIDDEN, Suppressor
from report.trends import month_of

TITLE = "Coaching and professional development delivered"
SCHEDULED, HELD = "PdSessionScheduled", "PdSessionHeld"
STARTED, COMPLETED = "CoachingCycleStarted", "CoachingCycleCompleted"
ALL = "All regions"


def section(deliveries: list[Delivery], steps: dict[str, int], months: list[date],
            regions: list[str], privacy: Suppressor) -> Section:
    out = Section(
        "delivery", TITLE,
        paragraphs=[
            "PD sessions scheduled for a day in the year and those reported held; coaching "
            "cycles (plan, observe, debrief with feedback) started and completed, and their "
            "steps completed. Cycles run every few weeks in Initial and Full Implementation.",
            "Attendees and practitioners observed are counts of people: a person at two "
            "sessions, or observed in two cycles, counts twice."])
    out.charts.append(_by_month(deliveries, months))
    out.charts.append(_by_region(deliveries, steps, regions, privacy))
    return out


def _by_month(deliveries: list[Delivery], months: list[date]) -> Chart:
    counts = Counter((d.kind, month_of(d.occurred_at)) for d in deliveries)
    labels = [f"{m:%b %Y}" for m in months]
    kinds = {"PD sessions scheduled": SCHEDULED, "PD sessions held": HELD,
             "Coaching cycles started": STARTED, "Coaching cycles completed": COMPLETED}
    rows = [[label, *(str(counts[(kind, m)]) for kind in kinds.values())]
            for label, m in zip(labels, months)]
    rows.append(["Year", *(str(sum(counts[(kind, m)] for m in months)) for kind in kinds.values())])
    table = Table("delivery-by-month", "Sessions and cycles per month", ["Month", *kinds], rows,
                  total_row=True)
    drawn = {"PD sessions held": [counts[(HELD, m)] for m in months],
             "Coaching cycles completed": [counts[(COMPLETED, m)] for m in months]}
    png = charts.grouped_bars(labels, drawn, "PD sessions held and coaching cycles completed, "
                              "by month", "sessions / cycles")
    alt = (f"Grouped bar chart per month from {labels[0]} to {labels[-1]}: PD sessions held and "
           f"coaching cycles completed. Over the year: {rows[-1][2]} PD sessions held and "
           f"{rows[-1][4]} coaching cycles completed.")
    return Chart("chart-delivery-by-month", "Delivery by month", alt, png, table)


def _by_region(deliveries: list[Delivery], steps: dict[str, int], regions: list[str],
               privacy: Suppressor) -> Chart:
    sessions = Counter(d.region for d in deliveries if d.kind == HELD)
    cycles = Counter(d.region for d in deliveries if d.kind == COMPLETED)
    attendees: Counter = Counter()
    observed: Counter = Counter()
    for d in deliveries:
        if d.kind == HELD:
            attendees[d.region] += d.people or 0
        elif d.kind == COMPLETED:
            observed[d.region] += d.people or 0
    hidden_attendees = privacy.row(TITLE, "PD attendees", {r: attendees[r] for r in regions})
    hidden_observed = privacy.row(TITLE, "practitioners observed in coaching cycles",
                                  {r: observed[r] for r in regions})
    rows = [[r, str(sessions[r]), HIDDEN if r in hidden_attendees else str(attendees[r]),
             str(cycles[r]), HIDDEN if r in hidden_observed else str(observed[r]),
             str(steps.get(r, 0))] for r in regions]
    rows.append([ALL, str(sum(sessions.values())),
                 privacy.total(TITLE, ALL, "PD attendees", sum(attendees.values())),
                 str(sum(cycles.values())),
                 privacy.total(TITLE, ALL, "practitioners observed in coaching cycles",
                               sum(observed.values())),
                 str(sum(steps.values()))])
    table = Table("delivery-by-region", "PD and coaching delivered in the year, by region",
                  ["Region", "PD sessions held", "PD attendees", "Coaching cycles completed",
                   "Practitioners observed", "Coaching steps completed"], rows, total_row=True)
    png = charts.grouped_bars(regions, {"PD sessions held": [sessions[r] for r in regions],
                                        "Coaching cycles completed": [cycles[r] for r in regions]},
                              "PD sessions held and coaching cycles completed, by region",
                              "sessions / cycles", rotate=False)
    alt = ("Grouped bar chart per region of PD sessions held and coaching cycles completed in "
           "the year: " + "; ".join(f"{r} {sessions[r]} sessions, {cycles[r]} cycles"
                                    for r in regions) + ".")
    return Chart("chart-delivery-by-region", "Delivery by region", alt, png, table,
                 note="The chart counts sessions and cycles (not people); attendee and "
                      "observation counts are in the table, with small cells suppressed.")
