"""The pauses, resumptions and cancellations recorded for an initiative and its sites: the read
behind the control history `rollout status` shows (rollouts/control_history.py names and orders
them).

An initiative-wide control is recorded once in the initiative's stream and again in every site's
stream as the sites apply it; the query leaves those copies out, so each decision comes back once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from domain.events import SITE_STREAM_PREFIX, initiative_stream

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


@dataclass(frozen=True)
class ControlRow:
    stream_id: str
    """The initiative's stream, or a site's (a control one site's team asked for)."""
    type: str
    actor_id: str
    reason: str
    """The control's reason, else its note, else ''."""
    recorded_at: datetime


async def latest_controls(pool: asyncpg.Pool, initiative_id: str, types: list[str],
                          limit: int) -> list[ControlRow]:
    """The latest `limit` events of these types for the initiative, newest first."""
    rows = await pool.fetch(_CONTROLS, initiative_stream(initiative_id),
                            f"{SITE_STREAM_PREFIX}{initiative_id}/", types, limit)
    return [ControlRow(**dict(r)) for r in rows]
