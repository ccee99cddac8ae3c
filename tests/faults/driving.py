"""Driving many rollouts at once through faults: simulated districts answer concurrently, and a
round that meets a dead worker, a restarting server or a closed database is simply tried again.

A site is answered when its version moved since it was last answered (new tasks, a pending
move) and again every `revisit_s` anyway, so an answer lost to a fault is sent again later.
Driving stops when every site has finished, when nothing moved for `stalled_s` (a failed or
stuck rollout: the caller's assertions say which), or after `within_s`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

import asyncpg
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, RPCTimeoutOrCancelledError, WorkflowHandle
from temporalio.service import RPCError

from domain.stages import Stage
from domain.plan import Plan
from simulation.playthrough import all_finished, launch, simulate
from rollouts.trouble import Trouble, troubles
from simulation.districts import SimulatedDistricts
from store.db import DATABASE_TROUBLE
from tests.workflows.harness import STATE_ADMIN
from workflows.ids import site_workflow_id
from workflows.models import InitiativeOptions, InitiativeStatus

FAULTS = (RPCError, RPCTimeoutOrCancelledError, asyncio.TimeoutError, *DATABASE_TROUBLE)
"""What a fault makes a round meet: a dead worker, a restarting server, a closed database."""


@dataclass
class Progress:
    rounds: int = 0
    failed_rounds: int = 0
    answered: dict[str, tuple[int, float]] = field(default_factory=dict)
    last: InitiativeStatus | None = None
    stalled: bool = False
    troubles: list[Trouble] = field(default_factory=list)
    """Workflows found stopped (failed, or a task that cannot complete): driving ends at once."""
    stuck: list[str] = field(default_factory=list)
    """Once stalled: the unfinished sites' workflows, each with its last events."""

    def summary(self) -> str:
        """One line for an assertion message: how far the rollout got, and why it stopped."""
        board = self.last.by_stage if self.last else "never answered"
        stopped = "".join(f"\n  stopped: {t.line()}" for t in self.troubles)
        stopped += "".join(f"\n  unfinished: {line}" for line in self.stuck)
        return (f"board {board}; stalled={self.stalled}; "
                f"{self.failed_rounds} of {self.rounds} board reads failed{stopped}")

    def completed(self) -> int:
        return 0 if self.last is None else sum(
            p.status == "completed" for p in self.last.sites.values())


async def status_of(sim: SimulatedDistricts) -> InitiativeStatus | None:
    """The board from the read models, as the state's page reads it (never a workflow query:
    a query to a worker that has just taken over from a killed one is what made the SDK run a
    task with a stale time)."""
    try:
        return await asyncio.wait_for(sim.board(), timeout=10)
    except FAULTS:
        return None


async def drive(handle: WorkflowHandle, sim: SimulatedDistricts, *, within_s: float,
                until: Callable[[InitiativeStatus], bool] | None = None,
                progress: Progress | None = None, concurrency: int = 24, round_s: float = 0.5,
                revisit_s: float = 20.0, stalled_s: float = 420.0,
                trouble_every_s: float = 15.0) -> Progress:
    """Answer the active sites until every site finished (or `until` holds); give up after
    `within_s` seconds, or once nothing moved for `stalled_s`, and return how far it got.

    Each site is answered in a task of its own, so one site held up by a fault (its update
    waiting for a worker or the database) does not hold up the others. `stalled_s` is longer
    than the quietest legitimate wait: a site with nothing open that waits for the light plan's
    re-measurement (20 school days, about 340 s at 7,200x) records nothing meanwhile."""
    progress = progress or Progress()
    gate = asyncio.Semaphore(concurrency)
    deadline = time.monotonic() + within_s
    moved_at, seen = time.monotonic(), None
    checked_at = time.monotonic()
    busy: dict[str, asyncio.Task] = {}

    async def answer(site_id: str, version: int) -> None:
        async with gate:
            try:
                await asyncio.wait_for(sim.answer_site(site_id), timeout=90)
            except FAULTS:
                return  # a fault got in the way: the site is answered again in a later round
            progress.answered[site_id] = (version, time.monotonic())

    try:
        while time.monotonic() < deadline:
            progress.rounds += 1
            status = await status_of(sim)
            now = time.monotonic()
            if status is None:
                progress.failed_rounds += 1
            else:
                progress.last = status
                if all_finished(status) or (until is not None and until(status)):
                    return progress
                versions = {site_id: (p.version, p.status) for site_id, p in status.sites.items()}
                if versions != seen:
                    moved_at, seen = now, versions
            if now - checked_at > trouble_every_s:
                checked_at = now
                progress.troubles = await _troubles(sim)
                if progress.troubles:
                    return progress  # a workflow has stopped: no use waiting for it
            if now - moved_at > stalled_s:
                progress.stalled = True
                progress.troubles = await _troubles(sim)
                progress.stuck = await _unfinished(sim, progress.last)
                return progress
            if status is None:
                await asyncio.sleep(1.0)
                continue
            for site_id, p in status.sites.items():
                if p.status == "active" and site_id not in busy and \
                        _due(progress.answered.get(site_id), p.version, now, revisit_s):
                    busy[site_id] = asyncio.create_task(answer(site_id, p.version))
                    busy[site_id].add_done_callback(lambda _, s=site_id: busy.pop(s, None))
            await asyncio.sleep(round_s)
        return progress
    finally:
        for task in list(busy.values()):
            task.cancel()
        await asyncio.gather(*busy.values(), return_exceptions=True)


