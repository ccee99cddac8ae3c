"""Cohort gates decided by people: each cohort of an initiative with its gate, who opened it and
why, and, for a cohort still closed, how far the cohort before it has come (its sites per stage
and the share of it at or beyond each stage); and opening a decision-gated cohort with a reason,
the initiative workflow's `approve_cohort` Update.

The cohorts and their gates are the plan's, read from the initiative workflow's own input (the
event store records the launch by digest only); what has started, and why, is read from the
initiative's event stream; where the sites stand, from the sites projection.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
from pydantic import BaseModel, Field, ValidationError
from temporalio.client import (
    Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.service import RPCError, RPCStatusCode

from domain import events as ev
from domain.actors import Actor
from domain.board import NOT_STARTED, column
from domain.cohorts import describe_gate
from domain.initiative import fold as fold_initiative
from domain.plan import Plan
from domain.stages import STAGE_ORDER, Stage
from rollouts.task_actions import UPDATE_TIMEOUT, ActionFailed, refused_action, unavailable
from store.board_queries import site_progress
from store.eventstore import EventStore
from workflows.ids import initiative_workflow_id
from workflows.initiative import InitiativeWorkflow
from workflows.models import CohortDecisionRequest, InitiativeInput

OPENING_WAIT = 10.0
"""Seconds to wait for an opened cohort to start; a cohort behind another still closed starts
later, when that one has (the decision is kept meanwhile)."""
REASON_MIN = 10


class CohortGate(BaseModel):
    cohort_id: str
    name: str
    gate: str = Field(description="the gate in words, e.g. 'starts on a state decision'")
    gate_kind: str
    sites: int
    started: bool
    opened_by: str | None = Field(default=None, description="who opened a decision gate")
    reason: str = Field(default="", description="why they opened it")
    evidence: str = Field(default="", description="what the gate held on when the cohort started")
    waiting_for_decision: bool = Field(description="a decision gate not yet opened")
    earlier_cohort: str | None = None
    earlier_by_stage: dict[str, int] = Field(
        default_factory=dict, description="the earlier cohort's sites per board column")
    earlier_share: dict[Stage, float] = Field(
        default_factory=dict, description="percent of the earlier cohort at or beyond each stage")
    gate_stage: Stage | None = Field(default=None, description="a share gate's stage")
    gate_percent: float | None = None


class CohortBoard(BaseModel):
    initiative_id: str
    status: str
    cohorts: list[CohortGate]

    @property
    def waiting(self) -> list[CohortGate]:
        return [c for c in self.cohorts if c.waiting_for_decision]


class CohortOpened(BaseModel):
    initiative_id: str
    cohort_id: str
    opened_by: str
    reason: str
    started: bool = Field(description="False: the decision is kept, and the cohort starts once "
                                      "the cohorts before it have")


async def plan_on_record(client: Client, initiative_id: str) -> Plan:
    """The plan the initiative runs: the input of its workflow's latest run (a run continued as
    new carries the same plan)."""
    handle = client.get_workflow_handle(initiative_workflow_id(initiative_id))
    try:
        async for event in handle.fetch_history_events(page_size=1):
            started = event.workflow_execution_started_event_attributes
            [given] = await client.data_converter.decode(started.input.payloads, [InitiativeInput])
            return given.plan
    except RPCError as problem:
        if problem.status is RPCStatusCode.NOT_FOUND:
            raise ActionFailed("finished", f"Initiative '{initiative_id}' is not on Temporal (any "
                               "more); its cohorts cannot be read or opened.") from None
        raise unavailable(problem) from None
    raise ActionFailed("finished", f"Initiative '{initiative_id}' has no history on Temporal.")


async def cohort_gates(client: Client, pool: asyncpg.Pool, initiative_id: str) -> CohortBoard:
    plan = await plan_on_record(client, initiative_id)
    events = await EventStore(pool).read_stream(ev.initiative_stream(initiative_id))
    state = fold_initiative(events)
    opened = {e.payload.cohort_id: e.payload for e in events if e.type == "CohortStarted"}
    sites = await site_progress(pool, initiative_id)
    cohorts = []
    for index, cohort in enumerate(plan.cohorts):
        earlier = plan.cohorts[index - 1] if index else None
        start = opened.get(cohort.id)
        gate = CohortGate(
            cohort_id=cohort.id, name=cohort.name, gate=describe_gate(cohort.gate),
            gate_kind=cohort.gate.kind, sites=len(cohort.members), started=start is not None,
            opened_by=start.decided_by if start else None, reason=start.reason if start else "",
            evidence=start.gate_evidence if start else "",
            waiting_for_decision=start is None and cohort.gate.kind == "decision",
            gate_stage=getattr(cohort.gate, "stage", None),
            gate_percent=getattr(cohort.gate, "percent", None))
        if start is None and earlier is not None:
            gate = gate.model_copy(update=_earlier(earlier, sites))
        cohorts.append(gate)
    return CohortBoard(initiative_id=initiative_id, status=state.status, cohorts=cohorts)


def _earlier(earlier, sites) -> dict:
    """How far the cohort before has come: its sites per board column (a site not enrolled yet
    is 'Not started') and the share of it at or beyond each stage."""
    members = set(earlier.members)
    standing = {s.site_id: s for s in sites if s.site_id in members}
    columns = Counter(column(standing[m].stage, standing[m].status) if m in standing
                      else NOT_STARTED for m in earlier.members)
    share = {stage: 100.0 * sum(1 for s in standing.values()
                                if s.stage is not None and Stage(s.stage).index >= stage.index)
             / len(members) for stage in STAGE_ORDER}
    return dict(earlier_cohort=earlier.id, earlier_by_stage=dict(columns), earlier_share=share)


def opening_request(cohort_id: str, actor: Actor, reason: str) -> CohortDecisionRequest:
    """The Update's request; a reason is required (it is recorded with the cohort's start)."""
    reason = reason.strip()
    if len(reason) < REASON_MIN:
        raise ActionFailed("invalid", f"To open a cohort, say why in at least {REASON_MIN} "
                           f"characters (got {reason!r}).", "reason", reason)
    try:
        return CohortDecisionRequest(actor=actor, cohort_id=cohort_id, note=reason)
    except ValidationError as problem:
        error = problem.errors()[0]
        field = {"note": "reason"}.get(str(error["loc"][-1]), str(error["loc"][-1]))
        raise ActionFailed("invalid", f"{field}: {error['msg']}.", field, None) from None


async def open_cohort(client: Client, initiative_id: str, cohort_id: str, *, actor: Actor,
                      reason: str, pool: asyncpg.Pool | None = None) -> CohortOpened:
    """Open a decision-gated cohort; the workflow's validator refuses any other (a gate that
    needs no decision, a cohort already started, someone who is not a state admin). With `pool`,
    a started cohort is returned once its CohortStarted event is in the store (what a page reads
    next): the workflow answers as soon as its state holds the start, before the recording
    activity has finished."""
    request = opening_request(cohort_id, actor, reason)
    handle = client.get_workflow_handle(initiative_workflow_id(initiative_id))
    try:
        accepted = await asyncio.wait_for(handle.start_update(
            InitiativeWorkflow.approve_cohort, request,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED), UPDATE_TIMEOUT)
    except WorkflowUpdateFailedError as refused:
        raise refused_action(refused) from None
    except RPCError as problem:
        if problem.status is RPCStatusCode.NOT_FOUND:
            raise ActionFailed("finished", f"Initiative '{initiative_id}' is not running; no "
                               "cohort of it can be opened.") from None
        raise unavailable(problem) from None
    except (asyncio.TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise ActionFailed("unavailable", f"No worker took the decision within {UPDATE_TIMEOUT:g} "
                           "s; nothing was recorded. Check that a worker is running, then try "
                           "again.") from None
    try:  # a refusal by the validator arrives with the outcome
        status = await asyncio.wait_for(accepted.result(), OPENING_WAIT)
        started = any(c.cohort_id == cohort_id and c.started for c in status.cohorts)
    except WorkflowUpdateFailedError as refused:
        raise refused_action(refused) from None
    except (asyncio.TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        started = False
    if started and pool is not None:
        await _recorded_start(pool, initiative_id, cohort_id)
    return CohortOpened(initiative_id=initiative_id, cohort_id=cohort_id, opened_by=actor.id,
                        reason=request.note, started=started)


async def _recorded_start(pool: asyncpg.Pool, initiative_id: str, cohort_id: str) -> None:
    """Wait (at most OPENING_WAIT) until the store holds the cohort's CohortStarted event."""
    store = EventStore(pool)
    deadline = asyncio.get_running_loop().time() + OPENING_WAIT
    while asyncio.get_running_loop().time() < deadline:
        events = await store.read_stream(ev.initiative_stream(initiative_id))
        if any(e.type == "CohortStarted" and e.payload.cohort_id == cohort_id for e in events):
            return
        await asyncio.sleep(0.2)
