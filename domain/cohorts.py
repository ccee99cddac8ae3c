"""Cohort start gates: when the next cohort of sites may begin.

A gate is a date, a share of the previous cohort at (or past) a stage, or an explicit state
decision. `gate_verdict` says whether it holds and why, in words that go into the audit trail.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from domain.calendar import SchoolCalendar, next_school_day
from domain.errors import DomainError
from domain.stages import Stage


class GateVerdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    holds: bool
    evidence: str


def describe_gate(gate) -> str:
    match gate.kind:
        case "immediate":
            return "starts at launch"
        case "date":
            return f"starts on {gate.on:%d %b %Y}"
        case "share":
            return f"starts when {gate.percent:g}% of the previous cohort reach {gate.stage}"
        case "decision":
            return "starts on a state decision"
    raise ValueError(f"unknown gate kind: {gate.kind!r}")


def date_gate_opens(gate, calendar: SchoolCalendar | None) -> date:
    """A date gate opens on the first school day on or after its date (a gate set on a Saturday
    before a holiday opens the Tuesday after); without a calendar, on the date itself."""
    return next_school_day(calendar, gate.on) if calendar is not None else gate.on


def gate_verdict(
    gate, *, today: date, previous_stages: list[Stage | None], decided_by: str | None = None,
    calendar: SchoolCalendar | None = None,
) -> GateVerdict:
    """`previous_stages`: the current stage of each site of the previous cohort; `calendar`: the
    plan's, for a date gate (see `date_gate_opens`)."""
    match gate.kind:
        case "immediate":
            return GateVerdict(holds=True, evidence="no gate: the cohort starts at launch")
        case "date":
            opens = date_gate_opens(gate, calendar)
            evidence = f"school date {today:%Y-%m-%d}; gate date {gate.on:%Y-%m-%d}"
            if opens != gate.on:
                evidence += f", first school day {opens:%Y-%m-%d}"
            return GateVerdict(holds=today >= opens, evidence=evidence)
        case "share":
            return _share_verdict(gate.stage, gate.percent, previous_stages)
        case "decision":
            return GateVerdict(holds=decided_by is not None,
                               evidence=f"state decision by {decided_by}" if decided_by
                               else "waiting for a state decision")
    raise ValueError(f"unknown gate kind: {gate.kind!r}")


def _share_verdict(stage: Stage, percent: float, previous: list[Stage | None]) -> GateVerdict:
    reached = sum(1 for s in previous if s is not None and s.index >= stage.index)
    share = 100.0 * reached / len(previous) if previous else 0.0
    return GateVerdict(
        holds=bool(previous) and share >= percent,
        evidence=f"{reached} of {len(previous)} sites of the previous cohort ({share:.1f}%) "
                 f"at {stage} or beyond; gate {percent:g}%")


def check_cohort_decision(cohorts, started, cohort_id: str) -> None:
    """A state decision may open only a cohort of the plan whose gate is a decision and which has
    not started yet."""
    cohort = next((c for c in cohorts if c.id == cohort_id), None)
    if cohort is None:
        raise DomainError(f"There is no cohort '{cohort_id}' in this initiative.",
                          field="cohort_id", value=cohort_id)
    if cohort.gate.kind != "decision":
        raise DomainError(f"Cohort '{cohort.id}' {describe_gate(cohort.gate)}; it needs no decision.",
                          field="cohort_id", value=cohort.id)
    if cohort.id in started:
        raise DomainError(f"Cohort '{cohort.id}' has already started.", field="cohort_id",
                          value=cohort.id)
