"""Issue 15: Updates in flight on cold workers, the shape of temporalio/sdk-python#1591.

A rollout of 40 sites on two worker processes (`python worker.py`, as the operator runs them),
one with the default workflow cache and one that caches 4 workflows, so it replays a workflow
from its history at most of its tasks. Twenty rounds, spread over the rollout: simulated teams
send a burst of Updates (complete tasks, submit assessments, approve moves, as they do) to a
random share of the active sites, the state team pauses a site or two, and often the whole
initiative, for a moment and resumes them (the Updates `rollouts.operations.control` sends);
while those Updates are in flight one of the two workers, in turn, is killed with SIGKILL and a
new one started in its place. Every Update to a workflow the dead worker had cached arrives at a
worker that never had it (once the dead worker's sticky queue times out), and the small cache
makes the same happen at other moments all the time.

Then: every site completed; no workflow task of any run of the initiative's workflows (the
initiative, its groups, every site, every coaching cycle) failed as nondeterministic; the
workers' log holds no nondeterminism and no watchdog report or reset; the event store holds
exactly what the workflows decided. The figures say how often the history trigger of #1591
formed (`update_folds_in`: an Update's task right after two commandless tasks, the second
applying an event), so a clean count can be read against how often it was put to the test.

Why the state team: the site workflow's tasks nearly always issue commands (its main loop
restarts its timer, schedules the recording, answers the Update), so the teams' Updates alone
almost never meet two commandless tasks in a row (none in 2,489 site tasks of a first run). The
initiative's history is mostly such tasks (sites' progress signals it only notes), so its Updates
are where the trigger forms; the pauses it relays also reach sites whose main loop is busy with
an activity, which is how the trigger forms on a site.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import (
    Client, WorkflowExecutionStatus, WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from runtime.watchdog import RESET_LOGGED, STUCK_LOGGED
from simulation.districts import SimulatedDistricts
from simulation.playthrough import all_finished, launch
from store.eventstore import EventStore
from tests.faults.driving import FAULTS, Progress, drive, walked
from tests.faults.figures import record
from tests.faults.ledger import audit
from tests.faults.light_plan import light_plan
from tests.faults.processes import WorkerProcess
from tests.sdk.nondeterminism import (
    UpdateFold, describe_nondeterminism, nondeterminism_counts, run_ids, update_folds_in,
)
from tests.workflows.harness import STATE_ADMIN
from workflows.ids import coaching_workflow_id, initiative_workflow_id, site_workflow_id
from workflows.initiative import InitiativeWorkflow
from workflows.models import ControlRequest, InitiativeOptions
from workflows.site_rollout import SiteRolloutWorkflow

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres, pytest.mark.temporal,
              pytest.mark.timeout(900)]  # about 4 minutes alone; room for a machine under load

SITES = 40
ROUNDS = 20
SPEEDUP = 7_200.0
"""Two school hours a second, as the other fault tests: teams answer well inside their deadlines."""
ROUND_BETWEEN = (0.02, 0.85)
"""Each round comes once the rollout is a random share of the way through (stages walked by all
sites, as in test_worker_crashes), so the kills fall from the first enrolments to the last stage
whatever the machine's speed."""
MIN_GAP_S = 1.0
"""At least this long between a new worker's start and the next round."""
BURST_SHARE = (0.25, 0.75)
"""The share of the active sites whose teams answer in one burst."""
STATE_PAUSES = (0, 2)
"""Sites the state team pauses for a moment in one burst (by the site's `control` Update)."""
WHOLE_PAUSE_CHANCE = 0.75
"""The chance that the state team also pauses the whole initiative for a moment in a burst (by
the initiative's `control` Update): the initiative's Updates arrive among the sites' progress
signals, where its history has commandless tasks in a row (the trigger of #1591)."""
HOLD_S = (0.0, 3.0)
"""How long a pause lasts: often past the kill, so the resume meets a worker that never had the
workflow cached."""
KILL_AFTER_S = (0.0, 0.4)
"""How long after the burst's first Update is on its way the worker is killed."""
DOWN_S = (0.2, 1.5)
SMALL_CACHE = {"ROLLOUT_MAX_CACHED_WORKFLOWS": "4", "ROLLOUT_MAX_CONCURRENT_WORKFLOW_TASKS": "4"}
"""The second worker's settings: it keeps 4 workflows cached (and runs as many workflow tasks at
once), so most of its tasks replay from the history."""
SLOTS = ({}, SMALL_CACHE)
STARTED_LOGGED = "worker started"
DRIVE_WITHIN_S = 480
STALLED_S = 150
CLOSE_WITHIN_S = 120


