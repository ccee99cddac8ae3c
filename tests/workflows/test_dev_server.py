"""Rollouts on the real Temporal dev server, time compressed: search attributes agree with the
initiative's own board, and a worker killed mid-rollout loses nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest

from domain.stages import Stage
from simulation.playthrough import all_finished, launch, play, simulate
from simulation.districts import Profile
from audit.verify import cross_check, writer_of
from store.audit_queries import stream_ids
from store.eventstore import EventStore
from tests.workflows.harness import STATE_ADMIN, one_cohort_plan, small_plan
from worker import running_worker
from workflows.ids import site_workflow_id
from workflows.models import ControlRequest, InitiativeOptions
from workflows.initiative import InitiativeWorkflow
from workflows.site_rollout import SiteRolloutWorkflow

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[2]
SPEEDUP = 864_000.0  # one school day every 0.1 s
ROUND = 0.1


def renamed(plan, initiative_id):
    return plan.model_copy(update={"initiative": plan.initiative.model_copy(update={"id": initiative_id})})


def workflow_list(temporal_dev, query: str) -> list[dict]:
    """What an operator sees with `temporal workflow list --query ...`."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "temporal"), "workflow", "list", "--address",
         temporal_dev.address, "--query", query, "--output", "json"],
        capture_output=True, text=True, check=True, timeout=60)
    return json.loads(done.stdout or "[]")


async def test_workflow_list_by_stage_matches_the_initiative_board(client, database, temporal_dev):
    pool, _ = database
    plan = renamed(small_plan(), f"sa-{uuid.uuid4().hex[:6]}")
    laggard = plan.sites[0].id
    queue = f"sa-{uuid.uuid4().hex[:6]}"
    async with running_worker(client, pool, task_queue=queue):
        handle = await launch(client, plan, STATE_ADMIN, task_queue=queue, options=InitiativeOptions(
            speedup=SPEEDUP, search_attributes=True))
        sim = simulate(client, pool, plan, {laggard: Profile.READINESS_FAILS})

        def spread(status):
            stages = {p.stage for p in status.sites.values()}
            return len(status.sites) == status.total_sites and \
                any(s and s.index >= Stage.INSTALLATION.index for s in stages)

        status = await play(sim, rounds=3000, until=spread, wait=lambda: asyncio.sleep(ROUND))
        assert spread(status), status
        await handle.execute_update(InitiativeWorkflow.control, ControlRequest(
            actor=STATE_ADMIN, action="pause", reason="compare the board with visibility"))
        for _ in range(200):
            status = await handle.query(InitiativeWorkflow.status)
            if all(p.status == "paused" for p in status.sites.values()):
                break
            await asyncio.sleep(0.1)
        board = {stage: sorted(site_id for site_id, p in status.sites.items() if p.stage is stage)
                 for stage in Stage}
        assert sum(1 for sites in board.values() if sites) >= 2, board

        def listed(stage):
            rows = workflow_list(temporal_dev, (
                f"InitiativeId='{plan.initiative.id}' AND RolloutStage='{stage.value}' AND "
                "WorkflowType='SiteRolloutWorkflow' AND ExecutionStatus='Running'"))
            return sorted(row["execution"]["workflowId"] for row in rows)

        for stage in Stage:
            expected = [site_workflow_id(plan.initiative.id, s) for s in board[stage]]
            for _ in range(50):  # visibility is eventually consistent
                if listed(stage) == expected:
                    break
                await asyncio.sleep(0.2)
            assert listed(stage) == expected, stage
        await handle.execute_update(InitiativeWorkflow.control, ControlRequest(
            actor=STATE_ADMIN, action="cancel", reason="test over"))
        final = await handle.result()
        assert set(final.by_stage) == {"Cancelled"}

        def latest_by_stage() -> list[str]:  # README's query: each site once, by its latest run
            return sorted(row["execution"]["workflowId"] for stage in Stage
                          for row in workflow_list(temporal_dev, (
                              f"InitiativeId='{plan.initiative.id}' AND RolloutStage='{stage.value}'"
                              " AND ExecutionStatus != 'ContinuedAsNew'")))

        every_site = sorted(site_workflow_id(plan.initiative.id, s.id) for s in plan.sites)
        for _ in range(50):
            if latest_by_stage() == every_site:
                break
            await asyncio.sleep(0.2)
        assert latest_by_stage() == every_site


def start_worker(temporal_dev, dsn: str, queue: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "ROLLOUT_TEMPORAL_ADDRESS": temporal_dev.address,
           "ROLLOUT_DATABASE_URL": dsn, "ROLLOUT_TASK_QUEUE": queue}
    return subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=env, cwd=ROOT,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


async def test_killing_the_worker_mid_rollout_loses_and_duplicates_nothing(
        client, database, temporal_dev, tmp_path):
    pool, dsn = database
    plan = renamed(one_cohort_plan(sites=2), f"kill-{uuid.uuid4().hex[:6]}")
    queue = f"kill-{uuid.uuid4().hex[:6]}"
    log = tmp_path / "workers.log"
    first = start_worker(temporal_dev, dsn, queue, log)
    try:
        handle = await launch(client, plan, STATE_ADMIN, task_queue=queue,
                              options=InitiativeOptions(speedup=SPEEDUP))
        sim = simulate(client, pool, plan)

        def mid_rollout(status):
            return any(p.stage is Stage.INSTALLATION for p in status.sites.values())

        status = await play(sim, rounds=3000, until=mid_rollout, wait=lambda: asyncio.sleep(ROUND))
        assert mid_rollout(status), status
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    await asyncio.sleep(2)  # timers keep firing on the server with no worker to take the tasks
    second = start_worker(temporal_dev, dsn, queue, log)
    try:
        status = await play(sim, rounds=6000, wait=lambda: asyncio.sleep(ROUND))
        assert all_finished(status), status
        final = await handle.result()
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert final.completed_sites == 2
    store = EventStore(pool)
    for site in plan.sites:
        result = await client.get_workflow_handle_for(
            SiteRolloutWorkflow.run, site_workflow_id(plan.initiative.id, site.id)).result()
        events = await store.read_stream(f"site-rollout/{plan.initiative.id}/{site.id}")
        assert [e.sequence for e in events] == list(range(1, result.version + 1)), \
            "the store holds exactly the events the workflow decided, each once"
        assert len({e.event_id for e in events}) == len(events)
        assert [e.payload.stage for e in events if e.type == "StageEntered"] == list(Stage)
        assert events[-1].type == "SiteCompleted"
        assigned = Counter(e.payload.task_id for e in events if e.type == "TaskAssigned")
        assert set(assigned.values()) == {1}, "no task assigned twice"
        closed = Counter(e.payload.task_id for e in events
                         if e.type in ("TaskCompleted", "TaskWithdrawn"))
        assert set(closed.values()) <= {1}, "no task closed twice"
        booked = await pool.fetchval("SELECT count(*) FROM pd_bookings WHERE site_id = $1 AND "
                                     "initiative_id = $2", site.id, plan.initiative.id)
        assert booked == sum(1 for e in events if e.type == "PdSessionScheduled")
    inbox = await pool.fetch("SELECT task_id, count(*) AS n FROM tasks GROUP BY task_id HAVING count(*) > 1")
    assert not inbox
    streams = await stream_ids(pool, plan.initiative.id)
    findings, checked, unavailable = await cross_check(client, pool, {s: writer_of(s) for s in streams})
    assert (findings, checked, unavailable) == ([], 3, []), \
        "every stored event is one the workflows decided, and every decided event is stored"
