"""A workflow-only worker for the tests/sdk workflows, in a process of its own so that a test can
kill it with SIGKILL (no graceful shutdown, no goodbye to the server: its sticky queue stays
registered until the server gives up on it).

    python -m tests.sdk.worker_process ADDRESS TASK_QUEUE IDENTITY

Prints "ready" once it polls. Activities are not run here: the tests keep them in their own
process (gated activities must outlive this worker).
"""

from __future__ import annotations

import asyncio
import sys

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from tests.sdk.workflows import WORKFLOWS


async def serve(address: str, task_queue: str, identity: str) -> None:
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    async with Worker(client, task_queue=task_queue, workflows=WORKFLOWS, identity=identity):
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(*sys.argv[1:4]))
