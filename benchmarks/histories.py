"""Reading a finished rollout back from Temporal: every run of every site workflow and of its
coaching cycles, turned into the bare baseline's scripts."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from benchmarks.bare import ACTIVITY, TIMER, UPDATE, Lane, Script, Step

SITE_PREFIX, COACHING_TYPE = "site-rollout:", "CoachingCycleWorkflow"


async def fetch_histories(client: Client, initiative_id: str,
                          concurrency: int = 16) -> list[WorkflowHistory]:
    """Every closed run of the initiative's site and coaching workflows."""
    query = (f"WorkflowId STARTS_WITH '{SITE_PREFIX}{initiative_id}:' OR "
             f"(WorkflowType = '{COACHING_TYPE}' AND WorkflowId STARTS_WITH 'coaching-cycle:{initiative_id}:')")
    runs = [(w.id, w.run_id) async for w in client.list_workflows(query)]
    gate = asyncio.Semaphore(concurrency)

    async def one(workflow_id: str, run_id: str) -> WorkflowHistory:
        async with gate:
            return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    return list(await asyncio.gather(*(one(*run) for run in runs)))


def scripts(histories: list[WorkflowHistory]) -> dict[str, Script]:
    """One script per site workflow id: its runs in order as lane 0, each coaching cycle a lane
    starting after the lane-0 step at which the site started it."""
    runs, cycles = defaultdict(list), defaultdict(list)
    for history in histories:
        started = history.events[0]
        attrs = started.workflow_execution_started_event_attributes
        if attrs.workflow_type.name == COACHING_TYPE:
            cycles[attrs.parent_workflow_execution.workflow_id].append(history)
        else:
            runs[history.workflow_id].append(history)
    found = {}
    for workflow_id, site_runs in runs.items():
        site_runs.sort(key=lambda h: h.events[0].event_time.ToDatetime())
        main, starts = [], {}
        for history in site_runs:
            for event in history.events:
                if event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
                    child = event.start_child_workflow_execution_initiated_event_attributes
                    starts[child.workflow_id] = len(main) - 1
            main += _steps(history)
        lanes = [Lane(steps=main)]
        for cycle in sorted(cycles.get(workflow_id, []), key=lambda h: starts.get(h.workflow_id, 0)):
            lanes.append(Lane(starts_after=starts.get(cycle.workflow_id, -1), steps=_steps(cycle)))
        found[workflow_id] = Script(site_id=workflow_id, lanes=lanes)
    return found


def activity_types(histories: list[WorkflowHistory]) -> dict[str, int]:
    """How many activities of each type the rollout ran: where its worker time goes."""
    found: dict[str, int] = defaultdict(int)
    for history in histories:
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                found[event.activity_task_scheduled_event_attributes.activity_type.name] += 1
    return dict(sorted(found.items(), key=lambda kv: -kv[1]))


def _steps(history: WorkflowHistory) -> list[Step]:
    """The run's activities, timers and updates in order. A timer the workflow cancelled (a
    person acted before it fired) lasts as long as it really ran, not its full length."""
    steps, timers = [], {}
    for event in history.events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            steps.append(Step(kind=ACTIVITY))
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            steps.append(Step(kind=UPDATE))
        elif kind == EventType.EVENT_TYPE_TIMER_STARTED:
            attrs = event.timer_started_event_attributes
            timers[attrs.timer_id] = (len(steps), event.event_time.ToDatetime())
            steps.append(Step(kind=TIMER, seconds=attrs.start_to_fire_timeout.ToTimedelta().total_seconds()))
        elif kind == EventType.EVENT_TYPE_TIMER_CANCELED:
            at, started = timers[event.timer_canceled_event_attributes.timer_id]
            ran = (event.event_time.ToDatetime() - started).total_seconds()
            steps[at] = Step(kind=TIMER, seconds=max(ran, 0.001))
    return steps
