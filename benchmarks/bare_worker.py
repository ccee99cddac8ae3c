"""The bare baseline's worker process: `python -m benchmarks.bare_worker` (ROLLOUT_* settings,
tuned as our worker is)."""

from __future__ import annotations

import asyncio
import signal

from temporalio.worker import Worker

from benchmarks.bare import BareSiteWorkflow, bare_step
from runtime.settings import load_settings
from runtime.temporal import connect_with
from worker import tuning


async def serve() -> None:
    settings = load_settings()
    client = await connect_with(settings)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with Worker(client, task_queue=settings.task_queue, workflows=[BareSiteWorkflow],
                      activities=[bare_step], **tuning(settings)):
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve())
