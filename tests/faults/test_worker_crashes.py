"""Area 1 of issue 7, worker crashes: during a rollout of 200 sites the worker process is killed
with SIGKILL at random moments, five times, and a new one started each time. Every site completes
and the event store holds exactly the events the workflows decided: none lost, none twice."""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid

import pytest

from simulation.playthrough import all_finished, launch, simulate
from tests.faults.determinism import replay_health
from tests.faults.driving import Progress, drive, walked
from tests.faults.figures import record
from tests.faults.ledger import audit
from tests.faults.light_plan import light_plan
from tests.faults.processes import WorkerProcess
from tests.workflows.harness import STATE_ADMIN
from workflows.models import InitiativeOptions

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres, pytest.mark.temporal,
              pytest.mark.timeout(1300)]  # about 4 minutes alone; room for a machine under load

SITES = 200
KILLS = 5
SPEEDUP = 7_200.0
"""Two school hours a second: teams answer well inside their deadlines even with 200 sites."""
KILL_BETWEEN = (0.03, 0.85)
"""Each kill comes once the rollout is a random share of the way through (stages walked by all
sites), so the kills fall anywhere from the first enrolments to the last stage, whatever the
machine's speed."""
DOWN_S = (0.5, 4.0)
MIN_GAP_S = 5.0


async def test_200_rollouts_survive_five_kill_9s_of_the_worker(client, database, temporal_dev,
                                                               tmp_path):
    pool, dsn = database
    seed = int(os.environ.get("ROLLOUT_FAULT_SEED", random.randrange(1_000_000)))
    rng = random.Random(seed)
    moments = sorted(rng.uniform(*KILL_BETWEEN) for _ in range(KILLS))
    plan = light_plan(SITES, f"crash-{uuid.uuid4().hex[:6]}")
    queue, log = f"crash-{uuid.uuid4().hex[:6]}", tmp_path / "workers.log"
    workers = [WorkerProcess(temporal_dev.address, dsn, queue, log)]
    kills: list[str] = []
    progress = Progress()
    started = time.monotonic()
    monkey = None

    async def kill_at_random_moments() -> None:
        for moment in moments:
            while progress.last is None or walked(progress.last) < moment:
                await asyncio.sleep(0.2)
            if all_finished(progress.last):
                return  # too late to count as a kill during the rollout
            workers[-1].kill()
            kills.append(f"{time.monotonic() - started:.0f}s at {walked(progress.last):.0%}")
            await asyncio.sleep(rng.uniform(*DOWN_S))
            workers.append(WorkerProcess(temporal_dev.address, dsn, queue, log))
            await asyncio.sleep(MIN_GAP_S)

    try:
        handle = await launch(client, plan, STATE_ADMIN, task_queue=queue,
                              options=InitiativeOptions(speedup=SPEEDUP))
        monkey = asyncio.create_task(kill_at_random_moments())
        await drive(handle, simulate(client, pool, plan), within_s=1100, progress=progress)
        rolled_s = time.monotonic() - started
        assert progress.last is not None and all_finished(progress.last), \
            f"after kills {kills} (seed {seed}) the rollout did not finish: {progress.summary()}"
        await asyncio.wait_for(monkey, timeout=60)
        assert len(kills) == KILLS, kills
        final = await handle.result()
    finally:
        if monkey is not None:
            monkey.cancel()
        exit_code = workers[-1].stop()
    assert exit_code == 0, workers[-1].log_tail()
    ledger = await audit(client, pool, plan)
    retried = log.read_text(errors="replace").count("already stored (retry)")
    replay = await replay_health(client, pool, plan, log)
    record("worker crashes", kills_survived=len(kills), workers_started=len(workers), seed=seed,
           sites_completed=ledger.sites_completed, events_stored=ledger.events_stored,
           events_decided=ledger.events_decided,
           events_lost=ledger.events_lost, events_duplicated=ledger.events_duplicated,
           chains_broken=ledger.chains_broken, batches_retried_after_a_kill=retried,
           **{k: v for k, v in replay.items() if k != "details"},
           pd_bookings=ledger.pd_bookings, rollout_s=round(rolled_s), kills=kills)
    assert final.completed_sites == SITES
    assert ledger.problems == [], ledger.problems[:20]
    assert (replay["nondeterminism_in_histories"], replay["nondeterminism_in_logs"],
            replay["resets"], replay["stuck_reported"]) == (0, 0, 0, 0), replay
    assert (ledger.sites_completed, ledger.events_lost, ledger.events_duplicated,
            ledger.events_altered, ledger.chains_broken) == (SITES, 0, 0, 0, 0)
