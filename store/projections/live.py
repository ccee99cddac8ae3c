"""The live path: new events reach the live projections inside the append's transaction."""

from __future__ import annotations

import asyncpg

from store.projections.registry import Recorded, feed


async def apply(conn: asyncpg.Connection, recorded: list[Recorded]) -> None:
    """Feed newly appended events to every live projection, in the caller's transaction.

    A projection being rebuilt is skipped: its rebuild reads these events from the table. Its
    state cannot flip while this runs, because the flip takes a SHARE lock on `events`, which
    conflicts with the lock this transaction took when it inserted them.

    A live projection's checkpoint is not advanced here: being fed in the append's own
    transaction, it is at the head by definition (status reports it so). Writing it on every
    append would make one row that every append in the state waits on until its commit.
    """
    if not recorded:
        return
    live = {r["name"]: 0 for r in await conn.fetch(
        "SELECT name FROM projection_checkpoints WHERE state = 'live'")}
    for r in recorded:
        await feed(conn, live, r)
