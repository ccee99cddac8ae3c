"""The operator's commands, run as the installed `rollout` program against a real Temporal dev
server, a real worker and a real PostgreSQL: start the small plan, read it back (list, board,
JSON), pause, resume and cancel it with reasons (seen in the status and in the event store),
and every failure as one line. Then `rollout up` itself: it comes up, answers, and Ctrl-C
leaves no process behind."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from typer.testing import CliRunner

from cli.main import app
from devstack.ports import free_port
from domain.actors import Actor, Role
from domain.plan_yaml import parse_plan
from rollouts import operations as ops
from devstack.foreground_stack import api_available
from runtime.temporal import connect
from worker import running_worker
from workflows.ids import initiative_workflow_id
from workflows.initiative import InitiativeWorkflow
from workflows.models import ControlRequest

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

ROOT = Path(__file__).resolve().parents[2]
ROLLOUT = str(Path(sys.executable).parent / "rollout")
SMALL = str(ROOT / "examples" / "small.yaml")
OPERATOR = "sam.state"
STATE = Actor(id=OPERATOR, role=Role.STATE_ADMIN)
SITE = "lakeview-usd"
runner = CliRunner()


@pytest_asyncio.fixture(scope="module")
async def queue(client, database):
    """A real worker, in this process, on a task queue of the module's own."""
    name = f"ops-{uuid.uuid4().hex[:8]}"
    async with running_worker(client, database[0], task_queue=name):
        yield name


@pytest.fixture(scope="module")
def env(temporal_dev, database, queue):
    return {**os.environ, "ROLLOUT_TEMPORAL_ADDRESS": temporal_dev.address,
            "ROLLOUT_DATABASE_URL": database[1], "ROLLOUT_TASK_QUEUE": queue, "COLUMNS": "200"}


async def rollout(env: dict, *args: str) -> subprocess.CompletedProcess:
    """The installed program, in a thread so this process's worker keeps working meanwhile."""
    return await asyncio.to_thread(subprocess.run, [ROLLOUT, *args], env=env, capture_output=True,
                                   text=True, timeout=120, cwd=ROOT)


def one_line_error(done: subprocess.CompletedProcess, code: int) -> str:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


async def board(client, initiative_id: str):
    handle = client.get_workflow_handle(initiative_workflow_id(initiative_id))
    return await handle.query(InitiativeWorkflow.status)


async def until(client, initiative_id: str, holds, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while True:
        status = await board(client, initiative_id)
        if holds(status) or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.2)


def all_sites(status, state: str) -> bool:
    return len(status.sites) == status.total_sites and all(
        p.status == state for p in status.sites.values())


@pytest_asyncio.fixture(scope="module")
async def launched(env, client):
    initiative_id = f"ops-{uuid.uuid4().hex[:6]}"
    done = await rollout(env, "start", SMALL, "--initiative-id", initiative_id, "--speedup", "10",
                         "--as", OPERATOR)
    return initiative_id, done


async def test_start_validates_and_launches_the_plan(launched, client, queue):
    initiative_id, done = launched
    assert done.returncode == 0, done.stderr
    assert f"Started initiative {initiative_id} (5 sites, 1 cohort(s)) as {OPERATOR}." in done.stdout
    assert f"Workflow initiative:{initiative_id} on task queue '{queue}'" in done.stdout
    assert "school time ×10" in done.stdout
    description = await client.get_workflow_handle(initiative_workflow_id(initiative_id)).describe()
    assert description.task_queue == queue
    status = await until(client, initiative_id, lambda s: all_sites(s, "active"))
    assert all_sites(status, "active"), status


