"""What `rollout audit verify` reads to account for every stream, beyond each stream's own chain:
the streams as the head rows and the events each tell them, each initiative's cohorts with how
many sites they started and how many of those sites the store holds, and the sites the board
(the `sites` projection) remembers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from domain.events import SITE_STREAM_PREFIX, initiative_stream, site_streams_of


@dataclass(frozen=True)
class StreamCount:
    """A stream as its head row (None: no row) and its events (0: none) tell it."""

    stream_id: str
    head_version: int | None
    events: int
    last_version: int | None
    last_recorded_at: datetime | None


@dataclass(frozen=True)
class CohortStart:
    """A `CohortStarted` event, and how many site streams of its initiative enrolled in it."""

    stream_id: str
    version: int
    cohort_id: str
    site_count: int
    recorded_at: datetime
    enrolled: int


def _scope(initiative_id: str | None) -> list:
    """Parameters of IN_SCOPE: everything when None, else one initiative's streams."""
    if initiative_id is None:
        return [None, None]
    return [initiative_stream(initiative_id), site_streams_of(initiative_id)]


IN_SCOPE = "($1::text IS NULL OR {column} = $1 OR starts_with({column}, $2))"


async def stream_counts(pool: asyncpg.Pool, initiative_id: str | None = None) -> list[StreamCount]:
    """Every stream a head row or an event names, in name order."""
    rows = await pool.fetch(
        "SELECT coalesce(h.stream_id, e.stream_id) AS stream_id, h.version AS head_version, "
        "coalesce(e.n, 0) AS events, e.last_version, e.last_recorded_at "
        f"FROM (SELECT stream_id, version FROM streams WHERE {IN_SCOPE.format(column='stream_id')}) h "
        "FULL JOIN (SELECT stream_id, count(*) AS n, max(stream_version) AS last_version, "
        f"max(recorded_at) AS last_recorded_at FROM events WHERE {IN_SCOPE.format(column='stream_id')} "
        "GROUP BY stream_id) e ON e.stream_id = h.stream_id ORDER BY 1", *_scope(initiative_id))
    return [StreamCount(**dict(r)) for r in rows]


async def cohort_starts(pool: asyncpg.Pool, initiative_id: str | None = None) -> list[CohortStart]:
    """Every cohort started, with the number of its initiative's site streams that enrolled a
    site in it (their SiteEnrolled event), in the order they started."""
    rows = await pool.fetch(
        "SELECT c.stream_id, c.stream_version AS version, c.payload ->> 'cohort_id' AS cohort_id, "
        "(c.payload ->> 'site_count')::int AS site_count, c.recorded_at, "
        "(SELECT count(DISTINCT e.stream_id) FROM events e WHERE e.type = 'SiteEnrolled' "
        " AND starts_with(e.stream_id, $3 || substr(c.stream_id, length($4) + 1) || '/') "
        " AND e.payload ->> 'cohort_id' = c.payload ->> 'cohort_id') AS enrolled "
        "FROM events c WHERE c.type = 'CohortStarted' AND starts_with(c.stream_id, $4) "
        f"AND {IN_SCOPE.format(column='c.stream_id')} ORDER BY c.position",
        *_scope(initiative_id), SITE_STREAM_PREFIX, initiative_stream(""))
    return [CohortStart(**dict(r)) for r in rows]


async def boarded_sites(pool: asyncpg.Pool, initiative_id: str | None = None) -> list[str]:
    """The stream of every site on the board (the sites projection), in name order."""
    rows = await pool.fetch(
        "SELECT stream_id FROM sites WHERE initiative_id = coalesce($1, initiative_id) "
        "ORDER BY stream_id", initiative_id)
    return [r["stream_id"] for r in rows]
