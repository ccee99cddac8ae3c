"""Count nondeterminism failures in Temporal histories, over every run of each workflow.

    counts = await nondeterminism_counts(client, workflow_ids)   # {workflow_id: failures}
    assert sum(counts.values()) == 0, await describe_nondeterminism(client, workflow_ids)

A failure is a `WorkflowTaskFailed` event whose cause is `NonDeterministicError` (the worker could
not replay the history: "[TMPRL1100] Nondeterminism error: ..."). The SDK retries such a task for
ever, and each retry that fails again is written as a new event only when something changed, so
the count is "failed tasks seen", not "runs affected": use `runs_with_nondeterminism` for that.

Runs are found two ways, because one is not enough on its own: the visibility listing
(`WorkflowId = '...'`, which also finds runs a reset created and which a continue-as-new chain
does not lead to) can lag a few hundred milliseconds behind the server, and the chain of
continue-as-new runs (`continued_execution_run_id`, followed back from the newest run) is read
from the histories themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowHistory

NONDETERMINISM = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR


@dataclass(frozen=True)
class Failure:
    workflow_id: str
    run_id: str
    event_id: int
    message: str


def nondeterminism_failures_in(history: WorkflowHistory) -> list[Failure]:
    """The NonDeterministicError task failures of one run's history."""
    found = []
    for event in history.events:
        if event.event_type != EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            continue
        failed = event.workflow_task_failed_event_attributes
        if failed.cause == NONDETERMINISM:
            found.append(Failure(history.workflow_id, history.run_id, event.event_id,
                                 failed.failure.message))
    return found


async def run_ids(client: Client, workflow_id: str) -> list[str]:
    """Every run of the workflow known to the server (first run first, as far as visibility and
    the continue-as-new chain tell)."""
    listed = [execution.run_id async for execution in
              client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    chain: list[str] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        chain.append(history.run_id)
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id or None
        if run_id is None or run_id in chain:
            break
    ordered = list(reversed(chain))
    return ordered + [r for r in reversed(listed) if r not in ordered]


async def nondeterminism_failures(client: Client, workflow_ids: Iterable[str]) -> list[Failure]:
    """Every NonDeterministicError task failure, across all runs of each workflow."""
    found: list[Failure] = []
    for workflow_id in workflow_ids:
        for run_id in await run_ids(client, workflow_id):
            history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
            found += nondeterminism_failures_in(history)
    return found


async def nondeterminism_counts(client: Client, workflow_ids: Iterable[str]) -> dict[str, int]:
    """{workflow id: NonDeterministicError task failures over all its runs} (0 when clean)."""
    workflow_ids = list(workflow_ids)
    counts = dict.fromkeys(workflow_ids, 0)
    for failure in await nondeterminism_failures(client, workflow_ids):
        counts[failure.workflow_id] += 1
    return counts


async def runs_with_nondeterminism(client: Client, workflow_ids: Iterable[str]) -> set[tuple[str, str]]:
    """(workflow id, run id) of each run with at least one NonDeterministicError failure."""
    return {(f.workflow_id, f.run_id) for f in await nondeterminism_failures(client, workflow_ids)}


async def describe_nondeterminism(client: Client, workflow_ids: Iterable[str]) -> str:
    """One line per failure, for an assertion message."""
    return "\n".join(f"{f.workflow_id} run {f.run_id} event {f.event_id}: {f.message}"
                     for f in await nondeterminism_failures(client, workflow_ids)) or "none"


# --- where the trigger of temporalio/sdk-python#1591 formed ----------------------------------

COMMAND_EVENTS = frozenset({
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
    EventType.EVENT_TYPE_MARKER_RECORDED, EventType.EVENT_TYPE_TIMER_STARTED,
    EventType.EVENT_TYPE_TIMER_CANCELED,
    EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
    EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED, EventType.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED,
    EventType.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
})
"""Events a workflow task's commands write (sdk-core's `is_command_event`)."""

_TASK_EVENTS = frozenset({
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
})


@dataclass(frozen=True)
class UpdateFold:
    """An Update whose workflow task came right after a task with no commands that itself
    followed a task with no commands. A worker without the run in its cache applies that
    task's events (`folded_event_ids`) in the same activation as the Update, after it (the
    SDK runs Update handlers first); a replay of the written history applies them in an
    activation before the Update's. Whatever the two orders make the workflow do differently
    is what temporalio/sdk-python#1591 reports as nondeterminism."""
    workflow_id: str
    run_id: str
    update_event_id: int
    folded_event_ids: tuple[int, ...]
    new_worker: bool
    """The Update's task ran on another worker (identity) than the task before it: that worker
    cannot have had the run cached. (False does not prove a warm cache: an eviction also
    makes a worker cold.)"""


def update_folds_in(history: WorkflowHistory) -> list[UpdateFold]:
    """Where, in one run's history, an Update's task was preceded by two workflow tasks in a
    row without commands, the second of which had events to apply (sdk-core's "heartbeat"
    folding, `find_end_index_of_next_wft_seq`, merges such a task into the next one when the
    worker replays the history from the start)."""
    events = list(history.events)
    kinds = [e.event_type for e in events]
    done = [i for i, kind in enumerate(kinds) if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
            and i + 1 < len(kinds) and kinds[i + 1] == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
    folds = []
    for previous, started in zip(done, done[1:]):
        between = range(previous + 1, started)
        if any(kinds[i] in COMMAND_EVENTS for i in between):
            continue  # the task before had commands: no folding
        folded = tuple(events[i].event_id for i in between if kinds[i] not in _TASK_EVENTS)
        update_task = _next_task_if_it_accepted_an_update(kinds, started + 2)
        if not folded or update_task is None:
            continue  # nothing to apply out of order, or no Update right after
        identity = events[started].workflow_task_started_event_attributes.identity
        next_identity = events[update_task].workflow_task_started_event_attributes.identity
        folds.append(UpdateFold(history.workflow_id, history.run_id,
                                events[update_task + 2].event_id, folded, identity != next_identity))
    return folds


def _next_task_if_it_accepted_an_update(kinds: list[int], i: int) -> int | None:
    """Index of the WorkflowTaskStarted of the task scheduled right at `i` (after attempts that
    timed out or failed, such as the sticky queue's schedule-to-start timeout after a kill -9),
    if that task completed by accepting an Update first."""
    task = EventType
    while i < len(kinds) and kinds[i] == task.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        rest = kinds[i + 1:i + 4]
        if rest[:1] == [task.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT]:
            i += 2
        elif rest[:1] == [task.EVENT_TYPE_WORKFLOW_TASK_STARTED] and rest[1:2] in (
                [task.EVENT_TYPE_WORKFLOW_TASK_FAILED], [task.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT]):
            i += 3
        elif rest == [task.EVENT_TYPE_WORKFLOW_TASK_STARTED, task.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                      task.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]:
            return i + 1
        else:
            return None
    return None


async def update_folds(client: Client, workflow_ids: Iterable[str]) -> list[UpdateFold]:
    """`update_folds_in` over every run of each workflow: where the trigger of
    temporalio/sdk-python#1591 formed, whether or not the workflow code then diverged."""
    found: list[UpdateFold] = []
    for workflow_id in workflow_ids:
        for run_id in await run_ids(client, workflow_id):
            history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
            found += update_folds_in(history)
    return found
