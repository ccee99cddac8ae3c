"""A verify that cannot be fooled (issue 18, finding 6): each way of tampering with the record makes
`rollout audit verify` exit 1 with a line naming the stream and the version in full, on an
80-column terminal, finding Temporal as every other command does.

One initiative is rolled out on the dev server until its sites wait in Exploration; a second one
has its sites' events refused by a trigger the owner installed, so its sites never get a stream
(the issue's site whose recording kept failing). Each tamper is then done as the owner could (the
application's role cannot: test_least_privilege.py) on a copy of that database, and verify is run
through the CLI against the copy and the workflows' real histories.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from dataclasses import dataclass
from typing import Awaitable, Callable

import asyncpg
import pytest
import pytest_asyncio
from typer.testing import CliRunner

from cli import database as cli_database, ops_target
from cli.main import app
from domain import events as ev
from runtime.stack_file import RunningStack
from runtime.temporal import connect
from simulation.playthrough import launch
from store import codec
from store.db import connect as connect_db
from store.roles import hand_over_database
from tests.api.conftest import DISTRICT_A, DISTRICT_B, plan_for
from tests.workflows.harness import STATE_ADMIN, fresh_database, owner_dsn, role_name
from worker import running_worker
from workflows.ids import initiative_workflow_id
from workflows.models import InitiativeOptions

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

NARROW = {"COLUMNS": "80", "ROLLOUT_DATABASE_URL": None, "ROLLOUT_TEMPORAL_ADDRESS": None}
SETTLE_SECONDS = 90.0


@dataclass
class Recorded:
    """The database the rollouts recorded into (no connection left open: it is a template)."""

    server: str
    name: str
    owner: str
    app: str
    temporal: str
    initiative: str
    refused: str
    """The initiative whose site streams the owner's trigger refused."""
    versions: dict[str, int]
    """Each stream of `initiative` and its last version."""

    def site_streams(self) -> list[str]:
        return sorted(s for s in self.versions if ev.is_site_stream(s))


@pytest_asyncio.fixture(scope="module")
async def recorded(postgres, temporal_dev) -> Recorded:
    pool, dsn = await fresh_database(postgres)
    owner = await owner_dsn(dsn)
    client = await connect(temporal_dev.address)
    suffix = uuid.uuid4().hex[:6]
    # Long ids: an 80-column table would have cut them.
    initiative = f"tamper-evident-k3-structured-literacy-statewide-{suffix}"
    refused = f"never-stored-{suffix}"
    queue = f"tamper-{suffix}"
    await _refuse_site_events_of(owner, refused)
    try:
        async with running_worker(client, pool, task_queue=queue):
            for initiative_id, districts in ((initiative, (DISTRICT_A, DISTRICT_B)),
                                             (refused, (DISTRICT_A,))):
                await launch(client, plan_for(initiative_id, districts), STATE_ADMIN,
                             task_queue=queue, options=InitiativeOptions(speedup=1.0))
            versions = await _settled(pool, client, initiative, sites=4)
            await _failing(client, refused)
    finally:
        await pool.close()
    yield Recorded(postgres, dsn.rsplit("/", 1)[1], owner, dsn, temporal_dev.address,
                   initiative, refused, versions)
    for initiative_id in (initiative, refused):
        await client.get_workflow_handle(initiative_workflow_id(initiative_id)).terminate(
            "the tampering test is over")


async def _refuse_site_events_of(owner: str, initiative_id: str) -> None:
    conn = await asyncpg.connect(owner)
    try:
        await conn.execute(
            "CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused by the tamperer'; END $$")
        await conn.execute(
            "CREATE TRIGGER refuse_sites BEFORE INSERT ON events FOR EACH ROW WHEN "
            f"(starts_with(NEW.stream_id, '{ev.site_streams_of(initiative_id)}')) "
            "EXECUTE FUNCTION refuse_event()")
    finally:
        await conn.close()