async def test_status_lists_the_initiative_and_draws_its_board(launched, env, client):
    initiative_id, _ = launched
    await until(client, initiative_id, lambda s: all_sites(s, "active"))
    listing = await rollout(env, "status")
    assert listing.returncode == 0, listing.stderr
    assert any(initiative_id in line and "Running" in line for line in listing.stdout.splitlines())
    runs = json.loads((await rollout(env, "status", "--json")).stdout)
    assert {"initiative_id": initiative_id, "workflow_status": "Running"}.items() <= \
        next(r for r in runs if r["initiative_id"] == initiative_id).items()

    drawn = await rollout(env, "status", initiative_id)
    assert drawn.returncode == 0, drawn.stderr
    assert f"Initiative {initiative_id}: active" in drawn.stdout
    assert "Sites per stage by cohort" in drawn.stdout and "Sites per stage by region" in drawn.stdout
    header = next(line for line in drawn.stdout.splitlines() if "Cohort" in line).split()
    cohort_row = next(line for line in drawn.stdout.splitlines() if line.startswith(" cohort-1")).split()
    assert dict(zip(header, cohort_row)) == {
        "Cohort": "cohort-1", "Waiting": "-", "Expl": "5", "Inst": "-", "Init": "-", "Full": "-",
        "Done": "-", "Paused": "-", "Cancelled": "-", "Sites": "5"}
    assert "Sites: 5 in the plan; 0 not started, 5 active, 0 paused, 0 completed, 0 cancelled." \
        in drawn.stdout
    report = json.loads((await rollout(env, "status", initiative_id, "--json")).stdout)
    assert report["status"]["total_sites"] == 5 and report["status"]["by_stage"] == {"Exploration": 5}
    assert report["site_counts"]["active"] == 5 and report["controls"] == []


async def test_pause_resume_and_cancel_are_recorded_with_reasons(launched, env, client, database):
    initiative_id, _ = launched
    pool, _ = database
    steps = [("pause", "Budget review before the spring term", "paused"),
             ("resume", "Budget approved by the board", "active"),
             ("cancel", "The state withdrew the initiative's funding", "cancelled")]
    for action, reason, state in steps:
        done = await rollout(env, action, initiative_id, "--reason", reason, "--as", OPERATOR)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"{ops.PAST_TENSE[action].capitalize()} initiative "
                                      f"{initiative_id} as {OPERATOR}: {reason}")
        status = await until(client, initiative_id, lambda s: all_sites(s, state))
        assert all_sites(status, state), (action, status)

    report = json.loads((await rollout(env, "status", initiative_id, "--json")).stdout)
    assert [(c["action"], c["scope"], c["actor_id"], c["reason"]) for c in report["controls"]] == \
        [(action, "initiative", OPERATOR, reason) for action, reason, _ in steps]
    assert report["status"]["status"] == "cancelled" and report["site_counts"]["cancelled"] == 5
    drawn = await rollout(env, "status", initiative_id)
    for _, reason, _ in steps:
        assert reason in drawn.stdout

    recorded = await pool.fetch(
        "SELECT type, actor ->> 'id' AS actor, actor ->> 'role' AS role, "
        "coalesce(payload ->> 'reason', payload ->> 'note') AS reason FROM events "
        "WHERE stream_id = $1 AND type LIKE 'Rollout%' ORDER BY position", f"initiative/{initiative_id}")
    assert [tuple(r.values()) for r in recorded] == [
        ("RolloutPaused", OPERATOR, "state_admin", steps[0][1]),
        ("RolloutResumed", OPERATOR, "state_admin", steps[1][1]),
        ("RolloutCancelled", OPERATOR, "state_admin", steps[2][1])]
    per_site = await pool.fetchval(
        "SELECT count(DISTINCT stream_id) FROM events WHERE starts_with(stream_id, $1) "
        "AND type = 'RolloutCancelled' AND payload ->> 'reason' = $2",
        f"site-rollout/{initiative_id}/", steps[2][1])
    assert per_site == 5, "every site recorded the cancellation with its reason"


