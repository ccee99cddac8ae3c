"""Versioned SQL migrations, applied in order and recorded in `schema_migrations`.

Migrations run as the schema's owner, which then grants the application's role exactly what the
code needs (store/privileges.py): `migrate(owner_pool, app_role=...)`, from `rollout up`, the
demo, `python -m runtime.migrate` in a deployment, and the tests' fixtures. Workers and the API
call `migrate(pool)` with the application's own pool too: on an up-to-date store that only reads
`schema_migrations` (no DDL, no lock), and where something is missing that role may not apply it,
it says so (MigrationsPending) instead of failing on a permission.

Workers, the API and tests may all start at once: a session advisory lock lets one process apply
what is missing while the others wait, then find nothing left to do. An applied file that has since
changed is refused, because the databases already migrated would silently differ from new ones.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import asyncpg

from store.privileges import grant_application

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


class MigrationsPending(RuntimeError):
    """Migrations are missing and the connected role (the application's) may not apply them."""


async def migrate(pool: asyncpg.Pool, folder: Path = MIGRATIONS, *,
                  app_role: str | None = None) -> list[str]:
    """Apply the missing migrations; return the names applied (empty when up to date). With
    `app_role`, then grant that role exactly the application's privileges (store/privileges.py)."""
    files = migration_files(folder)
    async with pool.acquire() as conn:
        if app_role is None:
            try:
                if not await _missing(conn, files):
                    return []
            except asyncpg.InsufficientPrivilegeError as refused:
                raise MigrationsPending(
                    f"role {await conn.fetchval('SELECT current_user')!r} may not read the event "
                    f"store ({refused}): its owner has not granted it the application's "
                    "privileges; run the migrations as the owner (`python -m runtime.migrate`)"
                ) from None
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        try:
            applied_now = await _apply(conn, files)
            if app_role is not None:
                await grant_application(conn, app_role)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    return applied_now


async def _missing(conn: asyncpg.Connection, files: list[tuple[int, str, str]]) -> list[str]:
    """The migrations not yet applied, read without writing anything; an applied file that
    changed since is refused here too."""
    if await conn.fetchval("SELECT to_regclass('public.schema_migrations')") is None:
        return [name for _, name, _ in files]
    done = {r["version"]: r for r in await conn.fetch(
        "SELECT version, name, checksum FROM schema_migrations")}
    _refuse_changed(files, done)
    return [name for version, name, _ in files if version not in done]


def _refuse_changed(files: list[tuple[int, str, str]], done: dict) -> None:
    for version, name, sql in files:
        if version in done and done[version]["checksum"] != _checksum(sql):
            raise RuntimeError(
                f"migration {name} changed after it was applied (as "
                f"{done[version]['name']}); add a new migration instead")


async def _apply(conn: asyncpg.Connection, files: list[tuple[int, str, str]]) -> list[str]:
    """Under the lock: apply what is missing, each file in its own transaction."""
    missing = await _missing(conn, files)
    if not missing:
        return []
    applied_now: list[str] = []
    try:
        await conn.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())""")
        for version, name, sql in files:
            if name not in missing:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    version, name, _checksum(sql))
            applied_now.append(name)
    except asyncpg.InsufficientPrivilegeError as refused:
        who = await conn.fetchval("SELECT current_user")
        raise MigrationsPending(
            f"the event store lacks {len(missing) - len(applied_now)} migration(s) "
            f"({', '.join(m for m in missing if m not in applied_now)}) and role {who!r} may not "
            f"apply them ({refused}): run them as the schema's owner (`python -m runtime.migrate` "
            "with ROLLOUT_MIGRATION_DATABASE_URL)") from None
    return applied_now
