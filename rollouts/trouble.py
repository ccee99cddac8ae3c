"""Workflows of an initiative that have stopped for good, said at once with their id and why.

A site's rollout that fails (an uncaught error), is terminated, times out, or keeps failing its
workflow task (code that cannot replay its history) stops that site, and nothing else would say
so: the board just stops moving. `rollout status`, the demo and the tests ask this first.
A run that a reset replaced is not trouble: the reset's new run carries on.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from workflows.ids import initiative_workflows_query

STOPPED = "ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut')"
STUCK = "ExecutionStatus = 'Running' AND TemporalReportedProblems IS NOT NULL"


class Trouble(BaseModel):
    workflow_id: str
    run_id: str
    status: str
    problem: str

    def line(self) -> str:
        return f"{self.workflow_id} ({self.status}): {self.problem}"


async def troubles(client: Client, initiative_id: str) -> list[Trouble]:
    """The initiative's workflows that failed, were terminated or timed out, or whose workflow
    task keeps failing; empty when all is well."""
    query = f"{initiative_workflows_query(initiative_id)} AND ({STOPPED} OR ({STUCK}))"
    found = []
    async for execution in client.list_workflows(query):
        if execution.status != WorkflowExecutionStatus.RUNNING and \
                await _replaced(client, execution.id, execution.run_id):
            continue
        found.append(Trouble(workflow_id=execution.id, run_id=execution.run_id,
                             status=_status(execution.status),
                             problem=await _problem(client, execution.id, execution.run_id)))
    return sorted(found, key=lambda t: t.workflow_id)


async def _replaced(client: Client, workflow_id: str, run_id: str) -> bool:
    """A newer run of the same workflow exists (a reset, or a start after the end)."""
    try:
        latest = await client.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return False
    return latest.run_id != run_id


async def _problem(client: Client, workflow_id: str, run_id: str) -> str:
    """The failure's message: of the run's end, or of its last failed workflow task."""
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    for event in reversed(history.events):
        match event.event_type:
            case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
                return event.workflow_execution_failed_event_attributes.failure.message
            case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
                return f"terminated: {event.workflow_execution_terminated_event_attributes.reason}"
            case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
                return "timed out"
            case EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                return event.workflow_task_failed_event_attributes.failure.message.splitlines()[0]
    return "stopped"


def _status(status: WorkflowExecutionStatus | None) -> str:
    return status.name.replace("_", " ").lower() if status else "unknown"
