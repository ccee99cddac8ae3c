"""Background chores of a long-running process (the worker's outbox delivery and watchdog)."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable


async def every(seconds: float, stop: asyncio.Event, chore: Callable[[], Awaitable[None]]) -> None:
    """Run `chore` now and then every `seconds` until `stop` is set; a stop ends the wait at once.
    The chore handles its own expected failures: anything it lets through ends the loop."""
    while not stop.is_set():
        await chore()
        try:
            await asyncio.wait_for(stop.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass
