"""The product's own local stack for the demo and for reading its results afterwards.

Everything lives under `var/` in the checkout: PostgreSQL's data directory (kept between runs,
so `rollout audit` can read what the last demo recorded) and the Temporal dev server's SQLite
file. Both servers bind to loopback only and are stopped when the block ends.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from devstack.postgres import LocalPostgres
from workflows.search_attributes import SEARCH_ATTRIBUTES
from devstack.temporal import LocalTemporal
from runtime.stack_file import ROOT, VAR

DATABASE = "rollout"


@contextmanager
def local_database(var: Path = VAR) -> Iterator[str]:
    """Start (creating on first use) the persistent local PostgreSQL; yield its DSN."""
    with LocalPostgres(data_dir=var / "postgres", database=DATABASE) as server:
        yield server.dsn


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