async def _troubles(sim: SimulatedDistricts) -> list[Trouble]:
    try:
        return await asyncio.wait_for(troubles(sim.client, sim.initiative_id), timeout=30)
    except FAULTS:
        return []  # Temporal is away (a fault under test): asked again next time


async def _unfinished(sim: SimulatedDistricts, status: InitiativeStatus | None,
                      most: int = 10) -> list[str]:
    """Up to `most` sites not finished, each as its workflow id and its last history events."""
    if status is None:
        return []
    lines = []
    for site_id, p in sorted(status.sites.items()):
        if p.status in ("completed", "cancelled") or len(lines) >= most:
            continue
        workflow_id = site_workflow_id(sim.initiative_id, site_id)
        try:
            events = (await sim.client.get_workflow_handle(workflow_id).fetch_history()).events
            last = ", ".join(f"{e.event_id} {EventType.Name(e.event_type).removeprefix('EVENT_TYPE_')}"
                             for e in events[-8:])
        except FAULTS as problem:
            last = f"history unreadable: {problem}"
        lines.append(f"{workflow_id} ({p.stage}, {p.status}): {last}")
    return lines


def reached(stage: Stage, share: float) -> Callable[[InitiativeStatus], bool]:
    """True once `share` of the sites are in `stage` or beyond: the moment for a fault."""
    def check(status: InitiativeStatus) -> bool:
        there = sum(1 for p in status.sites.values()
                    if p.status == "completed" or (p.stage and p.stage.index >= stage.index))
        return there >= share * status.total_sites
    return check


def walked(status: InitiativeStatus) -> float:
    """The share of the rollout's stage moves made so far (four per site)."""
    steps = sum(4 if p.status == "completed" else (p.stage.index if p.stage else 0)
                for p in status.sites.values())
    return steps / (4 * status.total_sites)


def _due(last: tuple[int, float] | None, version: int, now: float, revisit_s: float) -> bool:
    return last is None or last[0] != version or now - last[1] >= revisit_s


async def launch_until(client: Client, pool: asyncpg.Pool, plan: Plan, queue: str, speedup: float,
                       until: Callable[[InitiativeStatus], bool]
                       ) -> tuple[WorkflowHandle, SimulatedDistricts, Progress]:
    """Launch the plan with compressed time and drive it until `until` holds while the rollout
    is still under way: the moment for a fault."""
    handle = await launch(client, plan, STATE_ADMIN, task_queue=queue,
                          options=InitiativeOptions(speedup=speedup))
    sim, progress = simulate(client, pool, plan), Progress()
    await drive(handle, sim, within_s=300, progress=progress, until=until)
    assert progress.last is not None and until(progress.last) and \
        not all_finished(progress.last), progress.summary()
    return handle, sim, progress
