"""The sites waiting for the state's decision on a stage move, with the evidence behind each
request: the read behind the decisions queue (rollouts/decisions.py names and narrows it).

A site waits when the last of its stage-changing events is a StageMoveRequested: an approval,
override or regression enters a stage, a decline clears the request, a cancellation or completion
ends the rollout. The evaluation behind the request is the last CriteriaEvaluated before it (the
rules record the two together). Both are found by walking the site's stream backwards on its
(stream_id, stream_version) index, so the queue costs one short lookup per active site.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

_WAITING = """
SELECT s.initiative_id, s.site_id, s.name, s.kind, s.region, s.district_id, s.cohort_id, s.stage,
       s.status, asked.payload ->> 'to_stage' AS to_stage,
       asked.payload ->> 'explanation' AS explanation, asked.occurred_at AS asked_at,
       asked.actor ->> 'id' AS asked_by, coalesce(weighed.payload -> 'checks', '[]'::jsonb) AS checks
  FROM sites s
  JOIN LATERAL (SELECT e.type, e.payload, e.actor, e.occurred_at, e.stream_version FROM events e
                 WHERE e.stream_id = s.stream_id
                   AND e.type IN ('StageMoveRequested', 'StageMoveDeclined', 'StageEntered',
                                  'RolloutCancelled', 'SiteCompleted')
                 ORDER BY e.stream_version DESC LIMIT 1) asked ON asked.type = 'StageMoveRequested'
  LEFT JOIN LATERAL (SELECT e.payload FROM events e
                      WHERE e.stream_id = s.stream_id AND e.type = 'CriteriaEvaluated'
                        AND e.stream_version < asked.stream_version
                      ORDER BY e.stream_version DESC LIMIT 1) weighed ON true
 WHERE s.status IN ('active', 'paused')
   AND ($1::text IS NULL OR s.initiative_id = $1)
   AND ($2::text IS NULL OR s.district_id = $2)
 ORDER BY asked.occurred_at, s.initiative_id, s.site_id
 LIMIT $3"""


@dataclass(frozen=True)
class WaitingRow:
    initiative_id: str
    site_id: str
    name: str
    kind: str
    region: str
    district_id: str
    cohort_id: str
    stage: str | None
    status: str
    to_stage: str
    explanation: str
    asked_at: datetime
    asked_by: str
    checks: list[dict]
    """The checks of the evaluation behind the request, as recorded."""


async def waiting_moves(pool: asyncpg.Pool, *, initiative_id: str | None, district: str | None,
                        limit: int) -> list[WaitingRow]:
    """Sites (of one initiative and/or district, or all) whose stage move waits for the state,
    the longest-waiting first."""
    rows = await pool.fetch(_WAITING, initiative_id, district, limit)
    return [WaitingRow(**dict(r)) for r in rows]
