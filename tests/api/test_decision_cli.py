"""`rollout decisions`, `rollout decide`, `rollout cohorts` and `rollout cohort open` against a
running rollout: the same decisions as the API's, recorded with `--as` and `--reason`, and told by
`rollout audit site`; refusals in one line with their exit code."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from typer.testing import CliRunner

from audit.wording import summarize
from cli.main import app as cli
from domain.plan import Plan
from simulation.playthrough import launch
from tests.api.conftest import DISTRICT_A, DISTRICT_B
from tests.api.test_decisions_api import cohort_started, gated_plan, stream, waiting_for_full
from tests.workflows.harness import STATE_ADMIN
from workflows.models import InitiativeOptions

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

runner = CliRunner()
DECLINE = "Fidelity rests on a single observation day"
OVERRIDE = "The district finished its readiness work off the record"
SEND_BACK = "Funding for the district team was lost this spring"


def rollout(*args: str):
    return asyncio.to_thread(runner.invoke, cli, list(args), env={"COLUMNS": "250"})


def one_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


async def test_the_state_decides_from_the_command_line(world, api, api_database, temporal_dev):
    _, dsn = api_database
    where = ["--database-url", dsn, "--temporal-address", temporal_dev.address]
    initiative = await world.launch("cli-decide", districts=(DISTRICT_A, DISTRICT_B))
    await waiting_for_full(world, api, initiative, DISTRICT_A)

    listed = await rollout("decisions", initiative, "--database-url", dsn)
    assert listed.exit_code == 0, listed.output
    assert DISTRICT_A in listed.output and "Initial Implementation → Full Implementation" in listed.output
    assert "met: capacity assessment 100%" in listed.output
    as_json = json.loads((await rollout("decisions", initiative, "--json", "--database-url", dsn)).output)
    assert [d["site_id"] for d in as_json] == [DISTRICT_A]

    both = await rollout("decide", initiative, DISTRICT_A, "--approve", "--decline", "--as", "sam.state", *where)
    assert both.exit_code == 2 and "Choose one decision" in one_line(both)
    bare = await rollout("decide", initiative, DISTRICT_A, "--decline", "--as", "sam.state", *where)
    assert bare.exit_code == 2 and "give --reason" in one_line(bare)
    stage = await rollout("decide", initiative, DISTRICT_A, "--approve", "--to", "Fullest", "--as",
                          "sam.state", *where)
    assert stage.exit_code == 2 and "--to must be a stage" in one_line(stage)
    missing = await rollout("decide", initiative, "atlantis", "--approve", "--as", "sam.state", *where)
    assert missing.exit_code == 1 and "no site 'atlantis'" in one_line(missing)

    declined = await rollout("decide", initiative, DISTRICT_A, "--decline", "--to", "full-implementation",
                             "--reason", DECLINE, "--as", "sam.state", *where)
    assert declined.exit_code == 0, declined.output
    assert f"Declined Full Implementation for {DISTRICT_A} as sam.state: {DECLINE}." in declined.output
    again = await rollout("decide", initiative, DISTRICT_A, "--approve", "--as", "sam.state", *where)
    assert again.exit_code == 1 and "no stage move waiting" in one_line(again)

    overridden = await rollout("decide", initiative, DISTRICT_B, "--override", "--reason", OVERRIDE,
                               "--as", "sam.state", *where)
    assert overridden.exit_code == 0 and "Overrode Installation" in overridden.output, overridden.output
    sent_back = await rollout("decide", initiative, DISTRICT_B, "--send-back", "--reason", SEND_BACK,
                              "--as", "sam.state", "--json", *where)
    assert sent_back.exit_code == 0, sent_back.output
    assert json.loads(sent_back.output)["to_stage"] == "Exploration"
    (regressed,) = await stream(api, initiative, DISTRICT_B, "SiteRegressed")
    assert (regressed.actor.id, regressed.payload.reason) == ("sam.state", SEND_BACK)

    audit = await rollout("audit", "site", initiative, DISTRICT_A, "--database-url", dsn)
    assert audit.exit_code == 0, audit.output
    row = next(line for line in audit.output.splitlines() if "StageMoveDeclined" in line)
    assert "sam.state" in row and "state_admin" in row and DECLINE in row, row
    audit = await rollout("audit", "site", initiative, DISTRICT_B, "--database-url", dsn)
    assert f"Overridden by sam.state (state_admin)" in audit.output and OVERRIDE in audit.output
    assert f"Regression recorded by sam.state (state_admin)" in audit.output and SEND_BACK in audit.output


async def test_a_cohort_is_opened_from_the_command_line(world, api, api_database, temporal_dev):
    _, dsn = api_database
    where = ["--database-url", dsn, "--temporal-address", temporal_dev.address]
    initiative = f"cli-gated-{uuid.uuid4().hex[:6]}"
    plan = Plan.model_validate(gated_plan(initiative))
    await launch(world.client, plan, STATE_ADMIN, task_queue=world.queue,
                 options=InitiativeOptions(speedup=1.0))
    await world.site(initiative, plan.cohorts[0].members[0], lambda s: s["stage"] is not None, "enrolled")

    table = await rollout("cohorts", initiative, *where)
    assert table.exit_code == 0, table.output
    assert "waiting for a state decision" in table.output and "100% at or beyond" not in table.output
    assert "c1: 2 Exploration" in table.output
    short = await rollout("cohort", "open", initiative, "c2", "--reason", "now", "--as", "sam.state",
                          "--temporal-address", temporal_dev.address)
    assert short.exit_code == 1 and "at least 10 characters" in one_line(short)
    reason = "Cohort 1 is ready and cohort 2's funding arrived"
    opened = await rollout("cohort", "open", initiative, "c2", "--reason", reason, "--as", "sam.state",
                           "--temporal-address", temporal_dev.address)
    assert opened.exit_code == 0 and "it has started" in opened.output, opened.output
    started = await cohort_started(api, initiative, "c2")
    assert (started.payload.decided_by, started.payload.reason) == ("sam.state", reason)
    table = json.loads((await rollout("cohorts", initiative, "--json", *where)).output)
    assert table["cohorts"][1]["opened_by"] == "sam.state" and table["cohorts"][1]["reason"] == reason
    assert summarize(started) == (f"Cohort c2 started with 3 sites (starts on a state decision): "
                                  f"state decision by sam.state; reason: {reason}")
    audit = await rollout("audit", "initiative", initiative, "--database-url", dsn)
    assert audit.exit_code == 0 and "state decision by sam.state; reason:" in audit.output
