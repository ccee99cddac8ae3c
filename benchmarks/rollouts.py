"""Full four-stage site rollouts per second, ours against the bare baseline, on one dev server.

For each size: launch an initiative of N districts in one cohort (benchmarks/plans.py) with
compressed time, let simulated districts answer every task (all steady), and time it until every
site has completed; then read the histories back, make the bare scripts (benchmarks/bare.py) and
run N bare site workflows on a bare worker with the same activities, timers and updates. Both
workers are separate processes on the same task-queue settings, so their peak memory is theirs.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import asyncpg
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from benchmarks.bare import UPDATE, BareSiteWorkflow, Script
from benchmarks.histories import activity_types, fetch_histories, scripts
from benchmarks.plans import benchmark_plan
from domain.actors import Actor, Role
from rollouts.views import school_clock
from simulation.playthrough import simulate
from store import measurements
from store.eventstore import EventStore
from runtime.temporal import WORKFLOWS
from workflows.ids import initiative_workflow_id
from workflows.initiative import InitiativeWorkflow
from workflows.models import InitiativeInput, InitiativeOptions

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKER = Actor(id="benchmark", role=Role.STATE_ADMIN)
AT_ONCE = 10_000
"""Simulated teams answer a task as soon as they are given it (days before its due date): the
work per site then does not grow when a loaded machine lets the compressed clock run ahead."""
SWEEP_S = 60.0
"""Besides the sites their inbox names, the teams look at every active site this often."""

@dataclass
class Phase:
    sites: int
    wall_s: float
    per_s: float
    activities: int = 0
    timers: int = 0
    updates: int = 0


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cache_for(sites: int, workers: int) -> int:
    """Workflows each worker process keeps cached: a site and its coaching cycle each, spread
    over the processes, with room for the groups (never below the SDK's 1,000). Below that, at
    1,000 sites on two processes, workflows were pushed out and replayed whole at every task."""
    return max(1000, 3 * sites // workers)


class WorkerProcess:
    """A worker in its own process (python -m MODULE) with ROLLOUT_* settings."""

    def __init__(self, module: str, address: str, queue: str, database_url: str | None,
                 log: Path, cached: int = 1000) -> None:
        env = {**os.environ, "ROLLOUT_TEMPORAL_ADDRESS": address, "ROLLOUT_TASK_QUEUE": queue,
               "ROLLOUT_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT),
               "ROLLOUT_MAX_CACHED_WORKFLOWS": str(cached)}
        if database_url:
            env["ROLLOUT_DATABASE_URL"] = database_url
        self._log = log.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=env,
                                        stdout=self._log, stderr=self._log)

    def stop(self) -> float:
        peak = peak_rss_mib(self.process.pid)
        self.process.terminate()
        self.process.wait(timeout=60)
        self._log.close()
        return peak


class WorkerGroup:
    """`count` worker processes polling one task queue, as `rollout up --workers N` runs them."""

    def __init__(self, module: str, address: str, queue: str, database_url: str | None,
                 log: Path, count: int, cached: int = 1000) -> None:
        self.workers = [WorkerProcess(module, address, queue, database_url,
                                      log.with_name(f"{log.stem}-{n}{log.suffix}"), cached)
                        for n in range(count)]

    def stop(self) -> float:
        """Stop every process; the largest peak resident memory among them, in MiB."""
        return max(worker.stop() for worker in self.workers)


async def run_ours(client: Client, pool: asyncpg.Pool, sites: int, queue: str, speedup: float,
                   round_s: float, answer_concurrency: int, initiative_id: str, progress,
                   pace: str = "sprint") -> Phase:
    """Launch, then rounds of: read the board and the inbox, set answering the sites the inbox
    names (without waiting for the answers: a round never waits for the slowest site), until
    every site has completed. Reading every site's state from its workflow each round (as
    the demo does) costs a query per site per round, which at 1,000 sites outweighed the
    rollouts themselves; the board and inbox are two SQL reads of the projections."""
    plan = benchmark_plan(sites, initiative_id, pace)
    started = time.monotonic()
    handle = await client.start_workflow(
        InitiativeWorkflow.run, InitiativeInput(plan=plan, launched_by=BENCHMARKER,
                                                options=InitiativeOptions(speedup=speedup)),
        id=initiative_workflow_id(initiative_id), task_queue=queue)
    sim = simulate(client, pool, plan, act_days_before_due=AT_ONCE)
    gate = asyncio.Semaphore(answer_concurrency)

    async def answer(site_id: str) -> None:
        async with gate:
            await sim.answer_site(site_id)

    swept, answering = 0.0, {}
    while True:
        board = await measurements.site_statuses(pool, initiative_id)
        done = sum(status in ("completed", "cancelled") for status in board.values())
        progress(done, sites)
        if done == sites:
            break
        active = [site for site, status in board.items() if status == "active"]
        if time.monotonic() - swept > SWEEP_S:
            chosen, swept = active, time.monotonic()
        else:
            chosen = await _waiting_on_people(client, pool, initiative_id, active)
        for site in chosen:
            if site not in answering:  # a site already being answered is not queued twice
                answering[site] = asyncio.create_task(answer(site))
        await asyncio.sleep(round_s)
        for site in [s for s, task in answering.items() if task.done()]:
            answering.pop(site).result()
    await asyncio.gather(*answering.values())
    await handle.result()
    wall = time.monotonic() - started
    return Phase(sites, wall, sites / wall)


async def _waiting_on_people(client: Client, pool: asyncpg.Pool, initiative_id: str,
                             active: list[str]) -> list[str]:
    """The active sites the inbox names; all of them when today's date cannot be read."""
    if not active:
        return []
    clock = await school_clock(EventStore(pool), initiative_id)
    if clock is None:
        return active
    today: date = clock.today(datetime.now(timezone.utc))
    waiting = await measurements.sites_waiting_on_people(pool, initiative_id, today)
    return [s for s in active if s in waiting]


async def run_bare(client: Client, site_scripts: list[Script], queue: str, progress) -> Phase:
    started, done = time.monotonic(), 0

    async def site(n: int, script: Script) -> None:
        nonlocal done
        handle = await client.start_workflow(BareSiteWorkflow.run, script,
                                             id=f"bare:{queue}:{n}", task_queue=queue)
        for _ in range(script.count(UPDATE)):
            await handle.execute_update(BareSiteWorkflow.answer)
        await handle.result()
        done += 1
        progress(done, len(site_scripts))

    await asyncio.gather(*(site(n, s) for n, s in enumerate(site_scripts)))
    wall = time.monotonic() - started
    return Phase(len(site_scripts), wall, len(site_scripts) / wall,
                 *(sum(s.count(k) for s in site_scripts) for k in ("activity", "timer", "update")))


async def replay_rate(histories) -> tuple[int, float]:
    """Histories replayed per second by the SDK's replayer (the workflow code a worker runs)."""
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    started = time.monotonic()
    for history in histories:
        await replayer.replay_workflow(history)
    return len(histories), len(histories) / (time.monotonic() - started)


async def read_back(client: Client, initiative_id: str) -> tuple[list, dict[str, Script], dict]:
    histories = await fetch_histories(client, initiative_id)
    return histories, scripts(histories), activity_types(histories)