async def _settled(pool, client, initiative: str, sites: int) -> dict[str, int]:
    """Wait until every site has its Exploration tasks and nothing is being recorded."""
    loop = asyncio.get_running_loop()
    deadline, last = loop.time() + SETTLE_SECONDS, None
    while loop.time() < deadline:
        rows = await pool.fetch(
            "SELECT stream_id, version FROM streams WHERE stream_id = $1 OR starts_with(stream_id, $2)",
            ev.initiative_stream(initiative), ev.site_streams_of(initiative))
        versions = {r["stream_id"]: r["version"] for r in rows}
        tasks = await pool.fetchval(
            "SELECT count(DISTINCT stream_id) FROM events WHERE type = 'TaskAssigned' "
            "AND starts_with(stream_id, $1)", ev.site_streams_of(initiative))
        if tasks == sites and versions == last and not await _recording(client, versions):
            return versions
        last = versions
        await asyncio.sleep(1.0)
    raise AssertionError(f"the rollout did not settle: {last}")


async def _recording(client, versions: dict[str, int]) -> bool:
    from audit.verify import writer_of
    for stream_id in versions:
        described = await client.get_workflow_handle(writer_of(stream_id)).describe()
        if described.raw_description.pending_activities:
            return True
    return False


async def _failing(client, initiative: str) -> None:
    """Wait until each of the initiative's sites has failed to record at least once."""
    from workflows.ids import site_workflow_id
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    sites = [s.id for s in plan_for(initiative, (DISTRICT_A,)).sites]
    while loop.time() < deadline:
        attempts = []
        for site in sites:
            try:
                described = await client.get_workflow_handle(
                    site_workflow_id(initiative, site)).describe()
            except Exception:  # noqa: BLE001 - not started yet
                attempts.append(0)
                continue
            attempts.append(max((a.attempt for a in described.raw_description.pending_activities
                                 if a.activity_type.name == "record_events"), default=0))
        if all(a >= 2 for a in attempts):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"the refused sites never failed to record: {attempts}")


# --- copies and tampers -------------------------------------------------------------------------

async def copy_of(r: Recorded) -> tuple[str, str, str]:
    """A copy of the recorded database: (its name, the owner's DSN, the application's DSN)."""
    name = f"{r.name}_{uuid.uuid4().hex[:6]}"
    owner, app_role = role_name(r.owner), role_name(r.app)
    admin = await asyncpg.connect(r.server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{r.name}" OWNER "{owner}"')
    finally:
        await admin.close()
    inside = await asyncpg.connect(r.server.rsplit("/", 1)[0] + f"/{name}")
    try:
        await hand_over_database(inside, owner=owner, app=app_role)
    finally:
        await inside.close()
    return name, r.owner.rsplit("/", 1)[0] + f"/{name}", r.app.rsplit("/", 1)[0] + f"/{name}"


async def drop(r: Recorded, name: str) -> None:
    admin = await asyncpg.connect(r.server)
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


Rows = list[dict]


async def rewrite(owner: str, stream: str, edit: Callable[[Rows], Rows]) -> None:
    """Replace a stream's events with `edit` of them, renumbered from 1 with the hash chain and
    the head row recomputed: a tamper only the workflow histories can see."""
    pool = await connect_db(owner, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            rows = [dict(r) for r in await conn.fetch(
                "SELECT * FROM events WHERE stream_id = $1 ORDER BY stream_version", stream)]
            rows = edit(copy.deepcopy(rows))
            prev = codec.GENESIS
            for version, row in enumerate(rows, start=1):
                row["stream_version"], row["prev_hash"] = version, prev
                row["hash"] = prev = codec.chain_hash(prev, codec.row_content(row))
            await conn.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete")
            await conn.execute("DELETE FROM events WHERE stream_id = $1", stream)
            await conn.executemany(
                "INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, "
                "payload, actor, occurred_at, recorded_at, workflow_id, prev_hash, hash) VALUES "
                "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                [(r["stream_id"], r["stream_version"], r["event_id"], r["type"], r["schema_version"],
                  r["payload"], r["actor"], r["occurred_at"], r["recorded_at"], r["workflow_id"],
                  r["prev_hash"], r["hash"]) for r in rows])
            await conn.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_or_delete")
            await conn.execute("UPDATE streams SET version = $2, last_hash = $3 WHERE stream_id = $1",
                               stream, len(rows), prev)
    finally:
        await pool.close()


