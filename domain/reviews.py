"""Continuous-improvement reviews (Plan-Do-Study-Act): findings and action items from the data."""

from __future__ import annotations

from datetime import date

from domain.drivers import Driver
from domain.events import ActionItem, ReviewHeldPayload
from domain.site_state import SiteRolloutState

STATE_TEAM = "State Implementation Team"
DISTRICT_TEAM = "District Implementation Team"

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

    def act(title: str, driver: Driver | None = None, system: bool = False) -> None:
        items.append(ActionItem(
            action_id=f"{review_id}:action:{len(items) + 1}", title=title, driver=driver,
            owner_role=STATE_TEAM if system else DISTRICT_TEAM, due=action_due,
            system_barrier=system))

    if evidence.capacity_percent is None:
        findings.append("No capacity assessment on record yet.")
        act("Schedule the team's capacity assessment with a trained facilitator")
    for driver, pct in sorted(low.items()):
        system = driver in SYSTEM_DRIVERS
        findings.append(f"{driver} capacity is {pct:g}%, below the {driver_goal:g}% goal.")
        act(f"Raise {driver} capacity from {pct:g}% toward {driver_goal:g}%"
            + (" (system barrier, escalated)" if system else ""), driver, system)
    fidelity = evidence.fidelity_percents[-1] if evidence.fidelity_percents else None
    if fidelity is not None and fidelity < fidelity_goal:
        findings.append(f"{fidelity:g}% of practitioners meet fidelity; the goal is {fidelity_goal:g}%.")
        act("Focus coaching on the fidelity items most often missed", Driver.COACHING)
    overdue = [t for t in state.open_tasks() if t.overdue]
    if overdue:
        findings.append(f"{len(overdue)} task(s) overdue.")
        act(f"Clear the {len(overdue)} overdue task(s) or re-plan their dates")
    if not findings:
        findings.append("Capacity and fidelity data meet their goals; keep the routines.")
    return ReviewHeldPayload(
        review_id=review_id, number=number, stage=state.stage, capacity_percent=evidence.capacity_percent,
        fidelity_percent=fidelity, low_drivers=low, findings=findings, action_items=items)
