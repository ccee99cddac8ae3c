"""Session-wide local servers, started only when a test asks for them and stopped at the end."""

from __future__ import annotations

import pytest

from devstack.postgres import LocalPostgres
from devstack.search_attributes import SEARCH_ATTRIBUTES
from devstack.temporal import LocalTemporal


@pytest.fixture(scope="session")
def postgres():
    """DSN of a private PostgreSQL server (fsync off) with an empty database."""
    with LocalPostgres(fsync=False) as server:
        yield server.dsn


@pytest.fixture(scope="session")
def temporal_dev(tmp_path_factory):
    """A headless Temporal dev server with the project's search attributes registered."""
    db_file = tmp_path_factory.mktemp("temporal") / "temporal.db"
    with LocalTemporal(db_file=db_file, headless=True, search_attributes=SEARCH_ATTRIBUTES) as server:
        yield server
