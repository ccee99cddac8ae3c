"""The stage board now: one row per site rollout, with its stage and status."""

from __future__ import annotations

import asyncpg

from store.projections.registry import Handler, Recorded, on


@on("sites", "SiteEnrolled")
async def _site_enrolled(conn: asyncpg.Connection, r: Recorded) -> None:
    e, p = r.event, r.event.payload
    await conn.execute(
        "INSERT INTO sites (stream_id, initiative_id, site_id, name, kind, region, district, "
        "cohort_id, status, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9)",
        e.stream_id, p.initiative_id, p.site_id, p.site_name, p.kind, p.region, p.district,
        p.cohort_id, e.occurred_at)


@on("sites", "StageEntered")
async def _site_stage(conn: asyncpg.Connection, r: Recorded) -> None:
    await conn.execute(
        "UPDATE sites SET stage = $2, stage_entered_at = $3, updated_at = $3 WHERE stream_id = $1",
        r.event.stream_id, r.event.payload.stage.value, r.event.occurred_at)


def _site_status(status: str) -> Handler:
    async def handler(conn: asyncpg.Connection, r: Recorded) -> None:
        await conn.execute("UPDATE sites SET status = $2, updated_at = $3 WHERE stream_id = $1",
                           r.event.stream_id, status, r.event.occurred_at)
    return handler


STATUS_AFTER = {"RolloutPaused": "paused", "RolloutResumed": "active",
                "RolloutCancelled": "cancelled", "SiteCompleted": "completed"}
"""A site rollout's status after each event that changes it."""

for _type, _status in STATUS_AFTER.items():
    on("sites", _type)(_site_status(_status))
