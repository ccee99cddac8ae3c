"""Read models fed by the events: the stage board, the task inbox, the outbox and scores over time.

Each handler turns one event into rows and uses only the event and its recorded metadata (never
the clock), so the same code serves the live path (inside the append's transaction) and a rebuild
from the events table, and both produce identical tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Awaitable, Callable

import asyncpg

from domain import events as ev
from domain.instruments import Instrument
from store.codec import EVENT_COLUMNS, event_from_row

STATE_TEAM_RECIPIENT = "state-team"


@dataclass(frozen=True)
class Recorded:
    """An event as stored: its global position and what the append knew besides the event."""

    position: int
    event: ev.Event
    workflow_id: str | None
    recorded_at: datetime


Handler = Callable[[asyncpg.Connection, Recorded], Awaitable[None]]


@dataclass
class Projection:
    name: str
    tables: tuple[str, ...]
    handlers: dict[str, Handler] = field(default_factory=dict)


PROJECTIONS: dict[str, Projection] = {p.name: p for p in (
    Projection("sites", ("sites",)),
    Projection("tasks", ("tasks",)),
    Projection("outbox", ("outbox",)),
    Projection("scores", ("driver_scores", "fidelity_scores")),
)}
"""In dependency order: tasks read sites; the outbox reads sites and tasks (fields that never
change after they are written, so rebuilding one projection alone gives the same rows)."""


def _on(projection: str, *event_types: str):
    def register(handler: Handler) -> Handler:
        for event_type in event_types:
            PROJECTIONS[projection].handlers[event_type] = handler
        return handler
    return register


async def apply(conn: asyncpg.Connection, recorded: list[Recorded]) -> None:
    """Feed newly appended events to every projection, in the caller's transaction."""
    for r in recorded:
        for projection in PROJECTIONS.values():
            handler = projection.handlers.get(r.event.type)
            if handler is not None:
                await handler(conn, r)
    if recorded:
        await conn.execute(
            "INSERT INTO projection_checkpoints (name, position) SELECT unnest($1::text[]), $2::bigint "
            "ON CONFLICT (name) DO UPDATE "
            "SET position = greatest(projection_checkpoints.position, excluded.position)",
            sorted(PROJECTIONS), recorded[-1].position)


async def rebuild(pool: asyncpg.Pool, name: str, page: int = 1000) -> int:
    """Truncate one projection and replay every event into it; return the events replayed.

    A SHARE lock on `events` waits for appends in flight and holds new ones until the rebuild
    commits, so no event is missed or applied twice. The outbox keeps its delivery state.
    """
    projection = PROJECTIONS.get(name)
    if projection is None:
        raise ValueError(f"unknown projection {name!r}; known: {', '.join(PROJECTIONS)}")
    replayed, position = 0, 0
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE events IN SHARE MODE")
        if name == "outbox":
            await conn.execute(
                "CREATE TEMP TABLE outbox_delivery ON COMMIT DROP AS SELECT notification_id, "
                "status, attempts, next_attempt_at, last_error, sent_at FROM outbox")
        await conn.execute(f"TRUNCATE {', '.join(projection.tables)}")
        while rows := await conn.fetch(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2",
                position, page):
            for row in rows:
                handler = projection.handlers.get(row["type"])
                if handler is not None:
                    await handler(conn, Recorded(row["position"], event_from_row(row),
                                                 row["workflow_id"], row["recorded_at"]))
            position, replayed = rows[-1]["position"], replayed + len(rows)
        if name == "outbox":
            await conn.execute(
                "UPDATE outbox o SET status = d.status, attempts = d.attempts, "
                "next_attempt_at = d.next_attempt_at, last_error = d.last_error, sent_at = d.sent_at "
                "FROM outbox_delivery d WHERE o.notification_id = d.notification_id")
        await conn.execute(
            "INSERT INTO projection_checkpoints (name, position, rebuilt_at) VALUES ($1, $2, now()) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position, rebuilt_at = now()",
            name, position)
    return replayed


# --- sites: the stage board -----------------------------------------------------------------

@_on("sites", "SiteEnrolled")
async def _site_enrolled(conn: asyncpg.Connection, r: Recorded) -> None:
    e, p = r.event, r.event.payload
    await conn.execute(
        "INSERT INTO sites (stream_id, initiative_id, site_id, name, kind, region, district, "
        "cohort_id, status, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9)",
        e.stream_id, p.initiative_id, p.site_id, p.site_name, p.kind, p.region, p.district,
        p.cohort_id, e.occurred_at)


@_on("sites", "StageEntered")
async def _site_stage(conn: asyncpg.Connection, r: Recorded) -> None:
    await conn.execute(
        "UPDATE sites SET stage = $2, stage_entered_at = $3, updated_at = $3 WHERE stream_id = $1",
        r.event.stream_id, r.event.payload.stage.value, r.event.occurred_at)


def _site_status(status: str) -> Handler:
    async def handler(conn: asyncpg.Connection, r: Recorded) -> None:
        await conn.execute("UPDATE sites SET status = $2, updated_at = $3 WHERE stream_id = $1",
                           r.event.stream_id, status, r.event.occurred_at)
    return handler


for _type, _status in (("RolloutPaused", "paused"), ("RolloutResumed", "active"),
                       ("RolloutCancelled", "cancelled"), ("SiteCompleted", "completed")):
    _on("sites", _type)(_site_status(_status))


# --- tasks: the inbox -----------------------------------------------------------------------

@_on("tasks", "TaskAssigned")
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


_on("tasks", "TaskCompleted")(_task_change(
    "status = 'completed', completed_at = $3, completed_by = $4",
    lambda r: r.event.occurred_at, lambda r: r.event.actor.id))
