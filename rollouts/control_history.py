"""Who paused, resumed or cancelled an initiative or one of its sites, and why, from the event
store: the record `rollout status` shows under the board (the workflow's status has no reasons).

An initiative-wide control is recorded once in the initiative's stream and again in every site's
stream as the sites apply it; the store's read (store/control_queries.py) leaves those copies out,
so each decision is listed once.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import BaseModel

from domain.events import SITE_STREAM_PREFIX, initiative_stream
from store.control_queries import latest_controls

CONTROL_TYPES = {"RolloutPaused": "pause", "RolloutResumed": "resume", "RolloutCancelled": "cancel"}


class ControlRecord(BaseModel):
    action: str
    scope: str
    """'initiative', or the site's id"""
    actor_id: str
    reason: str
    recorded_at: datetime


async def control_history(pool: asyncpg.Pool, initiative_id: str, limit: int = 50) -> list[ControlRecord]:
    """The initiative's controls, oldest first (the latest `limit` of them)."""
    own, sites = initiative_stream(initiative_id), f"{SITE_STREAM_PREFIX}{initiative_id}/"
    rows = await latest_controls(pool, initiative_id, list(CONTROL_TYPES), limit)
    return [ControlRecord(action=CONTROL_TYPES[r.type],
                          scope="initiative" if r.stream_id == own else r.stream_id.removeprefix(sites),
                          actor_id=r.actor_id, reason=r.reason, recorded_at=r.recorded_at)
            for r in reversed(rows)]
