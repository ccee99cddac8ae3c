"""Building the annual SSIP progress report of one initiative from the event store.

Reads (store/report_queries.py, the stage board and the SSIP's record), then shapes each section
(SiMR progress, board, capacity, fidelity, delivery, actions, and the SSIP's infrastructure,
stakeholders, changes and reflection), then the notes about the data itself. Each step is announced to
`progress`, so a command can show how far it has got; a state-scale year draws a dozen charts over
tens of thousands of rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import asyncpg

from domain.plan import Plan
from domain.privacy import MIN_CELL
from domain.ssip import ffy_label
from report import actions, board, capacity, delivery, fidelity
from report import ssip as ssip_sections
from report.model import Report, Section, Table
from report.period import ReportYear, moment_label, month_ends, school_year
from report.suppression import Suppressor
from report.trends import months_of
from store import board_queries, report_queries, ssip_stream
from store.initiative_queries import plan_min_cells

Progress = Callable[[str], None]
"""Called as each step starts, with what the step does."""

STEPS = ("Reading the initiative", "Reading the stage history", "Reading capacity assessments",
         "Reading fidelity assessments", "Reading PD and coaching", "Reading review action items",
         "Reading the SSIP", "Drawing the stage charts", "Drawing the capacity charts",
         "Drawing the fidelity chart", "Drawing the delivery charts",
         "Drawing the action-item charts", "Drawing the SiMR chart")


class ReportError(Exception):
    """The report cannot be made; the message is one sentence naming what and why."""

    def __init__(self, message: str, not_found: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found


@dataclass(frozen=True)
class ReportRequest:
    initiative_id: str
    year: int
    min_cell: int | None = None
    """None: the plan's minimum cell size when the plan is given, else 10."""
    plan: Plan | None = None


