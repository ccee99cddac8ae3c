"""Reads narrowed to one district and its schools, for the people who act for a district.

A site belongs to district `sites.district_id`: a school's district, or the district itself for a
district-level site. `district=None` means the whole state. The audit read here is the
district-narrowed form of store/audit_queries.py; the board narrows itself
(store/board_queries.py takes a district).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from store.audit_queries import DEFAULT_LIMIT, AuditedEvent
from store.codec import EVENT_COLUMNS, event_from_row

SITE_COLUMNS = ("stream_id, initiative_id, site_id, name, kind, region, district, district_id, "
                "cohort_id, stage, status, stage_entered_at, updated_at")
_IN_DISTRICT = "($1::text IS NULL OR district_id = $1)"


async def site(pool: asyncpg.Pool, initiative_id: str, site_id: str,
               district: str | None = None) -> asyncpg.Record | None:
    return await pool.fetchrow(
        f"SELECT {SITE_COLUMNS} FROM sites WHERE {_IN_DISTRICT} AND initiative_id = $2 "
        "AND site_id = $3", district, initiative_id, site_id)


async def site_known(pool: asyncpg.Pool, site_id: str, district: str | None = None) -> bool:
    """Whether any initiative enrolled this site within the district."""
    return await pool.fetchval(
        f"SELECT EXISTS (SELECT 1 FROM sites WHERE {_IN_DISTRICT} AND site_id = $2)",
        district, site_id)


async def initiative_sites(pool: asyncpg.Pool, initiative_id: str,
                           district: str | None = None) -> list[asyncpg.Record]:
    return await pool.fetch(
        f"SELECT {SITE_COLUMNS} FROM sites WHERE {_IN_DISTRICT} AND initiative_id = $2 "
        "ORDER BY region, site_id", district, initiative_id)


async def events_in_district(pool: asyncpg.Pool, district: str, *, actor_id: str | None = None,
                             since: datetime | None = None, until: datetime | None = None,
                             initiative_id: str | None = None,
                             limit: int = DEFAULT_LIMIT) -> list[AuditedEvent]:
    """Events of the district's site streams, by one actor and/or in a window, oldest first."""
    rows = await pool.fetch(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id IN ("
        "  SELECT stream_id FROM sites WHERE district_id = $1 "
        "  AND ($2::text IS NULL OR initiative_id = $2)) "
        "AND ($3::text IS NULL OR actor ->> 'id' = $3) "
        "AND occurred_at >= coalesce($4, '-infinity'::timestamptz) "
        "AND occurred_at < coalesce($5, 'infinity'::timestamptz) "
        f"ORDER BY position LIMIT {int(limit)}", district, initiative_id, actor_id, since, until)
    return [AuditedEvent(r["position"], event_from_row(r), r["recorded_at"], r["workflow_id"])
            for r in rows]
