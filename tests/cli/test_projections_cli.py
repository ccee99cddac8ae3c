"""`rollout projections status|rebuild` and `rollout board` against a real event store."""

from __future__ import annotations

import asyncio
import json

import pytest
import pytest_asyncio
from typer.testing import CliRunner

from cli.main import app
from store import projections
from tests.store.scenario import unique
from tests.store.test_projection_rebuilds import store_site
from tests.workflows.harness import fresh_database

pytestmark = pytest.mark.postgres

WIDE = {"COLUMNS": "200", "ROLLOUT_DATABASE_URL": None}
runner = CliRunner()
INITIATIVE = unique("pbis")


@pytest_asyncio.fixture(scope="module")
async def store(postgres):
    pool, dsn = await fresh_database(postgres)
    for site in ("adams-elem", "baker-elem", "carver-elem"):
        await store_site(pool, site, INITIATIVE)
    yield pool, dsn
    await pool.close()


async def rollout(*args: str):
    """Invoke in a thread: the command runs its own event loop."""
    return await asyncio.to_thread(runner.invoke, app, list(args), env=WIDE)


async def test_status_shows_each_projection_and_its_lag(store):
    pool, dsn = store
    await projections.start(pool, "scores")
    await projections.catch_up(pool, page=5, max_pages=1)
    result = await rollout("projections", "status", "--database-url", dsn, "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in map(json.loads, result.output.splitlines())}
    assert list(rows) == list(projections.PROJECTIONS)
    total = await pool.fetchval("SELECT count(*) FROM events")
    assert (rows["scores"]["state"], rows["scores"]["behind"]) == ("rebuilding", total - 5)
    assert (rows["sites"]["state"], rows["sites"]["behind"]) == ("live", 0)

    table = await rollout("projections", "status", "--database-url", dsn)
    assert "rebuilding" in table.output and f"{total - 5}" in table.output


async def test_rebuild_resumes_what_is_under_way_then_all_are_live(store):
    pool, dsn = store
    if not await projections.rebuilding(pool):
        await projections.start(pool, "scores")
    result = await rollout("projections", "rebuild", "--database-url", dsn)
    assert result.exit_code == 0, result.output
    assert "every projection is live" in result.output
    assert "rebuilding: " in result.output, "progress is shown"
    assert await projections.rebuilding(pool) == []

    again = await rollout("projections", "rebuild", "--database-url", dsn)
    assert "No rebuild under way" in again.output

    everything = await rollout("projections", "rebuild", "--all", "--page", "50",
                               "--database-url", dsn)
    total = await pool.fetchval("SELECT count(*) FROM events")
    assert f"Replayed {total} events" in everything.output


async def test_an_unknown_projection_is_one_line_and_exit_2(store):
    _, dsn = store
    result = await rollout("projections", "rebuild", "nope", "--database-url", dsn)
    assert result.exit_code == 2
    assert result.output.strip() == (
        "Unknown projection 'nope'; known: sites, tasks, outbox, scores, stage_history.")


async def test_the_board_over_time_is_drawn_per_moment(store):
    _, dsn = store
    result = await rollout("board", INITIATIVE, "--points", "4", "--database-url", dsn)
    assert result.exit_code == 0, result.output
    assert f"Stage board, {INITIATIVE}" in result.output
    assert result.output.count("█" * 30) == 4, "every moment's bar spans the three sites"
    cells = [json.loads(line) for line in (await rollout(
        "board", INITIATIVE, "--points", "4", "--by", "region", "--json",
        "--database-url", dsn)).output.splitlines()]
    by_moment = {}
    for c in cells:
        by_moment[c["at"]] = by_moment.get(c["at"], 0) + c["sites"]
    assert list(by_moment.values()) == [3, 3, 3, 3]
    assert cells[-1]["stage"] == "Full Implementation" and cells[-1]["status"] == "completed"


async def test_the_board_of_an_unknown_initiative_says_so(store):
    _, dsn = store
    result = await rollout("board", "nope", "--database-url", dsn)
    assert result.exit_code == 1
    assert "No stage history recorded for initiative 'nope'." in result.output
