"""The event store: optimistic concurrency, exactly-once appends, the hash chain, upcasting."""

import asyncio
from datetime import date

import asyncpg
import pytest

from domain import events as ev
from domain.actors import SYSTEM
from domain.drivers import Driver
from domain.instruments import CapacityAssessment, CapacityItem, score
from domain.stages import Stage
from store import codec
from store.eventstore import ConcurrencyError, EventStore
from store.upcasters import CURRENT_VERSIONS, UPCASTERS, upcast
from tests.domain.builders import COACH, START, Clock
from tests.store.scenario import enroll, site_history, unique
from tests.workflows.harness import owner_dsn

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(pool):
    return EventStore(pool)


def enrollment(initiative_id: str, site_id: str, **overrides) -> list[ev.Event]:
    return enroll(initiative_id, site_id, Clock(), **overrides)[1]


def task(stream_id: str, after: int, task_id: str) -> list[ev.Event]:
    return ev.envelope([ev.TaskAssignedPayload(
        task_id=task_id, kind="action_item", title=f"Do {task_id}", stage=Stage.EXPLORATION,
        assignee_role="district", due=date(2026, 10, 1))],
        stream_id=stream_id, after=after, occurred_at=START, actor=SYSTEM)


async def test_appended_events_read_back_equal(store):
    initiative = unique("pbis")
    history = site_history(initiative)
    stream_id = ev.site_stream(initiative, "adams-elem")
    for expected, batch in history:
        result = await store.append(stream_id, batch, expected_version=expected, workflow_id="wf-1")
        assert (result.appended, result.duplicates) == (len(batch), 0)
    stored = await store.read_stream(stream_id)
    assert stored == [e for _, batch in history for e in batch]
    assert await store.stream_version(stream_id) == len(stored) == result.version
    assert await store.read_stream(stream_id, after=len(stored) - 2) == stored[-2:]


async def test_the_same_batch_appended_twice_is_stored_once(store, pool):
    initiative = unique("pbis")
    stream_id = ev.site_stream(initiative, "adams")
    batch = enrollment(initiative, "adams")
    first = await store.append(stream_id, batch, expected_version=0)
    again = await store.append(stream_id, batch, expected_version=0)
    assert (first.appended, first.duplicates, first.version) == (2, 0, 2)
    assert (again.appended, again.duplicates, again.version) == (0, 2, 2)
    assert await pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", stream_id) == 2
    assert await pool.fetchval("SELECT count(*) FROM sites WHERE stream_id = $1", stream_id) == 1


async def test_a_retry_that_overlaps_the_stored_events_appends_only_the_rest(store):
    initiative = unique("pbis")
    stream_id = ev.site_stream(initiative, "adams")
    batch = enrollment(initiative, "adams") + task(stream_id, 2, unique("t"))
    await store.append(stream_id, batch[:2], expected_version=0)
    result = await store.append(stream_id, batch, expected_version=0)
    assert (result.appended, result.duplicates, result.version) == (1, 2, 3)


async def test_a_step_its_own_workflow_decides_again_gets_the_stored_events_back(store, pool):
    """A reset re-runs a workflow task: its batch comes out with another time and task, and the
    stored record stands; the workflow is handed everything it stored after that version."""
    initiative = unique("pbis")
    stream_id = ev.site_stream(initiative, "adams")
    first, then = unique("t-first"), unique("t-then")
    await store.append(stream_id, enrollment(initiative, "adams"), expected_version=0, workflow_id="wf-a")
    await store.append(stream_id, task(stream_id, 2, first), expected_version=2, workflow_id="wf-a")
    await store.append(stream_id, task(stream_id, 3, then), expected_version=3, workflow_id="wf-a")
    chain_before = await pool.fetch("SELECT hash FROM events WHERE stream_id = $1 ORDER BY "
                                    "stream_version", stream_id)

    again = await store.append(stream_id, task(stream_id, 2, unique("t-again")), expected_version=2,
                               workflow_id="wf-a")

    assert (again.appended, again.duplicates, again.version) == (0, 0, 4)
    assert [e.payload.task_id for e in again.adopted] == [first, then]
    assert list(again.adopted) == (await store.read_stream(stream_id))[2:]
    assert await pool.fetch("SELECT hash FROM events WHERE stream_id = $1 ORDER BY "
                            "stream_version", stream_id) == chain_before
    assert await store.verify(stream_id) is None
    assert await pool.fetchval("SELECT count(*) FROM tasks WHERE stream_id = $1", stream_id) == 2


