"""The notification outbox: who hears about what. Delivery lives in store/outbox.py.

A notification is addressed to a team, named by a recipient string: `state-team` (the State
Implementation Team), `district:<district id>` (that district's team) or `coach:<site id>` (the
coaches serving that site). Readers (api/routes/notifications.py) see their team's notifications;
mail goes to the address registered for the recipient (store/notification_addresses.py). When
people have accounts of their own, a recipient can name one of them (`person:<id>`) beside these.
"""

from __future__ import annotations

import asyncpg

from store.projections.registry import Recorded, on

STATE_TEAM_RECIPIENT = "state-team"
DISTRICT_PREFIX = "district:"
COACH_PREFIX = "coach:"


def district_team(district_id: str) -> str:
    return f"{DISTRICT_PREFIX}{district_id}"


def site_coaches(site_id: str) -> str:
    return f"{COACH_PREFIX}{site_id}"


def recipient_for(role: str, site_id: str, district_id: str) -> str:
    """Where a role's notifications go: the state team, the site's coaches, or its district."""
    role = role.strip().lower()
    if role.startswith("state"):
        return STATE_TEAM_RECIPIENT
    if role.startswith("coach"):
        return site_coaches(site_id)
    return district_team(district_id)


async def _notify(conn: asyncpg.Connection, r: Recorded, recipient: str, subject: str,
                  body: str) -> None:
    """One notification per event and recipient, keyed so a replay or a retry writes it once;
    it names the task the event concerns, when it concerns one."""
    await conn.execute(
        "INSERT INTO outbox (notification_id, event_id, stream_id, recipient, subject, body, "
        "task_id, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        f"{r.event.event_id}:{recipient}", r.event.event_id, r.event.stream_id, recipient,
        subject, body, getattr(r.event.payload, "task_id", None), r.recorded_at)


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


@on("outbox", "TaskAssigned")
async def _notify_assigned(conn: asyncpg.Connection, r: Recorded) -> None:
    p, site = r.event.payload, await _site(conn, r.event.stream_id)
    await _notify(conn, r, recipient_for(p.assignee_role, site["site_id"], site["district_id"]),
                  f"New task for {site['name']}: {p.title}",
                  f"{p.title}\n{p.stage} at {site['name']}; due {p.due:%a %d %b %Y}.")


@on("outbox", "TaskReminderSent", "TaskOverdue")
async def _notify_due(conn: asyncpg.Connection, r: Recorded) -> None:
    task, due = await _task(conn, r), r.event.payload.due
    late = r.event.type == "TaskOverdue"
    subject = f"{'Overdue' if late else 'Reminder'}: {task['title']}"
    body = (f"{task['title']} at {task['name']} {'was' if late else 'is'} due "
            f"{due:%a %d %b %Y}.")
    await _notify(conn, r, recipient_for(task["assignee_role"], task["site_id"],
                                         task["district_id"]), subject, body)


@on("outbox", "TaskEscalated")
async def _notify_escalated(conn: asyncpg.Connection, r: Recorded) -> None:
    task, p = await _task(conn, r), r.event.payload
    await _notify(conn, r, recipient_for(p.escalated_to, task["site_id"], task["district_id"]),
                  f"Escalated at {task['name']}: {task['title']}", p.reason)


@on("outbox", "StageEntered")
async def _notify_stage(conn: asyncpg.Connection, r: Recorded) -> None:
    p, site = r.event.payload, await _site(conn, r.event.stream_id)
    moved = f"from {p.from_stage} " if p.from_stage else ""
    await _notify(conn, r, district_team(site['district_id']),
                  f"{site['name']} entered {p.stage}",
                  f"{site['name']} moved {moved}to {p.stage} ({p.reason.replace('_', ' ')}).")


@on("outbox", "SiteCompleted")
async def _notify_completed(conn: asyncpg.Connection, r: Recorded) -> None:
    site = await _site(conn, r.event.stream_id)
    await _notify(conn, r, district_team(site['district_id']),
                  f"{site['name']} completed the rollout",
                  f"{site['name']} met the {r.event.payload.stage} criteria; the rollout is complete.")
