"""Review action items: what the continuous-improvement reviews asked for and what became of it.

Each review turns low capacity, low fidelity and overdue work into action items (tasks); system
barriers go straight to the state team (escalated), and so does any item left overdue too long.
Status is told as of the year's end: completed, withdrawn (its stage ended first) or still open.
"""

from __future__ import annotations

from collections import Counter

from domain.drivers import Driver
from report import charts
from report.model import Chart, Section, Table
from store.report_queries import ActionItem

OPEN, COMPLETED, WITHDRAWN = "Open", "Completed", "Withdrawn"
STATUS_COLORS = {OPEN: "#D55E00", COMPLETED: "#009E73", WITHDRAWN: "#999999"}
NO_DRIVER = "Not driver-specific"


def status(item: ActionItem) -> str:
    if item.completed_at is not None:
        return COMPLETED
    if item.withdrawn_at is not None:
        return WITHDRAWN
    return OPEN


def section(items: list[ActionItem], regions: list[str]) -> Section:
    out = Section(
        "action-items", "Review action items",
        paragraphs=[
            "Continuous-improvement reviews (monthly in Initial Implementation, quarterly "
            "otherwise) read each site's capacity and fidelity data and assign action items: "
            "one per driver below goal, one for low fidelity, one for overdue work. Items naming "
            "a system barrier are escalated to the state team at once; any item overdue long "
            "enough is escalated too.",
            "Items assigned during the year, with their status at the year's end."])
    if not items:
        out.notes.append("No review assigned an action item during the year.")
        return out
    out.charts += [_by_region(items, regions), _by_driver(items)]
    return out


def _by_region(items: list[ActionItem], regions: list[str]) -> Chart:
    counts = Counter((i.region, status(i)) for i in items)
    escalated = Counter(i.region for i in items if i.escalated_at is not None)
    barriers = Counter(i.region for i in items if i.system_barrier)
    groups = [*regions, *sorted({i.region for i in items} - set(regions))]
    rows = [[g, str(sum(counts[(g, s)] for s in STATUS_COLORS)),
             *(str(counts[(g, s)]) for s in STATUS_COLORS), str(escalated[g]), str(barriers[g])]
            for g in groups]
    total = Counter(status(i) for i in items)
    rows.append(["All regions", str(len(items)), *(str(total[s]) for s in STATUS_COLORS),
                 str(sum(escalated.values())), str(sum(barriers.values()))])
    table = Table("action-items-by-region", "Action items assigned in the year, by region and "
                  "status at the year's end",
                  ["Region", "Assigned", *STATUS_COLORS, "Escalated", "System barriers"], rows,
                  total_row=True)
    png = charts.stacked_bars(groups, {s: [counts[(g, s)] for g in groups] for s in STATUS_COLORS},
                              STATUS_COLORS, "Action items by region and status at the year's end",
                              "action items")
    alt = (f"Stacked bar chart per region of action items by status at the year's end. In all: "
           f"{len(items)} assigned, {total[OPEN]} open, {total[COMPLETED]} completed, "
           f"{total[WITHDRAWN]} withdrawn; {sum(escalated.values())} escalated.")
    return Chart("chart-action-items-by-region", "Action items by region", alt, png, table)


def _by_driver(items: list[ActionItem]) -> Chart:
    names = [d.value for d in Driver] + [NO_DRIVER]
    assigned = Counter(i.driver or NO_DRIVER for i in items)
    still_open = Counter(i.driver or NO_DRIVER for i in items if status(i) == OPEN)
    escalated = Counter(i.driver or NO_DRIVER for i in items if i.escalated_at is not None)
    rows = [[n, str(assigned[n]), str(still_open[n]), str(escalated[n])] for n in names]
    table = Table("action-items-by-driver", "Action items assigned in the year, by driver",
                  ["Driver", "Assigned", "Open at the year's end", "Escalated"], rows,
                  note="Items not tied to a driver ask for a missing capacity assessment or for "
                       "overdue work to be cleared.")
    png = charts.grouped_bars(names, {"Assigned": [assigned[n] for n in names],
                                      "Open at the year's end": [still_open[n] for n in names]},
                              "Action items by Implementation Driver", "action items")
    top = ", ".join(f"{n} ({assigned[n]})" for n, _ in assigned.most_common(3))
    alt = (f"Grouped bar chart per driver of action items assigned in the year and those still "
           f"open at its end. Most items: {top}.")
    return Chart("chart-action-items-by-driver", "Action items by driver", alt, png, table)
