"""Each store test module gets its own freshly migrated database on the session's PostgreSQL
server (the `postgres` fixture from tests/conftest.py)."""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager

import asyncpg
import pytest
import pytest_asyncio

from store.db import connect
from store.migrate import migrate

pytestmark = pytest.mark.postgres


@asynccontextmanager
async def new_database(server_dsn: str, *, migrated: bool = True):
    """A pool on a brand-new database, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')  # a generated identifier, not a value
    finally:
        await admin.close()
    pool = await connect(server_dsn.rsplit("/", 1)[0] + f"/{name}", max_size=12)
    try:
        if migrated:
            await migrate(pool)
        yield pool
    finally:
        await pool.close()
        admin = await asyncpg.connect(server_dsn)
        try:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest_asyncio.fixture(scope="module")
async def pool(postgres):
    async with new_database(postgres) as pool:
        yield pool
