"""Rebuilding a projection from the events: page by page, resumable from its checkpoint.

`start` empties the projection (and those that read it) and marks them 'rebuilding'; from then on
the live path skips them. `catch_up` replays pages of events, each in its own transaction that
also advances the checkpoint, so a rebuild stopped anywhere resumes where it was. Each page holds a
SHARE lock on `events`: appends in flight finish first and new ones wait for the page to commit,
so every position below the page's end is final. The page that reaches the end marks the
projections 'live' under that same lock, and the live path takes over with the very next event.
"""

from __future__ import annotations

from typing import Callable

import asyncpg

from store.codec import EVENT_COLUMNS, event_from_row
from store.projections.registry import PROJECTIONS, Recorded, feed, projection, with_dependents

Progress = Callable[[int, int], None]
"""Called after each page with (events replayed so far, events to replay in all)."""

_DELIVERY = "status, attempts, next_attempt_at, last_error, sent_at"


async def start(pool: asyncpg.Pool, name: str) -> list[str]:
    """Empty a projection and its dependents and mark them rebuilding; return their names."""
    names = with_dependents(name)
    tables = [table for n in names for table in PROJECTIONS[n].tables]
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT hold_appends()")  # SHARE lock on events (0009)
        # Checkpoints before tables, in name order, as a page does: concurrent rebuilds queue.
        await conn.execute("SELECT name FROM projection_checkpoints ORDER BY name FOR UPDATE")
        if "outbox" in names:
            await conn.execute(
                f"INSERT INTO outbox_kept_delivery (notification_id, {_DELIVERY}) "
                f"SELECT notification_id, {_DELIVERY} FROM outbox "
                "WHERE status <> 'pending' OR attempts > 0 ON CONFLICT (notification_id) DO UPDATE "
                "SET (status, attempts, next_attempt_at, last_error, sent_at) = (excluded.status, "
                "excluded.attempts, excluded.next_attempt_at, excluded.last_error, excluded.sent_at)")
        await conn.execute(f"TRUNCATE {', '.join(tables)}")  # table names from code, not input
        await conn.execute(
            "UPDATE projection_checkpoints SET state = 'rebuilding', position = 0, "
            "rebuild_started_at = now() WHERE name = ANY($1::text[])", names)
    return names


async def rebuilding(pool: asyncpg.Pool) -> list[str]:
    rows = await pool.fetch(
        "SELECT name FROM projection_checkpoints WHERE state = 'rebuilding' ORDER BY name")
    return [r["name"] for r in rows]


async def catch_up(pool: asyncpg.Pool, *, page: int = 1000, max_pages: int | None = None,
                   progress: Progress | None = None) -> int:
    """Replay events into every projection being rebuilt until all are live; return how many
    events were replayed. `max_pages` stops early (the rest resumes on the next call)."""
    total = await _remaining(pool)
    replayed = pages = 0
    while max_pages is None or pages < max_pages:
        done, finished = await _replay_page(pool, page)
        replayed, pages = replayed + done, pages + 1
        if progress is not None:
            progress(replayed, max(total, replayed))
        if finished:
            break
    return replayed


async def rebuild(pool: asyncpg.Pool, name: str, *, page: int = 1000, restart: bool = True,
                  progress: Progress | None = None) -> int:
    """Rebuild one projection (and those that read it) from the events; return events replayed.
    With restart=False a rebuild already under way resumes from its checkpoint instead."""
    projection(name)
    if restart or name not in await rebuilding(pool):
        await start(pool, name)
    return await catch_up(pool, page=page, progress=progress)


async def _remaining(pool: asyncpg.Pool) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM events WHERE position > (SELECT coalesce(min(position), "
        "(SELECT max(position) FROM events)) FROM projection_checkpoints WHERE state = 'rebuilding')"
    ) or 0


async def _replay_page(pool: asyncpg.Pool, page: int) -> tuple[int, bool]:
    """One page in one transaction: (events replayed, whether every projection is now live)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT hold_appends()")  # SHARE lock on events (0009)
        behind = {r["name"]: r["position"] for r in await conn.fetch(
            "SELECT name, position FROM projection_checkpoints WHERE state = 'rebuilding' "
            "ORDER BY name FOR UPDATE")}
        if not behind:
            return 0, True
        rows = await conn.fetch(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2",
            min(behind.values()), page)
        for row in rows:
            await feed(conn, behind, Recorded(row["position"], event_from_row(row),
                                              row["workflow_id"], row["recorded_at"]))
        if "outbox" in behind and rows:
            await _restore_delivery(conn, [row["event_id"] for row in rows])
        finished = len(rows) < page
        reached = rows[-1]["position"] if rows else min(behind.values())
        await conn.execute(
            "UPDATE projection_checkpoints SET position = greatest(position, $2), "
            "state = CASE WHEN $3 THEN 'live' ELSE state END, "
            "rebuilt_at = CASE WHEN $3 THEN now() ELSE rebuilt_at END "
            "WHERE name = ANY($1::text[])", list(behind), reached, finished)
        if finished and "outbox" in behind:
            await conn.execute("DELETE FROM outbox_kept_delivery")
        return len(rows), finished


async def _restore_delivery(conn: asyncpg.Connection, event_ids: list[str]) -> None:
    await conn.execute(
        "UPDATE outbox o SET (status, attempts, next_attempt_at, last_error, sent_at) = "
        "(k.status, k.attempts, k.next_attempt_at, k.last_error, k.sent_at) "
        "FROM outbox_kept_delivery k "
        "WHERE o.notification_id = k.notification_id AND o.event_id = ANY($1::text[])", event_ids)
