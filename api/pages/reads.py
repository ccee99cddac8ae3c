"""The few reads the pages need that the store's query modules do not offer: which initiatives
a person can see, with how many of their sites each has."""

from __future__ import annotations

import asyncpg


async def initiatives(pool: asyncpg.Pool, district: str | None) -> list[asyncpg.Record]:
    """Initiatives with sites in the district (every initiative for `district=None`)."""
    return await pool.fetch(
        "SELECT initiative_id, count(*) AS sites, "
        "count(*) FILTER (WHERE status = 'active') AS active, max(updated_at) AS updated_at "
        "FROM sites WHERE $1::text IS NULL OR district_id = $1 "
        "GROUP BY initiative_id ORDER BY initiative_id", district)
