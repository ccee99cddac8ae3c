"""`rollout tasks` and `rollout complete` against a running rollout: the inbox as JSON, an
assessment from a YAML file recorded by the workflow, and one-line refusals."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from cli.main import app as cli
from domain import events as ev
from domain.stages import Stage
from store.eventstore import EventStore
from tests.domain.builders import readiness

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

runner = CliRunner()
SITE = "lakeview-usd"


def rollout(*args: str):
    return asyncio.to_thread(runner.invoke, cli, list(args), env={"COLUMNS": "200"})


def one_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


async def test_tasks_and_complete_from_the_command_line(world, api, api_database, temporal_dev,
                                                        tmp_path):
    _, dsn = api_database
    where = ["--database-url", dsn]
    initiative = await world.launch("cli", districts=(SITE,))
    await world.in_stage(initiative, SITE, Stage.EXPLORATION, ("fit_readiness", "adoption_decision"))

    listed = await rollout("tasks", "--site", SITE, "--initiative", initiative, "--json", *where)
    assert listed.exit_code == 0, listed.output
    tasks = [json.loads(line) for line in listed.output.splitlines()]
    assert {t["instrument"] for t in tasks} == {"fit_readiness", "adoption_decision"}
    fit = next(t["task_id"] for t in tasks if t["instrument"] == "fit_readiness")
    table = await rollout("tasks", "--site", SITE, "--initiative", initiative, *where)
    assert table.exit_code == 0 and fit in table.output

    unknown = await rollout("tasks", "--site", "atlantis", *where)
    assert unknown.exit_code == 1 and "atlantis" in one_line(unknown)

    bad = tmp_path / "bad.yaml"
    bad.write_text("instrument: fit_readiness\nratings:\n  - {indicator: evidence, rating: 9}\n")
    refused = await rollout("complete", fit, "--data", str(bad), "--as", "sam.state",
                            "--temporal-address", temporal_dev.address, *where)
    assert refused.exit_code == 2
    assert "ratings.0.rating" in one_line(refused) and "9" in one_line(refused)

    good = tmp_path / "readiness.yaml"
    good.write_text(json.dumps(readiness(4).model_dump(mode="json")))
    done = await rollout("complete", fit, "--data", str(good), "--as", "sam.state",
                         "--temporal-address", temporal_dev.address, *where)
    assert done.exit_code == 0, done.output
    assert f"Recorded AssessmentSubmitted, TaskCompleted for task {fit}" in done.output
    stream = await EventStore(api.pool).read_stream(ev.site_stream(initiative, SITE))
    submitted = [e for e in stream if e.type == "AssessmentSubmitted"]
    assert [(e.actor.id, e.actor.role.value, e.payload.task_id) for e in submitted] == [
        ("sam.state", "state_admin", fit)]

    again = await rollout("complete", fit, "--data", str(good), "--temporal-address",
                          temporal_dev.address, *where)
    assert again.exit_code == 0 and "Already recorded" in again.output  # same submission id
    other = tmp_path / "another.json"
    other.write_text(json.dumps({"assessment_id": "second-look",
                                 "assessment": readiness(2).model_dump(mode="json")}))
    refused = await rollout("complete", fit, "--data", str(other), "--temporal-address",
                            temporal_dev.address, *where)
    assert refused.exit_code == 1 and "already completed" in one_line(refused)

    adoption = next(t["task_id"] for t in tasks if t["instrument"] == "adoption_decision")
    missing = await rollout("complete", adoption, "--temporal-address", temporal_dev.address, *where)
    assert missing.exit_code == 2 and "--data" in one_line(missing)
    nothing = await rollout("complete", "no-such-task", *where)
    assert nothing.exit_code == 1 and "There is no task 'no-such-task'" in one_line(nothing)
