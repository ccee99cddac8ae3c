"""The audit's reads: a stream, an actor's actions, or a window of time, optionally within one
initiative. Events come back in the global order they were recorded in, as today's models. Also
where each of an initiative's sites stands, with how often it slipped back or was escalated, for
the audit of the initiative as a whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg
from pydantic import ValidationError

from domain.events import Event, initiative_stream, site_streams_of
from store.codec import EVENT_COLUMNS, event_from_row

DEFAULT_LIMIT = 100_000


@dataclass(frozen=True)
class AuditedEvent:
    position: int
    event: Event
    recorded_at: datetime
    workflow_id: str | None


@dataclass(frozen=True)
class StoredVersion:
    """One stored event of a stream as today's models read it, or why they cannot."""

    version: int
    event: Event | None
    unreadable: ValidationError | None = None


@dataclass(frozen=True)
class SiteStanding:
    """Where a site stands (the sites projection) and how often it regressed or was escalated."""

    site_id: str
    name: str
    region: str
    cohort_id: str
    stage: str | None
    status: str
    stage_entered_at: datetime | None
    regressions: int
    escalations: int


def _scope(initiative_id: str | None, first_param: int) -> tuple[str, list]:
    """SQL restricting rows to one initiative's streams (its own and its sites')."""
    if initiative_id is None:
        return "", []
    n = first_param
    return (f" AND (stream_id = ${n} OR starts_with(stream_id, ${n + 1}))",
            [initiative_stream(initiative_id), site_streams_of(initiative_id)])


async def _fetch(pool: asyncpg.Pool, where: str, params: list, limit: int) -> list[AuditedEvent]:
    rows = await pool.fetch(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE {where} ORDER BY position LIMIT {int(limit)}",
        *params)
    return [AuditedEvent(r["position"], event_from_row(r), r["recorded_at"], r["workflow_id"])
            for r in rows]


async def stream_events(pool: asyncpg.Pool, stream_id: str) -> list[AuditedEvent]:
    return await _fetch(pool, "stream_id = $1", [stream_id], DEFAULT_LIMIT)


async def stored_versions(pool: asyncpg.Pool, stream_id: str) -> list[StoredVersion]:
    """Every event of the stream in version order, each read on its own, so that one row today's
    models reject (the verify reports it) does not hide the others."""
    rows = await pool.fetch(f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 "
                            "ORDER BY stream_version", stream_id)
    found = []
    for row in rows:
        try:
            found.append(StoredVersion(row["stream_version"], event_from_row(row)))
        except ValidationError as unreadable:
            found.append(StoredVersion(row["stream_version"], None, unreadable))
    return found


async def actor_events(pool: asyncpg.Pool, actor_id: str, *, since: datetime | None = None,
                       until: datetime | None = None, initiative_id: str | None = None,
                       limit: int = DEFAULT_LIMIT) -> list[AuditedEvent]:
    """Everything one person (or the engine, actor id 'system') did, oldest first."""
    scope, extra = _scope(initiative_id, 4)
    return await _fetch(
        pool, "actor ->> 'id' = $1 AND occurred_at >= coalesce($2, '-infinity'::timestamptz) "
              "AND occurred_at < coalesce($3, 'infinity'::timestamptz)" + scope,
        [actor_id, since, until, *extra], limit)


async def window_events(pool: asyncpg.Pool, since: datetime, until: datetime, *,
                        initiative_id: str | None = None,
                        limit: int = DEFAULT_LIMIT) -> list[AuditedEvent]:
    """Everything that happened in [since, until), in the order it was recorded."""
    scope, extra = _scope(initiative_id, 3)
    return await _fetch(pool, "occurred_at >= $1 AND occurred_at < $2" + scope,
                        [since, until, *extra], limit)


async def stream_ids(pool: asyncpg.Pool, initiative_id: str | None = None) -> list[str]:
    """Every stream, or one initiative's, in name order."""
    if initiative_id is None:
        rows = await pool.fetch("SELECT stream_id FROM streams ORDER BY stream_id")
    else:
        rows = await pool.fetch(
            "SELECT stream_id FROM streams WHERE stream_id = $1 OR starts_with(stream_id, $2) "
            "ORDER BY stream_id", initiative_stream(initiative_id), site_streams_of(initiative_id))
    return [r["stream_id"] for r in rows]


async def site_standings(pool: asyncpg.Pool, initiative_id: str) -> list[SiteStanding]:
    """Every site of the initiative, by region and site id."""
    rows = await pool.fetch(
        "SELECT s.site_id, s.name, s.region, s.cohort_id, s.stage, s.status, s.stage_entered_at, "
        "(SELECT count(*) FROM events e WHERE e.stream_id = s.stream_id "
        " AND e.type = 'SiteRegressed') AS regressions, "
        "(SELECT count(*) FROM events e WHERE e.stream_id = s.stream_id "
        " AND e.type = 'TaskEscalated') AS escalations "
        "FROM sites s WHERE s.initiative_id = $1 ORDER BY s.region, s.site_id", initiative_id)
    return [SiteStanding(**dict(r)) for r in rows]


async def site_ids(pool: asyncpg.Pool, initiative_id: str, limit: int = 20) -> list[str]:
    """The first `limit` ids of the initiative's sites, in id order."""
    rows = await pool.fetch(
        "SELECT site_id FROM sites WHERE initiative_id = $1 ORDER BY site_id LIMIT $2",
        initiative_id, limit)
    return [r["site_id"] for r in rows]
