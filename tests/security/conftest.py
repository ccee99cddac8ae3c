"""The API fixtures of tests/api (a live application on the session's PostgreSQL and Temporal
dev server, a worker, rollouts launched in real time), shared with the security tests."""

from tests.api.conftest import (  # noqa: F401
    api, api_database, api_queue, api_worker, temporal_client, world,
)
