"""Migrations apply once, in order, even when several processes start together."""

import asyncio
import shutil

import pytest

from store.db import connect
from store.migrate import MIGRATIONS, migrate, migration_files
from tests.store.conftest import new_database
from tests.workflows.harness import owner_dsn

pytestmark = pytest.mark.postgres


async def schema(pool) -> list[tuple]:
    rows = await pool.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY 1, 2")
    return [tuple(r) for r in rows]


async def test_migrating_twice_is_a_no_op(postgres):
    async with new_database(postgres, migrated=False) as pool:
        applied = await migrate(pool)
        assert applied == [name for _, name, _ in migration_files()]
        before = await schema(pool)
        assert await migrate(pool) == []
        assert await schema(pool) == before
        versions = await pool.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in versions] == [v for v, _, _ in migration_files()]


async def test_processes_starting_at_once_apply_each_migration_once(postgres):
    async with new_database(postgres, migrated=False) as pool:
        others = [await connect(await owner_dsn(pool)) for _ in range(4)]
        try:
            results = await asyncio.gather(*(migrate(p) for p in [pool, *others]))
        finally:
            for other in others:
                await other.close()
        applied = sorted(name for names in results for name in names)
        assert applied == sorted(name for _, name, _ in migration_files())


async def test_an_applied_migration_that_changed_is_refused(postgres, tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    async with new_database(postgres, migrated=False) as pool:
        await migrate(pool, folder)
        first = sorted(folder.glob("0001_*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited later\n")
        with pytest.raises(RuntimeError, match=f"migration {first.name} changed"):
            await migrate(pool, folder)
