"""temporalio/sdk-python#1591 reproduced small, and the workflow shape that avoids it.

Findings (temporalio 1.35.0 and the sdk-core it ships; every scenario here is deterministic:
gated activities make each workflow task happen when the test says).

WHAT HAPPENS. A worker that does not have the run cached (its first task for the run after a
restart or kill -9, or after an eviction) replays the history from the start. sdk-core cuts
history into activations by workflow task, but folds a task that issued no commands, and came
after a task that issued none either, into the next task when that one was scheduled right
after it (its WFT-heartbeat heuristic, `find_end_index_of_next_wft_seq`). If the next task is
the Update's, arriving now, one activation carries the folded task's events (an activity
result, a fired timer, a signal) and the Update, and Python applies the Update first (patches,
then signals and Updates, then the rest; in 1.35's default mode it even runs the handlers to
their first await before the rest is applied). The task's commands are written in that order.
A replay of the written history sees the UpdateAccepted event, ends the fold before the
Update's task (sequencing-id lookup) and applies the events first, the Update after. If the
two orders issue different commands, the next task that replays fails: "[TMPRL1100]
Nondeterminism error: ...", as in our crash test.

TRIGGER (all three needed; `update_folds_in` finds 1 and 2 in any history):
 1. two workflow tasks in a row without commands, the second applying an event;
 2. right after it, an Update taken by a worker without the run cached;
 3. the handler's first steps race what that event wakes: it reads state the event's
    coroutine sets (scenario A), or both queue on one asyncio.Lock: in the folded activation
    the handler queues first, in a replay second (scenario B, our site workflow).
The site rollout has all three: a handler holding the lock across `record_events`; the main
loop's timer fires meanwhile and the loop waits for the lock (a task without commands); any
commandless task before that (a signal or a rejected Update that changes nothing, ...); a kill.

MEASURED (runs with a nondeterminism failure / runs, in the 3 final runs of this module; the
development runs, 3 to 5 of each, agreed every time):
 A  BackgroundStateWorkflow, 2 background activities, then a probe Update:
    restarted worker 3/3 ("Update machine does not handle this event: TimerStarted");
    uncached worker (max_cached_workflows=0) 3/3; kill -9 + next worker 3/3; three commandless
    tasks 3/3; same warm worker 0/3; one commandless task (the task before had commands) 0/3;
    handler not branching on the state 0/3 (silent: it returned ["a"] although b's result
    had been in history for a second; a replay computes ["a", "b"]; queries differ by cache).
 B  LockedSiteWorkflow, Update u1 holds the lock, notes, the main loop wakes, then Update u2:
    restarted worker 3/3 ("Activity type of scheduled event 'held' does not match ...
    'record'"); one activity type everywhere 3/3 ("Activity machine does not handle this
    event: WorkflowExecutionUpdateCompleted"); one note 3/3; no timer but a signal waking the
    main loop 3/3; kill -9 + next worker 3/3. Not triggered (0/3 each): no note (u1's task had
    commands), handler without the lock, main loop without timer (nothing wakes it into the
    lock queue), same warm worker, Update during `_let_handlers_finish`'s sleep (the main
    loop is blocked on `all_handlers_finished` in both orders: that wait makes tasks
    commandless, it does not diverge by itself), and an uncached second worker: it writes
    the same commands in the folded task and re-derives the lock's queue at every task, so
    `max_cached_workflows=0` HIDES this variant; a restarted worker with a cache keeps the
    folded order and writes it into later tasks, which fail at the next cache miss.
 Q  QueueShapeWorkflow under the same triggers (A, A uncached, B timer, B signal, B with
    continue-as-new, B after kill -9): 0/15 each (5 iterations per run), the trigger formed
    in every one (a cold fold before the Update). The handler's first step only appends to
    the queue and waits; the main coroutine reads the queue only at the top of its loop, after
    the folded event's continuation; so either order issues the same commands.

ALSO SEEN. In the folded activation the event's coroutine runs with the Update's clock
(`workflow.now()` of the Update's task, not of the task that delivered the event); a replay
gives it the earlier time. After kill -9 an Update (any task of a run cached on the dead
worker) waits 10 s for the dead worker's sticky queue to time out before another worker gets
it. Validators run only live, on the state before the folded events: the queue shape's main
coroutine must re-check a command when it drains it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateStage
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, Worker

from tests.sdk.nondeterminism import UpdateFold, nondeterminism_counts, run_ids, update_folds_in
from tests.sdk.workflows import (
    WORKFLOWS, BackgroundInput, BackgroundStateWorkflow, Gates, LockedSiteWorkflow, Probe,
    QueueShapeInput, QueueShapeWorkflow, SiteShapeInput, record,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.temporal]

ROOT = Path(__file__).resolve().parents[2]
E = EventType
FIXED = ("temporalio/sdk-python#1591 did not reproduce: if the SDK was upgraded, it may have fixed "
         "it (check its release notes). Then turn these tests around (assert no nondeterminism) "
         "and revisit what they justified (issue 15, TEMPORAL.md 'Sharp edges').")


# --- harness ---------------------------------------------------------------------------------

def _types(events) -> list[int]:
    return [e.event_type for e in events]


def count(events, kind) -> int:
    return _types(events).count(kind)


def no_task_pending(events) -> bool:
    """No workflow task scheduled and not yet finished (completed, failed or timed out)."""
    return count(events, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) == (
        count(events, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        + count(events, E.EVENT_TYPE_WORKFLOW_TASK_FAILED)
        + count(events, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT))


def has_nondeterminism(events) -> bool:
    return any(e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_FAILED
               and "Nondeterminism" in e.workflow_task_failed_event_attributes.failure.message
               for e in events)


def closed(events) -> bool:
    return bool(events) and events[-1].event_type in (
        E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
        E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)


async def until(handle: WorkflowHandle, ready: Callable[[list], bool], timeout: float = 20.0,
                what: str = "") -> list:
    """Poll the run's history until `ready(events)`; a nondeterminism failure also ends the wait
    (the run is stuck from then on)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        events = list((await handle.fetch_history()).events)
        if ready(events) or has_nondeterminism(events):
            return events
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or ready}: last events "
                                 f"{[E.Name(k) for k in _types(events)[-8:]]}")
        await asyncio.sleep(0.05)


@dataclass
class Outcome:
    workflow_id: str
    nondeterminism: int
    """WorkflowTaskFailed(NonDeterministicError) events the workers wrote, over all runs."""
    replay_error: str | None
    """What a `Replayer` (a cold worker) says of the scenario's run (None: it replays)."""
    folds: list[UpdateFold]
    """Where the scenario's run met the trigger (see `update_folds_in`)."""
    events: list = field(repr=False)

    @property
    def nondeterministic(self) -> bool:
        return self.nondeterminism > 0 or self.replay_error is not None

    @property
    def cold_folds(self) -> list[UpdateFold]:
        return [fold for fold in self.folds if fold.new_worker]


Script = Callable[[WorkflowHandle, Gates], Awaitable[None]]
SECOND_WORKERS = ("restarted", "uncached", "same")


def starter(run, input):
    async def start(client: Client, workflow_id: str, queue: str) -> WorkflowHandle:
        return await client.start_workflow(run, input, id=workflow_id, task_queue=queue)
    return start


class WorkerProcess:
    """tests/sdk/worker_process.py in a process of its own, to be killed with SIGKILL."""

    def __init__(self, address: str, task_queue: str, identity: str) -> None:
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.sdk.worker_process", address, task_queue, identity],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": path}, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, start_new_session=True)

    async def ready(self, timeout: float = 60.0) -> None:
        line = await asyncio.wait_for(asyncio.to_thread(self.process.stdout.readline), timeout)
        assert line.strip() == b"ready", f"worker process said {line!r}"

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process.stdout.close()


async def play(client: Client, start, before: Script, after: Script, *,
               first_worker: str = "in-process", second_worker: str = "restarted",
               recheck: bool = True, before_close: Script | None = None) -> Outcome:
    """Run `before` on a warm workflow worker (`first_worker` "process": a worker process that
    is then killed with SIGKILL instead of shut down); replace it by the `second_worker`:

    - "restarted": a new worker with the default cache, as after a restart or kill -9 (its first
      task for the run replays the whole history; later tasks use its cache),
    - "uncached": a new worker with `max_cached_workflows=0` (every task replays everything),
    - "same": no replacement (the run stays cached);

    run `after` (the Updates); then, if `recheck`, replace the worker once more by an uncached
    one (a later cache miss: eviction, another restart) and run `before_close`; close the
    workflow, so that the close replays the whole history and the server records a
    nondeterminism failure if it does not replay. Activities run on a worker of their own
    throughout, so gated activities survive the replacements."""
    assert second_worker in SECOND_WORKERS
    queue = f"sdk1591-{uuid.uuid4().hex[:8]}"
    workflow_id = f"{queue}-wf"
    gates = Gates()
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(
            Worker(client, task_queue=queue, activities=[record, gates.held]))
        workers: list[Worker | WorkerProcess] = []

        async def replace(**options) -> None:
            if isinstance(workers[-1], WorkerProcess):
                workers[-1].kill()  # kill -9
            else:
                await workers[-1].shutdown()
            workers.append(await stack.enter_async_context(Worker(
                client, task_queue=queue, workflows=WORKFLOWS,
                identity=f"{queue}-worker-{len(workers) + 1}", **options)))

        if first_worker == "process":
            workers.append(WorkerProcess(client.service_client.config.target_host, queue,
                                         f"{queue}-worker-1"))
            stack.callback(workers[-1].kill)
            await workers[-1].ready()
        else:
            workers.append(await stack.enter_async_context(Worker(
                client, task_queue=queue, workflows=WORKFLOWS, identity=f"{queue}-worker-1")))

        handle = await start(client, workflow_id, queue)
        try:
            await before(handle, gates)
            if second_worker != "same":
                await replace(**({"max_cached_workflows": 0} if second_worker == "uncached" else {}))
            await after(handle, gates)
            if recheck:
                await replace(max_cached_workflows=0)
            if before_close is not None:
                await before_close(handle, gates)
            if not closed(list((await handle.fetch_history()).events)):
                await handle.signal("close")
            await until(handle, closed, what="the run to close")
        finally:
            if not closed(list((await handle.fetch_history()).events)):
                await handle.terminate("test over")
            gates.open(*(f"u{i}" for i in range(10)), "a", "b", "c")
    first_run = (await run_ids(client, workflow_id))[0]  # a continue-as-new run after it only closes
    history = await client.get_workflow_handle(workflow_id, run_id=first_run).fetch_history()
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    counts = await nondeterminism_counts(client, [workflow_id])
    return Outcome(workflow_id, counts[workflow_id],
                   None if replayed.replay_failure is None else str(replayed.replay_failure),
                   update_folds_in(history), list(history.events))


async def update(handle: WorkflowHandle, name: str, *args):
    return await handle.start_update(name, args=list(args),
                                     wait_for_stage=WorkflowUpdateStage.ACCEPTED)


def idle(events) -> bool:
    """No workflow task pending and every activity finished (a worker may be replaced now
    without leaving a task it polled to time out)."""
    return no_task_pending(events) and count(events, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) == (
        count(events, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED))


async def settle(handle: WorkflowHandle, updates: int) -> None:
    """Wait until `updates` Updates have completed and the workflow is idle."""
    await until(handle, lambda ev: idle(ev)
                and count(ev, E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED) >= updates,
                what=f"{updates} updates completed")


