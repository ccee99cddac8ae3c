"""Versioned SQL migrations, applied in order and recorded in `schema_migrations`.

Workers, the API and tests may all start at once: a session advisory lock lets one process apply
what is missing while the others wait, then find nothing left to do. An applied file that has since
changed is refused, because the databases already migrated would silently differ from new ones.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import asyncpg

MIGRATIONS = Path(__file__).with_name("migrations")
LOCK_KEY = 0x5EED_2026_0001
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migration_files(folder: Path = MIGRATIONS) -> list[tuple[int, str, str]]:
    """(version, file name, SQL) for every migration, in version order."""
    found = []
    for path in folder.iterdir():
        match = _NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path.name, path.read_text()))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version number in {folder}")
    return found


def _checksum(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()


async def migrate(pool: asyncpg.Pool, folder: Path = MIGRATIONS) -> list[str]:
    """Apply the missing migrations; return the names applied (empty when up to date)."""
    applied_now: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        try:
            await conn.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())""")
            done = {r["version"]: r for r in await conn.fetch(
                "SELECT version, name, checksum FROM schema_migrations")}
            for version, name, sql in migration_files(folder):
                if version in done:
                    if done[version]["checksum"] != _checksum(sql):
                        raise RuntimeError(
                            f"migration {name} changed after it was applied (as "
                            f"{done[version]['name']}); add a new migration instead")
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                        version, name, _checksum(sql))
                applied_now.append(name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    return applied_now
