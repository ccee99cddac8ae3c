"""The event store benchmark runs end to end on tiny numbers and leaves exactly what it reports:
the requested number of events, in hash chains that verify and sites the projections know.
No timing is asserted: the figures only have to be there and be sane."""

from __future__ import annotations

import random

import pytest

from benchmarks.event_store import run
from benchmarks.preload import preload
from benchmarks.site_histories import site_history, site_spec
from domain.site_state import fold
from store.eventstore import EventStore
from tests.store.conftest import new_database


def test_site_histories_are_whole_rollouts_decided_by_the_domain():
    rng = random.Random(7)
    for index in range(40):
        spec = site_spec("bench-test", index, rng, mean_cycles=3)
        history = site_history(spec)
        assert [e.sequence for e in history] == list(range(1, len(history) + 1))
        assert {e.stream_id for e in history} == {spec.stream_id}
        assert fold(history).status == "completed"
        assert len(history) >= 55 + 10 * spec.cycles  # each month of work adds 10 to 13 events


@pytest.mark.postgres
async def test_a_tiny_run_reports_and_stores_exactly_what_was_asked(postgres):
    async with new_database(postgres) as pool:
        name = await pool.fetchval("SELECT current_database()")
        dsn = postgres.rsplit("/", 1)[0] + f"/{name}"
        seen: list[tuple[int, int]] = []
        report = await run(dsn, events=400, batch=20, concurrency=4, queries=10,
                           progress=lambda done, total: seen.append((done, total)),
                           mean_cycles=0)

        fill, store, reads = report["fill"], report["store"], report["reads"]
        assert report["config"] | {"run_id": None} == {
            "events": 400, "batch": 20, "concurrency": 4, "pool_size": 6, "queries": 10,
            "mean_cycles": 0, "seed": 1, "run_id": None}
        # 55-event sites: seven whole histories and the eighth cut short at 15 events.
        assert (fill["events"], fill["streams"]) == (400, 8)
        assert fill["appends"] == 7 * 3 + 1
        assert store["events_before"] == 0
        assert store["events_after"] == store["events_of_this_run"] == 400
        assert store["sites_projected"] == 8
        assert store["events_total_bytes"] >= store["events_heap_bytes"] > 0
        assert fill["wall_s"] > 0 and fill["events_per_s"] > 0 and fill["appends_per_s"] > 0
        assert fill["events_per_s_last_10pct"] > 0
        assert len(fill["events_per_s_by_decile"]) == 10
        assert fill["append_latency"]["n"] == fill["appends"]
        assert seen[-1] == (400, 400) and len(seen) == fill["appends"]
        assert set(reads) == {"audit_site", "stream_events", "read_stream", "sql"}
        for figures in [fill["append_latency"], *reads.values()]:
            assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"] <= figures["max_ms"]
        assert all(figures["n"] == 10 for figures in reads.values())
        assert any("events" in line for line in report["stream_events_plan"])

        streams = [r["stream_id"] for r in await pool.fetch(
            "SELECT stream_id, version FROM streams ORDER BY stream_id")]
        versions = {r["stream_id"]: r["version"] for r in await pool.fetch(
            "SELECT stream_id, version FROM streams")}
        assert sorted(versions.values()) == [15] + [55] * 7
        store_ = EventStore(pool)
        for stream_id in random.Random(3).sample(streams, 4) + [
                min(versions, key=versions.get)]:
            assert await store_.verify(stream_id) is None


@pytest.mark.postgres
async def test_a_preload_counts_toward_the_store_the_reads_are_timed_in(postgres):
    async with new_database(postgres) as pool:
        name = await pool.fetchval("SELECT current_database()")
        dsn = postgres.rsplit("/", 1)[0] + f"/{name}"
        report = await run(dsn, events=100, batch=20, concurrency=2, queries=5, mean_cycles=0,
                           preload_events=1_000)

        assert report["preload"]["events"] == 1_000
        assert report["store"]["events_after"] == 1_100 == await pool.fetchval(
            "SELECT count(*) FROM events")
        assert report["reads"]["audit_site"]["n"] == 5


@pytest.mark.postgres
async def test_preloaded_copies_are_whole_histories_in_chains_that_verify(postgres):
    async with new_database(postgres) as pool:
        name = await pool.fetchval("SELECT current_database()")
        dsn = postgres.rsplit("/", 1)[0] + f"/{name}"
        loaded = await preload(pool, dsn, 1_000, rng=random.Random(5), mean_cycles=0, templates=3)

        assert loaded.events == 1_000 == await pool.fetchval("SELECT count(*) FROM events")
        assert await pool.fetchval("SELECT count(DISTINCT event_id) FROM events") == 1_000
        versions = {r["stream_id"]: r["version"] for r in await pool.fetch(
            "SELECT stream_id, version FROM streams")}
        counted = {r["stream_id"]: r["n"] for r in await pool.fetch(
            "SELECT stream_id, count(*) AS n FROM events GROUP BY stream_id")}
        assert versions == counted == {s: counted[s] for s in loaded.streams}
        copies = [s for s in loaded.streams[3:]]
        assert len(copies) == len(loaded.streams) - 3 >= 10
        store = EventStore(pool)
        for stream_id in loaded.streams:
            assert await store.verify(stream_id) is None, stream_id
        first_copy = fold(await store.read_stream(copies[0]))
        assert first_copy.site_id.endswith("-c000000") and first_copy.status == "completed"
        assert first_copy.version == versions[loaded.streams[0]]
