"""The task inbox: every task a site's teams were given, and what became of it (completed,
withdrawn, waived; reassigned, given a later due date, escalated and when)."""

from __future__ import annotations

from typing import Callable

import asyncpg

from store.projections.registry import Handler, Recorded, on


@on("tasks", "TaskAssigned")
async def _task_assigned(conn: asyncpg.Connection, r: Recorded) -> None:
    e, p = r.event, r.event.payload
    inserted = await conn.execute(
        "INSERT INTO tasks (task_id, stream_id, initiative_id, site_id, district_id, workflow_id, "
        "kind, title, stage, assignee_role, instrument, ref, due, assigned_at) "
        "SELECT $1, s.stream_id, s.initiative_id, s.site_id, s.district_id, $3, $4, $5, $6, $7, "
        "$8, $9, $10, $11 FROM sites s WHERE s.stream_id = $2",
        p.task_id, e.stream_id, r.workflow_id, p.kind, p.title, p.stage.value, p.assignee_role,
        p.instrument.value if p.instrument else None, p.ref, p.due, e.occurred_at)
    if inserted != "INSERT 0 1":
        raise LookupError(f"{e.stream_id} assigns task {p.task_id} but has no SiteEnrolled event")


def _task_change(assignments: str, *values: Callable[[Recorded], object]) -> Handler:
    async def handler(conn: asyncpg.Connection, r: Recorded) -> None:
        await conn.execute(
            f"UPDATE tasks SET {assignments} WHERE task_id = $1 AND stream_id = $2",
            r.event.payload.task_id, r.event.stream_id, *(value(r) for value in values))
    return handler


on("tasks", "TaskCompleted")(_task_change(
    "status = 'completed', completed_at = $3, completed_by = $4",
    lambda r: r.event.occurred_at, lambda r: r.event.actor.id))
on("tasks", "TaskWithdrawn")(_task_change("status = 'withdrawn'"))
on("tasks", "TaskReminderSent")(_task_change("reminded = true"))
on("tasks", "TaskOverdue")(_task_change("overdue = true"))
on("tasks", "TaskEscalated")(_task_change(
    "escalated = true, escalated_to = $3, escalated_at = $4",
    lambda r: r.event.payload.escalated_to, lambda r: r.event.occurred_at))
on("tasks", "TaskReassigned")(_task_change(
    "assignee = $3", lambda r: r.event.payload.to_assignee))
on("tasks", "TaskDueDateExtended")(_task_change(
    "due = $3, reminded = false, overdue = false, escalated = false, escalated_to = NULL, "
    "escalated_at = NULL", lambda r: r.event.payload.to_due))
on("tasks", "TaskWaived")(_task_change(
    "status = 'waived', waived_at = $3, waived_by = $4, waived_reason = $5",
    lambda r: r.event.occurred_at, lambda r: r.event.actor.id, lambda r: r.event.payload.reason))


@on("tasks", "TaskDueDatesShifted")
async def _due_dates_shifted(conn: asyncpg.Connection, r: Recorded) -> None:
    """A resumed site's open tasks, each due the paused school days later."""
    await conn.executemany(
        "UPDATE tasks SET due = $3 WHERE task_id = $1 AND stream_id = $2",
        [(s.task_id, r.event.stream_id, s.to_due) for s in r.event.payload.shifts])