class CountingDistricts(SimulatedDistricts):
    """The simulated teams, counting the Updates on their way (sent, no answer yet); and the
    state team, which pauses a site or the whole initiative for a moment and resumes it, by the
    Update `rollouts.operations.control` sends (the site's own `control`, or the initiative's
    for the whole initiative)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.in_flight = 0
        self.pausing: set[str | None] = set()
        """Sites (None: the whole initiative) the state team has paused or is pausing."""
        self.state_updates = 0

    async def _send(self, update) -> int:
        self.in_flight += 1
        try:
            return await super()._send(update)
        finally:
            self.in_flight -= 1

    async def pause_then_resume(self, site_id: str | None, hold_s: float) -> None:
        """Pause the site (None: the initiative), then resume it. Each Update has an id of its
        own and is sent again with that id until it has an outcome (the server runs it once), so
        the resume always comes after the pause and always lands: nothing is left paused."""
        self.pausing.add(site_id)
        try:
            if await self._control("pause", site_id):
                await asyncio.sleep(hold_s)
                await self._control("resume", site_id)
        finally:
            self.pausing.discard(site_id)

    async def _control(self, action: str, site_id: str | None) -> bool:
        """Whether the workflow carried the control out (False: it refused it)."""
        if site_id is None:
            handle = self._client.get_workflow_handle(initiative_workflow_id(self._initiative_id))
            update = InitiativeWorkflow.control
        else:
            handle = self._client.get_workflow_handle(site_workflow_id(self._initiative_id, site_id))
            update = SiteRolloutWorkflow.control
        update_id = f"state-{action}-{site_id or 'all'}-{uuid.uuid4().hex[:8]}"
        request = ControlRequest(actor=STATE_ADMIN, action=action, site_id=site_id,
                                 reason=f"state team: {action} for a moment")
        while True:
            self.in_flight += 1
            try:
                await asyncio.wait_for(handle.execute_update(update, request, id=update_id),
                                       timeout=60)
                self.state_updates += 1
                return True
            except WorkflowUpdateFailedError:
                return False  # refused: the site finished meanwhile
            except (WorkflowUpdateRPCTimeoutOrCancelledError, *FAULTS):
                pass  # a dead worker or a busy server: the same Update again, if still needed
            finally:
                self.in_flight -= 1
            await asyncio.sleep(1.0)
            if not await _running(handle):
                return False  # closed: an answer lost to a kill had landed and the site finished



async def _running(handle) -> bool:
    """Whether the workflow (its current run) is still running; True when Temporal cannot say."""
    try:
        return (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    except RPCError as problem:
        return problem.status != RPCStatusCode.NOT_FOUND


class Workers:
    """Two worker processes on one queue, killed and replaced one at a time."""

    def __init__(self, address: str, dsn: str, queue: str, log: Path) -> None:
        self._args = (address, dsn, queue, log)
        self.log = log
        self.started = 0
        self.slots: list[WorkerProcess] = []
        self.small_cache_pids: set[int] = set()

    def _start(self, slot: int) -> WorkerProcess:
        self.started += 1
        worker = WorkerProcess(*self._args, settings=SLOTS[slot])
        if SLOTS[slot]:
            self.small_cache_pids.add(worker.process.pid)
        return worker

    async def start_all(self) -> None:
        self.slots = [self._start(slot) for slot in range(len(SLOTS))]
        await self.ready()

    def kill(self, slot: int) -> None:
        self.slots[slot].kill()

    async def replace(self, slot: int) -> None:
        self.slots[slot] = self._start(slot)
        await self.ready()

    async def ready(self, within_s: float = 90) -> None:
        """Until every worker started so far has logged that it polls."""
        deadline = time.monotonic() + within_s
        while self._log_text().count(STARTED_LOGGED) < self.started:
            dead = [w for w in self.slots if not w.alive]
            assert not dead and time.monotonic() < deadline, \
                f"a worker did not start: {self._log_text()[-3000:]}"
            await asyncio.sleep(0.2)

    def stop(self) -> list[int]:
        """SIGTERM to the workers alive (one killed just now and not yet replaced is gone)."""
        return [worker.stop() for worker in self.slots if worker.alive]

    def _log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


async def test_updates_in_flight_on_cold_workers_never_replay_differently(
        client, database, temporal_dev, tmp_path):
    pool, dsn = database
    seed = int(os.environ.get("ROLLOUT_FAULT_SEED", random.randrange(1_000_000)))
    print(f"ROLLOUT_FAULT_SEED={seed}")
    rng = random.Random(seed)
    moments = sorted(rng.uniform(*ROUND_BETWEEN) for _ in range(ROUNDS))
    plan = light_plan(SITES, f"cold-{uuid.uuid4().hex[:6]}")
    initiative_id = plan.initiative.id
    queue, log = f"cold-{uuid.uuid4().hex[:6]}", tmp_path / "workers.log"
    workers = Workers(temporal_dev.address, dsn, queue, log)
    sim = CountingDistricts(client, pool, plan)
    progress = Progress()
    kills: list[str] = []
    in_flight_at_kills: list[int] = []
    bursts: list[asyncio.Task] = []
    unanswered: set[asyncio.Task] = set()
    still_open: list[str] = []
    started = time.monotonic()
    monkey = None

    async def answer(site_id: str) -> None:
        try:
            await asyncio.wait_for(sim.answer_site(site_id), timeout=90)
        except FAULTS:
            pass  # the drive answers the site again later

    async def burst_then_kill(round_no: int) -> None:
        status = progress.last
        active = sorted(s for s, p in status.sites.items()
                        if p.status == "active" and s not in sim.pausing)
        share = rng.uniform(*BURST_SHARE)
        chosen = rng.sample(active, min(len(active), max(1, round(share * len(active)))))
        paused = rng.sample(active, min(len(active), rng.randint(*STATE_PAUSES)))
        if None not in sim.pausing and rng.random() < WHOLE_PAUSE_CHANCE:
            paused.append(None)
        bursts.extend(asyncio.create_task(answer(site_id), name=f"answer {site_id}")
                      for site_id in chosen)
        bursts.extend(asyncio.create_task(sim.pause_then_resume(site_id, rng.uniform(*HOLD_S)),
                                          name=f"pause and resume {site_id or 'the initiative'}")
                      for site_id in paused)
        on_its_way = time.monotonic() + 2.0
        while sim.in_flight == 0 and time.monotonic() < on_its_way:
            await asyncio.sleep(0.01)
        await asyncio.sleep(rng.uniform(*KILL_AFTER_S))
        slot = round_no % len(SLOTS)
        in_flight_at_kills.append(sim.in_flight)
        workers.kill(slot)
        kills.append(f"{time.monotonic() - started:.0f}s at {walked(status):.0%}, slot {slot}: "
                     f"{len(chosen)} sites answered, paused {[s or 'all' for s in paused]}, "
                     f"{in_flight_at_kills[-1]} updates in flight")
        await asyncio.sleep(rng.uniform(*DOWN_S))
        await workers.replace(slot)
        await asyncio.sleep(MIN_GAP_S)

    async def rounds() -> None:
        for round_no, moment in enumerate(moments):
            while progress.last is None or walked(progress.last) < moment:
                await asyncio.sleep(0.1)
            if all_finished(progress.last):
                return  # too late for a kill during the rollout
            await burst_then_kill(round_no)

    stuck_reports: list[str] = []

    try:
        await workers.start_all()
        handle = await launch(client, plan, STATE_ADMIN, task_queue=queue,
                              options=InitiativeOptions(speedup=SPEEDUP))
        monkey = asyncio.create_task(rounds())
        await drive(handle, sim, within_s=DRIVE_WITHIN_S, stalled_s=STALLED_S, progress=progress,
                    until=lambda _: _reported_stuck(log, stuck_reports) or _failed(monkey))
        rolled_s = time.monotonic() - started
        if _failed(monkey):
            raise monkey.exception()
        monkey.cancel()
        await asyncio.gather(monkey, return_exceptions=True)
        workflow_ids = await _initiative_workflow_ids(client, pool, initiative_id, plan)
        if all_finished(progress.last):  # the bursts' last Updates meet finished sites
            _, unanswered = await asyncio.wait(bursts, timeout=120)
            # The board shows a site completed once SiteCompleted is recorded; its workflow closes
            # a few tasks later, which need a worker.
            still_open = await _still_running(client, workflow_ids["all"], within_s=CLOSE_WITHIN_S)
    finally:
        if monkey is not None:
            monkey.cancel()
        for task in bursts:
            task.cancel()
        exit_codes = workers.stop()

    finished = progress.last is not None and all_finished(progress.last) and not still_open
    counts = await nondeterminism_counts(client, workflow_ids["all"])
    nde = sum(counts.values())
    folds, task_failures = await _scan_histories(client, workflow_ids["all"],
                                                 workers.small_cache_pids)
    text = log.read_text(errors="replace")
    log_nondeterminism = [line for line in text.splitlines() if "Nondeterminism" in line]
    resets, stuck = text.count(RESET_LOGGED), text.count(STUCK_LOGGED)
    ledger = await audit(client, pool, plan) if finished else None
    figures = dict(
        seed=seed, kills=len(kills), workers_started=workers.started,
        updates_in_flight_at_kills=sum(in_flight_at_kills),
        kills_with_updates_in_flight=sum(n > 0 for n in in_flight_at_kills),
        updates_answered=sim.updates_sent, state_controls=sim.state_updates,
        update_folds_observed=len(folds),
        folds_on_a_new_worker=sum(f.new_worker for f, _ in folds),
        folds_on_the_small_cache=sum(small for _, small in folds),
        folds_by_workflow=dict(Counter(f.workflow_id.split(":")[0] for f, _ in folds)),
        nondeterminism_failures=nde, nondeterminism_log_lines=len(log_nondeterminism),
        workflow_task_failures=dict(task_failures),
        watchdog_resets=resets, watchdog_stuck_reports=stuck,
        sites_completed=progress.completed(), workflows_checked=len(workflow_ids["all"]),
        coaching_cycles=len(workflow_ids["cycles"]), rollout_s=round(rolled_s))
    if ledger is not None:
        figures.update(
            events_stored=ledger.events_stored, events_decided=ledger.events_decided,
            events_lost=ledger.events_lost, events_duplicated=ledger.events_duplicated,
            events_altered=ledger.events_altered, chains_broken=ledger.chains_broken)
    figures["unanswered_after_the_rollout"] = sorted(t.get_name() for t in unanswered)
    figures["kill_log"] = kills
    record("cold updates", **figures)

    assert finished, (
        f"seed {seed}: {progress.completed()} of {SITES} sites completed after {len(kills)} kills "
        f"({progress.summary()}); watchdog: {stuck_reports or 'nothing reported'}; nondeterminism: "
        f"{await describe_nondeterminism(client, workflow_ids['all'])}; workflow task failures: "
        f"{dict(task_failures) or 'none'}\n"
        + (f"{len(still_open)} workflows still running {CLOSE_WITHIN_S} s after the board showed "
           f"every site finished:\n" + await _last_events_of(client, still_open[:8])
           if still_open else await _describe_unfinished(client, initiative_id, plan)))
    assert nde == 0, (
        f"seed {seed}: {nde} nondeterministic workflow tasks after {len(kills)} kills:\n"
        f"{await describe_nondeterminism(client, workflow_ids['all'])}\n"
        + await _last_events_of(client, [w for w, n in counts.items() if n]))
    assert (log_nondeterminism, resets, stuck) == ([], 0, 0), (
        f"seed {seed}: the workers' log reports {len(log_nondeterminism)} nondeterminism lines, "
        f"{resets} watchdog resets, {stuck} stuck workflows: "
        + "\n".join([*log_nondeterminism[:5], *_lines_with(text, (RESET_LOGGED, STUCK_LOGGED))[:5]]))
    assert not unanswered, (f"seed {seed}: 2 minutes after the last site finished, these Updates "
                            f"still had no answer: {sorted(t.get_name() for t in unanswered)}")
    assert set(exit_codes) == {0}, (exit_codes, workers.slots[-1].log_tail())
    assert len(kills) == ROUNDS, f"seed {seed}: only {len(kills)} kills before the rollout ended: {kills}"
    assert sum(in_flight_at_kills) > 0, f"seed {seed}: no Update was in flight at any kill: {kills}"
    assert ledger is not None and ledger.problems == [], ledger and ledger.problems[:20]
    assert (ledger.sites_completed, ledger.events_lost, ledger.events_duplicated,
            ledger.events_altered, ledger.chains_broken) == (SITES, 0, 0, 0, 0)


async def _scan_histories(client: Client, workflow_ids: list[str], small_cache_pids: set[int]
                          ) -> tuple[list[tuple[UpdateFold, bool]], Counter]:
    """Over every run of each workflow: where the trigger of #1591 formed (`update_folds_in`),
    with whether the Update's task ran on a small-cache worker (most likely without the run
    cached; `UpdateFold.new_worker` tells where it certainly had not); and the workflow tasks
    that failed, by cause."""
    folds, failures = [], Counter()
    for workflow_id in workflow_ids:
        for run_id in await run_ids(client, workflow_id):
            history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
            by_id = {e.event_id: e for e in history.events}
            for fold in update_folds_in(history):
                completed = by_id[fold.update_event_id - 1].workflow_task_completed_event_attributes
                pid = completed.identity.partition("@")[0]
                folds.append((fold, pid.isdigit() and int(pid) in small_cache_pids))
            for event in history.events:
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                    failed = event.workflow_task_failed_event_attributes
                    failures[WorkflowTaskFailedCause.Name(failed.cause).removeprefix(
                        "WORKFLOW_TASK_FAILED_CAUSE_")] += 1
    return folds, failures


async def _still_running(client: Client, workflow_ids: list[str], within_s: float) -> list[str]:
    """The workflows (of those given) still running after `within_s` seconds."""
    deadline = time.monotonic() + within_s
    running = list(workflow_ids)
    while True:
        running = [w for w in running if await _running(client.get_workflow_handle(w))]
        if not running or time.monotonic() > deadline:
            return running
        await asyncio.sleep(2.0)


def _failed(task: asyncio.Task | None) -> bool:
    return task is not None and task.done() and not task.cancelled() and \
        task.exception() is not None


def _reported_stuck(log: Path, found: list[str]) -> bool:
    """Whether the workers' watchdog has reported a workflow whose task cannot complete (then
    driving on only waits for the stall timeout)."""
    if not log.exists():
        return False
    found[:] = _lines_with(log.read_text(errors="replace"), (STUCK_LOGGED, RESET_LOGGED))
    return bool(found)


def _lines_with(text: str, needles: tuple[str, ...]) -> list[str]:
    return [line for line in text.splitlines() if any(n in line for n in needles)]


async def _initiative_workflow_ids(client: Client, pool, initiative_id: str, plan) -> dict[str, list[str]]:
    """Every workflow of the initiative: itself, its groups, its sites and their coaching cycles
    (from visibility, and from the cycles the sites recorded, in case visibility lags)."""
    sites = [site_workflow_id(initiative_id, s.id) for s in plan.sites]
    groups = [w.id async for w in client.list_workflows(
        f"WorkflowId STARTS_WITH 'site-group:{initiative_id}:'")]
    cycles = {w.id async for w in client.list_workflows(
        f"WorkflowId STARTS_WITH 'coaching-cycle:{initiative_id}:'")}
    store = EventStore(pool)
    for site in plan.sites:
        for event in await store.read_stream(f"site-rollout/{initiative_id}/{site.id}"):
            if event.type == "CoachingCycleStarted":
                cycles.add(coaching_workflow_id(event.payload.cycle_id))
    ids = [initiative_workflow_id(initiative_id), *sorted(set(groups)), *sites, *sorted(cycles)]
    return {"all": ids, "sites": sites, "groups": sorted(set(groups)), "cycles": sorted(cycles)}


async def _describe_unfinished(client: Client, initiative_id: str, plan) -> str:
    """The site workflows still running or closed otherwise than completed, with their last events."""
    unfinished = []
    for site in plan.sites:
        workflow_id = site_workflow_id(initiative_id, site.id)
        try:
            described = await client.get_workflow_handle(workflow_id).describe()
        except RPCError as problem:
            unfinished.append(f"{workflow_id} ({problem.message})")
            continue
        if described.status != WorkflowExecutionStatus.COMPLETED:
            unfinished.append(workflow_id)
    return f"{len(unfinished)} site workflows not completed:\n" + await _last_events_of(
        client, unfinished[:8])


async def _last_events_of(client: Client, workflow_ids: list[str], last: int = 14) -> str:
    lines = []
    for workflow_id in workflow_ids:
        if " " in workflow_id:
            lines.append(workflow_id)
            continue
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        lines.append(f"{workflow_id} run {history.run_id} (last {last} of {len(history.events)} events):")
        lines += [f"  {_event_line(e)}" for e in history.events[-last:]]
    return "\n".join(lines)


def _event_line(event) -> str:
    kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    detail = ""
    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
        failed = event.workflow_task_failed_event_attributes
        detail = f"{failed.cause}: {failed.failure.message.splitlines()[0][:300]}"
    elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        detail = event.workflow_task_started_event_attributes.identity
    elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        detail = event.activity_task_scheduled_event_attributes.activity_type.name
    elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        detail = event.workflow_execution_signaled_event_attributes.signal_name
    elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        detail = event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
    return f"{event.event_id} {kind} {detail}".rstrip()
