"""Read models after a realistic site history, and rebuilt ones equal to the live ones."""

import asyncio
from datetime import datetime, timezone

import pytest

from domain import events as ev
from domain.drivers import Driver
from store.eventstore import EventStore
from store.outbox import InAppFeed, dispatch_once
from store import projections
from store.projections import PROJECTIONS, rebuild
from tests.store.scenario import site_history, unique

pytestmark = pytest.mark.postgres

NOTIFYING = {"TaskAssigned", "TaskReminderSent", "TaskOverdue", "TaskEscalated", "StageEntered",
             "SiteCompleted"}


@pytest.fixture(scope="module")
async def history(pool):
    """The Adams Elementary history, stored batch by batch by a workflow."""
    initiative = unique("pbis")
    stream_id = ev.site_stream(initiative, "adams-elem")
    store = EventStore(pool)
    batches = site_history(initiative)
    for expected, batch in batches:
        await store.append(stream_id, batch, expected_version=expected, workflow_id="site-wf-1")
    return stream_id, [e for _, batch in batches for e in batch]


async def test_the_site_row_follows_the_stages(pool, history):
    stream_id, events = history
    site = await pool.fetchrow("SELECT * FROM sites WHERE stream_id = $1", stream_id)
    completed = events[-1]
    assert dict(site) | {"initiative_id": None} == {
        "stream_id": stream_id, "initiative_id": None, "site_id": "adams-elem",
        "name": "Adams Elementary", "kind": "school", "region": "North", "district": "adams",
        "district_id": "adams", "cohort_id": "c1", "stage": "Full Implementation",
        "status": "completed", "stage_entered_at": next(
            e.occurred_at for e in reversed(events) if e.type == "StageEntered"),
        "updated_at": completed.occurred_at,
    }


async def test_the_inbox_tracks_each_task(pool, history):
    stream_id, events = history
    tasks = {r["task_id"]: r for r in await pool.fetch(
        "SELECT * FROM tasks WHERE stream_id = $1", stream_id)}
    assert len(tasks) == sum(e.type == "TaskAssigned" for e in events)
    assert {r["district_id"] for r in tasks.values()} == {"adams"}
    assert {r["workflow_id"] for r in tasks.values()} == {"site-wf-1"}

    (readiness,) = [t for t in tasks.values() if t["instrument"] == "fit_readiness"]
    assert (readiness["status"], readiness["reminded"], readiness["completed_by"]) == (
        "completed", True, "ann.adams")
    (checklist,) = [t for t in tasks.values() if t["instrument"] == "installation_checklist"]
    assert (checklist["overdue"], checklist["escalated"], checklist["escalated_to"]) == (
        True, True, "State Implementation Team")
    (fidelity,) = [t for t in tasks.values() if t["instrument"] == "fidelity"]
    assert (fidelity["status"], fidelity["completed_by"], fidelity["assignee_role"]) == (
        "completed", "cora.coach", "coach")
    actions = [t for t in tasks.values() if t["kind"] == "action_item"]
    assert actions and {t["status"] for t in actions} == {"withdrawn"}
    assert [t["task_id"] for t in actions if t["escalated"]] == [
        t["task_id"] for t in actions if "system barrier" in t["title"]]


async def test_the_outbox_holds_one_notification_per_notifying_event(pool, history):
    stream_id, events = history
    rows = await pool.fetch("SELECT * FROM outbox WHERE stream_id = $1", stream_id)
    assert sorted(r["event_id"] for r in rows) == sorted(
        e.event_id for e in events if e.type in NOTIFYING)
    assert all(r["notification_id"] == f"{r['event_id']}:{r['recipient']}" for r in rows)
    assert {r["status"] for r in rows} == {"pending"}
    by_event = {r["event_id"]: r for r in rows}
    recipients = {e.type: set() for e in events if e.type in NOTIFYING}
    for e in events:
        if e.type in NOTIFYING:
            recipients[e.type].add(by_event[e.event_id]["recipient"])
    assert recipients == {
        "StageEntered": {"district:adams"},
        "SiteCompleted": {"district:adams"},
        "TaskAssigned": {"district:adams", "coach:adams-elem", "state-team"},
        "TaskReminderSent": {"district:adams"},
        "TaskOverdue": {"district:adams"},
        "TaskEscalated": {"state-team"},
    }
    stage = next(r for r in rows if r["subject"] == "Adams Elementary entered Installation")
    assert stage["body"] == "Adams Elementary moved from Exploration to Installation (criteria met)."


