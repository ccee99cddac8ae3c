"""Who paused, resumed or cancelled an initiative or one of its sites, and why, from the event
store: the record `rollout status` shows under the board (the workflow's status has no reasons).

An initiative-wide control is recorded once in the initiative's stream and again in every site's
stream as the sites apply it; those copies are left out, so each decision is listed once.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import BaseModel

from domain.events import initiative_stream

CONTROL_TYPES = {"RolloutPaused": "pause", "RolloutResumed": "resume", "RolloutCancelled": "cancel"}

_REASON = "coalesce(e.payload ->> 'reason', e.payload ->> 'note', '')"
_CONTROLS = f"""
    SELECT e.stream_id, e.type, e.actor ->> 'id' AS actor_id, {_REASON} AS reason, e.recorded_at
    FROM events e
    WHERE e.type = ANY($3::text[])
      AND (e.stream_id = $1
           OR (starts_with(e.stream_id, $2) AND e.actor ->> 'role' <> 'system'
               AND NOT EXISTS (
                   SELECT 1 FROM events i
                   WHERE i.stream_id = $1 AND i.type = e.type AND i.actor ->> 'id' = e.actor ->> 'id'
                     AND coalesce(i.payload ->> 'reason', i.payload ->> 'note', '') = {_REASON})))
    ORDER BY e.position DESC
    LIMIT $4"""


class ControlRecord(BaseModel):
    action: str
    scope: str
    """'initiative', or the site's id"""
    actor_id: str
    reason: str
    recorded_at: datetime


async def control_history(pool: asyncpg.Pool, initiative_id: str, limit: int = 50) -> list[ControlRecord]:
    """The initiative's controls, oldest first (the latest `limit` of them)."""
    own, sites = initiative_stream(initiative_id), f"site-rollout/{initiative_id}/"
    rows = await pool.fetch(_CONTROLS, own, sites, list(CONTROL_TYPES), limit)
    return [ControlRecord(action=CONTROL_TYPES[r["type"]],
                          scope="initiative" if r["stream_id"] == own else r["stream_id"].removeprefix(sites),
                          actor_id=r["actor_id"], reason=r["reason"], recorded_at=r["recorded_at"])
            for r in reversed(rows)]


async def initiative_recorded(pool: asyncpg.Pool, initiative_id: str) -> bool:
    """True once an initiative with this id has events: its id may not be launched again."""
    return await pool.fetchval("SELECT EXISTS (SELECT 1 FROM streams WHERE stream_id = $1)",
                               initiative_stream(initiative_id))
