"""Which initiatives the event store holds, and how much each has recorded.

The launch refuses an id the store already holds; the board and audit pages list the initiatives
a person can see; the audit command names recent ones when asked for one it does not know; the
demo closes with what its run recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from typing import Iterable

import asyncpg

from domain import events as ev
from domain.events import SITE_STREAM_PREFIX, initiative_stream
from store.eventstore import EventStore


@dataclass(frozen=True)
class InitiativeSites:
    """An initiative with how many sites it enrolled (in a district, or in all) and how many of
    them are active."""

    initiative_id: str
    sites: int
    active: int
    updated_at: datetime
    """When the newest of those sites last changed."""


@dataclass(frozen=True)
class RecordedCounts:
    """What one initiative has recorded, in its own stream and its sites'."""

    events: int
    tasks: int
    notifications: int
    """Notifications the outbox has sent."""
    pd_sessions: int
    """PD sessions booked."""


async def initiative_recorded(pool: asyncpg.Pool, initiative_id: str) -> bool:
    """True once an initiative with this id has events: its id may not be launched again."""
    return await pool.fetchval("SELECT EXISTS (SELECT 1 FROM streams WHERE stream_id = $1)",
                               initiative_stream(initiative_id))


async def recent_initiatives(pool: asyncpg.Pool, limit: int = 5) -> list[str]:
    """The ids of the initiatives whose streams changed last, newest first."""
    rows = await pool.fetch(
        "SELECT substr(stream_id, length('initiative/') + 1) AS id FROM streams "
        "WHERE stream_id LIKE 'initiative/%' ORDER BY updated_at DESC LIMIT $1", limit)
    return [r["id"] for r in rows]


async def initiatives_with_sites(pool: asyncpg.Pool, district: str | None) -> list[InitiativeSites]:
    """Initiatives with sites in the district (every initiative for `district=None`), by id."""
    rows = await pool.fetch(
        "SELECT initiative_id, count(*) AS sites, "
        "count(*) FILTER (WHERE status = 'active') AS active, max(updated_at) AS updated_at "
        "FROM sites WHERE $1::text IS NULL OR district_id = $1 "
        "GROUP BY initiative_id ORDER BY initiative_id", district)
    return [InitiativeSites(**dict(r)) for r in rows]


async def recorded_counts(pool: asyncpg.Pool, initiative_id: str) -> RecordedCounts:
    """Events of the initiative's streams, its tasks, notifications sent and PD bookings."""
    streams = (initiative_stream(initiative_id), f"{SITE_STREAM_PREFIX}{initiative_id}/")
    ours = "(stream_id = $1 OR starts_with(stream_id, $2))"
    return RecordedCounts(
        events=await pool.fetchval(f"SELECT count(*) FROM events WHERE {ours}", *streams),
        tasks=await pool.fetchval("SELECT count(*) FROM tasks WHERE initiative_id = $1",
                                  initiative_id),
        notifications=await pool.fetchval(
            f"SELECT count(*) FROM outbox WHERE status = 'sent' AND {ours}", *streams),
        pd_sessions=await pool.fetchval(
            "SELECT count(*) FROM pd_bookings WHERE initiative_id = $1", initiative_id))


async def plan_min_cells(pool: asyncpg.Pool, initiative_ids: Iterable[str]) -> list[int | None]:
    """Each initiative's plan minimum as its launch recorded it (None for a launch recorded
    before the field existed); an initiative with no launch stored adds nothing."""
    store, found = EventStore(pool), []
    for initiative_id in sorted(set(initiative_ids)):
        first = await store.read_stream(ev.initiative_stream(initiative_id), limit=1)
        if first and first[0].type == "InitiativeLaunched":
            found.append(first[0].payload.min_cell_size)
    return found
