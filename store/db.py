"""Connection pools whose JSON columns read and write plain Python values.

One codec for every connection, so the event store's hash (computed over values as PostgreSQL
returns them) sees the same shapes in every process.
"""

from __future__ import annotations

import json

import asyncpg


DATABASE_TROUBLE = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError,
                    asyncpg.InternalClientError)
"""What a lost PostgreSQL connection surfaces as: refused or reset sockets, a server shutting
down, a connection closed in the middle of an operation."""


async def _init(conn: asyncpg.Connection) -> None:
    for name in ("jsonb", "json"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def ping(db: asyncpg.Pool | asyncpg.Connection) -> None:
    """Raise unless the database answers."""
    await db.fetchval("SELECT 1")


async def connect(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=_init)
