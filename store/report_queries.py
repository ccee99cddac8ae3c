"""What the annual report reads from the event store: projections first, events where only the
events hold the fact (people counted at a PD session or a coaching cycle, an action item's driver,
when a task was closed, so its status can be told as of the year's end).

Every read is bounded by the report's year end, so a report run later tells the same year-end
story. Reads are plain rows; the report package (report/) shapes them. The stage board at each
month's end is `store.board_queries.board_at`, exactly what `rollout board` reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import asyncpg

from domain import events as ev
from domain.criteria import ExitCriteria
from store import projections

REPORT_READS = ("sites", "tasks", "scores", "stage_history")
"""The projections the report reads (it reads the events table for the rest)."""


@dataclass(frozen=True)
class Launch:
    """The initiative as launched (its InitiativeLaunched event), if that event is stored."""

    name: str
    practice: str
    ssip_phase: str
    simr: str
    site_count: int
    cohort_ids: list[str]
    plan_digest: str
    launched_at: datetime


@dataclass(frozen=True)
class Score:
    stream_id: str
    region: str
    key: str
    """A driver's name, or 'overall' (capacity); the assessment id (fidelity)."""
    percent: float
    occurred_at: datetime
    assessed: int = 0
    meeting: int = 0


@dataclass(frozen=True)
class Delivery:
    """A PD session or coaching cycle event, with the people it counted (if any)."""

    kind: str
    stream_id: str
    region: str
    occurred_at: datetime
    people: int | None = None


@dataclass(frozen=True)
class ActionItem:
    task_id: str
    region: str
    driver: str | None
    system_barrier: bool
    assigned_at: datetime
    completed_at: datetime | None
    withdrawn_at: datetime | None
    escalated_at: datetime | None


def _site_streams(initiative_id: str) -> str:
    return f"{ev.SITE_STREAM_PREFIX}{initiative_id}/"


async def projections_behind(pool: asyncpg.Pool) -> dict[str, int]:
    """Read models still being rebuilt, with the events they have yet to replay."""
    return {s.name: s.behind for s in await projections.status(pool)
            if s.state == "rebuilding" and s.name in REPORT_READS}


async def known_initiatives(pool: asyncpg.Pool, limit: int = 10) -> list[str]:
    rows = await pool.fetch("SELECT DISTINCT initiative_id FROM site_stage_history "
                            "ORDER BY initiative_id LIMIT $1", limit)
    return [r["initiative_id"] for r in rows]


async def last_event_at(pool: asyncpg.Pool, initiative_id: str,
                        until: datetime | None = None) -> datetime | None:
    """The newest school-time moment recorded for the initiative's sites (before `until`: the
    data a year's report rests on ends with the year, whatever was recorded since)."""
    return await pool.fetchval(
        "SELECT max(occurred_at) FROM events WHERE left(stream_id, $2) = $1 "
        "AND ($3::timestamptz IS NULL OR occurred_at < $3)",
        _site_streams(initiative_id), len(_site_streams(initiative_id)), until)


async def launch(pool: asyncpg.Pool, initiative_id: str) -> Launch | None:
    row = await pool.fetchrow(
        "SELECT payload, occurred_at FROM events WHERE stream_id = $1 "
        "AND type = 'InitiativeLaunched' ORDER BY stream_version LIMIT 1",
        ev.initiative_stream(initiative_id))
    if row is None:
        return None
    p = row["payload"]
    return Launch(p["name"], p["practice"], p["ssip_phase"], p["simr"], p["site_count"],
                  list(p["cohort_ids"]), p["plan_digest"], row["occurred_at"])


async def cohorts_started(pool: asyncpg.Pool, initiative_id: str,
                          until: datetime) -> dict[str, datetime]:
    rows = await pool.fetch(
        "SELECT payload->>'cohort_id' AS cohort, occurred_at FROM events WHERE stream_id = $1 "
        "AND type = 'CohortStarted' AND occurred_at < $2 ORDER BY occurred_at",
        ev.initiative_stream(initiative_id), until)
    return {r["cohort"]: r["occurred_at"] for r in rows}


async def criteria(pool: asyncpg.Pool, initiative_id: str) -> ExitCriteria:
    """The exit criteria the sites enrolled with (the plan's; the same for every site)."""
    raw = await pool.fetchval(
        "SELECT payload->'criteria' FROM events WHERE left(stream_id, $2) = $1 "
        "AND type = 'SiteEnrolled' ORDER BY position LIMIT 1",
        _site_streams(initiative_id), len(_site_streams(initiative_id)))
    return ExitCriteria.model_validate(raw) if raw is not None else ExitCriteria()


async def capacity_scores(pool: asyncpg.Pool, initiative_id: str, until: datetime) -> list[Score]:
    rows = await pool.fetch(
        "SELECT d.stream_id, s.region, d.driver, d.percent, d.occurred_at FROM driver_scores d "
        "JOIN sites s ON s.stream_id = d.stream_id WHERE s.initiative_id = $1 "
        "AND d.occurred_at < $2 ORDER BY d.occurred_at, d.stream_id, d.driver",
        initiative_id, until)
    return [Score(r["stream_id"], r["region"], r["driver"], r["percent"], r["occurred_at"])
            for r in rows]