async def test_a_different_batch_from_another_writer_is_still_a_conflict(store):
    initiative = unique("pbis")
    stream_id = ev.site_stream(initiative, "adams")
    await store.append(stream_id, enrollment(initiative, "adams"), expected_version=0, workflow_id="wf-a")
    await store.append(stream_id, task(stream_id, 2, unique("t")), expected_version=2, workflow_id="wf-a")
    for writer in ("wf-b", None):
        with pytest.raises(ConcurrencyError, match="#3 holds a different event"):
            await store.append(stream_id, task(stream_id, 2, unique("t")), expected_version=2,
                               workflow_id=writer)
    assert await store.stream_version(stream_id) == 3


async def test_concurrent_writers_with_the_same_expected_version_have_one_winner(store, pool):
    initiative = unique("pbis")
    stream_id = ev.site_stream(initiative, "adams")
    contenders = [enrollment(initiative, "adams", site_name=f"Adams {i}") for i in range(10)]
    outcomes = await asyncio.gather(
        *(store.append(stream_id, batch, expected_version=0) for batch in contenders),
        return_exceptions=True)
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(winners) == 1 and winners[0].appended == 2
    assert len(losers) == 9 and all(isinstance(o, ConcurrencyError) for o in losers)
    assert "expected version 0, but it is at version 2" in str(losers[0])
    names = await pool.fetch("SELECT name FROM sites WHERE stream_id = $1", stream_id)
    assert len(names) == 1, "a losing writer's projection updates roll back with it"

    tasks = [task(stream_id, 2, unique("t")) for _ in range(10)]
    outcomes = await asyncio.gather(
        *(store.append(stream_id, batch, expected_version=2) for batch in tasks),
        return_exceptions=True)
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, ConcurrencyError) for o in outcomes if isinstance(o, BaseException))
    assert await pool.fetchval("SELECT count(*) FROM tasks WHERE stream_id = $1", stream_id) == 1


async def test_concurrent_retries_of_one_batch_store_it_once(store):
    initiative = unique("pbis")
    stream_id = ev.site_stream(initiative, "adams")
    batch = enrollment(initiative, "adams")
    results = await asyncio.gather(
        *(store.append(stream_id, batch, expected_version=0) for _ in range(10)))
    assert sorted((r.appended, r.duplicates) for r in results) == [(0, 2)] * 9 + [(2, 0)]


async def test_a_stale_or_future_expected_version_is_a_concurrency_error(store):
    initiative = unique("pbis")
    stream_id = ev.site_stream(initiative, "adams")
    await store.append(stream_id, enrollment(initiative, "adams"), expected_version=0)
    with pytest.raises(ConcurrencyError, match=f"stream {stream_id}: expected version 5, but it "
                                               "is at version 2"):
        await store.append(stream_id, task(stream_id, 5, "t"), expected_version=5)
    with pytest.raises(ConcurrencyError, match="expected version 1, but it is at version 2"):
        await store.append(stream_id, task(stream_id, 1, "t"), expected_version=1)


async def test_events_must_follow_the_expected_version_without_gaps(store):
    initiative = unique("pbis")
    stream_id = ev.site_stream(initiative, "adams")
    batch = enrollment(initiative, "adams")
    with pytest.raises(ValueError, match="numbered from 1 without gaps; event 1 of the batch is #2"):
        await store.append(stream_id, batch[1:], expected_version=0)
    with pytest.raises(ValueError, match="belongs to"):
        await store.append("site-rollout/other/x", batch, expected_version=0)
    assert await store.stream_version(stream_id) == 0


