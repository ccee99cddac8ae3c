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


async def test_the_escalation_queue_from_the_command_line(world, api, api_database, temporal_dev):
    """`rollout escalations` lists the queue; `rollout task reassign|extend|waive` works a task
    as a state admin, with one-line refusals and exit codes."""
    from datetime import date

    from domain.actors import Role
    from domain.calendar import add_school_days
    from tests.api.test_escalations import CALENDAR, escalate_capacity, escalated

    _, dsn = api_database
    where = ["--database-url", dsn, "--temporal-address", temporal_dev.address]
    initiative = await world.launch("cli-esc", districts=("cedar-falls-sd",))
    mine = await api.headers(Role.DISTRICT_COORDINATOR, "cedar-falls-sd")
    await world.to_initial_implementation(initiative, "cedar-falls-sd", mine)
    await escalate_capacity(world, initiative, "cedar-falls-sd", mine, times=2)
    task = (await escalated(api, await api.headers(Role.STATE_ADMIN), "cedar-falls-sd"))["task_id"]

    listed = await rollout("escalations", "--initiative", initiative, "--json", "--database-url", dsn)
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [(r["task_id"], r["region"], r["age_school_days"]) for r in rows] == [(task, "North", 0)]
    table = await rollout("escalations", "--initiative", initiative, "--kind", "submit_assessment",
                          "--district", "cedar-falls-sd", "--database-url", dsn)
    assert table.exit_code == 0 and task in table.output and "rollout task reassign" in table.output
    none = await rollout("escalations", "--initiative", initiative, "--older-than", "5",
                         "--database-url", dsn)
    assert none.exit_code == 0 and one_line(none) == "No escalated open tasks match."
    bad = await rollout("escalations", "--kind", "homework", "--database-url", dsn)
    assert bad.exit_code == 2 and "--kind must be one of" in one_line(bad)

    wrong = await rollout("task", "reassign", task, "--to", "ann", "--reason", "ours", "--as", "sam.state", *where)
    assert wrong.exit_code == 2 and "--to" in one_line(wrong)
    done = await rollout("task", "reassign", task, "--to", "team:district:cedar-falls-sd",
                         "--reason", "the district's data team owns it", "--as", "sam.state", *where)
    assert done.exit_code == 0, done.output
    assert one_line(done) == f"Recorded TaskReassigned for task {task} at cedar-falls-sd."
    due = add_school_days(CALENDAR, date.fromisoformat(rows[0]["due"]), 20)
    done = await rollout("task", "extend", task, "--due", due.isoformat(), "--reason", "more time",
                         "--as", "sam.state", "--json", *where)
    assert done.exit_code == 0 and json.loads(done.output)["recorded"] == ["TaskDueDateExtended"]
    refused = await rollout("task", "extend", task, "--due", "2020-01-06", "--reason", "earlier",
                            "--as", "sam.state", *where)
    assert refused.exit_code == 1 and "not after" in one_line(refused)
    done = await rollout("task", "waive", task, "--reason", "no longer needed", "--as", "sam.state", *where)
    assert done.exit_code == 0 and "Recorded TaskWaived" in done.output
    missing = await rollout("task", "waive", "no-such-task", "--reason", "x y z", "--as", "sam.state", *where)
    assert missing.exit_code == 1 and "no task 'no-such-task'" in one_line(missing)
    stream = await EventStore(api.pool).read_stream(ev.site_stream(initiative, "cedar-falls-sd"))
    assert [(e.type, e.actor.id) for e in stream if e.type in (
        "TaskReassigned", "TaskDueDateExtended", "TaskWaived")] == [
        ("TaskReassigned", "sam.state"), ("TaskDueDateExtended", "sam.state"),
        ("TaskWaived", "sam.state")]