async def build_report(pool: asyncpg.Pool, request: ReportRequest,
                       progress: Progress = lambda step: None,
                       now: datetime | None = None) -> Report:
    plan, initiative_id = request.plan, request.initiative_id
    if plan is not None and plan.initiative.id != initiative_id and \
            not initiative_id.startswith(f"{plan.initiative.id}-"):
        raise ReportError(f"The plan is for initiative '{plan.initiative.id}', not "
                          f"'{initiative_id}'.")
    try:
        period = school_year(request.year, plan.calendar if plan else None)
        privacy = Suppressor(await _min_cell(pool, request))
    except ValueError as bad:
        raise ReportError(f"Invalid report settings: {bad}.") from None
    steps = iter(STEPS)

    progress(next(steps))
    launch = await report_queries.launch(pool, initiative_id)
    plan = _plan_as_launched(plan, initiative_id, launch)
    span = await board_queries.history_span(pool, initiative_id)
    if span is None:
        known = await report_queries.known_initiatives(pool)
        hint = f" Initiatives recorded: {', '.join(known)}." if known else ""
        raise ReportError(f"No stage history is recorded for initiative '{initiative_id}'.{hint}",
                          not_found=True)
    latest = await report_queries.last_event_at(pool, initiative_id)
    _check_overlap(period, span[0], latest or span[1], initiative_id)
    through = await report_queries.last_event_at(pool, initiative_id, until=period.end)
    behind = await report_queries.projections_behind(pool)
    criteria = await report_queries.criteria(pool, initiative_id)
    started = await report_queries.cohorts_started(pool, initiative_id, period.end)

    progress(next(steps))
    moments = month_ends(period)
    labels = [f"{period.first_day:%-d %b %Y} (start)", *map(moment_label, moments[1:])]
    cells = await board_queries.board_at(pool, initiative_id, moments)
    progress(next(steps))
    capacity_scores = await report_queries.capacity_scores(pool, initiative_id, period.end)
    progress(next(steps))
    fidelity_scores = await report_queries.fidelity_scores(pool, initiative_id, period.end)
    progress(next(steps))
    deliveries = await report_queries.deliveries(pool, initiative_id, period.start, period.end)
    steps_done = await report_queries.coaching_steps_completed(pool, initiative_id, period.start,
                                                               period.end)
    progress(next(steps))
    items = await report_queries.action_items(pool, initiative_id, period.start, period.end)
    progress(next(steps))
    ssip = await ssip_stream.read(pool, initiative_id)

    cohorts = launch.cohort_ids if launch else sorted({c.cohort_id for c in cells})
    names = _cohort_names(plan)
    unstarted = [c for c in cohorts if c not in started and
                 not any(cell.cohort_id == c and cell.at == period.end for cell in cells)]
    regions = sorted({c.region for c in cells if c.at == period.end})
    sections: list[Section] = []
    progress(next(steps))
    sections.append(board.progression(cells, moments, labels))
    sections.append(board.year_end(cells, period.end, moment_label(period.end),
                                   unstarted, names))
    progress(next(steps))
    sections.append(capacity.section(capacity_scores, moments, labels, criteria))
    progress(next(steps))
    sections.append(fidelity.section(fidelity_scores, moments, labels, criteria, privacy))
    progress(next(steps))
    sections.append(delivery.section(deliveries, steps_done,
                                     months_of(period.first_day, period.last_day), regions,
                                     privacy))
    progress(next(steps))
    sections.append(actions.section(items, regions))
    progress(next(steps))
    ffy = request.year
    statement = launch.simr if launch else ""
    simr = ssip_sections.simr_section(ssip, statement, ffy)
    practice = ssip_sections.fidelity_section(_statewide_fidelity(sections),
                                              _sites_at_mark(sections))
    sections[:0] = [simr, practice]
    sections += [ssip_sections.infrastructure_section(ssip, ffy),
                 ssip_sections.stakeholder_section(ssip, ffy, privacy),
                 ssip_sections.changes_section(ssip, ffy),
                 ssip_sections.reflection_section(ssip, ffy),
                 ssip_sections.plan_section(ssip, launch.ssip_phase if launch else "III")]
    sections.append(_about(period, privacy, plan is not None))

    end_board = board.totals(cells, period.end)
    return Report(
        initiative_id=initiative_id,
        title=f"SSIP Phase {launch.ssip_phase if launch else 'III'} progress report, "
              f"{period.label}",
        period=period, generated_at=now or datetime.now(timezone.utc), data_through=through,
        min_cell=privacy.min_cell,
        facts=_facts(initiative_id, launch, period, cohorts, started, names, ssip),
        highlights=_highlights(end_board, launch, deliveries, items, sections,
                               ssip_sections.simr_figures(ssip, ffy)),
        sections=sections, suppressed=privacy.log,
        notes=_notes(period, latest, plan, launch, behind, request.plan))


def _check_overlap(period: ReportYear, first: datetime, last: datetime, initiative_id: str) -> None:
    if first >= period.end:
        raise ReportError(f"Initiative '{initiative_id}' has no record in school year "
                          f"{period.describe()}: its record starts on {first:%-d %B %Y}.",
                          not_found=True)
    if last < period.start:
        raise ReportError(f"Initiative '{initiative_id}' has no record in school year "
                          f"{period.describe()}: its record ends on {last:%-d %B %Y}.",
                          not_found=True)


def _plan_as_launched(plan: Plan | None, initiative_id: str,
                      launch: report_queries.Launch | None) -> Plan | None:
    """The plan given, under the initiative's id. The demo launches each run under a stamped id
    (`simulation/demo.py`: 'k3-literacy' runs as 'k3-literacy-20261203-152102'), so a plan whose
    id is the stamped id's prefix is the initiative's plan when, stamped the same way, it is
    exactly the plan the launch recorded (same sha256); otherwise it is another plan."""
    if plan is None or plan.initiative.id == initiative_id:
        return plan
    stamped = plan.model_copy(update={"initiative": plan.initiative.model_copy(
        update={"id": initiative_id})})
    if launch is None or _digest(stamped) != launch.plan_digest:
        why = "no launch is recorded for it" if launch is None else \
            f"it was launched from another plan (sha256 {launch.plan_digest[:12]}...)"
        raise ReportError(f"The plan is for initiative '{plan.initiative.id}', not "
                          f"'{initiative_id}': {why}.")
    return stamped


