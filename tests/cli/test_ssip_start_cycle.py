"""The SSIP cycle beside the initiative, with the installed `rollout` program against a real
Temporal dev server, a real worker and a real PostgreSQL: `rollout start` starts the cycle next to
the initiative (not as its child), which reads the school clock the launch recorded;
`rollout ssip start-cycle` leaves a running cycle as it is, starts one again for an initiative
whose cycle was stopped, and names an unknown initiative in one line (exit 1)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date

import pytest
from temporalio.client import WorkflowExecutionStatus

from tests.cli.test_ops_commands import OPERATOR, SMALL, env, one_line_error, queue, rollout  # noqa: F401
from workflows.ids import ssip_cycle_workflow_id
from workflows.ssip_cycle import SsipCycleWorkflow

pytestmark = [pytest.mark.postgres, pytest.mark.temporal, pytest.mark.asyncio]


async def cycle_status(handle, seconds: float = 60):
    """The cycle's status once it has read the initiative's clock (the worker records the launch
    first)."""
    deadline = time.monotonic() + seconds
    while True:
        status = await handle.query(SsipCycleWorkflow.status)
        if status.step != "clock" or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.2)


async def test_the_launch_starts_the_cycle_and_start_cycle_is_idempotent(env, client):
    initiative_id = f"ssip-cli-{uuid.uuid4().hex[:6]}"
    started = await rollout(env, "start", SMALL, "--initiative-id", initiative_id, "--as", OPERATOR)
    assert started.returncode == 0, started.stderr
    assert f"SSIP cycle ssip-cycle:{initiative_id} beside it" in started.stdout
    cycle = client.get_workflow_handle(ssip_cycle_workflow_id(initiative_id))
    description = await cycle.describe()
    assert description.status == WorkflowExecutionStatus.RUNNING
    assert description.raw_description.workflow_execution_info.parent_execution.workflow_id == "", \
        "the cycle runs beside the initiative, not as its child"
    status = await cycle_status(cycle)
    assert (status.ffy, status.step, status.at) == (2026, "assign", date(2027, 11, 1)), \
        "the small plan's first school day (17 August 2026) is in FFY 2026"

    again = await rollout(env, "ssip", "start-cycle", initiative_id)
    assert again.returncode == 0, again.stderr
    assert f"SSIP cycle running: ssip-cycle:{initiative_id}" in again.stdout
    assert (await cycle.describe()).run_id == description.run_id, "the running cycle is kept"

    await cycle.terminate(reason="the test stops it to start it again")
    restarted = await rollout(env, "ssip", "start-cycle", initiative_id)
    assert restarted.returncode == 0, restarted.stderr
    fresh = client.get_workflow_handle(ssip_cycle_workflow_id(initiative_id))
    again_described = await fresh.describe()
    assert again_described.run_id != description.run_id
    assert again_described.status == WorkflowExecutionStatus.RUNNING
    status = await cycle_status(fresh)
    assert (status.ffy, status.step, status.at) == (2026, "assign", date(2027, 11, 1))
    await fresh.terminate(reason="test over")


async def test_start_cycle_names_an_unknown_initiative(env):
    unknown = f"nope-{uuid.uuid4().hex[:6]}"
    assert one_line_error(await rollout(env, "ssip", "start-cycle", unknown), 1) == (
        f"There is no initiative '{unknown}' (its launch is not recorded).")
