"""Recording decided events, and adopting the record when a workflow's task has run before.

A workflow reset to an earlier task (the watchdog in runtime/watchdog.py does this when a
task can never complete) decides that task's events again, at a later time, so they differ from
the ones its first pass stored. The event store keeps what it holds and hands those back
(`AppendResult.adopted`, store/eventstore.py); the workflow folds them in place of its own.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.events import EventRecorder, RecordEventsInput
    from domain.events import Event
    from workflows.activity_options import RECORD

ADOPT_STORED_PATCH = "adopt-events-stored-by-an-earlier-pass"
"""workflow.patched id: a batch the store answers with events stored earlier by the same workflow
is replaced by them. Before, the store refused such a batch as a conflict and the workflow failed;
no recorded history reaches the patch, so they replay as they ran."""

State = TypeVar("State")


async def record(events: list[Event], before: State,
                 fold: Callable[[list[Event], State], State]) -> tuple[list[Event], State | None]:
    """Record a non-empty batch decided on `before`. The events that stand, and the state folded
    from them when they are the store's earlier record (None: the workflow's own fold stands)."""
    result = await workflow.execute_activity_method(
        EventRecorder.record_events,
        RecordEventsInput(stream_id=events[0].stream_id, expected_version=events[0].sequence - 1,
                          events=events, workflow_id=workflow.info().workflow_id),
        **RECORD)
    if result.adopted and workflow.patched(ADOPT_STORED_PATCH):
        return result.adopted, fold(result.adopted, before)
    return events, None