async def test_scores_over_time(pool, history):
    stream_id, events = history
    drivers = await pool.fetch(
        "SELECT assessment_id, driver, percent FROM driver_scores WHERE stream_id = $1 "
        "ORDER BY occurred_at, driver", stream_id)
    capacity = [e for e in events if e.type == "AssessmentSubmitted"
                and e.payload.score.instrument == "capacity"]
    assert len(drivers) == len(capacity) * (len(Driver) + 1)
    overall = [(r["assessment_id"], r["percent"]) for r in drivers if r["driver"] == "overall"]
    assert overall == [(e.payload.assessment_id, e.payload.score.percent) for e in capacity]
    assert [p for _, p in overall] == [50.0, 100.0]
    fidelity = await pool.fetch(
        "SELECT percent, assessed, meeting FROM fidelity_scores WHERE stream_id = $1 "
        "ORDER BY occurred_at", stream_id)
    assert [tuple(r) for r in fidelity] == [(30.0, 20, 6), (45.0, 20, 9), (55.0, 20, 11),
                                            (60.0, 20, 12)]


async def snapshot(pool, name: str) -> dict[str, list[dict]]:
    tables = {}
    for table in PROJECTIONS[name].tables:
        rows = await pool.fetch(f"SELECT * FROM {table}")  # a table name from code, not a value
        tables[table] = sorted((dict(r) for r in rows), key=lambda r: sorted(r.items()))
    return tables


@pytest.mark.parametrize("name", list(PROJECTIONS))
async def test_a_rebuilt_projection_equals_the_live_one(pool, history, name):
    await dispatch_once(pool, InAppFeed(pool), now=datetime.now(timezone.utc), limit=5)
    live = await snapshot(pool, name)
    assert any(live.values())
    replayed = await rebuild(pool, name)
    assert replayed == await pool.fetchval("SELECT count(*) FROM events")
    assert await snapshot(pool, name) == live
    checkpoint = await pool.fetchrow(
        "SELECT position, rebuilt_at FROM projection_checkpoints WHERE name = $1", name)
    assert checkpoint["position"] == await pool.fetchval("SELECT max(position) FROM events")
    assert checkpoint["rebuilt_at"] is not None


async def test_live_projections_stand_at_the_head(pool, history):
    last = await pool.fetchval("SELECT max(position) FROM events")
    status = {s.name: (s.state, s.position, s.behind) for s in await projections.status(pool)}
    assert status == {name: ("live", last, 0) for name in PROJECTIONS}


async def test_an_unknown_projection_is_refused(pool):
    with pytest.raises(ValueError, match="unknown projection 'nope'; known: sites, tasks"):
        await rebuild(pool, "nope")


async def test_a_rebuild_during_live_appends_misses_nothing(pool, history):
    store = EventStore(pool)

    async def another_site(n: int) -> None:
        initiative = unique("pbis")
        stream_id = ev.site_stream(initiative, "adams-elem")
        for expected, batch in site_history(initiative)[:12]:
            await store.append(stream_id, batch, expected_version=expected)

    await asyncio.gather(*(another_site(n) for n in range(4)),
                         *(rebuild(pool, name) for name in PROJECTIONS))
    live = {name: await snapshot(pool, name) for name in PROJECTIONS}
    for name in PROJECTIONS:
        await rebuild(pool, name)
        assert await snapshot(pool, name) == live[name], name
