"""The stage board of an initiative, now and as it stood at past moments.

Counts of sites per cohort, region, stage and status. Sites are organisations, not people, so
these counts are not subject to small-cell suppression.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import BaseModel, ConfigDict

from domain.stages import Stage


class BoardCell(BaseModel):
    """How many sites of a cohort and region stood at a stage, with a status, at a moment."""

    # The API answers with these as they are: the field names are its wire format.
    model_config = ConfigDict(frozen=True)

    at: datetime
    cohort_id: str
    region: str
    stage: Stage | None
    """None before the site's first stage is set up."""
    status: str
    sites: int


async def board_at(pool: asyncpg.Pool, initiative_id: str,
                   moments: list[datetime]) -> list[BoardCell]:
    """Sites per cohort, region, stage and status at each moment (from the stage history)."""
    rows = await pool.fetch(
        "SELECT m.at, h.cohort_id, h.region, h.stage, h.status, count(*) AS sites "
        "FROM unnest($2::timestamptz[]) AS m(at) JOIN site_stage_history h "
        "  ON h.initiative_id = $1 AND h.since <= m.at AND (h.until IS NULL OR h.until > m.at) "
        "GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4 NULLS FIRST, 5", initiative_id, moments)
    return [BoardCell(**dict(r)) for r in rows]


async def history_span(pool: asyncpg.Pool, initiative_id: str) -> tuple[datetime, datetime] | None:
    """The first and last moments the initiative's stage history records, if any."""
    row = await pool.fetchrow(
        "SELECT min(since) AS first, greatest(max(since), max(until)) AS last "
        "FROM site_stage_history WHERE initiative_id = $1", initiative_id)
    return None if row["first"] is None else (row["first"], row["last"])


def moments_between(first: datetime, last: datetime, points: int) -> list[datetime]:
    """`points` evenly spaced moments from first to last, both included."""
    if points < 2 or last <= first:
        return [last]
    step = (last - first) / (points - 1)
    return [first + step * i for i in range(points - 1)] + [last]