async def sql_as_owner(owner: str, *statements: tuple) -> None:
    conn = await asyncpg.connect(owner)
    try:
        async with conn.transaction():
            await conn.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete")
            for statement, *args in statements:
                await conn.execute(statement, *args)
            await conn.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_or_delete")
    finally:
        await conn.close()


def renamed(row: dict, version: int) -> dict:
    """A copy of an event passed off as version `version` (its own event id, as a writer would)."""
    row = dict(row)
    row["event_id"] = ev.event_id_for(row["stream_id"], version)
    return row


def first(rows: Rows, event_type: str) -> int:
    return next(i for i, r in enumerate(rows) if r["type"] == event_type)


Tamper = Callable[[Recorded, str], Awaitable[list[tuple[str, int]]]]
"""Tamper with a copy (given its owner's DSN); return the (stream, version) pairs to be named."""


async def payload_edited(r: Recorded, owner: str):
    stream = r.site_streams()[0]
    await sql_as_owner(owner, (
        "UPDATE events SET payload = jsonb_set(payload, '{title}', to_jsonb('X' || "
        "substr(payload->>'title', 2))) WHERE stream_id = $1 AND stream_version = "
        "(SELECT min(stream_version) FROM events WHERE stream_id = $1 AND type = 'TaskAssigned')",
        stream))
    return [(stream, await _version_of(owner, stream, "TaskAssigned"))]


async def payload_edited_chain_recomputed(r: Recorded, owner: str):
    stream, at = r.site_streams()[1], []

    def edit(rows):
        i = first(rows, "TaskAssigned")
        rows[i]["payload"]["title"] = "Forged " + rows[i]["payload"]["title"]
        at.append(i + 1)
        return rows
    await rewrite(owner, stream, edit)
    return [(stream, at[0])]


async def forged_event_appended(r: Recorded, owner: str):
    stream = r.site_streams()[2]
    last = r.versions[stream]

    def edit(rows):
        forged = renamed(rows[first(rows, "TaskAssigned")], last + 1)
        forged["payload"]["task_id"] = forged["payload"]["task_id"] + "-forged"
        return rows + [forged]
    await rewrite(owner, stream, edit)
    return [(stream, last + 1)]


async def last_event_deleted_head_fixed(r: Recorded, owner: str):
    stream = r.site_streams()[3]
    await rewrite(owner, stream, lambda rows: rows[:-1])
    return [(stream, r.versions[stream])]


async def whole_stream_deleted(r: Recorded, owner: str):
    stream = r.site_streams()[0]
    await sql_as_owner(owner, ("DELETE FROM events WHERE stream_id = $1", stream),
                       ("DELETE FROM streams WHERE stream_id = $1", stream))
    return [(stream, 1), (stream, r.versions[stream])]


async def site_never_stored(r: Recorded, owner: str):
    """Nothing to do: the owner's trigger refused these sites' events while they ran."""
    return [(ev.site_stream(r.refused, site.id), 1)
            for site in plan_for(r.refused, (DISTRICT_A,)).sites]


async def events_reordered(r: Recorded, owner: str):
    stream, at = r.site_streams()[1], []

    def edit(rows):
        i = first(rows, "TaskAssigned")
        rows[i], rows[i + 1] = rows[i + 1], rows[i]
        at.extend([i + 1, i + 2])
        return rows
    await rewrite(owner, stream, edit)
    return [(stream, v) for v in at]


