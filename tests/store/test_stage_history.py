"""The board as it stood at any moment, from each site's stage and status spans."""

from datetime import timedelta

import pytest

from domain import events as ev
from store.board_queries import board_at, history_span, moments_between
from store.eventstore import EventStore
from tests.domain.builders import START, STATE
from tests.store.scenario import unique
from tests.store.test_projection_rebuilds import store_site

pytestmark = pytest.mark.postgres


async def test_a_site_s_spans_follow_its_stages_and_status_without_gaps(pool):
    stream_id = await store_site(pool)
    spans = await pool.fetch(
        "SELECT stage, status, since, until FROM site_stage_history WHERE stream_id = $1 "
        "ORDER BY since_version", stream_id)
    assert [(s["stage"], s["status"]) for s in spans] == [
        (None, "active"), ("Exploration", "active"), ("Installation", "active"),
        ("Initial Implementation", "active"), ("Initial Implementation", "paused"),
        ("Initial Implementation", "active"), ("Full Implementation", "active"),
        ("Full Implementation", "completed")]
    assert all(a["until"] == b["since"] for a, b in zip(spans, spans[1:]))
    assert spans[-1]["until"] is None


async def test_the_board_at_each_moment_counts_every_site_once(pool):
    initiative = unique("pbis")
    first = await store_site(pool, "adams-elem", initiative)
    await store_site(pool, "baker-elem", initiative)
    spans = await pool.fetch(
        "SELECT stage, status, since FROM site_stage_history WHERE stream_id = $1 "
        "ORDER BY since_version", first)
    paused = next(s for s in spans if s["status"] == "paused")

    cells = await board_at(pool, initiative, [paused["since"], paused["since"] - timedelta(
        microseconds=1)])
    assert [(c.at, c.stage, c.status, c.sites) for c in cells] == [
        (paused["since"] - timedelta(microseconds=1), "Initial Implementation", "active", 2),
        (paused["since"], "Initial Implementation", "paused", 2)], \
        "both sites share one clock, so they move together"
    assert {(c.cohort_id, c.region) for c in cells} == {("c1", "North")}

    start, end = await history_span(pool, initiative)
    moments = moments_between(start, end, 6)
    assert len(moments) == 6 and moments[0] == start and moments[-1] == end
    for at in moments:
        assert sum(c.sites for c in await board_at(pool, initiative, [at])) == 2
    last = await board_at(pool, initiative, [end])
    assert [(c.stage, c.status, c.sites) for c in last] == [("Full Implementation", "completed", 2)]
    assert await history_span(pool, "no-such-initiative") is None


async def test_an_initiative_wide_pause_is_no_site_span(pool):
    """Initiatives pause, resume and cancel with the same event types as sites do."""
    initiative = unique("pbis")
    stream_id = ev.initiative_stream(initiative)
    events = ev.envelope([
        ev.InitiativeLaunchedPayload(
            initiative_id=initiative, name="PBIS statewide", practice="PBIS", ssip_phase="III",
            simr="Grade 3 reading", site_count=1, cohort_ids=["c1"], plan_digest="0" * 64),
        ev.RolloutPausedPayload(reason="budget review"), ev.RolloutResumedPayload(),
        ev.RolloutCancelledPayload(reason="funding ended"),
    ], stream_id=stream_id, after=0, occurred_at=START, actor=STATE)
    await EventStore(pool).append(stream_id, events, expected_version=0)
    assert await pool.fetchval(
        "SELECT count(*) FROM site_stage_history WHERE stream_id = $1", stream_id) == 0
