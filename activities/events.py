"""Append decided events to the event store: batched, exactly once under retries.

Event ids are derived from stream and sequence, so a retried batch is recognised and stored once;
the same transaction updates the live read models (task inbox, notification outbox, stage board).
A workflow reset to an earlier task decides that task's events again, at a later time: the events
it stored the first time stand, and come back in the result for the workflow to adopt.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.events import Event
from store.eventstore import AppendResult, ConcurrencyError, EventStore


class RecordEventsInput(BaseModel):
    stream_id: str
    expected_version: int
    events: list[Event]
    workflow_id: str | None = None


class EventRecorder:
    def __init__(self, store: EventStore) -> None:
        self._store = store

    @activity.defn
    async def record_events(self, request: RecordEventsInput) -> AppendResult:
        try:
            result = await self._store.append(
                request.stream_id, request.events, expected_version=request.expected_version,
                workflow_id=request.workflow_id)
        except ConcurrencyError as conflict:
            raise ApplicationError(str(conflict), type="ConcurrencyError", non_retryable=True) from None
        if result.duplicates:
            activity.logger.info("batch for %s already stored (retry)", request.stream_id)
        if result.adopted:
            activity.logger.warning(
                "%s decided #%d-#%d again (its workflow was reset); the stored events stand",
                request.stream_id, result.adopted[0].sequence, result.adopted[-1].sequence)
        return result
