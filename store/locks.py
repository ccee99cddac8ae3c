"""Cluster-wide mutual exclusion between processes, by PostgreSQL advisory locks: several
workers share one chore (the watchdog's repairs) and only one at a time may do it."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

import asyncpg


@asynccontextmanager
async def held_if_free(pool: asyncpg.Pool, name: str) -> AsyncIterator[bool]:
    """Take the lock called `name` if no other session holds it; yield whether it was taken,
    and release it at the end of the block."""
    async with pool.acquire() as conn:
        taken = await conn.fetchval("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", name)
        try:
            yield taken
        finally:
            if taken:
                await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", name)
