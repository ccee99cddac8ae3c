"""Continuous-improvement reviews (Plan-Do-Study-Act): findings and action items from the data.

Overdue work is named in the findings, never turned into an action item: each overdue task already
has its own deadline, reminder and escalation, and an item to "clear the overdue tasks" with a due
date of its own went overdue in turn and was escalated at every review after it (issue 16). Nor
does a review assign a barrier again while an earlier review's item for it is still open (a low
driver, low fidelity, a missing capacity assessment): it names that item in its findings, so one
item tracks each barrier until it is done, withdrawn or waived. The state team works what is
escalated from its queue (reassign, extend, waive).
"""

from __future__ import annotations

from datetime import date

from domain.drivers import Driver
from domain.events import ActionItem, ReviewHeldPayload
from domain.site_state import SiteRolloutState, TaskState

STATE_TEAM = "State Implementation Team"
DISTRICT_TEAM = "District Implementation Team"

OVERDUE_NAMED = 5
"""Overdue tasks a finding names by title; the rest are counted."""
SYSTEM_DRIVERS = {Driver.SYSTEMS_INTERVENTION}
"""Barriers a district cannot remove alone: escalated to the level above."""


def review_findings(
    state: SiteRolloutState, *, review_id: str, number: int, action_due: date
) -> ReviewHeldPayload:
    """Read the latest capacity and fidelity data; name barriers; turn each into an action item."""
    evidence = state.evidence
    initial = state.criteria.initial_implementation
    driver_goal = initial.capacity_min_percent_per_driver or initial.capacity_min_percent
    fidelity_goal = state.criteria.full_implementation.fidelity_min_percent
    low = {d: p for d, p in evidence.capacity_per_driver.items() if p < driver_goal}
    findings: list[str] = []
    items: list[ActionItem] = []
    still_open = open_items_by_barrier(state)
    kept: list[TaskState] = []

    def act(title: str, barrier: str, driver: Driver | None = None, system: bool = False) -> None:
        if barrier in still_open:
            kept.append(still_open[barrier])
            return
        items.append(ActionItem(
            action_id=f"{review_id}:action:{len(items) + 1}", title=title, driver=driver,
            owner_role=STATE_TEAM if system else DISTRICT_TEAM, due=action_due,
            system_barrier=system, barrier=barrier))

    if evidence.capacity_percent is None:
        findings.append("No capacity assessment on record yet.")
        act("Schedule the team's capacity assessment with a trained facilitator",
            "capacity-assessment")
    for driver, pct in sorted(low.items()):
        system = driver in SYSTEM_DRIVERS
        findings.append(f"{driver} capacity is {pct:g}%, below the {driver_goal:g}% goal.")
        act(f"Raise {driver} capacity from {pct:g}% toward {driver_goal:g}%"
            + (" (system barrier, escalated)" if system else ""), f"driver:{driver}", driver, system)
    fidelity = evidence.fidelity_percents[-1] if evidence.fidelity_percents else None
    if fidelity is not None and fidelity < fidelity_goal:
        findings.append(f"{fidelity:g}% of practitioners meet fidelity; the goal is {fidelity_goal:g}%.")
        act("Focus coaching on the fidelity items most often missed", "fidelity", Driver.COACHING)
    if kept:
        findings.append(kept_finding(kept))
    overdue = [t for t in state.open_tasks() if t.overdue]
    if overdue:
        findings.append(overdue_finding(overdue))
    if not findings:
        findings.append("Capacity and fidelity data meet their goals; keep the routines.")
    return ReviewHeldPayload(
        review_id=review_id, number=number, stage=state.stage, capacity_percent=evidence.capacity_percent,
        fidelity_percent=fidelity, low_drivers=low, findings=findings, action_items=items)


def open_items_by_barrier(state: SiteRolloutState) -> dict[str, TaskState]:
    """The open action items of earlier reviews, by the barrier each is about."""
    return {barrier: task for action_id, barrier in state.action_barriers.items()
            if (task := state.tasks.get(action_id)) is not None and task.is_open}


def kept_finding(kept: list[TaskState]) -> str:
    named = "; ".join(f"'{t.title}' (due {t.due:%d %b %Y})" for t in kept)
    return f"Still open from earlier reviews, so not assigned again: {named}."


def overdue_finding(overdue: list[TaskState]) -> str:
    """The overdue tasks, earliest due first, by title and due date (the first few named)."""
    ordered = sorted(overdue, key=lambda t: (t.due, t.task_id))
    named = "; ".join(f"'{t.title}' (due {t.due:%d %b %Y}"
                      + (", escalated)" if t.escalated else ")") for t in ordered[:OVERDUE_NAMED])
    more = len(ordered) - OVERDUE_NAMED
    return (f"{len(ordered)} task(s) overdue, each followed by its own deadline and escalation: "
            f"{named}" + (f"; and {more} more." if more > 0 else "."))
