"""Repair workflows whose workflow task can never complete because of a slip in Temporal itself.

Two are seen and repaired. **A protocol slip** (the dev server restarting while people submit,
1 run in about 7 of the restart test): an Update accepted just before the server stopped has its
acceptance sent again by the worker after the restart, and the server refuses that workflow task
("BadUpdateWorkflowExecutionMessage … received *update.Acceptance message while in state
Accepted") on every attempt. **A replay that does not match** (after a worker is killed): a query
that reaches the next worker together with a workflow task makes the SDK run that task with the
time of the task before it, while the history records the later time; when the workflow is next
replayed, its time-dependent decisions (a reminder due, a review due) come out differently, and
every attempt fails as nondeterministic. Both stop the site for good.

The remedy Temporal offers is a reset: the run is replayed up to a completed workflow task and
the signals and Updates that arrived after it are applied again, once. For the slip, that is the
last completed task; for the mismatch, the last one before the event the replay could not match.
The task after it runs again at a new time, so if it had already recorded events it decides them
again differently; the event store keeps the first record and the workflow adopts it
(workflows/recording.py), so nothing is lost or contradicted. A signal sent again is harmless
(the site's progress signal is versioned, a repeated control is refused by the domain). A
mismatch from a genuinely incompatible deployment would be reset the same way, which is what an
operator would do after fixing it; the replay tests over committed histories keep that from
shipping.

A run with no task to return to is logged for a person. Temporal resets even a run that is
already closed, so a second reset of the same run would throw away the first one's progress: a
repair pass holds a PostgreSQL advisory lock (several workers, one repairer at a time) and
resets a run only while Temporal still describes it as running.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import structlog
from temporalio.api.enums.v1 import EventType, ResetReapplyType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from runtime import periodic
from store.db import DATABASE_TROUBLE

log = structlog.get_logger("refused_tasks")

PROTOCOL_SLIP = "WorkflowTaskFailedCauseBadUpdateWorkflowExecutionMessage"
"""Temporal's name for a workflow task refused because its Update messages do not fit the
Update's recorded state."""
NONDETERMINISM = "WorkflowTaskFailedCauseNonDeterministicError"
"""Temporal's name for a workflow task failed because replaying the history did not match it."""
REPAIRED = (PROTOCOL_SLIP, NONDETERMINISM)
RESET_LOGGED = "reset a workflow whose task could not complete"
_MISMATCH = re.compile(r"Nondeterminism error.*?(?:HistoryEvent\(id: |event_id: )(\d+)", re.S)

_RESET_IDS = uuid.UUID("5d0f6c1e-4a77-4d0e-9d59-3a8f0a2c7b11")
_LOCK = "rollout:repair-refused-workflow-tasks"


@dataclass(frozen=True)
class Repair:
    workflow_id: str
    run_id: str
    reset_to_event: int
    new_run_id: str


def refused_query(task_queue: str, cause: str = PROTOCOL_SLIP) -> str:
    """Running workflows of one task queue whose task Temporal reports failing for `cause`."""
    return (f"ExecutionStatus = 'Running' AND TaskQueue = '{_quoted(task_queue)}' "
            f"AND TemporalReportedProblems = 'cause={_quoted(cause)}'")


async def repair_refused(client: Client, pool: asyncpg.Pool, task_queue: str,
                         cause: str = PROTOCOL_SLIP, identity: str = "rollout-worker"
                         ) -> list[Repair]:
    """Reset every workflow of the queue whose task Temporal refuses for `cause`; nothing if
    another process is repairing right now (it will have found the same workflows)."""
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", _LOCK):
            return []
        try:
            return [repair async for found in client.list_workflows(refused_query(task_queue, cause))
                    if (repair := await reset_refused_run(client, found.id, found.run_id, cause,
                                                            identity))]
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", _LOCK)


async def keep_repairing(client: Client, pool: asyncpg.Pool, task_queue: str,
                         stop: asyncio.Event, every: float = 30.0) -> None:
    """The worker's watchdog: look for refused workflow tasks every `every` seconds."""
    async def look() -> None:
        try:
            for cause in REPAIRED:
                await repair_refused(client, pool, task_queue, cause)
        except RPCError as problem:
            log.warning("could not look for refused workflow tasks; will retry",
                        error=problem.message)
        except DATABASE_TROUBLE as problem:
            log.warning("could not take the repair lock; will retry", error=str(problem))
    await periodic.every(every, stop, look)


async def reset_refused_run(client: Client, workflow_id: str, run_id: str,
                            cause: str = PROTOCOL_SLIP, identity: str = "rollout-worker"
                            ) -> Repair | None:
    """Reset one run to its last completed workflow task, if it is still running."""
    bound = log.bind(workflow_id=workflow_id, run_id=run_id, cause=cause)
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
        return None  # already reset (visibility lags a little behind)
    point = reset_point((await handle.fetch_history()).events, cause)
    if point is None:
        bound.error("a workflow task that cannot complete has no completed task to reset to "
                    "(or its failure names no mismatched event); look at its history")
        return None
    reason = (f"this workflow's task could not complete ({cause}); reset to completed task "
              f"{point} so signals and Updates after it apply once")
    request = ResetWorkflowExecutionRequest(
        namespace=client.namespace,
        workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
        reason=reason, workflow_task_finish_event_id=point,
        request_id=str(uuid.uuid5(_RESET_IDS, f"{run_id}:{point}")),
        reset_reapply_type=ResetReapplyType.RESET_REAPPLY_TYPE_ALL_ELIGIBLE, identity=identity)
    response = await client.workflow_service.reset_workflow_execution(request)
    bound.warning(RESET_LOGGED, reset_to_event=point,
                  new_run_id=response.run_id)
    return Repair(workflow_id, run_id, point, response.run_id)


def reset_point(events: Sequence[HistoryEvent], cause: str = PROTOCOL_SLIP) -> int | None:
    """The completed workflow task to reset to: the last one (a protocol slip), or the last one
    before the event the replay could not match (a mismatch); None if there is none.

    A protocol slip's history cannot be replayed from its own refused task either: Temporal
    wrote the Update's acceptance after the commands of the task that accepted it, which the SDK
    refuses as nondeterministic. So the reset runs that task again; when it had scheduled
    `record_events` and the events were stored (seen in CI), its second decision meets the first
    in the store, which stands."""
    completed = [e.event_id for e in events
                 if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
    if cause == NONDETERMINISM:
        mismatch = mismatched_event(events)
        completed = [c for c in completed if mismatch is not None and c < mismatch]
    return completed[-1] if completed else None


def mismatched_event(events: Sequence[HistoryEvent]) -> int | None:
    """The history event the last failed workflow task's replay could not match, as the SDK's
    nondeterminism message names it."""
    for e in reversed(events):
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            found = _MISMATCH.search(e.workflow_task_failed_event_attributes.failure.message)
            return int(found.group(1)) if found else None
    return None


def _quoted(value: str) -> str:
    """A value inside a visibility query's single quotes."""
    return value.replace("\\", "\\\\").replace("'", "\\'")
