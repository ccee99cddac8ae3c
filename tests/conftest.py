"""Session-wide local servers, started only when a test asks for them and stopped at the end."""

from __future__ import annotations

import pytest
import pytest_asyncio

from devstack.postgres import LocalPostgres
from workflows.search_attributes import SEARCH_ATTRIBUTES
from devstack.temporal import LocalTemporal


@pytest.fixture(scope="session")
def postgres():
    """A superuser's DSN (password included) of a private PostgreSQL server (fsync off) with an
    empty database: for making databases. The product never runs as it: `database` (and
    tests/workflows/harness.py's `fresh_database`) hand out a database's application role."""
    with LocalPostgres(fsync=False) as server:
        yield server.dsn


@pytest.fixture(scope="session")
def temporal_dev(tmp_path_factory):
    """A headless Temporal dev server with the project's search attributes registered."""
    db_file = tmp_path_factory.mktemp("temporal") / "temporal.db"
    with LocalTemporal(db_file=db_file, headless=True, search_attributes=SEARCH_ATTRIBUTES) as server:
        yield server


@pytest_asyncio.fixture(scope="module")
async def client(temporal_dev):
    """A client of the session's dev server (pydantic data converter)."""
    from runtime.temporal import connect
    return await connect(temporal_dev.address)


@pytest_asyncio.fixture(scope="module")
async def database(postgres):
    """A freshly migrated database of the module's own, through its application role (which
    may not change or remove an event): (pool, dsn)."""
    from tests.workflows.harness import fresh_database
    pool, dsn = await fresh_database(postgres)
    yield pool, dsn
    await pool.close()
