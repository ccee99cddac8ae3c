"""After a real rollout: the audit lists every event the workflow decided, in order, with the
evidence for each stage move; CSV opens with `csv`; a byte changed with psql is caught by verify."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess

import pytest
from typer.testing import CliRunner

from cli.main import app
from devstack.postgres import find_bin_dir
from domain.stages import Stage
from audit.wording import stage_moves

from store.eventstore import EventStore
from tests.workflows.harness import drive, one_cohort_plan, owner_dsn, simulated
from tests.workflows.test_rollout_lifecycle import start
from workflows.ids import site_workflow_id
from workflows.site_rollout import SiteRolloutWorkflow

pytestmark = pytest.mark.asyncio
WIDE = {"COLUMNS": "250"}


async def rollout(env, worker, pool):
    plan, handle = await start(env, worker, one_cohort_plan(), "audit-after")
    site = plan.sites[0].id
    sim = simulated(env, pool, plan)
    status = await drive(env, handle, sim, weeks=2 * 52)
    assert status.completed_sites == 1
    final = await env.client.get_workflow_handle_for(
        SiteRolloutWorkflow.run, site_workflow_id(plan.initiative.id, site)).result()
    return plan.initiative.id, site, final.version


async def rollout_cli(*args: str):
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=WIDE)
    return result.exit_code, result.output


async def test_audit_export_and_verify_after_a_rollout(env, worker, database):
    pool, dsn = database
    initiative, site, version = await rollout(env, worker, pool)
    stream = f"site-rollout/{initiative}/{site}"

    code, output = await rollout_cli("audit", "site", initiative, site, "--format", "csv",
                                     "--database-url", dsn)
    assert code == 0, output
    rows = list(csv.DictReader(io.StringIO(output)))
    assert [int(r["version"]) for r in rows] == list(range(1, version + 1)), \
        "one row per event the workflow decided, in order"
    assert [r["summary"] for r in rows if r["type"] == "StageEntered"]

    events = await EventStore(pool).read_stream(stream)
    moves = stage_moves(events)
    assert [m.entered.payload.stage for m in moves] == [Stage.INSTALLATION, Stage.INITIAL_IMPLEMENTATION,
                                           Stage.FULL_IMPLEMENTATION]
    assert all(m.checks and all(c.met for c in m.checks) for m in moves), "evidence for every move"
    code, output = await rollout_cli("audit", "site", initiative, site, "--database-url", dsn)
    assert code == 0 and "Why the site moved" in output and "state.implementation.team" in output

    address = env.client.service_client.config.target_host
    code, output = await rollout_cli("audit", "verify", "--initiative", initiative,
                                     "--temporal-address", address, "--database-url", dsn)
    assert code == 0, output
    assert "OK: 2 stream(s)" in output and "2 stream(s) cross-checked" in output

    tampered = next(e.sequence for e in events if e.type == "TaskAssigned")
    change_one_byte(await owner_dsn(dsn), stream, tampered)
    code, output = await rollout_cli("audit", "verify", "--initiative", initiative,
                                     "--temporal-address", address, "--database-url", dsn)
    assert code == 1, output
    findings = [line for line in output.splitlines() if stream in line]
    assert any(f" {tampered} " in line and "hash chain" in line for line in findings), output
    assert any(f" {tampered} " in line and "differs from what the workflow decided" in line
               for line in findings), output


def change_one_byte(dsn: str, stream: str, version: int) -> None:
    """What the owner (or a superuser) with psql could do: lift the append-only trigger and edit a
    title (the application's role cannot: tests/security/test_least_privilege.py)."""
    sql = (
        "ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete; "
        "UPDATE events SET payload = jsonb_set(payload, '{title}', "
        "to_jsonb('X' || substr(payload->>'title', 2))) "
        f"WHERE stream_id = '{stream}' AND stream_version = {version}; "
        "ALTER TABLE events ENABLE TRIGGER events_no_update_or_delete;")
    subprocess.run([str(find_bin_dir() / "psql"), dsn, "-v", "ON_ERROR_STOP=1", "-c", sql],
                   check=True, capture_output=True, cwd="/tmp")
