"""What the benchmarks read besides the product's own reads: sizes, counts, statement plans, the
raw statement behind an audit read, and what the simulated teams look at first.

Here, beside the tables they read, so that SQL has one home (tests/test_house.py)."""

from __future__ import annotations

from datetime import date

import asyncpg

from store.audit_queries import DEFAULT_LIMIT
from store.codec import EVENT_COLUMNS

STREAM_EVENTS_SQL = (f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 "
                     f"ORDER BY position LIMIT {DEFAULT_LIMIT}")
"""The statement `store.audit_queries.stream_events` sends, to time it bare."""

WAITING_ON_PEOPLE = """
SELECT site_id FROM tasks
 WHERE initiative_id = $1 AND status = 'open' AND assignee_role <> 'state'
   AND NOT (kind = 'hold_pd_session' AND due > $2)
UNION
SELECT s.site_id FROM sites s
  JOIN LATERAL (SELECT e.type FROM events e
                 WHERE e.stream_id = s.stream_id
                   AND e.type IN ('StageMoveRequested', 'StageMoveApproved', 'StageMoveOverridden',
                                  'StageMoveDeclined', 'StageEntered', 'SiteRegressed',
                                  'RolloutCancelled', 'SiteCompleted')
                 ORDER BY e.stream_version DESC LIMIT 1) last ON last.type = 'StageMoveRequested'
 WHERE s.initiative_id = $1 AND s.status = 'active'
"""


async def raw_stream_read(pool: asyncpg.Pool, stream_id: str) -> list[asyncpg.Record]:
    return await pool.fetch(STREAM_EVENTS_SQL, stream_id)


async def stream_read_plan(pool: asyncpg.Pool, stream_id: str) -> list[str]:
    """PostgreSQL's plan of the audit read, as run (EXPLAIN ANALYZE, BUFFERS)."""
    return [r[0] for r in await pool.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {STREAM_EVENTS_SQL}",
                                           stream_id)]


async def stream_rows(pool: asyncpg.Pool, stream_id: str) -> list[asyncpg.Record]:
    """A stream's rows as stored (for copying them under new ids)."""
    return await pool.fetch(f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 "
                            "ORDER BY stream_version", stream_id)


async def events_count(pool: asyncpg.Pool, stream_prefix: str = "") -> int:
    return await pool.fetchval("SELECT count(*) FROM events WHERE starts_with(stream_id, $1)",
                               stream_prefix)


async def sites_count(pool: asyncpg.Pool, initiative_prefix: str) -> int:
    return await pool.fetchval("SELECT count(*) FROM sites WHERE starts_with(initiative_id, $1)",
                               initiative_prefix)


async def table_sizes(pool: asyncpg.Pool) -> asyncpg.Record:
    """Bytes of the events table (total, heap, indexes) and of the whole database."""
    return await pool.fetchrow(
        "SELECT pg_total_relation_size('events') AS total, pg_relation_size('events') AS heap, "
        "pg_indexes_size('events') AS indexes, pg_database_size(current_database()) AS db")


async def server_settings(pool: asyncpg.Pool, names: tuple[str, ...]) -> dict[str, str]:
    return {name: await pool.fetchval("SELECT current_setting($1)", name) for name in names}


async def site_statuses(pool: asyncpg.Pool, initiative_id: str) -> dict[str, str]:
    rows = await pool.fetch("SELECT site_id, status FROM sites WHERE initiative_id = $1",
                            initiative_id)
    return {r["site_id"]: r["status"] for r in rows}


async def sites_waiting_on_people(pool: asyncpg.Pool, initiative_id: str, today: date) -> set[str]:
    """Sites with something for a person to do, read as people read it (the inbox, and the moves
    awaiting the state's approval): open tasks not assigned to the state, PD sessions only once
    their day has come; stage moves asked for and not yet decided."""
    return {r["site_id"] for r in await pool.fetch(WAITING_ON_PEOPLE, initiative_id, today)}