async def actor_changed(r: Recorded, owner: str):
    stream = ev.initiative_stream(r.initiative)

    def edit(rows):
        rows[0]["actor"] = {**rows[0]["actor"], "id": "someone.else"}
        return rows
    await rewrite(owner, stream, edit)
    return [(stream, 1)]


async def middle_event_deleted_renumbered(r: Recorded, owner: str):
    stream, at = r.site_streams()[2], []

    def edit(rows):
        i = first(rows, "TaskAssigned")
        at.append(i + 1)
        return rows[:i] + [renamed(row, n) for n, row in enumerate(rows[i + 1:], start=i + 1)]
    await rewrite(owner, stream, edit)
    return [(stream, at[0]), (stream, r.versions[stream])]


async def event_duplicated(r: Recorded, owner: str):
    stream, at = r.site_streams()[3], []

    def edit(rows):
        i = first(rows, "TaskAssigned")
        at.append(i + 2)
        return rows[:i + 1] + [renamed(rows[i], i + 2)] + [
            renamed(row, n) for n, row in enumerate(rows[i + 1:], start=i + 3)]
    await rewrite(owner, stream, edit)
    return [(stream, at[0]), (stream, r.versions[stream] + 1)]


async def hash_edited(r: Recorded, owner: str):
    stream = r.site_streams()[0]
    await sql_as_owner(owner, ("UPDATE events SET hash = repeat('0', 64) WHERE stream_id = $1 AND "
                               "stream_version = 2", stream))
    return [(stream, 2)]


async def _version_of(owner: str, stream: str, event_type: str) -> int:
    conn = await asyncpg.connect(owner)
    try:
        return await conn.fetchval("SELECT min(stream_version) FROM events WHERE stream_id = $1 "
                                   "AND type = $2", stream, event_type)
    finally:
        await conn.close()


TAMPERS: dict[str, Tamper] = {f.__name__: f for f in (
    payload_edited, payload_edited_chain_recomputed, forged_event_appended,
    last_event_deleted_head_fixed, whole_stream_deleted, site_never_stored, events_reordered,
    actor_changed, middle_event_deleted_renumbered, event_duplicated, hash_edited)}
"""The issue's nine (payload changed with its chain recomputed, a forged event appended, the
last event deleted with the head fixed, a whole stream deleted with its head row, a site with no
stream at all, ...) and the ones that follow from them."""


async def rollout(*args: str, env: dict | None = None):
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args),
                                     env={**NARROW, **(env or {})})
    return result.exit_code, result.output


def named(output: str, stream: str, version: int) -> bool:
    return any(stream in line and f" version {version} " in line for line in output.splitlines())


# --- the tests ----------------------------------------------------------------------------------

async def test_the_untouched_record_verifies(recorded):
    name, _, app_dsn = await copy_of(recorded)
    try:
        code, output = await rollout("audit", "verify", "--initiative", recorded.initiative, env={
            "ROLLOUT_DATABASE_URL": app_dsn, "ROLLOUT_TEMPORAL_ADDRESS": recorded.temporal})
        assert code == 0, output
        streams = len(recorded.versions)
        assert f"OK: {streams} stream(s)" in output
        assert f"{streams} stream(s) cross-checked with the histories of {streams} workflow(s)" \
            in output, output
    finally:
        await drop(recorded, name)


@pytest.mark.parametrize("tamper", TAMPERS)
async def test_each_tamper_makes_verify_exit_1_naming_the_stream_and_version(recorded, tamper):
    name, owner, app_dsn = await copy_of(recorded)
    try:
        expected = await TAMPERS[tamper](recorded, owner)
        initiative = expected[0][0].split("/")[1]
        code, output = await rollout("audit", "verify", "--initiative", initiative, env={
            "ROLLOUT_DATABASE_URL": app_dsn, "ROLLOUT_TEMPORAL_ADDRESS": recorded.temporal})
        print(output)
        assert code == 1, output
        assert "FAILED" in output and "…" not in output
        for stream, version in expected:
            assert named(output, stream, version), (stream, version, output)
    finally:
        await drop(recorded, name)


