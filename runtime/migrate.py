"""`python -m runtime.migrate`: apply the event store's migrations as the schema's owner, then
grant the application's role exactly what it needs (store/privileges.py).

A deployment runs it once per release before the workers and the API start (the compose
service `migrate`, the Kubernetes Job `rollout-migrate`), with ROLLOUT_MIGRATION_DATABASE_URL
(the owner's DSN) and ROLLOUT_DATABASE_ROLE (the application's role; default: the user of
ROLLOUT_DATABASE_URL). The workers and the API never hold the owner's password: they only check
that nothing is missing. Exit 0 when the store is current, 2 when it cannot be reached or the
roles are wrong (said in one line, passwords hidden).
"""

from __future__ import annotations

import asyncio

import asyncpg
import structlog

from runtime.process_exit import leave
from runtime.settings import ENV_PREFIX, load_settings, redact_dsn, role_of
from store.db import DATABASE_TROUBLE, connect
from store.migrate import migrate
from store.privileges import RoleError

log = structlog.get_logger("migrate")
UNAVAILABLE = 2


async def run(owner_dsn: str, app_role: str) -> list[str]:
    pool = await connect(owner_dsn, min_size=1, max_size=1)
    try:
        return await migrate(pool, app_role=app_role)
    finally:
        await pool.close()


def main() -> None:
    from observability.logging import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    if not settings.migration_database_url:
        raise SystemExit(f"Set {ENV_PREFIX}MIGRATION_DATABASE_URL to the schema owner's DSN.")
    where = redact_dsn(settings.migration_database_url)
    try:
        app_role = settings.database_role or role_of(settings.database_url)
        applied = asyncio.run(run(settings.migration_database_url, app_role))
    except (*DATABASE_TROUBLE, RoleError, RuntimeError, ValueError) as problem:
        log.error("migration failed", database=where,
                  error=(str(problem).strip().splitlines() or [type(problem).__name__])[0])
        leave(UNAVAILABLE)
    log.info("event store migrated", database=where, applied=applied, application_role=app_role)
    leave(0)


if __name__ == "__main__":
    main()
