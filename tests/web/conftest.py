"""The web tests' shared rollout (one per package run), and where the screenshots went."""

from __future__ import annotations

import time

import pytest_asyncio

from tests.web.browser import SCREENSHOTS
from tests.web.world import shared_world

_started = time.time()


@pytest_asyncio.fixture(scope="package")
async def world(postgres, temporal_dev):
    async for prepared in shared_world(postgres, temporal_dev.address):
        yield prepared


def pytest_terminal_summary(terminalreporter) -> None:
    if not SCREENSHOTS.is_dir():
        return
    fresh = sorted(p.name for p in SCREENSHOTS.glob("*.png") if p.stat().st_mtime >= _started)
    if fresh:
        terminalreporter.write_line(f"browser screenshots ({', '.join(fresh)}): {SCREENSHOTS}")
