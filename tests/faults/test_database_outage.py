"""Area 3 of issue 7, a database outage: PostgreSQL is stopped for 25 seconds mid-rollout. Appends
(and the read models, written in the append's transaction) retry with backoff and catch up;
nothing is lost or stored twice; the worker and its outbox dispatcher live through it; the HTTP
API answers 503 with a sentence naming PostgreSQL meanwhile, never a crash, and recovers."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest

from devstack.ports import free_port
from devstack.postgres import LocalPostgres
from domain.actors import Role
from domain.stages import Stage
from simulation.playthrough import all_finished
from store import tokens
from tests.faults.determinism import replay_health
from tests.faults.driving import drive, launch_until, reached
from tests.faults.figures import record
from tests.faults.histories import retried_activities
from tests.faults.ledger import audit
from tests.faults.light_plan import light_plan
from tests.faults.processes import ApiProcess, WorkerProcess
from tests.workflows.harness import fresh_database
from workflows.ids import site_workflow_id

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres, pytest.mark.temporal]

SITES = 40
OUTAGE_S = 25.0
SPEEDUP = 7_200.0


async def wait_for_api(http: httpx.AsyncClient, api: ApiProcess) -> None:
    for _ in range(120):
        assert api.alive, api.log.read_text()[-3000:]
        try:
            if (await http.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.5)
    raise AssertionError("the API never answered /health: " + api.log.read_text()[-3000:])


async def ask_through(http: httpx.AsyncClient, headers: dict, seconds: float) -> list[tuple]:
    """Ask the API for the inbox and its health every half second; return every answer."""
    answers, ends = [], time.monotonic() + seconds
    while time.monotonic() < ends:
        for path, auth in (("/tasks", headers), ("/health", {})):
            try:
                answer = await http.get(path, headers=auth)
            except httpx.TransportError as dropped:  # the API dropped the connection
                answers.append((path, type(dropped).__name__, {}))
                continue
            json = answer.headers.get("content-type", "").startswith("application/json")
            answers.append((path, answer.status_code, answer.json() if json else {}))
        await asyncio.sleep(0.5)
    return answers


async def test_a_database_outage_mid_rollout_loses_nothing_and_the_api_says_503(
        client, temporal_dev, tmp_path):
    # Under /tmp itself: the postgres user must reach it (pytest's tmp_path is private to root).
    data_dir = Path(tempfile.mkdtemp(prefix="rollout-fault-pg-", dir="/tmp"))
    server = LocalPostgres(data_dir=data_dir, fsync=False)
    await asyncio.to_thread(server.start)
    worker = api = pool = driving = None
    plan = light_plan(SITES, f"outage-{uuid.uuid4().hex[:6]}")
    try:
        pool, dsn = await fresh_database(server.dsn)
        admin = {"Authorization": "Bearer " + (await tokens.create(
            pool, role=Role.STATE_ADMIN, created_by="fault tests")).token}
        queue = f"outage-{uuid.uuid4().hex[:6]}"
        worker = WorkerProcess(temporal_dev.address, dsn, queue, tmp_path / "worker.log")
        api = ApiProcess(temporal_dev.address, dsn, free_port(), tmp_path / "api.log")
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
            await wait_for_api(http, api)
            handle, sim, progress = await launch_until(client, pool, plan, queue, SPEEDUP,
                                                       reached(Stage.INSTALLATION, 0.25))
            driving = asyncio.create_task(drive(handle, sim, within_s=600, progress=progress))

            await asyncio.to_thread(server.stop)
            went_down = time.monotonic()
            during = await ask_through(http, admin, OUTAGE_S)
            await asyncio.to_thread(server.start)
            outage_s = round(time.monotonic() - went_down, 1)
            back_at = await pool.fetchval("SELECT now()")
            after = []
            for _ in range(60):
                after.append((await http.get("/tasks", headers=admin)).status_code)
                if after[-1] == 200:
                    break
                await asyncio.sleep(0.5)

            await driving
            assert progress.last is not None and all_finished(progress.last), \
                f"after a {outage_s} s outage the rollout did not finish: {progress.summary()}"
            final = await handle.result()
            assert api.alive and worker.alive, "the API and the worker outlive the outage"
        delivered_after = await pool.fetchval(
            "SELECT count(*) FROM notification_feed WHERE delivered_at > $1", back_at)
        assert worker.stop() == 0, worker.log_tail()
        ledger = await audit(client, pool, plan)
        replay = await replay_health(client, pool, plan, worker.log)
        retried, highest = await retried_activities(
            client, [site_workflow_id(plan.initiative.id, s.id) for s in plan.sites])
    finally:
        if driving is not None:
            driving.cancel()
        for process in (worker, api):
            if process is not None:
                process.stop()
        if pool is not None:
            await pool.close()
        await asyncio.to_thread(server.stop)
        shutil.rmtree(data_dir, ignore_errors=True)

    unavailable = [a for a in during if a[1] == 503]
    record("database outage", outage_s=outage_s, api_answers_during=len(during),
           api_503s=len(unavailable), api_other=sorted({str(a[1]) for a in during} - {"503"}),
           api_recovered_after_tries=len(after), record_events_retried=retried["record_events"],
           record_events_highest_attempt=highest.get("record_events", 1),
           notifications_delivered_after=delivered_after, sites_completed=ledger.sites_completed,
           events_stored=ledger.events_stored, events_decided=ledger.events_decided,
           events_lost=ledger.events_lost,
           events_duplicated=ledger.events_duplicated, chains_broken=ledger.chains_broken,
           **{k: v for k, v in replay.items() if k != "details"})
    assert outage_s >= 20
    assert during and len(unavailable) == len(during), \
        f"every answer during the outage is a 503: {sorted({str(a[1]) for a in during})}"
    assert all("PostgreSQL" in body.get("error", "") for path, _, body in unavailable
               if path == "/tasks")
    assert all(body.get("database") != "ok" and body.get("temporal") == "ok"
               for path, _, body in unavailable if path == "/health")
    assert after[-1] == 200, f"the API did not recover: {after}"
    assert retried["record_events"] >= 1, "the outage met appends, which waited and retried"
    assert delivered_after > 0, "the outbox dispatcher delivers again after the outage"
    assert final.completed_sites == SITES
    assert ledger.problems == [], ledger.problems[:20]
    assert (ledger.events_lost, ledger.events_duplicated, ledger.chains_broken) == (0, 0, 0)
    assert (replay["nondeterminism_in_histories"], replay["nondeterminism_in_logs"],
            replay["resets"], replay["stuck_reported"]) == (0, 0, 0, 0), replay