# --- scenario A: two workflow tasks in a row without commands, then an Update -----------------

async def scenario_a(client: Client, input: BackgroundInput | QueueShapeInput, *,
                     first_worker: str = "in-process", second_worker: str = "restarted",
                     after: Script | None = None, before_close: Script | None = None) -> Outcome:
    """Background work finishes, one activity per workflow task, and each of those tasks has
    nothing new to do (no commands); the worker is replaced; an Update arrives."""
    background = isinstance(input, BackgroundInput)
    keys = input.keys if background else input.background

    async def before(handle: WorkflowHandle, gates: Gates) -> None:
        await until(handle, lambda ev: no_task_pending(ev)
                    and count(ev, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) == len(keys),
                    what="the background work")
        for done, key in enumerate(keys, start=1):
            gates.open(key)
            await until(handle, lambda ev: no_task_pending(ev)
                        and count(ev, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) >= done, what=f"{key} done")

    async def one_update(handle: WorkflowHandle, gates: Gates) -> None:
        if background:
            await update(handle, "probe")
        else:
            await update(handle, "complete", "u1")
            gates.open("u1")
        await settle(handle, 1)

    run = BackgroundStateWorkflow.run if background else QueueShapeWorkflow.run
    return await play(client, starter(run, input), before, after or one_update,
                      first_worker=first_worker, second_worker=second_worker,
                      before_close=before_close)


# --- scenario B: the site rollout's lock and timer --------------------------------------------

