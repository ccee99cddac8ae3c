"""The stage board of an initiative, now and as it stood at past moments.

Counts of sites per cohort, region, stage and status, for the whole state or (given `district`)
only the sites of one district, as a coordinator sees it: one query serves both, so the state's
board and a district's cannot drift apart. Sites are organisations, not people, so these counts
are not subject to small-cell suppression.
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


async def board_at(pool: asyncpg.Pool, initiative_id: str, moments: list[datetime],
                   district: str | None = None) -> list[BoardCell]:
    """Sites per cohort, region, stage and status at each moment (from the stage history), of
    the district's sites only when `district` is given."""
    rows = await pool.fetch(
        "SELECT m.at, h.cohort_id, h.region, h.stage, h.status, count(*) AS sites "
        "FROM unnest($2::timestamptz[]) AS m(at) JOIN site_stage_history h "
        "  ON h.initiative_id = $1 AND ($3::text IS NULL OR h.district_id = $3) "
        "  AND h.since <= m.at AND (h.until IS NULL OR h.until > m.at) "
        "GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4 NULLS FIRST, 5",
        initiative_id, moments, district)
    return [BoardCell(**dict(r)) for r in rows]


async def history_span(pool: asyncpg.Pool, initiative_id: str,
                       district: str | None = None) -> tuple[datetime, datetime] | None:
    """The first and last moments the initiative's stage history records (for the district's
    sites only when `district` is given), if any."""
    row = await pool.fetchrow(
        "SELECT min(since) AS first, greatest(max(since), max(until)) AS last "
        "FROM site_stage_history WHERE initiative_id = $1 "
        "AND ($2::text IS NULL OR district_id = $2)", initiative_id, district)
    return None if row["first"] is None else (row["first"], row["last"])


def moments_between(first: datetime, last: datetime, points: int) -> list[datetime]:
    """`points` evenly spaced moments from first to last, both included."""
    if points < 2 or last <= first:
        return [last]
    step = (last - first) / (points - 1)
    return [first + step * i for i in range(points - 1)] + [last]


class SiteProgressRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    site_id: str
    cohort_id: str
    region: str
    stage: str | None
    status: str
    version: int


async def site_progress(pool: asyncpg.Pool, initiative_id: str) -> list[SiteProgressRow]:
    """Each enrolled site's stage and status now, with its stream's version."""
    rows = await pool.fetch(
        "SELECT s.site_id, s.cohort_id, s.region, s.stage, s.status, st.version "
        "FROM sites s JOIN streams st ON st.stream_id = s.stream_id "
        "WHERE s.initiative_id = $1 ORDER BY s.site_id", initiative_id)
    return [SiteProgressRow(**dict(r)) for r in rows]
