"""Is this process's world reachable? The container health check of a worker:
`python -m runtime.health` exits 0 when PostgreSQL and Temporal both answer, 1 otherwise, with one
line saying which did not."""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from runtime.process_exit import leave
from runtime.settings import Settings, load_settings
from runtime.temporal import connect_with
from store.db import ping

TIMEOUT = 5.0


async def problems(settings: Settings) -> list[str]:
    """What cannot be reached, as short sentences (empty when all is well)."""
    found = []
    try:
        conn = await asyncio.wait_for(asyncpg.connect(settings.database_url), TIMEOUT)
        await ping(conn)
        await conn.close()
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, ValueError) as problem:
        found.append(f"database unreachable: {type(problem).__name__}")
    try:
        client = await asyncio.wait_for(connect_with(settings), TIMEOUT)
        await asyncio.wait_for(client.service_client.check_health(), TIMEOUT)
    except Exception as problem:  # any failure to reach Temporal is the answer, not a crash
        found.append(f"Temporal unreachable at {settings.temporal_address}: {type(problem).__name__}")
    return found


def main() -> None:
    settings = load_settings()
    if not settings.database_url:
        print("ROLLOUT_DATABASE_URL is not set", file=sys.stderr)
        raise SystemExit(1)
    found = asyncio.run(problems(settings))
    print("; ".join(found) or "ok", file=sys.stderr if found else sys.stdout)
    leave(1 if found else 0)


if __name__ == "__main__":
    main()
