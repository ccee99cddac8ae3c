"""The API's connections: a PostgreSQL pool (migrated on first use) and a Temporal client.

Each is opened at start-up if it can be, and otherwise on the first request that needs it, so
the API starts, and answers 503 with a clear sentence, while either is down, and recovers by itself
once it is back.
"""

from __future__ import annotations

import asyncio

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.service import RetryConfig

from api.errors import DATABASE_DOWN, Unavailable
from runtime.settings import Settings
from runtime.temporal import connect, connection_options
from store.db import connect as connect_db
from store.migrate import MigrationsPending, migrate

CONNECT_TIMEOUT = 10.0
TEMPORAL_RETRIES = RetryConfig(max_elapsed_time_millis=3000, max_retries=4)
"""Short retries: a person is waiting, and a 503 says more than a long hang."""

log = structlog.get_logger("api")


class Resources:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pool: asyncpg.Pool | None = None
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        """Try both connections now; a failure is logged and retried on demand."""
        for opener in (self.pool, self.temporal):
            try:
                await opener()
            except Unavailable as problem:
                log.warning("starting without a connection", problem=problem.message)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await self._open_pool()
        return self._pool

    async def temporal(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await self._connect_temporal()
        return self._client

    async def _open_pool(self) -> asyncpg.Pool:
        url = self.settings.database_url
        if not url:
            raise Unavailable("No database is configured; set ROLLOUT_DATABASE_URL.")
        pool = None
        try:
            pool = await asyncio.wait_for(connect_db(url, min_size=1, max_size=10), CONNECT_TIMEOUT)
            await migrate(pool)
            return pool
        except MigrationsPending as pending:
            await pool.close()
            raise Unavailable(f"The event store is not ready: {_first_line(pending)}") from None
        except (*DATABASE_DOWN, asyncio.TimeoutError, asyncpg.PostgresError) as problem:
            if pool is not None:
                await pool.close()
            raise Unavailable("The event store (PostgreSQL) cannot be reached: "
                              f"{_first_line(problem)}") from None

    async def _connect_temporal(self) -> Client:
        s = self.settings
        try:
            return await asyncio.wait_for(
                connect(s.temporal_address, s.temporal_namespace, retry_config=TEMPORAL_RETRIES,
                        **connection_options(s)), CONNECT_TIMEOUT)
        except (RuntimeError, OSError, ValueError, asyncio.TimeoutError) as problem:
            raise Unavailable(f"Temporal cannot be reached at {s.temporal_address}: "
                              f"{_first_line(problem)}") from None


def _first_line(problem: BaseException) -> str:
    text = str(problem).strip() or type(problem).__name__
    return text.splitlines()[0][:300]
