"""Rebuilds resume from their checkpoint, show their lag, and hand over to the live path exactly."""

import asyncio
import shutil
from datetime import datetime, timezone

import pytest

from domain import events as ev
from store import projections
from store.eventstore import EventStore
from store.migrate import MIGRATIONS, migrate
from store.outbox import InAppFeed, dispatch_once
from tests.store.conftest import new_database
from tests.store.scenario import site_history, unique
from tests.store.test_projections import snapshot

pytestmark = pytest.mark.postgres


async def store_site(pool, site_id: str = "adams-elem", initiative: str | None = None) -> str:
    initiative = initiative or unique("pbis")
    stream_id = ev.site_stream(initiative, site_id)
    for expected, batch in site_history(initiative, site_id):
        await EventStore(pool).append(stream_id, batch, expected_version=expected,
                                      workflow_id=f"wf-{stream_id}")
    return stream_id


async def everything(pool) -> dict:
    return {name: await snapshot(pool, name) for name in projections.PROJECTIONS}


async def checkpoint(pool, name: str):
    return await pool.fetchrow(
        "SELECT state, position FROM projection_checkpoints WHERE name = $1", name)


async def test_an_interrupted_rebuild_resumes_and_misses_what_was_appended_meanwhile(pool):
    for n in range(3):
        await store_site(pool, f"school-{n}")
    await dispatch_once(pool, InAppFeed(pool), now=datetime.now(timezone.utc), limit=40)
    before = await everything(pool)

    rebuilt = await projections.start(pool, "sites")
    assert rebuilt == ["sites", "tasks", "outbox"], "the projections that read sites come along"
    replayed = await projections.catch_up(pool, page=25, max_pages=2)
    assert replayed == 50
    assert tuple(await checkpoint(pool, "tasks")) == ("rebuilding", await pool.fetchval(
        "SELECT position FROM events ORDER BY position OFFSET 49 LIMIT 1"))
    assert (await checkpoint(pool, "scores"))["state"] == "live"

    latecomer = await store_site(pool, "latecomer")
    assert await pool.fetchval("SELECT count(*) FROM tasks WHERE stream_id = $1", latecomer) == 0, \
        "the live path leaves a rebuilding projection to its rebuild"
    assert await pool.fetchval("SELECT count(*) FROM driver_scores WHERE stream_id = $1",
                               latecomer) > 0, "live projections carry on"

    lag = {s.name: s for s in await projections.status(pool)}
    total = await pool.fetchval("SELECT count(*) FROM events")
    assert (lag["sites"].state, lag["sites"].behind, lag["sites"].head) == (
        "rebuilding", total - 50, await pool.fetchval("SELECT max(position) FROM events"))
    assert lag["sites"].lag_seconds > 0
    assert (lag["scores"].state, lag["scores"].behind, lag["scores"].lag_seconds) == ("live", 0, 0)

    assert await projections.catch_up(pool, page=25) == total - 50
    assert await projections.rebuilding(pool) == []
    assert all(s.behind == 0 and s.position == s.head for s in await projections.status(pool))

    after = await everything(pool)
    for name, tables in after.items():
        for table, rows in tables.items():
            old = [r for r in rows if r.get("stream_id") != latecomer]
            assert old == before[name][table], f"{table} differs outside the latecomer's rows"
    assert {r["status"] for r in after["outbox"]["outbox"]} == {"pending", "sent"}, \
        "delivery state survives the rebuild"
    assert await pool.fetchval("SELECT count(*) FROM outbox_kept_delivery") == 0

    await projections.rebuild(pool, "sites")
    assert await everything(pool) == after, "a rebuild from scratch agrees with the resumed one"

    newcomer = await store_site(pool, "newcomer")
    assert await pool.fetchval("SELECT count(*) FROM tasks WHERE stream_id = $1", newcomer) > 0, \
        "once caught up, the live path feeds the projection again"


async def test_resuming_without_restart_continues_from_the_checkpoint(pool):
    await store_site(pool)
    await projections.start(pool, "scores")
    await projections.catch_up(pool, page=10, max_pages=1)
    position = (await checkpoint(pool, "scores"))["position"]
    total = await pool.fetchval("SELECT count(*) FROM events")
    assert await projections.rebuild(pool, "scores", page=10, restart=False) == total - 10
    assert (await checkpoint(pool, "scores"))["position"] > position


async def test_a_new_projection_on_a_store_with_events_fills_by_rebuild(postgres, tmp_path):
    """Adding the stage history to a store already in use: it starts as a rebuild to resume."""
    older = tmp_path / "older"
    shutil.copytree(MIGRATIONS, older)
    for later in older.glob("0005_*.sql"):
        later.unlink()
    async with new_database(postgres) as current, new_database(postgres, migrated=False) as pool:
        stream_id = await store_site(current)
        await migrate(pool, older)
        rows = await current.fetch("SELECT * FROM events ORDER BY position")
        columns = list(rows[0].keys())
        await pool.executemany(
            f"INSERT INTO events ({', '.join(columns)}) OVERRIDING SYSTEM VALUE "
            f"VALUES ({', '.join(f'${i}' for i in range(1, len(columns) + 1))})",
            [tuple(r.values()) for r in rows])
        assert await migrate(pool) == ["0005_resumable_projections.sql"]
        assert await projections.rebuilding(pool) == ["stage_history"]
        await projections.catch_up(pool)
        spans = await pool.fetch(
            "SELECT stage, status FROM site_stage_history WHERE stream_id = $1 "
            "ORDER BY since_version", stream_id)
        assert spans[-1]["status"] == "completed" and len(spans) > 4


async def test_concurrent_catch_ups_share_the_work_without_doubling_it(pool):
    for n in range(2):
        await store_site(pool, f"school-{n}")
    before = await everything(pool)
    await projections.start(pool, "sites")
    await projections.start(pool, "scores")
    replayed = await asyncio.gather(*(projections.catch_up(pool, page=7) for _ in range(3)))
    assert sum(replayed) == await pool.fetchval("SELECT count(*) FROM events")
    assert await everything(pool) == before


async def test_a_starting_worker_finishes_a_rebuild_left_under_way(pool):
    from worker import finish_rebuilds
    await store_site(pool)
    before = await everything(pool)
    await projections.start(pool, "tasks")
    await projections.catch_up(pool, page=3, max_pages=1)
    await finish_rebuilds(pool)
    assert await projections.rebuilding(pool) == []
    assert await everything(pool) == before
