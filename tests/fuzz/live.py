"""Live rollouts for the Update fuzzing, on the session's Temporal dev server with a real worker and
PostgreSQL: launching them, sending one Update and classifying the answer, and the checks made
afterwards (no failed workflow task anywhere, the store holds what was accepted and nothing else).

Hypothesis drives synchronous functions, so the property runs in a thread and hands each Update
to the test's event loop (`on_loop`), where the client and the pool live.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from typing import Any, Awaitable, Callable

from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client, WorkflowHandle, WorkflowQueryFailedError, WorkflowUpdateFailedError,
)
from temporalio.service import RPCError

from domain.actors import SYSTEM
from domain.plan import Plan
from simulation.playthrough import launch
from rollouts.refusals import explain_refusal
from tests.workflows.harness import STATE_ADMIN
from workflows.models import InitiativeOptions

UPDATE_SECONDS = 20.0
"""An Update neither accepted nor refused by then is a failure of the property (a stuck workflow
task or an activity retrying forever)."""

PYTHON_ERROR = re.compile(r"NoneType|object has no attribute|object is not|Traceback|"
                          r"^(Update handler for|RuntimeError|KeyError|TypeError|AttributeError)")
"""A refusal that reads as a Python error rather than a sentence about the request."""

OnLoop = Callable[[Awaitable[Any]], Any]


def run_on(loop: asyncio.AbstractEventLoop) -> OnLoop:
    return lambda coroutine: asyncio.run_coroutine_threadsafe(coroutine, loop).result()


def renamed(plan: Plan, prefix: str) -> Plan:
    initiative = plan.initiative.model_copy(update={"id": f"{prefix}-{uuid.uuid4().hex[:6]}"})
    return plan.model_copy(update={"initiative": initiative})


async def start(client: Client, plan: Plan, queue: str) -> WorkflowHandle:
    """The initiative in real time (speedup 1): school time stands still while the fuzz runs."""
    return await launch(client, plan, STATE_ADMIN, task_queue=queue,
                        options=InitiativeOptions(speedup=1.0))


async def poll(probe: Callable[[], Awaitable[Any]], ready: Callable[[Any], bool], what: str,
               seconds: float = 60.0) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        try:
            last = await probe()
        except RPCError:
            last = None  # not started yet
        if last is not None and ready(last):
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"never reached: {what}; last seen: {last}")


async def query_patiently(handle: WorkflowHandle, query, seconds: float = UPDATE_SECONDS) -> Any:
    """The query's answer. A query the worker fails to answer is asked again, for up to `seconds`:
    on a machine loaded far past its cores a workflow thread starved of CPU for 2 s trips the
    SDK's deadlock detector in the query (seen at a load average of 40 on 2 cores); the fuzz reads
    the live tasks with it, and a harness read is not what is under test."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            return await handle.query(query)
        except (WorkflowQueryFailedError, RPCError):
            if asyncio.get_running_loop().time() >= deadline:
                raise
        await asyncio.sleep(0.5)


async def send(handle: WorkflowHandle, name: str, payload: Any, result_type: type) -> tuple[str, Any]:
    """('accepted', result), ('refused', sentence) or ('finished', None) once the workflow has
    closed legitimately; anything else fails the property."""
    try:
        result = await asyncio.wait_for(
            handle.execute_update(name, payload, result_type=result_type), UPDATE_SECONDS)
    except WorkflowUpdateFailedError as refused:
        sentence = explain_refusal(refused)
        assert sentence.strip() and sentence.count("\n") <= 2 * _line_breaks(payload), \
            f"not one clear sentence: {sentence[:2000]}"
        assert not PYTHON_ERROR.search(sentence), f"not a sentence for a person: {sentence}"
        return "refused", sentence
    except RPCError as problem:
        closed = await handle.describe()
        assert closed.status is not None and closed.status.name == "COMPLETED", \
            f"{name} {payload!r}: {problem.message} (workflow {closed.status})"
        return "finished", None
    except asyncio.TimeoutError:
        raise AssertionError(f"{name} {payload!r} was neither accepted nor refused within "
                             f"{UPDATE_SECONDS:g} s") from None
    return "accepted", result


async def failed_workflow_tasks(client: Client, queue: str) -> dict[str, int]:
    """Workflow id -> WorkflowTaskFailed events, over every run of every workflow on the queue."""
    failed: dict[str, int] = {}
    async for execution in client.list_workflows(f"TaskQueue='{queue}'"):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = await handle.fetch_history()
        n = sum(1 for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)
        if n:
            failed[execution.id] = failed.get(execution.id, 0) + n
    return failed


def by_people(events) -> Counter:
    """(actor id, event type) of the events people caused, not the engine."""
    return Counter((e.actor.id, e.type) for e in events if e.actor.id != SYSTEM.id)


VOCABULARY = {"control": ("action", {"pause", "resume", "cancel"}),
              "decide_stage_move": ("decision", {"approve", "override", "regress", "decline"}),
              "manage_task": ("action", {"reassign", "extend", "waive"})}
"""The words an Update documents for its verb; an accepted request using another was not valid."""


def assert_valid_verb(name: str, payload: dict) -> None:
    if name in VOCABULARY:
        field, allowed = VOCABULARY[name]
        assert payload[field] in allowed, f"{name} accepted {field}={payload[field]!r}"


def _line_breaks(payload: Any) -> int:
    """Line breaks in the request's own text, which a sentence quoting a value may repeat."""
    if isinstance(payload, str):
        return payload.count("\n")
    items = payload.values() if isinstance(payload, dict) else payload if isinstance(payload, list) else ()
    return sum(_line_breaks(item) for item in items)


class FirstFailure:
    """Keeps the first failed property check and skips the examples after it: the system under
    test keeps its state between examples, so hypothesis could not replay a failure (it would
    report a "flaky strategy" instead of the check that failed)."""

    def __init__(self) -> None:
        self.failure: BaseException | None = None

    def run(self, check: Callable[[], None]) -> None:
        if self.failure is not None:
            return
        try:
            check()
        except Exception as failure:  # noqa: BLE001 (reported after the run, as it was raised)
            self.failure = failure

    def raise_it(self) -> None:
        if self.failure is not None:
            raise self.failure
