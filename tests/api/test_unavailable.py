"""When PostgreSQL or Temporal cannot be reached the API answers 503 with a sentence saying which,
never a 500 or a traceback, and recovers by itself once it is back."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from devstack.ports import free_port
from devstack.postgres import LocalPostgres
from runtime.settings import Settings
from domain import commands as c
from domain.actors import SYSTEM, Role
from domain.rollout import execute
from domain.site_state import SiteRolloutState
from store import tokens
from store.eventstore import EventStore
from tests.domain.builders import START, capacity
from tests.workflows.harness import fresh_database

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]


@asynccontextmanager
async def serving(settings: Settings):
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://api", timeout=60) as http:
            yield app, http


def assert_unavailable(answer: httpx.Response, words: str) -> None:
    assert answer.status_code == 503, answer.text
    assert words in answer.json()["error"], answer.text
    assert "Traceback" not in answer.text


async def test_postgres_going_away_answers_503_and_the_api_recovers(temporal_dev):
    # Under /tmp itself: the postgres user must reach it (pytest's tmp_path is private to root).
    data_dir = Path(tempfile.mkdtemp(prefix="rollout-api-pg-", dir="/tmp"))
    server = LocalPostgres(data_dir=data_dir, fsync=False)
    await asyncio.to_thread(server.start)
    try:
        settings = Settings(database_url=server.dsn, temporal_address=temporal_dev.address)
        async with serving(settings) as (app, http):
            pool = await app.state.resources.pool()
            admin = {"Authorization": "Bearer " + (await tokens.create(
                pool, role=Role.STATE_ADMIN, created_by="tests")).token}
            assert (await http.get("/me", headers=admin)).status_code == 200

            await asyncio.to_thread(server.stop)
            assert_unavailable(await http.get("/me", headers=admin), "PostgreSQL")
            assert_unavailable(await http.get("/tasks", headers=admin), "PostgreSQL")
            assert_unavailable(await http.post("/tokens", headers=admin, json={"role": "auditor"}),
                               "PostgreSQL")
            health = await http.get("/health")
            assert health.status_code == 503
            assert health.json()["temporal"] == "ok" and health.json()["database"] != "ok"

            await asyncio.to_thread(server.start)
            statuses = []
            for _ in range(20):
                statuses.append((await http.get("/me", headers=admin)).status_code)
                if statuses[-1] == 200:
                    break
                await asyncio.sleep(0.25)
            assert statuses[-1] == 200 and set(statuses) <= {200, 503}, statuses
            assert (await http.get("/health")).status_code == 200
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(data_dir, ignore_errors=True)


async def test_an_api_started_without_its_database_answers_503(temporal_dev):
    settings = Settings(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/none",
                        temporal_address=temporal_dev.address)
    async with serving(settings) as (_, http):
        answer = await http.get("/tasks", headers={"Authorization": "Bearer rollout_0123456789ab_"
                                                   + "x" * 43})
        assert_unavailable(answer, "PostgreSQL")
        assert (await http.get("/health")).json()["temporal"] == "ok"
    async with serving(Settings(temporal_address=temporal_dev.address)) as (_, http):
        assert_unavailable(await http.get("/me", headers={"Authorization": "Bearer x"}),
                           "ROLLOUT_DATABASE_URL")


async def test_temporal_unreachable_answers_503_for_what_needs_it(postgres):
    pool, dsn = await fresh_database(postgres)
    try:
        _, events = execute(SiteRolloutState(), c.EnrollSite(
            at=START, actor=SYSTEM, initiative_id="offline", site_id="adams", site_name="Adams SD",
            kind="district", region="North", cohort_id="c1", practitioners=20))
        await EventStore(pool).append(events[0].stream_id, events, expected_version=0)
        admin = {"Authorization": "Bearer " + (await tokens.create(
            pool, role=Role.STATE_ADMIN, created_by="tests")).token}
        dead = f"127.0.0.1:{free_port()}"
        async with serving(Settings(database_url=dsn, temporal_address=dead)) as (_, http):
            assert_unavailable(await http.post(
                "/sites/offline/adams/assessments", headers=admin,
                json={"assessment": capacity(2).model_dump(mode="json")}), "Temporal")
            health = await http.get("/health")
            assert health.status_code == 503 and health.json()["database"] == "ok"
            # What needs only the event store still answers: every read.
            assert (await http.get("/sites/offline/adams", headers=admin)).status_code == 200
            assert (await http.get("/initiatives/offline/status", headers=admin)).status_code == 200
            assert (await http.get("/audit/sites/offline/adams", headers=admin)).status_code == 200
            assert (await http.get("/tasks", headers=admin)).status_code == 200
            logged = await pool.fetchval("SELECT status FROM api_requests WHERE path = $1",
                                         "/sites/offline/adams/assessments")
            assert logged == 503
    finally:
        await pool.close()