async def test_each_event_links_to_the_previous_hash_and_the_chain_verifies(store, pool):
    initiative = unique("pbis")
    stream_id = ev.site_stream(initiative, "adams-elem")
    for expected, batch in site_history(initiative)[:6]:
        await store.append(stream_id, batch, expected_version=expected)
    rows = await pool.fetch(
        f"SELECT {codec.EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY stream_version",
        stream_id)
    assert rows[0]["prev_hash"] == codec.GENESIS
    for previous, row in zip(rows, rows[1:]):
        assert row["prev_hash"] == previous["hash"]
    for row in rows:
        assert row["hash"] == codec.chain_hash(row["prev_hash"], codec.row_content(row))
    assert await pool.fetchval("SELECT last_hash FROM streams WHERE stream_id = $1",
                               stream_id) == rows[-1]["hash"]
    assert await store.verify(stream_id) is None

    owner = await asyncpg.connect(await owner_dsn(pool))  # only the owner can lift the trigger
    try:
        await owner.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete")
        try:
            await owner.execute(
                "UPDATE events SET payload = jsonb_set(payload, '{site_name}', '\"Forged\"') "
                "WHERE stream_id = $1 AND stream_version = 1", stream_id)
        finally:
            await owner.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_or_delete")
    finally:
        await owner.close()
    assert await store.verify(stream_id) == 1


async def test_stored_events_cannot_be_changed_or_deleted(store, pool):
    """The application's role is refused by its privileges; the owner, by the triggers."""
    initiative = unique("pbis")
    stream_id = ev.site_stream(initiative, "adams")
    await store.append(stream_id, enrollment(initiative, "adams"), expected_version=0)
    owner = await asyncpg.connect(await owner_dsn(pool))
    try:
        for statement in ("UPDATE events SET type = 'x' WHERE stream_id = $1",
                          "DELETE FROM events WHERE stream_id = $1"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await pool.execute(statement, stream_id)
            with pytest.raises(asyncpg.RaiseError, match=f"append-only: {statement.split()[0]}"):
                await owner.execute(statement, stream_id)
    finally:
        await owner.close()
    assert len(await store.read_stream(stream_id)) == len(enrollment(initiative, "adams"))


async def test_numbers_and_dates_survive_jsonb_so_the_hash_recomputes(store, pool):
    initiative = unique("pbis")
    stream_id = ev.site_stream(initiative, "adams")
    items = [CapacityItem(item=f"i{n}", driver=Driver.COACHING if n < 6 else Driver.TRAINING,
                          score=s) for n, s in enumerate([2, 2, 2, 2, 2, 2, 1, 0, 0, 0, 0, 0])]
    answers = CapacityAssessment(items=items, facilitator="f", participants={"team": 4})
    result = score(answers)
    assert result.percent == 54.17
    payloads = [
        ev.AssessmentSubmittedPayload(assessment_id="cap", stage=Stage.INSTALLATION,
                                      answers=answers, score=result),
        ev.FidelityAssessedPayload(assessment_id="fid", stage=Stage.INITIAL_IMPLEMENTATION,
                                   practitioners_assessed=20, practitioners_meeting=14, percent=70.0),
        ev.PdSessionScheduledPayload(session_id="pd", stage=Stage.INSTALLATION, title="Launch",
                                     on=date(2027, 2, 28), trainer_id="t1", hours=6.0, capacity=30),
    ]
    batch = enrollment(initiative, "adams") + ev.envelope(
        payloads, stream_id=stream_id, after=2, occurred_at=START, actor=COACH)
    await store.append(stream_id, batch, expected_version=0)
    rows = await pool.fetch(
        f"SELECT {codec.EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY stream_version",
        stream_id)
    text = codec.canonical(codec.row_content(rows[3]))
    assert '"percent":70.0' in text
    assert '"percent":54.17' in codec.canonical(codec.row_content(rows[2]))
    assert '"on":"2027-02-28"' in codec.canonical(codec.row_content(rows[4]))
    assert '"hours":6.0' in codec.canonical(codec.row_content(rows[4]))
    assert await store.verify(stream_id) is None
    assert await store.read_stream(stream_id) == batch


async def test_read_all_pages_through_the_global_order(store):
    initiative = unique("pbis")
    streams = [ev.site_stream(initiative, site) for site in ("a", "b")]
    positions = [p async for p, _ in store.read_all(limit=100_000)]
    start = positions[-1] if positions else 0
    for stream_id, site in zip(streams, ("a", "b")):
        await store.append(stream_id, enrollment(initiative, site), expected_version=0)
    page = [(p, e) async for p, e in store.read_all(after_position=start, limit=3)]
    assert [e.stream_id for _, e in page] == [streams[0], streams[0], streams[1]]
    rest = [(p, e) async for p, e in store.read_all(after_position=page[-1][0], limit=3)]
    assert [(e.stream_id, e.sequence) for _, e in rest] == [(streams[1], 2)]
    assert [p for p, _ in page + rest] == sorted(p for p, _ in page + rest)


async def insert_legacy(pool, stream_id: str, event_type: str, version: int, payload: dict) -> None:
    """Write an event as an older release would have, hash chain included."""
    content = codec.content(
        event_id=ev.event_id_for(stream_id, 1), stream_id=stream_id, stream_version=1,
        type=event_type, schema_version=version, occurred_at=START,
        actor=SYSTEM.model_dump(mode="json"), payload=payload)
    link = codec.chain_hash(codec.GENESIS, content)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, payload, "
            "actor, occurred_at, prev_hash, hash) VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $9)",
            stream_id, content["event_id"], event_type, version, payload, content["actor"], START,
            codec.GENESIS, link)
        await conn.execute("INSERT INTO streams (stream_id, version, last_hash) VALUES ($1, 1, $2)",
                           stream_id, link)