_on("tasks", "TaskWithdrawn")(_task_change("status = 'withdrawn'"))
_on("tasks", "TaskReminderSent")(_task_change("reminded = true"))
_on("tasks", "TaskOverdue")(_task_change("overdue = true"))
_on("tasks", "TaskEscalated")(_task_change(
    "escalated = true, escalated_to = $3", lambda r: r.event.payload.escalated_to))


# --- outbox: who hears about what ------------------------------------------------------------

def recipient_for(role: str, site_id: str, district_id: str) -> str:
    """Where a role's notifications go: the state team, the site's coaches, or its district."""
    role = role.strip().lower()
    if role.startswith("state"):
        return STATE_TEAM_RECIPIENT
    if role.startswith("coach"):
        return f"coach:{site_id}"
    return f"district:{district_id}"


async def _notify(conn: asyncpg.Connection, r: Recorded, recipient: str, subject: str,
                  body: str) -> None:
    await conn.execute(
        "INSERT INTO outbox (notification_id, event_id, stream_id, recipient, subject, body, "
        "next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        f"{r.event.event_id}:{recipient}", r.event.event_id, r.event.stream_id, recipient,
        subject, body, r.recorded_at)


async def _site(conn: asyncpg.Connection, stream_id: str) -> asyncpg.Record:
    site = await conn.fetchrow(
        "SELECT site_id, district_id, name FROM sites WHERE stream_id = $1", stream_id)
    if site is None:
        raise LookupError(f"{stream_id} has no SiteEnrolled event")
    return site


async def _task(conn: asyncpg.Connection, r: Recorded) -> asyncpg.Record:
    task = await conn.fetchrow(
        "SELECT t.title, t.assignee_role, t.site_id, t.district_id, s.name FROM tasks t "
        "JOIN sites s ON s.stream_id = t.stream_id WHERE t.task_id = $1 AND t.stream_id = $2",
        r.event.payload.task_id, r.event.stream_id)
    if task is None:
        raise LookupError(f"{r.event.stream_id} has no task {r.event.payload.task_id}")
    return task


@_on("outbox", "TaskAssigned")
async def _notify_assigned(conn: asyncpg.Connection, r: Recorded) -> None:
    p, site = r.event.payload, await _site(conn, r.event.stream_id)
    await _notify(conn, r, recipient_for(p.assignee_role, site["site_id"], site["district_id"]),
                  f"New task for {site['name']}: {p.title}",
                  f"{p.title}\n{p.stage} at {site['name']}; due {p.due:%a %d %b %Y}.")


@_on("outbox", "TaskReminderSent", "TaskOverdue")
async def _notify_due(conn: asyncpg.Connection, r: Recorded) -> None:
    task, due = await _task(conn, r), r.event.payload.due
    late = r.event.type == "TaskOverdue"
    subject = f"{'Overdue' if late else 'Reminder'}: {task['title']}"
    body = (f"{task['title']} at {task['name']} {'was' if late else 'is'} due "
            f"{due:%a %d %b %Y}.")
    await _notify(conn, r, recipient_for(task["assignee_role"], task["site_id"],
                                         task["district_id"]), subject, body)


@_on("outbox", "TaskEscalated")
async def _notify_escalated(conn: asyncpg.Connection, r: Recorded) -> None:
    task, p = await _task(conn, r), r.event.payload
    await _notify(conn, r, recipient_for(p.escalated_to, task["site_id"], task["district_id"]),
                  f"Escalated at {task['name']}: {task['title']}", p.reason)


@_on("outbox", "StageEntered")
async def _notify_stage(conn: asyncpg.Connection, r: Recorded) -> None:
    p, site = r.event.payload, await _site(conn, r.event.stream_id)
    moved = f"from {p.from_stage} " if p.from_stage else ""
    await _notify(conn, r, f"district:{site['district_id']}",
                  f"{site['name']} entered {p.stage}",
                  f"{site['name']} moved {moved}to {p.stage} ({p.reason.replace('_', ' ')}).")


@_on("outbox", "SiteCompleted")
async def _notify_completed(conn: asyncpg.Connection, r: Recorded) -> None:
    site = await _site(conn, r.event.stream_id)
    await _notify(conn, r, f"district:{site['district_id']}",
                  f"{site['name']} completed the rollout",
                  f"{site['name']} met the {r.event.payload.stage} criteria; the rollout is complete.")


# --- scores over time -----------------------------------------------------------------------

@_on("scores", "AssessmentSubmitted")
async def _capacity_scores(conn: asyncpg.Connection, r: Recorded) -> None:
    p = r.event.payload
    if p.score.instrument is not Instrument.CAPACITY:
        return
    scores = [(driver.value, percent) for driver, percent in p.score.per_driver.items()]
    scores.append(("overall", p.score.percent))
    await conn.executemany(
        "INSERT INTO driver_scores (stream_id, assessment_id, driver, percent, stage, occurred_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [(r.event.stream_id, p.assessment_id, driver, percent, p.stage.value, r.event.occurred_at)
         for driver, percent in scores])


@_on("scores", "FidelityAssessed")
async def _fidelity_scores(conn: asyncpg.Connection, r: Recorded) -> None:
    p = r.event.payload
    await conn.execute(
        "INSERT INTO fidelity_scores (stream_id, assessment_id, stage, percent, assessed, meeting, "
        "occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        r.event.stream_id, p.assessment_id, p.stage.value, p.percent, p.practitioners_assessed,
        p.practitioners_meeting, r.event.occurred_at)
