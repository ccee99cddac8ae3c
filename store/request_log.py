"""The API's record of requests that could change something: who asked, what, and how it ended.

The event store records what changed; this log also keeps the attempts that were refused (a
coordinator trying another district's task), which the events never see. It holds no token and
no request body.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    status: int
    token_id: str | None = None
    actor_id: str | None = None
    role: str | None = None
    district: str | None = None
    at: datetime | None = None


async def record(pool: asyncpg.Pool, entry: LoggedRequest) -> None:
    await pool.execute(
        "INSERT INTO api_requests (token_id, actor_id, role, district, method, path, status) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        entry.token_id, entry.actor_id, entry.role, entry.district, entry.method,
        entry.path.replace("\x00", "\\x00")[:2000],  # PostgreSQL text cannot hold a NUL (%00)
        entry.status)


async def recent(pool: asyncpg.Pool, *, actor_id: str | None = None,
                 limit: int = 100) -> list[LoggedRequest]:
    """The latest requests, newest first, optionally one actor's."""
    rows = await pool.fetch(
        "SELECT at, token_id, actor_id, role, district, method, path, status FROM api_requests "
        "WHERE $1::text IS NULL OR actor_id = $1 ORDER BY id DESC LIMIT $2", actor_id, limit)
    return [LoggedRequest(**dict(r)) for r in rows]
