"""A real worker in a thread of its own, with its own event loop, client and pool.

The browser test drives selenium synchronously, which leaves the test's event loop idle; a worker
on that loop would take no workflow task until the test awaited something. On its own loop it
answers Updates while the browser waits for the page.
"""

from __future__ import annotations

import asyncio
import threading

from runtime.temporal import connect
from store.db import connect as connect_db
from worker import running_worker

STARTUP_SECONDS = 30.0


class BackgroundWorker:
    def __init__(self, temporal_address: str, dsn: str, task_queue: str) -> None:
        self._address, self._dsn, self._queue = temporal_address, dsn, task_queue
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="worker", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as failure:  # reported to the test by __enter__
            self._failure = failure
            self._ready.set()

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        client = await connect(self._address)
        pool = await connect_db(self._dsn)
        try:
            async with running_worker(client, pool, task_queue=self._queue):
                self._ready.set()
                await self._stop.wait()
        finally:
            await pool.close()

    def __enter__(self) -> "BackgroundWorker":
        self._thread.start()
        if not self._ready.wait(STARTUP_SECONDS) or self._failure is not None:
            raise RuntimeError(f"the worker did not start: {self._failure!r}")
        return self

    def __exit__(self, *exc) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
