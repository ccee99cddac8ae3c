"""How far each projection is behind the events: what `rollout projections status` shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from store.projections.registry import PROJECTIONS


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    state: str
    position: int
    head: int
    behind: int
    """Events after the checkpoint that the projection has not applied yet."""
    lag_seconds: float
    """Age of the oldest event the projection has not applied (0 when it has them all)."""
    rebuilt_at: datetime | None
    rebuild_started_at: datetime | None


async def status(pool: asyncpg.Pool) -> list[ProjectionStatus]:
    """Every projection's checkpoint against the head of the store.

    A live projection is fed in the append's own transaction, so it is never behind a committed
    event and its position is the head; a rebuilding one is behind by the events its rebuild has still to replay.
    """
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        head = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
        rows = await conn.fetch(
            "SELECT c.name, c.state, c.position, c.rebuilt_at, c.rebuild_started_at, "
            "  (SELECT count(*) FROM events e WHERE c.state = 'rebuilding' "
            "     AND e.position > c.position) AS behind, "
            "  (SELECT extract(epoch FROM now() - min(e.recorded_at)) FROM events e "
            "     WHERE c.state = 'rebuilding' AND e.position > c.position) AS lag "
            "FROM projection_checkpoints c")
    found = {r["name"]: r for r in rows}
    return [ProjectionStatus(name, r["state"], head if r["state"] == "live" else r["position"],
                             head, r["behind"],
                             float(r["lag"] or 0.0), r["rebuilt_at"], r["rebuild_started_at"])
            for name in PROJECTIONS if (r := found.get(name)) is not None]
