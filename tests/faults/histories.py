"""What the Temporal histories show of retries: the attempt on which each activity finally ran."""

from __future__ import annotations

from collections import Counter

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client


async def retried_activities(client: Client, workflow_ids: list[str]) -> tuple[Counter, dict]:
    """(activities by type that needed more than one attempt, the highest attempt by type),
    over every run of each workflow (following continue-as-new)."""
    retried, highest = Counter(), {}
    for workflow_id in workflow_ids:
        run_id = None
        while True:
            history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
            kinds = {}
            for e in history.events:
                if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                    scheduled = e.activity_task_scheduled_event_attributes
                    kinds[e.event_id] = scheduled.activity_type.name
                elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                    started = e.activity_task_started_event_attributes
                    kind = kinds[started.scheduled_event_id]
                    highest[kind] = max(highest.get(kind, 1), started.attempt)
                    retried[kind] += started.attempt > 1
            run_id = history.events[0].workflow_execution_started_event_attributes \
                .continued_execution_run_id or None
            if run_id is None:
                break
    return retried, highest