async def test_one_site_is_paused_and_resumed_on_its_own(env, client):
    initiative_id = f"ops-site-{uuid.uuid4().hex[:6]}"
    started = await rollout(env, "start", SMALL, "--initiative-id", initiative_id, "--json")
    assert json.loads(started.stdout)["workflow_id"] == initiative_workflow_id(initiative_id)
    await until(client, initiative_id, lambda s: all_sites(s, "active"))
    paused = await rollout(env, "pause", initiative_id, "--site", SITE, "--reason", "District strike",
                           "--as", OPERATOR)
    assert paused.returncode == 0, paused.stderr
    assert f"Paused site {SITE} of initiative {initiative_id}" in paused.stdout
    status = await until(client, initiative_id, lambda s: s.sites[SITE].status == "paused")
    assert sorted(p.status for p in status.sites.values()) == ["active"] * 4 + ["paused"]
    again = await rollout(env, "pause", initiative_id, "--site", SITE, "--reason", "District strike",
                          "--as", OPERATOR)
    assert "is paused already; nothing was recorded" in again.stdout
    resumed = await rollout(env, "resume", initiative_id, "--site", SITE, "--reason", "Strike over",
                            "--as", OPERATOR, "--json")
    assert json.loads(resumed.stdout)["changed"] is True
    report = json.loads((await rollout(env, "status", initiative_id, "--json")).stdout)
    assert [(c["action"], c["scope"], c["reason"]) for c in report["controls"]] == \
        [("pause", SITE, "District strike"), ("resume", SITE, "Strike over")]
    await ops.control(client, initiative_id, ControlRequest(actor=STATE, action="cancel", reason="test over"))


async def test_a_refused_update_is_the_workflows_own_sentence(client, queue):
    """The CLI always acts as a state admin, so the refusal is provoked through the service call
    it makes, with a coordinator: the validator's own sentence comes back, with exit code 1."""
    initiative_id = f"ops-refused-{uuid.uuid4().hex[:6]}"
    plan = parse_plan(Path(SMALL).read_text())
    plan = plan.model_copy(update={"initiative": plan.initiative.model_copy(update={"id": initiative_id})})
    await ops.launch_initiative(client, plan, STATE, task_queue=queue, speedup=1)
    await until(client, initiative_id, lambda s: all_sites(s, "active"))
    coordinator = Actor(id="pat.coordinator", role=Role.DISTRICT_COORDINATOR, district=SITE)
    with pytest.raises(ops.OperationError) as refused:
        await ops.control(client, initiative_id, ControlRequest(
            actor=coordinator, action="pause", reason="not mine to pause"))
    assert (refused.value.message, refused.value.code) == (
        "Only a state admin may pause a rollout; pat.coordinator is a district_coordinator.", 1)
    assert (await board(client, initiative_id)).status == "active"
    await ops.control(client, initiative_id, ControlRequest(actor=STATE, action="cancel", reason="test over"))


async def test_starting_the_same_initiative_twice_is_one_line(launched, env):
    initiative_id, _ = launched
    from_store = one_line_error(await rollout(env, "start", SMALL, "--initiative-id", initiative_id), 1)
    assert from_store == (f"Initiative '{initiative_id}' has already been started (the event store "
                          "holds its record); give this run another id with --initiative-id.")
    temporal_only = one_line_error(await rollout(
        {**env, "ROLLOUT_DATABASE_URL": ""}, "start", SMALL, "--initiative-id", initiative_id), 1)
    assert temporal_only.startswith(f"Initiative '{initiative_id}' has already been started "
                                    f"(workflow initiative:{initiative_id} is ")


async def test_unknown_initiatives_and_unreachable_temporal_are_one_line(env, temporal_dev):
    unknown = f"nope-{uuid.uuid4().hex[:6]}"
    expected = f"There is no initiative '{unknown}' on Temporal at {temporal_dev.address}."
    assert one_line_error(await rollout(env, "status", unknown), 1) == expected
    assert one_line_error(await rollout(env, "pause", unknown, "--reason", "r", "--as", OPERATOR),
                          1) == expected
    nowhere = f"127.0.0.1:{free_port()}"
    assert one_line_error(await rollout({**env, "ROLLOUT_TEMPORAL_ADDRESS": nowhere}, "status"), 2) == \
        f"Cannot reach Temporal at {nowhere}; is `rollout up` running?"