def _cohort_names(plan: Plan | None) -> dict[str, str]:
    """Cohort id -> the name the plan gives it (with the id where two share a name)."""
    if plan is None:
        return {}
    given = [c.name for c in plan.cohorts]
    return {c.id: c.name if given.count(c.name) == 1 else f"{c.name} ({c.id})"
            for c in plan.cohorts}


def _digest(plan: Plan) -> str:
    return hashlib.sha256(plan.model_dump_json().encode()).hexdigest()


def _facts(initiative_id: str, launch: report_queries.Launch | None, period: ReportYear,
           cohorts: list[str], started: dict[str, datetime], names: dict[str, str],
           ssip) -> list[tuple[str, str]]:
    facts = [("Initiative", f"{launch.name} ({initiative_id})" if launch else initiative_id)]
    if launch:
        facts += [("Evidence-based practice", launch.practice),
                  ("SSIP phase", launch.ssip_phase),
                  ("State-identified Measurable Result (SiMR)",
                   ssip.simr.statement if ssip.simr else launch.simr),
                  ("Sites in the plan", str(launch.site_count)),
                  ("Launched", f"{launch.launched_at:%-d %B %Y}")]
    facts += [("School year", f"{period.describe()}, from {period.source}"),
              ("Federal fiscal year", f"FFY {period.year} ({ffy_label(period.year)}), reported "
                                      f"in the SPP/APR due 1 February {period.year + 2}"),
              ("Cohorts started by the year's end",
               f"{sum(1 for c in cohorts if c in started)} of {len(cohorts)}"
               + (": " + ", ".join(f"{names.get(c, c)} ({started[c]:%-d %b %Y})"
                                   for c in cohorts if c in started) if started else ""))]
    if ssip.last_recorded_at is not None:
        facts.append(("SSIP records", f"as recorded by {ssip.last_recorded_at:%-d %B %Y %H:%M} "
                                      "UTC (entered after the year, keyed by FFY)"))
    return facts


def _highlights(end_board, launch, deliveries, items, sections,
                simr: ssip_sections.Simr) -> list[tuple[str, str]]:
    on_board = sum(end_board.values())
    from_initial = sum(end_board[c] for c in ("Initial Implementation", "Full Implementation",
                                              "Completed"))
    planned = f" of {launch.site_count} in the plan" if launch else ""
    statewide = _statewide_fidelity(sections)
    figures = [(f"SiMR, FFY {simr.ffy}", simr.headline())] if simr.headline() else []
    figures += [
        ("Sites enrolled at the year's end", f"{on_board}{planned}"),
        ("Sites in Initial Implementation or beyond", str(from_initial)),
        ("Sites in Full Implementation or completed",
         str(end_board["Full Implementation"] + end_board["Completed"])),
        ("PD sessions held", str(sum(1 for d in deliveries if d.kind == delivery.HELD))),
        ("Coaching cycles completed",
         str(sum(1 for d in deliveries if d.kind == delivery.COMPLETED))),
        ("Review action items assigned (open at the year's end)",
         f"{len(items)} ({sum(1 for i in items if actions.status(i) == actions.OPEN)})"),
    ]
    if statewide:
        figures.append(("Practitioners meeting fidelity, statewide (latest assessments)",
                        statewide))
    return figures


def _statewide_fidelity(sections: list[Section]) -> str | None:
    for s in sections:
        for chart in s.charts:
            if chart.table.id == "fidelity-by-region":
                return chart.table.rows[-1][-1]
    return None


def _sites_at_mark(sections: list[Section]) -> list[str] | None:
    """The all-regions row of the fidelity section's sites-at-mark table, if it has one."""
    for s in sections:
        for table in s.tables:
            if table.id == "fidelity-sites-at-mark":
                return table.rows[-1]
    return None


