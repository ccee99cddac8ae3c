"""Minimal workflows for temporalio/sdk-python#1591 (cold-worker Updates writing a history that
does not replay); the findings are in tests/sdk/test_issue_1591.py.

Importable and free of side effects. Every activity that the scenarios need to finish "later"
is a gated activity (`Gates.held`): it returns when the test opens its gate, so each workflow task
of a scenario happens exactly when the test says, and the reproductions are deterministic.

- `BackgroundStateWorkflow`: background coroutines await activities and set state; an Update
  handler reads that state (the upstream report's shape, reduced).
- `LockedSiteWorkflow`: the shape of workflows/site_rollout.py: a main loop that works under an
  asyncio.Lock and then sleeps on `wait_condition(dirty, timeout)` (a timer); Update handlers that
  take the same lock and await an activity; `_let_handlers_finish` with a sleep before the end.
- `QueueShapeWorkflow`: the shape we intend to adopt: Update handlers validate, queue their
  command and wait for its outcome; ONE main coroutine runs every activity and timer, drains the
  queue at the top of its loop, and continues as new right after
  `wait_condition(queue empty and all_handlers_finished)`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError

ACTIVITY_TIMEOUT = timedelta(minutes=2)


# --- activities ------------------------------------------------------------------------------

@activity.defn
async def record(key: str) -> str:
    """A quick activity (the project's `record_events`)."""
    return key


class Gates:
    """`held(key)` finishes when the test opens gate `key`. Run it on an activity-only worker
    that outlives the workflow workers, so a workflow worker can be replaced meanwhile."""

    def __init__(self) -> None:
        self._gates: dict[str, asyncio.Event] = {}

    def _gate(self, key: str) -> asyncio.Event:
        return self._gates.setdefault(key, asyncio.Event())

    def open(self, *keys: str) -> None:
        for key in keys:
            self._gate(key).set()

    @activity.defn(name="held")
    async def held(self, key: str) -> str:
        if not key.startswith("main-"):  # the main loops' own work never waits
            await self._gate(key).wait()
        return key


async def _held(key: str) -> str:
    return await workflow.execute_activity("held", key, result_type=str,
                                           start_to_close_timeout=ACTIVITY_TIMEOUT)


async def _record(key: str) -> str:
    return await workflow.execute_activity(record, key, start_to_close_timeout=ACTIVITY_TIMEOUT)


# --- 1. background coroutines set state that an Update handler reads --------------------------

class Probe(BaseModel):
    done: list[str]
    at: datetime
    log: list[str]
    """What the workflow has done so far, in the order its coroutines ran, with the
    `workflow.now()` each saw."""


class BackgroundInput(BaseModel):
    keys: list[str]
    """One background coroutine per key, each awaiting `held(key)`."""
    handler_branches: bool = True
    """The Update handler starts a timer while background work is unfinished; if False it
    returns the same way whatever the state."""


@workflow.defn
class BackgroundStateWorkflow:
    @workflow.init
    def __init__(self, input: BackgroundInput) -> None:
        self._input = input
        self._done: list[str] = []
        self._closing = False
        self._log: list[str] = []

    @workflow.run
    async def run(self, input: BackgroundInput) -> list[str]:
        work = [asyncio.create_task(self._work(key)) for key in input.keys]
        await workflow.wait_condition(lambda: self._closing)
        await asyncio.gather(*work)
        return self._log

    async def _work(self, key: str) -> None:
        await _held(key)
        self._done.append(key)
        self._log.append(f"{key} finished at {workflow.now().isoformat()}")

    @workflow.update
    async def probe(self) -> Probe:
        seen = Probe(done=list(self._done), at=workflow.now(), log=list(self._log))
        self._log.append(f"probe saw {len(self._done)} finished at {workflow.now().isoformat()}")
        if self._input.handler_branches and len(self._done) < len(self._input.keys):
            await workflow.sleep(timedelta(milliseconds=100))  # "not there yet; look again"
        return seen

    @workflow.signal
    def close(self) -> None:
        self._closing = True

    @workflow.query
    def log(self) -> list[str]:
        return self._log


# --- 2. the site rollout's shape --------------------------------------------------------------

class SiteShapeInput(BaseModel):
    tick_seconds: float | None = 2.0
    """The main loop's `wait_condition(dirty, timeout=...)`; None waits without a timer."""
    handler_takes_lock: bool = True
    """Update handlers run their activity under the lock the main loop works under."""
    one_activity_type: bool = False
    """The main loop's work is the same activity type as the handlers' (site_rollout records
    with `record_events` everywhere); else the main loop runs `record`, the handlers `held`."""
    sleep_before_close: bool = True
    """`_let_handlers_finish` as in site_rollout: wait, sleep 1 s, wait again."""
    continue_as_new: bool = False
    """Close by continuing as new once (the next run ends at once) instead of returning."""
    finished: bool = False


@workflow.defn
class LockedSiteWorkflow:
    @workflow.init
    def __init__(self, input: SiteShapeInput) -> None:
        self._input = input
        self._lock = asyncio.Lock()
        self._dirty = False
        self._closing = input.finished
        self._steps = 0
        self._handled: list[str] = []
        self._notes: list[str] = []

    @workflow.run
    async def run(self, input: SiteShapeInput) -> list[str]:
        while not self._closing:
            async with self._lock:
                key = f"main-{self._steps}"
                await (_held(key) if input.one_activity_type else _record(key))
                self._steps += 1
            timeout = None if input.tick_seconds is None else timedelta(seconds=input.tick_seconds)
            try:
                await workflow.wait_condition(lambda: self._dirty or self._closing, timeout=timeout)
            except asyncio.TimeoutError:
                pass
            self._dirty = False
        await self._let_handlers_finish()
        if input.continue_as_new:
            workflow.continue_as_new(input.model_copy(update={"continue_as_new": False,
                                                              "finished": True}))
        return self._handled

    async def _let_handlers_finish(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._input.sleep_before_close:
            await workflow.sleep(timedelta(seconds=1))
            await workflow.wait_condition(workflow.all_handlers_finished)

    @workflow.update
    async def complete(self, key: str) -> str:
        if self._input.handler_takes_lock:
            async with self._lock:
                result = await _held(key)
        else:
            result = await _held(key)
        self._handled.append(key)
        self._dirty = True
        return result

    @complete.validator
    def _validate_complete(self, key: str) -> None:
        if not key:
            raise ApplicationError("a key is required", non_retryable=True)

    @workflow.signal
    def note(self, text: str) -> None:
        """Changes nothing the workflow waits on: its workflow task has no commands."""
        self._notes.append(text)

    @workflow.signal
    def control(self) -> None:
        """Wakes the main loop (site_rollout's `initiative_control`)."""
        self._dirty = True

    @workflow.signal
    def close(self) -> None:
        self._closing = True


# --- 3. the shape we intend to adopt ---------------------------------------------------------

class Command(BaseModel):
    update_id: str
    key: str


class QueueShapeInput(BaseModel):
    background: list[str] = []
    """Work the main coroutine awaits together (asyncio.gather) before its loop: each result
    is a workflow task without commands, as in `BackgroundStateWorkflow`."""
    tick_seconds: float | None = 2.0
    """The idle wait's timer; None waits without one."""
    continue_as_new: bool = False
    finished: bool = False


@workflow.defn
class QueueShapeWorkflow:
    @workflow.init
    def __init__(self, input: QueueShapeInput) -> None:
        self._input = input
        self._queue: list[Command] = []
        self._outcomes: dict[str, str] = {}
        self._closing = input.finished
        self._dirty = False
        self._steps = 0
        self._handled: list[str] = []
        self._notes: list[str] = []

    @workflow.run
    async def run(self, input: QueueShapeInput) -> list[str]:
        if input.background:
            await asyncio.gather(*(_held(key) for key in input.background))
        due = not input.background  # the background work was this pass's work
        while True:
            while self._queue:  # the only place Updates take effect
                command = self._queue.pop(0)
                self._outcomes[command.update_id] = await _held(command.key)
                self._handled.append(command.key)
            if self._closing:
                # Nothing between this wait and the close: an Update that arrives now is
                # drained first (its handler waits on the queue, so it is never "finished").
                await workflow.wait_condition(
                    lambda: bool(self._queue) or workflow.all_handlers_finished())
                if self._queue:
                    continue
                if input.continue_as_new:
                    workflow.continue_as_new(input.model_copy(update={
                        "continue_as_new": False, "finished": True, "background": []}))
                return self._handled
            if due:  # the loop's own work, when its timer says so
                await _record(f"main-{self._steps}")
                self._steps += 1
            timeout = None if input.tick_seconds is None else timedelta(seconds=input.tick_seconds)
            try:
                await workflow.wait_condition(
                    lambda: bool(self._queue) or self._closing or self._dirty, timeout=timeout)
                due, self._dirty = self._dirty, False
            except asyncio.TimeoutError:
                due = True

    @workflow.update
    async def complete(self, key: str) -> str:
        update_id = workflow.current_update_info().id
        self._queue.append(Command(update_id=update_id, key=key))
        await workflow.wait_condition(lambda: update_id in self._outcomes)
        return self._outcomes.pop(update_id)

    @complete.validator
    def _validate_complete(self, key: str) -> None:
        if not key:
            raise ApplicationError("a key is required", non_retryable=True)

    @workflow.signal
    def note(self, text: str) -> None:
        self._notes.append(text)

    @workflow.signal
    def control(self) -> None:
        self._dirty = True

    @workflow.signal
    def close(self) -> None:
        self._closing = True


WORKFLOWS = [BackgroundStateWorkflow, LockedSiteWorkflow, QueueShapeWorkflow]
