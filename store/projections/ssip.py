"""The state team's SSIP tasks in the task inbox and the notification outbox.

They live on the SSIP's stream (`ssip/<initiative id>`), not a site's: the inbox row has the
initiative but no site, district or stage, and every notification goes to the state team.
"""

from __future__ import annotations

import asyncpg

from domain.events import SSIP_STREAM_PREFIX
from store.projections.notifications import STATE_TEAM_RECIPIENT, _notify
from store.projections.registry import Recorded, on


def _initiative(stream_id: str) -> str:
    return stream_id.removeprefix(SSIP_STREAM_PREFIX)


@on("tasks", "SsipTaskAssigned")
async def _assigned(conn: asyncpg.Connection, r: Recorded) -> None:
    e, p = r.event, r.event.payload
    await conn.execute(
        "INSERT INTO tasks (task_id, stream_id, initiative_id, site_id, district_id, workflow_id, "
        "kind, title, stage, assignee_role, instrument, ref, due, assigned_at) "
        "VALUES ($1, $2, $3, NULL, NULL, $4, $5, $6, NULL, $7, NULL, $8, $9, $10)",
        p.task_id, e.stream_id, _initiative(e.stream_id), r.workflow_id, f"ssip_{p.kind}",
        p.title, p.assignee_role, f"FFY {p.ffy}", p.due, e.occurred_at)


@on("tasks", "SsipTaskCompleted")
async def _completed(conn: asyncpg.Connection, r: Recorded) -> None:
    await conn.execute(
        "UPDATE tasks SET status = 'completed', completed_at = $3, completed_by = $4 "
        "WHERE task_id = $1 AND stream_id = $2", r.event.payload.task_id, r.event.stream_id,
        r.event.occurred_at, r.event.actor.id)


@on("tasks", "SsipTaskOverdue")
async def _overdue(conn: asyncpg.Connection, r: Recorded) -> None:
    await conn.execute("UPDATE tasks SET overdue = true WHERE task_id = $1 AND stream_id = $2",
                       r.event.payload.task_id, r.event.stream_id)


@on("outbox", "SsipTaskAssigned")
async def _notify_assigned(conn: asyncpg.Connection, r: Recorded) -> None:
    p = r.event.payload
    await _notify(conn, r, STATE_TEAM_RECIPIENT, f"SSIP task: {p.title}",
                  f"{p.title}\nFor the SSIP report in the SPP/APR of initiative "
                  f"{_initiative(r.event.stream_id)}; due {p.due:%a %d %b %Y}.")


@on("outbox", "SsipTaskOverdue")
async def _notify_overdue(conn: asyncpg.Connection, r: Recorded) -> None:
    title = await conn.fetchval("SELECT title FROM tasks WHERE task_id = $1 AND stream_id = $2",
                                r.event.payload.task_id, r.event.stream_id)
    await _notify(conn, r, STATE_TEAM_RECIPIENT, f"Overdue: {title or r.event.payload.task_id}",
                  f"{title or r.event.payload.task_id} was due {r.event.payload.due:%a %d %b %Y}.")
