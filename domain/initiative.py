"""The initiative aggregate: launch, cohorts started, and initiative-wide pause/resume/cancel."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from domain import events as ev
from domain.actors import Actor, Role
from domain.calendar import SchoolCalendar
from domain.cohorts import describe_gate, gate_verdict
from domain.errors import DomainError
from domain.stages import Stage


class InitiativeState(BaseModel):
    model_config = ConfigDict(frozen=True)

    stream_id: str = ""
    version: int = 0
    status: Literal["not_launched", "active", "paused", "cancelled"] = "not_launched"
    initiative_id: str = ""
    cohorts_started: tuple[str, ...] = ()


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: AwareDatetime
    actor: Actor


class LaunchInitiative(_Command):
    payload: ev.InitiativeLaunchedPayload


class StartCohort(_Command):
    cohort_id: str
    site_count: int
    gate: object
    today: date
    previous_stages: list[Stage | None] = []
    decided_by: str | None = None
    calendar: SchoolCalendar | None = None
    """The plan's: a date gate then opens on the first school day on or after its date."""


class ControlInitiative(_Command):
    action: Literal["pause", "resume", "cancel"]
    reason: str = ""


def fold(events, state: InitiativeState | None = None) -> InitiativeState:
    state = state or InitiativeState()
    for e in events:
        changes: dict = {"version": e.sequence, "stream_id": e.stream_id}
        match e.type:
            case "InitiativeLaunched":
                changes |= dict(status="active", initiative_id=e.payload.initiative_id)
            case "CohortStarted":
                changes |= dict(cohorts_started=state.cohorts_started + (e.payload.cohort_id,))
            case "RolloutPaused":
                changes |= dict(status="paused")
            case "RolloutResumed":
                changes |= dict(status="active")
            case "RolloutCancelled":
                changes |= dict(status="cancelled")
        state = state.model_copy(update=changes)
    return state


def decide(state: InitiativeState, command: _Command) -> list[ev.Event]:
    match command:
        case LaunchInitiative():
            if state.status != "not_launched":
                return []
            payloads = [command.payload]
            stream = ev.initiative_stream(command.payload.initiative_id)
        case StartCohort():
            payloads, stream = _start_cohort(state, command), state.stream_id
        case ControlInitiative():
            payloads, stream = _control(state, command), state.stream_id
        case _:
            raise TypeError(f"not an initiative command: {command!r}")
    return ev.envelope(payloads, stream_id=stream, after=state.version,
                       occurred_at=command.at, actor=command.actor)


def _start_cohort(state: InitiativeState, c: StartCohort) -> list:
    if c.cohort_id in state.cohorts_started:
        return []
    if state.status != "active":
        raise DomainError(f"The initiative is {state.status}; cohort '{c.cohort_id}' cannot start.")
    verdict = gate_verdict(c.gate, today=c.today, previous_stages=c.previous_stages,
                           decided_by=c.decided_by, calendar=c.calendar)
    if not verdict.holds:
        raise DomainError(f"Cohort '{c.cohort_id}' {describe_gate(c.gate)}; not yet: {verdict.evidence}.",
                          field="cohort_id", value=c.cohort_id)
    return [ev.CohortStartedPayload(cohort_id=c.cohort_id, site_count=c.site_count,
                                    gate=describe_gate(c.gate), gate_evidence=verdict.evidence)]


def _control(state: InitiativeState, c: ControlInitiative) -> list:
    if c.actor.role not in (Role.STATE_ADMIN, Role.SYSTEM):
        raise DomainError(f"Only a state admin may {c.action} the initiative; {c.actor.id} is a "
                          f"{c.actor.role.value}.", field="actor.role", value=c.actor.role.value)
    target = {"pause": "paused", "resume": "active", "cancel": "cancelled"}[c.action]
    if state.status == target:
        return []
    if state.status == "cancelled" or (c.action == "resume" and state.status != "paused"):
        raise DomainError(f"The initiative is {state.status}; it cannot {c.action}.",
                          field="action", value=c.action)
    reason = c.reason or c.action
    return [{"pause": ev.RolloutPausedPayload(reason=reason),
             "resume": ev.RolloutResumedPayload(note=c.reason),
             "cancel": ev.RolloutCancelledPayload(reason=reason)}[c.action]]
