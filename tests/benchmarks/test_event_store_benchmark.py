"""The event store benchmark runs end to end on tiny numbers and leaves exactly what it reports:
the requested number of events, in hash chains that verify and sites the projections know.
No timing is asserted: the figures only have to be there and be sane."""

from __future__ import annotations

import random

import pytest

from benchmarks.event_store import run
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
