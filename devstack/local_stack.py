"""The product's own local stack for the demo and for reading its results afterwards.

Everything lives under `var/` in the checkout: PostgreSQL's data directory (kept between runs,
so `rollout audit` can read what the last demo recorded) and the Temporal dev server's SQLite
file. Both servers bind to loopback only and are stopped when the block ends. The database is
migrated by its owner before anyone else uses it; what is handed out is the application's DSN
(devstack/postgres.py: a role that may append events but never change them).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from devstack.postgres import LocalPostgres, run_sync
from store.db import connect
from store.migrate import migrate
from store.roles import APP_ROLE
from workflows.search_attributes import SEARCH_ATTRIBUTES
from devstack.temporal import LocalTemporal
from runtime.stack_file import ROOT, VAR

DATABASE = "rollout"


@contextmanager
def local_database(var: Path = VAR) -> Iterator[str]:
    """Start (creating on first use) the persistent local PostgreSQL, migrate it as its owner;
    yield the application's DSN."""
    with LocalPostgres(data_dir=var / "postgres", database=DATABASE) as server:
        run_sync(migrate_as_owner(server.owner_dsn))
        yield server.app_dsn


async def migrate_as_owner(owner_dsn: str, app_role: str = APP_ROLE) -> list[str]:
    """Apply what is missing as the schema's owner and grant the application its privileges."""
    pool = await connect(owner_dsn, min_size=1, max_size=1)
    try:
        return await migrate(pool, app_role=app_role)
    finally:
        await pool.close()


@contextmanager
def local_temporal(var: Path = VAR, *, fresh: bool = True, headless: bool = False,
                   port: int | None = None, ui_port: int | None = None) -> Iterator[LocalTemporal]:
    """Start the Temporal dev server (with the Web UI unless headless) and our search attributes.

    `fresh` discards the previous demo's workflow histories: the event store keeps the record.
    Ports left as None are picked free; `rollout up` pins them so other commands can find it."""
    db_file = var / "temporal.db"
    if fresh:
        for path in var.glob("temporal.db*"):
            path.unlink()
    with LocalTemporal(db_file=db_file, port=port, ui_port=ui_port, headless=headless,
                       search_attributes=SEARCH_ATTRIBUTES) as server:
        yield server