async def fidelity_scores(pool: asyncpg.Pool, initiative_id: str, until: datetime) -> list[Score]:
    rows = await pool.fetch(
        "SELECT f.stream_id, s.region, f.assessment_id, f.percent, f.occurred_at, f.assessed, "
        "f.meeting FROM fidelity_scores f JOIN sites s ON s.stream_id = f.stream_id "
        "WHERE s.initiative_id = $1 AND f.occurred_at < $2 ORDER BY f.occurred_at, f.stream_id",
        initiative_id, until)
    return [Score(r["stream_id"], r["region"], r["assessment_id"], r["percent"], r["occurred_at"],
                  r["assessed"], r["meeting"]) for r in rows]


_PEOPLE = {"PdSessionHeld": "attendees", "CoachingCycleCompleted": "practitioners_observed"}


async def deliveries(pool: asyncpg.Pool, initiative_id: str, since: datetime,
                     until: datetime) -> list[Delivery]:
    """PD sessions held and coaching cycles started or completed in the year (by when they were
    recorded), and PD sessions scheduled for a day inside it."""
    prefix = _site_streams(initiative_id)
    rows = await pool.fetch(
        "SELECT e.type, e.stream_id, s.region, e.occurred_at, "
        "  (e.payload->>'attendees')::int AS attendees, "
        "  (e.payload->>'practitioners_observed')::int AS observed "
        "FROM events e JOIN sites s ON s.stream_id = e.stream_id "
        "WHERE e.type IN ('PdSessionHeld', 'CoachingCycleStarted', 'CoachingCycleCompleted') "
        "AND e.occurred_at >= $3 AND e.occurred_at < $4 AND left(e.stream_id, $2) = $1 "
        "UNION ALL "
        "SELECT e.type, e.stream_id, s.region, "
        "  ((e.payload->>'on')::date)::timestamp AT TIME ZONE 'UTC', NULL, NULL "
        "FROM events e JOIN sites s ON s.stream_id = e.stream_id "
        "WHERE e.type = 'PdSessionScheduled' AND left(e.stream_id, $2) = $1 "
        "AND (e.payload->>'on')::date >= $5 AND (e.payload->>'on')::date < $6 "
        "AND e.occurred_at < $4 "
        "ORDER BY 4", prefix, len(prefix), since, until,
        since.astimezone(timezone.utc).date(), until.astimezone(timezone.utc).date())
    return [Delivery(r["type"], r["stream_id"], r["region"], r["occurred_at"],
                     r["attendees"] if r["type"] == "PdSessionHeld" else
                     r["observed"] if r["type"] == "CoachingCycleCompleted" else None)
            for r in rows]


async def coaching_steps_completed(pool: asyncpg.Pool, initiative_id: str, since: datetime,
                                   until: datetime) -> dict[str, int]:
    """Coaching steps (plan, observe, debrief) completed in the year, per region (task inbox)."""
    rows = await pool.fetch(
        "SELECT s.region, count(*) AS steps FROM tasks t JOIN sites s ON s.stream_id = t.stream_id "
        "WHERE t.initiative_id = $1 AND t.kind = 'coaching_step' AND t.status = 'completed' "
        "AND t.completed_at >= $2 AND t.completed_at < $3 GROUP BY s.region", initiative_id,
        since, until)
    return {r["region"]: r["steps"] for r in rows}


async def action_items(pool: asyncpg.Pool, initiative_id: str, since: datetime,
                       until: datetime) -> list[ActionItem]:
    """Review action items assigned in the year, with when each was completed, withdrawn or
    escalated (only what happened before the year's end counts)."""
    prefix = _site_streams(initiative_id)
    tasks = await pool.fetch(
        "SELECT t.task_id, t.stream_id, s.region, t.assigned_at FROM tasks t "
        "JOIN sites s ON s.stream_id = t.stream_id WHERE t.initiative_id = $1 "
        "AND t.kind = 'action_item' AND t.assigned_at >= $2 AND t.assigned_at < $3",
        initiative_id, since, until)
    if not tasks:
        return []
    closings = await pool.fetch(
        "SELECT e.type, e.stream_id, e.payload->>'task_id' AS task_id, min(e.occurred_at) AS at "
        "FROM events e WHERE e.type IN ('TaskCompleted', 'TaskWithdrawn', 'TaskEscalated') "
        "AND e.occurred_at >= $3 AND e.occurred_at < $4 AND left(e.stream_id, $2) = $1 "
        "AND e.payload->>'task_id' = ANY($5::text[]) GROUP BY 1, 2, 3",
        prefix, len(prefix), since, until, sorted({t["task_id"] for t in tasks}))
    closed: dict[tuple[str, str, str], datetime] = {
        (r["type"], r["stream_id"], r["task_id"]): r["at"] for r in closings}
    reviews = await pool.fetch(
        "SELECT e.stream_id, e.payload->'action_items' AS items FROM events e "
        "WHERE e.type = 'ReviewHeld' AND e.occurred_at >= $3 AND e.occurred_at < $4 "
        "AND left(e.stream_id, $2) = $1", prefix, len(prefix), since, until)
    named: dict[tuple[str, str], dict[str, Any]] = {
        (r["stream_id"], item["action_id"]): item for r in reviews for item in r["items"]}
    items = []
    for t in tasks:
        key, item = (t["stream_id"], t["task_id"]), named.get((t["stream_id"], t["task_id"]), {})
        items.append(ActionItem(
            task_id=t["task_id"], region=t["region"], driver=item.get("driver"),
            system_barrier=bool(item.get("system_barrier", False)), assigned_at=t["assigned_at"],
            completed_at=closed.get(("TaskCompleted", *key)),
            withdrawn_at=closed.get(("TaskWithdrawn", *key)),
            escalated_at=closed.get(("TaskEscalated", *key))))
    return items