def test_bad_input_is_refused_before_anything_starts(tmp_path):
    """Refused before any server is asked (so in-process); the program's own path is the same."""
    def error(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        [line] = [line for line in result.output.splitlines() if line.strip()]
        return line

    assert error("start", SMALL, "--initiative-id", "Not An Id").startswith(
        "Invalid --initiative-id 'Not An Id': 'Not An Id' is not a valid id")
    assert error("pause", "x", "--reason", " ", "--as", OPERATOR) == \
        "--reason must say why: it is recorded with the decision."
    assert error("start", str(tmp_path / "missing.yaml")) == \
        f"Cannot read plan file '{tmp_path / 'missing.yaml'}': no such file."


async def test_an_invalid_plan_lists_its_problems_and_starts_nothing(env, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(Path(SMALL).read_text().replace("id: k3-structured-literacy", "id: K3 Literacy"))
    invalid = await rollout(env, "start", str(broken))
    assert invalid.returncode == 2 and "Traceback" not in invalid.stderr and not invalid.stdout
    assert "1 problem in the plan" in invalid.stderr and "initiative.id" in invalid.stderr


# --- rollout up ---------------------------------------------------------------------------------

def children_of(pid: int) -> set[int]:
    """Every descendant of `pid`, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def answers(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status


async def test_up_runs_the_stack_and_ctrl_c_stops_all_of_it():
    data_dir = Path(tempfile.mkdtemp(prefix="rollout-up-", dir="/tmp"))
    os.chmod(data_dir, 0o755)  # the postgres user must reach its data directory inside
    ports = {"--temporal-port": free_port(), "--ui-port": free_port(), "--api-port": free_port()}
    argv = [ROLLOUT, "up", "--workers", "2", "--data-dir", str(data_dir),
            *[str(x) for pair in ports.items() for x in pair]]
    log = data_dir / "up.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLOUT_")}
    with log.open("w") as out:
        up = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                              env={**env, "COLUMNS": "200"}, start_new_session=True)
    try:
        stack_file = data_dir / "stack.json"
        deadline = time.monotonic() + 120
        while not stack_file.exists():
            assert up.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.3)
        stack = json.loads(stack_file.read_text())
        printed = log.read_text()
        assert stack["web_ui"] in printed and stack["temporal_address"] in printed

        assert answers(stack["web_ui"]) == 200
        assert len(stack["worker_pids"]) == 2 and all(running(p) for p in stack["worker_pids"])
        for pid in stack["worker_pids"]:
            assert "worker" in Path(f"/proc/{pid}/cmdline").read_text()
        client = await connect(stack["temporal_address"])
        pollers = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace="default", task_queue=TaskQueue(name=stack["task_queue"]),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
        assert {p.identity.split("@")[0] for p in pollers.pollers} >= set(map(str, stack["worker_pids"]))
        if api_available():
            assert stack["api_url"] and answers(stack["api_url"] + "/health") == 200
            assert f"{stack['api_url']}/docs" in printed
        else:
            assert stack["api_url"] is None and "API not available" in printed
        sink = re.search(r"Mail sink 127\.0\.0\.1:(\d+)", printed)
        assert sink, printed
        with smtplib.SMTP("127.0.0.1", int(sink.group(1)), timeout=10) as smtp:
            assert smtp.noop()[0] == 250, "the local mail sink answers SMTP"
        for pid in stack["worker_pids"]:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert f"ROLLOUT_SMTP_PORT={sink.group(1)}".encode() in environ, "workers mail to it"
        postmaster = int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
        assert running(postmaster)
        children = children_of(up.pid)
        assert set(stack["worker_pids"]) <= children and len(children) >= 3

        up.send_signal(signal.SIGINT)
        assert await asyncio.to_thread(up.wait, 90) == 0, log.read_text()
        assert "Stopped." in log.read_text()
        assert not [pid for pid in children | {postmaster} if running(pid)], "orphans left behind"
        assert not stack_file.exists()
    finally:
        if up.poll() is None:  # the test failed halfway: stop the stack as an operator would
            up.send_signal(signal.SIGTERM)
            try:
                up.wait(timeout=90)
            except subprocess.TimeoutExpired:
                up.kill()
                up.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