def _notes(period: ReportYear, latest: datetime | None, plan: Plan | None,
           launch: report_queries.Launch | None, behind: dict[str, int],
           given: Plan | None) -> list[str]:
    notes = [f"The {name} read model is being rebuilt ({count} events still to replay), so its "
             "figures may be incomplete (run: rollout projections rebuild)."
             for name, count in behind.items()]
    if latest is not None and latest < period.end:
        notes.append(f"The record's latest event is from {latest:%-d %B %Y %H:%M} UTC, before "
                     f"the year closes at the end of {period.last_day:%-d %B %Y}. If the year "
                     "is still under way, these figures will change as later events are "
                     "recorded; the year-end board shows the sites as they stand so far.")
    if given is not None and plan is not None and given.initiative.id != plan.initiative.id:
        notes.append(f"The plan file names initiative '{given.initiative.id}'; this initiative "
                     f"ran it under the stamped id '{plan.initiative.id}' (as the demo stamps "
                     "each run), and the launch recorded exactly this plan (same sha256).")
    if plan is not None and launch is not None:
        digest = _digest(plan)
        if digest != launch.plan_digest:
            notes.append("The plan file given differs from the plan the initiative was launched "
                         f"with (sha256 {digest[:12]}... against {launch.plan_digest[:12]}...); "
                         "only its calendar and minimum cell size are used here.")
    if plan is None:
        notes.append("No plan was given, so the year runs from 1 July to 30 June (the SPP/APR "
                     "reporting period); pass --plan to use the plan's school-year dates.")
    return notes


def _about(period: ReportYear, privacy: Suppressor, with_plan: bool) -> Section:
    about = Section(
        "about", "About these figures",
        paragraphs=[
            f"Year: {period.describe()}, from {period.source}. School time is recorded in "
            f"UTC; the year-end board is the board at midnight closing "
            f"{period.last_day:%-d %B %Y}, and each month's figures are those at midnight "
            "closing its last day.",
            "Sources, all in the event store: the stage history projection "
            "(site_stage_history, the read behind the rollout board command), the capacity and "
            "fidelity score projections (driver_scores, fidelity_scores), the task inbox "
            "(coaching steps, review action items), and the recorded events for what only they "
            "hold: PD sessions scheduled and held with their attendees, coaching cycles with "
            "the practitioners observed, the driver behind each action item, and when each task "
            "was completed, withdrawn or escalated (so statuses are told as of the year's end).",
            f"Privacy: counts of people (practitioners assessed or meeting fidelity, PD "
            f"attendees, practitioners observed) from 1 to {privacy.min_cell - 1} are "
            f"suppressed (minimum cell size {privacy.min_cell}), a part is suppressed with its "
            "whole when the part or the rest is small, and a second cell is suppressed beside "
            "a lone one whenever a total shown would reveal it. Percentages computed from "
            "suppressed counts are suppressed with them. Counts of sites are counts of "
            "organisations and are shown in full."])
    if privacy.log:
        about.tables.append(Table(
            "suppressed-cells", f"Cells suppressed in this report ({len(privacy.log)})",
            ["Section", "Cell", "Count of", "Why"],
            [[s.section, s.where, s.what, s.why] for s in privacy.log]))
    else:
        about.notes.append("No count in this report needed suppression.")
    if not with_plan:
        about.notes.append("Without the plan, goals come from the exit criteria the sites were "
                           "enrolled with, which the events record.")
    return about


async def _min_cell(pool: asyncpg.Pool, request: ReportRequest) -> int:
    """The plan's minimum cell size (as its launch recorded it, else the given plan's, else the
    default); `--min-cell` may raise it for this report, never lower it."""
    recorded = [n for n in await plan_min_cells(pool, [request.initiative_id]) if n is not None]
    floor = max(recorded) if recorded else \
        request.plan.privacy.min_cell_size if request.plan else MIN_CELL
    if request.min_cell is not None and request.min_cell < floor:
        raise ReportError(f"--min-cell {request.min_cell} is below the plan's minimum cell size "
                          f"{floor}; a report may raise it, never lower it")
    return max(floor, request.min_cell or floor)