async def scenario_b(client: Client, start, *, notes: int = 2, wake: str = "timer",
                     first_worker: str = "in-process", second_worker: str = "restarted") -> Outcome:
    """An Update takes the lock and awaits an activity that does not finish yet; `notes`
    signals change nothing; the main loop wakes ("timer": its timer fires; "signal": a signal
    sets its dirty flag) and waits for the lock; the worker is replaced; a second Update
    arrives (it waits for the lock too); then the first activity finishes."""

    async def before(handle: WorkflowHandle, gates: Gates) -> None:
        await until(handle, lambda ev: no_task_pending(ev)
                    and count(ev, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) >= 1, what="main's first step")
        await update(handle, "complete", "u1")
        await until(handle, lambda ev: no_task_pending(ev)
                    and count(ev, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) >= 2, what="u1's activity")
        for sent in range(1, notes + 1):
            await handle.signal("note", f"note {sent}")
            await until(handle, lambda ev: no_task_pending(ev)
                        and count(ev, E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == sent, what="a note")
        if wake == "timer":
            await asyncio.sleep(TICK + 0.5)  # the main loop's timer (if it has one) fires
        else:
            await handle.signal("control")
        await until(handle, no_task_pending, what="quiet")

    async def after(handle: WorkflowHandle, gates: Gates) -> None:
        await update(handle, "complete", "u2")
        gates.open("u1", "u2")
        await settle(handle, 2)

    return await play(client, start, before, after, first_worker=first_worker,
                      second_worker=second_worker)


TICK = 3.0


def site(**options) -> Callable:
    return starter(LockedSiteWorkflow.run, SiteShapeInput(**{"tick_seconds": TICK, **options}))


def queue_shaped(**options) -> Callable:
    return starter(QueueShapeWorkflow.run, QueueShapeInput(**{"tick_seconds": TICK, **options}))


# --- scenario C: an Update while the main loop is in `_let_handlers_finish` -------------------

async def scenario_c(client: Client, start, *, second_worker: str = "restarted") -> Outcome:
    """The workflow is closing: the main loop passed `wait_condition(all_handlers_finished)`
    and sleeps 1 s; an Update takes the lock on an activity that does not finish yet; two
    signals change nothing; the sleep ends (the main loop waits for the handlers again); the
    worker is replaced; a second Update arrives."""

    async def before(handle: WorkflowHandle, gates: Gates) -> None:
        await until(handle, lambda ev: no_task_pending(ev)
                    and count(ev, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) >= 1, what="main's first step")
        await handle.signal("close")
        await until(handle, lambda ev: no_task_pending(ev)
                    and count(ev, E.EVENT_TYPE_TIMER_STARTED) >= 1, what="the closing sleep")
        await update(handle, "complete", "u1")
        await until(handle, lambda ev: no_task_pending(ev)
                    and count(ev, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) >= 2, what="u1's activity")
        for sent in (1, 2):
            await handle.signal("note", f"note {sent}")
            await until(handle, lambda ev: no_task_pending(ev)
                        and count(ev, E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == sent + 1, what="a note")
        await until(handle, lambda ev: no_task_pending(ev)
                    and count(ev, E.EVENT_TYPE_TIMER_FIRED) >= 1, what="the sleep's end")

    async def after(handle: WorkflowHandle, gates: Gates) -> None:
        await update(handle, "complete", "u2")
        gates.open("u1", "u2")
        await settle(handle, 2)

    return await play(client, start, before, after, second_worker=second_worker)


# --- the bug, as it shows ---------------------------------------------------------------------

async def test_an_update_on_a_restarted_worker_after_two_commandless_tasks_does_not_replay(client):
    """The smallest reproduction, deterministic. The restarted worker writes the history
    without complaint; the next worker that replays it (here the close, on an uncached worker;
    in production the next eviction or restart) fails its task, exactly as in our crash test."""
    outcome = await scenario_a(client, BackgroundInput(keys=["a", "b"]))
    assert outcome.nondeterministic, FIXED
    assert outcome.nondeterminism >= 1
    assert "Update machine does not handle this event" in outcome.replay_error
    assert "TimerStarted" in outcome.replay_error


async def test_the_site_rollouts_shape_does_not_replay_either(client):
    """Same cause through the lock: the cold task queues the new Update on the lock ahead of
    the main loop, a replay queues it behind; the two schedule different activities."""
    outcome = await scenario_b(client, site())
    assert outcome.nondeterministic, FIXED
    assert outcome.nondeterminism >= 1
    assert "does not match activity type of activity command" in outcome.replay_error


async def test_an_update_overtakes_work_that_finished_before_it_and_that_work_sees_its_time(client):
    """The same fold, silent: the handler does not branch, so the history replays, but the
    restarted worker ran the Update before the activity result that had arrived seconds
    earlier, and gave that result's coroutine the Update's clock. A replay of the same history
    runs them the other way round, so the state a query sees depends on the worker's cache."""
    seen: dict[str, object] = {}

    async def after(handle: WorkflowHandle, gates: Gates) -> None:
        await asyncio.sleep(1.0)  # the Update comes well after b's result
        seen["probe"] = await (await update(handle, "probe")).result()
        await settle(handle, 1)
        seen["live"] = await handle.query(BackgroundStateWorkflow.log)  # the restarted worker's cache

    async def before_close(handle: WorkflowHandle, gates: Gates) -> None:
        seen["replayed"] = await handle.query(BackgroundStateWorkflow.log)  # an uncached worker

    outcome = await scenario_a(client, BackgroundInput(keys=["a", "b"], handler_branches=False),
                               after=after, before_close=before_close)
    assert not outcome.nondeterministic
    probe: Probe = Probe.model_validate(seen["probe"])
    b_completed = [e for e in outcome.events
                   if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED][1].event_time.ToDatetime()
    assert probe.done == ["a"], FIXED  # b's result had been in the history for a second
    live, replayed = seen["live"], seen["replayed"]
    assert live[1].startswith("probe saw 1") and live[2].startswith("b finished"), live
    assert live[2].endswith(probe.at.isoformat()), "b's coroutine ran with the Update's clock"
    assert (probe.at.replace(tzinfo=None) - b_completed).total_seconds() > 0.9
    assert replayed[1].startswith("b finished") and replayed[2].startswith("probe saw 2"), replayed


# --- one ingredient at a time -----------------------------------------------------------------

TWO = ["a", "b"]
COLD, WARM, NONE = "cold", "warm", "none"
"""Whether the trigger formed (an Update's task right after two commandless tasks, see
`update_folds_in`), on a worker that did not have the run cached or on the same warm one."""


def folds_of(outcome: Outcome) -> str:
    return COLD if outcome.cold_folds else WARM if outcome.folds else NONE


BACKGROUND_VARIANTS = {
    # name: (input, second worker, nondeterministic?, trigger)
    "restarted worker": (BackgroundInput(keys=TWO), "restarted", True, COLD),
    "uncached worker": (BackgroundInput(keys=TWO), "uncached", True, COLD),
    "same warm worker": (BackgroundInput(keys=TWO), "same", False, WARM),
    "one commandless task (the task before had commands)":
        (BackgroundInput(keys=["a"]), "restarted", False, NONE),
    "three commandless tasks": (BackgroundInput(keys=["a", "b", "c"]), "restarted", True, COLD),
    "handler does not branch on the state":
        (BackgroundInput(keys=TWO, handler_branches=False), "restarted", False, COLD),
}


@pytest.mark.parametrize("variant", BACKGROUND_VARIANTS)
async def test_background_state_ingredients(client, variant):
    input, second_worker, expected, trigger = BACKGROUND_VARIANTS[variant]
    outcome = await scenario_a(client, input, second_worker=second_worker)
    assert folds_of(outcome) == trigger, outcome.folds
    assert outcome.nondeterministic == expected, (
        FIXED if expected else f"{variant}: {outcome.nondeterminism} failures, {outcome.replay_error}")


SITE_VARIANTS = {
    # name: (scenario, nondeterministic?, trigger)
    "handler takes the lock, main loop timer": (lambda c: scenario_b(c, site()), True, COLD),
    "one activity type everywhere": (lambda c: scenario_b(c, site(one_activity_type=True)), True, COLD),
    "one note": (lambda c: scenario_b(c, site(), notes=1), True, COLD),
    "no note (the task before had commands)": (lambda c: scenario_b(c, site(), notes=0), False, NONE),
    "uncached second worker (every task re-derives the lock's queue)":
        (lambda c: scenario_b(c, site(), second_worker="uncached"), False, COLD),
    "same warm worker": (lambda c: scenario_b(c, site(), second_worker="same"), False, WARM),
    "handler without the lock": (lambda c: scenario_b(c, site(handler_takes_lock=False)), False, NONE),
    "main loop without a timer": (lambda c: scenario_b(c, site(tick_seconds=None)), False, COLD),
    "no timer, a signal wakes the main loop":
        (lambda c: scenario_b(c, site(tick_seconds=None), wake="signal"), True, COLD),
    "update during _let_handlers_finish's sleep": (lambda c: scenario_c(c, site(tick_seconds=None)), False, COLD),
}


@pytest.mark.parametrize("variant", SITE_VARIANTS)
async def test_site_shape_ingredients(client, variant):
    scenario, expected, trigger = SITE_VARIANTS[variant]
    outcome = await scenario(client)
    assert folds_of(outcome) == trigger, outcome.folds
    assert outcome.nondeterministic == expected, (
        FIXED if expected else f"{variant}: {outcome.nondeterminism} failures, {outcome.replay_error}")


KILLED = {
    "background state": lambda c: scenario_a(c, BackgroundInput(keys=TWO), first_worker="process"),
    "site shape": lambda c: scenario_b(c, site(), first_worker="process"),
}


@pytest.mark.parametrize("shape", KILLED)
async def test_kill_9_then_an_update_on_the_next_worker(client, shape):
    """As in production: the worker process is killed with SIGKILL. The Update waits for the
    dead worker's sticky queue to time out (10 s), then the next worker takes it cold."""
    outcome = await KILLED[shape](client)
    assert outcome.cold_folds, outcome.folds
    timed_out = [e for e in outcome.events if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT]
    assert timed_out, "the Update's first task went to the killed worker's sticky queue"
    assert outcome.nondeterministic, FIXED
    assert outcome.nondeterminism >= 1


# --- the shape we intend to adopt -------------------------------------------------------------

ITERATIONS = 5
QUEUE_TRIGGERS = {
    "A: two commandless tasks": lambda c: scenario_a(
        c, QueueShapeInput(background=TWO, tick_seconds=None)),
    "A, uncached worker": lambda c: scenario_a(
        c, QueueShapeInput(background=TWO, tick_seconds=None), second_worker="uncached"),
    "B: lock and timer": lambda c: scenario_b(c, queue_shaped()),
    "B, a signal wakes the main loop": lambda c: scenario_b(c, queue_shaped(tick_seconds=None), wake="signal"),
    "B, continue-as-new": lambda c: scenario_b(c, queue_shaped(continue_as_new=True)),
    "B, kill -9": lambda c: scenario_b(c, queue_shaped(), first_worker="process"),
}


@pytest.mark.parametrize("trigger", QUEUE_TRIGGERS)
async def test_the_queue_shape_replays_under_the_same_triggers(client, trigger):
    """The buggy shapes fail on the first iteration of these triggers, every time; the queue
    shape meets the same trigger (an Update's task folded with a commandless task's events on
    a cold worker) and replays every time."""
    outcomes = [await QUEUE_TRIGGERS[trigger](client) for _ in range(ITERATIONS)]
    assert all(o.cold_folds for o in outcomes), [o.folds for o in outcomes]
    bad = [(o.workflow_id, o.nondeterminism, o.replay_error) for o in outcomes if o.nondeterministic]
    assert not bad, bad


# --- the helper for the stress test -----------------------------------------------------------

async def test_nondeterminism_counts_cover_every_run(client):
    """The counts follow continue-as-new (the runs' chain) and resets (visibility only): the
    watchdog's reset leaves the failure in a run that the newest run does not lead back to."""
    from temporalio.api.common.v1 import WorkflowExecution
    from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest

    from tests.sdk.nondeterminism import describe_nondeterminism, runs_with_nondeterminism

    broken = await scenario_a(client, BackgroundInput(keys=TWO))
    chained = await scenario_b(client, queue_shaped(continue_as_new=True))
    assert broken.nondeterminism >= 1 and not chained.nondeterministic
    assert len(await run_ids(client, chained.workflow_id)) == 2  # continue-as-new

    [first_task] = [e.event_id for e in broken.events
                    if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED][:1]
    broken_run = (await run_ids(client, broken.workflow_id))[0]
    await client.workflow_service.reset_workflow_execution(ResetWorkflowExecutionRequest(
        namespace=client.namespace, reason="test: reset past the failure",
        workflow_execution=WorkflowExecution(workflow_id=broken.workflow_id, run_id=broken_run),
        workflow_task_finish_event_id=first_task, request_id=str(uuid.uuid4())))
    await client.get_workflow_handle(broken.workflow_id).terminate("test over")
    for _ in range(100):  # visibility lags the reset by a moment
        runs = await run_ids(client, broken.workflow_id)
        if len(runs) == 2:
            break
        await asyncio.sleep(0.1)
    assert len(runs) == 2 and broken_run in runs

    counts = await nondeterminism_counts(client, [broken.workflow_id, chained.workflow_id])
    assert counts == {broken.workflow_id: broken.nondeterminism, chained.workflow_id: 0}
    assert await runs_with_nondeterminism(client, [broken.workflow_id]) == {(broken.workflow_id, broken_run)}
    assert "Update machine does not handle this event" in await describe_nondeterminism(
        client, [broken.workflow_id])