async def test_plain_verify_finds_the_running_stack_and_refuses_to_pass_without_temporal(
        recorded, monkeypatch):
    """No flag, no ROLLOUT_*: Temporal and the store are the running `rollout up`'s
    (its stack.json); when Temporal cannot be asked, exit 2 unless --chains-only."""
    name, owner, app_dsn = await copy_of(recorded)
    try:
        expected = await whole_stream_deleted(recorded, owner)
        stack = RunningStack(pid=1, temporal_address=recorded.temporal, namespace="default",
                             task_queue="rollouts", web_ui="http://127.0.0.1:1",
                             database_url=app_dsn)
        monkeypatch.setattr(ops_target, "running_stack", lambda: stack)
        monkeypatch.setattr(cli_database, "running_stack", lambda: stack)
        code, output = await rollout("audit", "verify", "--initiative", recorded.initiative)
        assert code == 1, output
        assert all(named(output, stream, version) for stream, version in expected), output

        nowhere = {"ROLLOUT_TEMPORAL_ADDRESS": "127.0.0.1:9"}
        code, output = await rollout("audit", "verify", "--initiative", recorded.initiative,
                                     env=nowhere)
        assert code == 1, "the chains and the store's accounts still speak: " + output
        code, output = await rollout("audit", "verify", "--initiative", recorded.refused,
                                     env=nowhere)
        assert code == 2, output
        assert "NOT CROSS-CHECKED: Temporal is not reachable at 127.0.0.1:9" in output
        code, output = await rollout("audit", "verify", "--initiative", recorded.refused,
                                     "--chains-only", env=nowhere)
        assert code == 0, output
        assert "Only the hash chains and the store's own accounts were checked" in output
    finally:
        await drop(recorded, name)


async def test_chains_only_still_catches_a_row_edited_by_hand(recorded):
    name, owner, app_dsn = await copy_of(recorded)
    try:
        expected = await payload_edited(recorded, owner)
        code, output = await rollout("audit", "verify", "--initiative", recorded.initiative,
                                     "--chains-only", "--database-url", app_dsn)
        assert code == 1, output
        assert all(named(output, s, v) and "hash chain broken" in output for s, v in expected)
    finally:
        await drop(recorded, name)


async def test_a_site_gone_from_store_board_and_temporal_is_still_missed_by_its_cohort(recorded):
    """The thorough tamperer deletes a site's stream and its row on the board: without Temporal
    (--chains-only) the cohort that started it still counts its sites, once enrolment is over."""
    from audit.verify import ENROLMENT_GRACE, verify_store
    name, owner, app_dsn = await copy_of(recorded)
    try:
        (stream, _), _ = await whole_stream_deleted(recorded, owner)
        await sql_as_owner(owner, ("DELETE FROM sites WHERE stream_id = $1", stream))
        pool = await connect_db(app_dsn, min_size=1, max_size=1)
        try:
            started = await pool.fetchval(
                "SELECT recorded_at FROM events WHERE stream_id = $1 AND type = 'CohortStarted'",
                ev.initiative_stream(recorded.initiative))
            soon = await verify_store(pool, recorded.initiative, now=started + ENROLMENT_GRACE / 2)
            later = await verify_store(pool, recorded.initiative, now=started + ENROLMENT_GRACE * 2)
        finally:
            await pool.close()
        assert soon.clean and "still enrolling" in soon.notes[0].problem
        (finding,) = later.findings
        assert (finding.stream_id, finding.version) == (ev.initiative_stream(recorded.initiative), 2)
        assert "started 4 site(s) but the store holds the stream of 3" in finding.problem
    finally:
        await drop(recorded, name)
