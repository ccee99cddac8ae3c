"""Each site's stage and status over time, so the board can be drawn as it stood on any date.

A span opens when the site enrols and a new one opens at every stage move or status change; the
previous span closes at that moment. The site's cohort, region and district travel with each span,
so this projection reads no other.
"""

from __future__ import annotations

import asyncpg

from domain import events as ev
from store.projections.registry import Recorded, on
from store.projections.sites import STATUS_AFTER


@on("stage_history", "SiteEnrolled")
async def _enrolled(conn: asyncpg.Connection, r: Recorded) -> None:
    e, p = r.event, r.event.payload
    await conn.execute(
        "INSERT INTO site_stage_history (stream_id, since_version, initiative_id, site_id, "
        "cohort_id, region, district_id, stage, status, since) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, 'active', $8)",
        e.stream_id, e.sequence, p.initiative_id, p.site_id, p.cohort_id, p.region,
        p.district or p.site_id, e.occurred_at)


async def _next_span(conn: asyncpg.Connection, r: Recorded, *, stage: str | None = None,
                     status: str | None = None) -> None:
    e = r.event
    if not ev.is_site_stream(e.stream_id):
        return
    closed = await conn.fetchrow(
        "UPDATE site_stage_history SET until = $2 WHERE stream_id = $1 AND until IS NULL "
        "RETURNING initiative_id, site_id, cohort_id, region, district_id, stage, status",
        e.stream_id, e.occurred_at)
    if closed is None:
        raise LookupError(f"{e.stream_id} changes at #{e.sequence} but has no open span")
    await conn.execute(
        "INSERT INTO site_stage_history (stream_id, since_version, initiative_id, site_id, "
        "cohort_id, region, district_id, stage, status, since) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        e.stream_id, e.sequence, closed["initiative_id"], closed["site_id"], closed["cohort_id"],
        closed["region"], closed["district_id"], stage or closed["stage"],
        status or closed["status"], e.occurred_at)


@on("stage_history", "StageEntered")
async def _stage(conn: asyncpg.Connection, r: Recorded) -> None:
    await _next_span(conn, r, stage=r.event.payload.stage.value)


def _status(status: str):
    async def handler(conn: asyncpg.Connection, r: Recorded) -> None:
        await _next_span(conn, r, status=status)
    return handler


for _type, _status_name in STATUS_AFTER.items():
    on("stage_history", _type)(_status(_status_name))
