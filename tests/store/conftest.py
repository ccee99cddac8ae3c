"""Each store test module gets its own freshly migrated database on the session's PostgreSQL
server (the `postgres` fixture from tests/conftest.py), used through its application role; an
unmigrated one is handed to its owner, who migrates."""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager

import asyncpg
import pytest
import pytest_asyncio

from devstack.local_stack import migrate_as_owner
from store.db import connect
from tests.workflows.harness import database_with_roles, role_name

pytestmark = pytest.mark.postgres


@asynccontextmanager
async def new_database(server_dsn: str, *, migrated: bool = True):
    """A pool on a brand-new database, dropped afterwards: migrated and through the application's
    role, or not migrated and through the owner's."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    owner_dsn, app_dsn = await database_with_roles(server_dsn, name)
    if migrated:
        await migrate_as_owner(owner_dsn, app_role=role_name(app_dsn))
    pool = await connect(app_dsn if migrated else owner_dsn, max_size=12)
    try:
        yield pool
    finally:
        await pool.close()
        admin = await asyncpg.connect(server_dsn)
        try:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            await admin.execute(f'DROP ROLE "{name}_owner", "{name}_app"')
        finally:
            await admin.close()


@pytest_asyncio.fixture(scope="module")
async def pool(postgres):
    async with new_database(postgres) as pool:
        yield pool
