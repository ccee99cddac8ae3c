"""Watch for workflows whose workflow task cannot complete, report them, and repair the one
kind that Temporal itself causes.

**A replay that does not match** (WorkflowTaskFailedCauseNonDeterministicError) is reported, never
reset: since the site, initiative and group workflows carry out every Update in their main loop
and people's views read the event store instead of querying workflows, the two slips that once
wrote such histories after a worker was killed (temporalio/sdk-python#1591, and a query to a
worker that had just taken over running a task with a stale time) have nothing left to act on.
A mismatch now means code that is not compatible with a running workflow: a person must look, and
a reset would only hide it. The report names the workflow, its run and the event.

**A protocol slip** (the dev server restarting while people submit): an Update accepted just
before the server stopped has its acceptance sent again by the worker after the restart, and
the server refuses that workflow task ("BadUpdateWorkflowExecutionMessage … received
*update.Acceptance message while in state Accepted") on every attempt. Its remedy is Temporal's
reset to the last completed workflow task, which applies the signals and Updates after it again,
once. The reset strands nothing the run owned: the coaching cycle is a workflow of its own that
reports to the site's workflow id (workflows/coaching_cycle.py), activities the task had scheduled
are scheduled again and record idempotently (a batch stored by the first pass stands and is
adopted, workflows/recording.py), and the site reports its progress to the initiative again with
its next recorded change.

Temporal resets even a run that is already closed, so a second reset of the same run would throw
away the first one's progress: a repair pass holds a PostgreSQL advisory lock (several workers,
one repairer at a time) and resets a run only while Temporal still describes it as running.
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
from store.locks import held_if_free

log = structlog.get_logger("refused_tasks")

PROTOCOL_SLIP = "WorkflowTaskFailedCauseBadUpdateWorkflowExecutionMessage"
"""Temporal's name for a workflow task refused because its Update messages do not fit the
Update's recorded state."""
NONDETERMINISM = "WorkflowTaskFailedCauseNonDeterministicError"
"""Temporal's name for a workflow task failed because replaying the history did not match it."""
RESET_LOGGED = "reset a workflow whose task could not complete"
STUCK_LOGGED = "a workflow's task cannot complete; a person must look"
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
    async with held_if_free(pool, _LOCK) as mine:
        if not mine:
            return []
        return [repair async for found in client.list_workflows(refused_query(task_queue, cause))
                if (repair := await reset_refused_run(client, found.id, found.run_id, cause,
                                                        identity))]


async def report_stuck(client: Client, task_queue: str, reported: set[str]) -> list[str]:
    """Log each running workflow of the queue whose task fails as nondeterministic, once per run;
    the runs newly reported."""
    new = []
    async for found in client.list_workflows(refused_query(task_queue, NONDETERMINISM)):
        if found.run_id in reported:
            continue
        reported.add(found.run_id)
        events = (await client.get_workflow_handle(found.id, run_id=found.run_id).fetch_history()).events
        log.error(STUCK_LOGGED, workflow_id=found.id, run_id=found.run_id, cause=NONDETERMINISM,
                  mismatched_event=mismatched_event(events))
        new.append(found.run_id)
    return new


async def keep_watching(client: Client, pool: asyncpg.Pool, task_queue: str,
                        stop: asyncio.Event, every: float = 30.0) -> None:
    """The worker's watchdog: every `every` seconds, report workflows whose task cannot complete
    and repair the protocol slips."""
    reported: set[str] = set()

    async def look() -> None:
        try:
            await report_stuck(client, task_queue, reported)
            await repair_refused(client, pool, task_queue, PROTOCOL_SLIP)
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
    point = reset_point((await handle.fetch_history()).events)
    if point is None:
        bound.error("a workflow task that cannot complete has no completed task to reset to; "
                    "look at its history")
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


def reset_point(events: Sequence[HistoryEvent]) -> int | None:
    """The completed workflow task to reset a protocol slip to: the last one; None if there is
    none.

    Such a history cannot be replayed from its own refused task: Temporal wrote the Update's
    acceptance after the commands of the task that accepted it, which the SDK refuses as
    nondeterministic. So the reset runs that task again; when it had scheduled `record_events`
    and the events were stored (seen in CI), its second decision meets the first in the store,
    which stands."""
    completed = [e.event_id for e in events
                 if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
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
