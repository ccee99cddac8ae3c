"""Fixtures of the fuzz tests, and the per-surface case counts at the end of the run."""

from __future__ import annotations

from tests.api.conftest import (  # noqa: F401 (fixtures: the API over real PostgreSQL and Temporal)
    api, api_database, api_queue, api_worker, temporal_client, world,
)
from tests.fuzz.counts import summary_lines


def pytest_terminal_summary(terminalreporter) -> None:
    lines = summary_lines()
    if lines:
        terminalreporter.write_sep("=", "fuzz cases run per surface")
        for line in lines:
            terminalreporter.write_line(line)