async def test_an_old_payload_is_upcast_on_read_and_its_hash_still_holds(store, pool, monkeypatch):
    stream_id = unique("legacy")
    await insert_legacy(pool, stream_id, "PdSessionHeld", 0, {"session_id": "s1", "attended": 12})
    with pytest.raises(LookupError, match="no upcaster registered for PdSessionHeld v0 -> v1"):
        await store.read_stream(stream_id)
    monkeypatch.setitem(UPCASTERS, ("PdSessionHeld", 0),
                        lambda p: {"session_id": p["session_id"], "attendees": p["attended"]})
    (event,) = await store.read_stream(stream_id)
    assert (event.type, event.schema_version, event.payload.attendees) == ("PdSessionHeld", 1, 12)
    assert [e async for _, e in store.read_all(limit=100_000) if e.stream_id == stream_id] == [event]
    assert await store.verify(stream_id) is None, "the chain covers the payload as stored"


def test_upcasters_apply_in_order_up_to_the_current_version(monkeypatch):
    monkeypatch.setitem(CURRENT_VERSIONS, "Renamed", 3)
    monkeypatch.setitem(UPCASTERS, ("Renamed", 1), lambda p: {**p, "steps": p["steps"] + ["1->2"]})
    monkeypatch.setitem(UPCASTERS, ("Renamed", 2), lambda p: {**p, "steps": p["steps"] + ["2->3"]})
    assert upcast("Renamed", 1, {"steps": []}) == (3, {"steps": ["1->2", "2->3"]})
    assert upcast("Renamed", 3, {"steps": []}) == (3, {"steps": []})
    with pytest.raises(LookupError, match="newer than this code"):
        upcast("Renamed", 4, {})
    assert CURRENT_VERSIONS["TaskAssigned"] == ev.TaskAssigned.model_fields["schema_version"].default

