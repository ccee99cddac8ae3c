"""`rollout up` heals: the installed program runs the whole stack, a light rollout of five sites
is started with `rollout start` and answered by simulated districts, and one worker is killed
with SIGKILL mid-rollout, then killed again soon after `up` started it again. `up` restarts it
both times (after 1 s, then 2 s: its backoff), the stack file names the running workers, the API
answers `/health` throughout, and every site completes. Then the API itself is killed and comes
back on its port. Losing Temporal, which holds the state, still stops everything in one line.

The moment of the first kill is drawn at random (the share of the rollout walked by then);
ROLLOUT_FAULT_SEED replays a run."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from devstack.ports import free_port
from runtime.temporal import connect
from simulation.playthrough import all_finished, simulate
from store.db import connect as connect_db
from tests.faults.driving import Progress, drive
from tests.faults.light_plan import light_plan
from workflows.ids import initiative_workflow_id
from workflows.initiative import InitiativeWorkflow

pytestmark = [pytest.mark.postgres, pytest.mark.temporal, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
ROLLOUT = str(Path(sys.executable).parent / "rollout")
SITES = 5
SPEEDUP = 21_600.0
"""Six school hours a second: the light plan's five sites take 15 to 40 seconds here, long enough
to kill a worker twice mid-rollout, short enough to run ten times."""
FIRST_KILL_AT = (0.05, 0.35)
"""The first kill comes once this share of the rollout's stage moves is made (drawn per run)."""
SECOND_KILL_AFTER_S = (0.3, 2.5)
"""The second kill comes this long after the first restart: within the first minute of the new
process, so the pause before its restart doubles."""


def process_state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def running(pid: int) -> bool:
    return process_state(pid) not in (None, "Z")


def descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@dataclass
class Up:
    """The `rollout up` under test, its data directory and what it printed."""

    process: subprocess.Popen
    data_dir: Path
    out: Path

    @property
    def printed(self) -> str:
        return self.out.read_text(errors="replace")

    def stack(self) -> dict:
        """The stack file as it is now (it is replaced whole on every write)."""
        return json.loads((self.data_dir / "stack.json").read_text())

    def supervision_log(self) -> list[dict]:
        path = self.data_dir / "logs" / "up.log"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def env(self) -> dict[str, str]:
        """What another shell needs to use this stack (its data directory is not var/)."""
        stack = self.stack()
        return {**os.environ, "ROLLOUT_TEMPORAL_ADDRESS": stack["temporal_address"],
                "ROLLOUT_TASK_QUEUE": stack["task_queue"], "ROLLOUT_DATABASE_URL": stack["database_url"],
                "COLUMNS": "200"}


@asynccontextmanager
async def rollout_up(workers: int = 2):
    data_dir = Path(tempfile.mkdtemp(prefix="rollout-heal-", dir="/tmp"))
    os.chmod(data_dir, 0o755)  # the postgres user must reach its data directory inside
    argv = [ROLLOUT, "up", "--workers", str(workers), "--data-dir", str(data_dir),
            "--temporal-port", str(free_port()), "--ui-port", str(free_port()),
            "--api-port", str(free_port())]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLOUT_")}
    out = data_dir / "up.out"
    with out.open("w") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT,
                                   env={**env, "COLUMNS": "200"}, start_new_session=True)
    up = Up(process, data_dir, out)
    try:
        deadline = time.monotonic() + 180
        while not (data_dir / "stack.json").exists():
            assert process.poll() is None, up.printed
            assert time.monotonic() < deadline, up.printed
            await asyncio.sleep(0.3)
        yield up
    finally:
        if process.poll() is None:  # the test failed halfway: stop the stack as an operator would
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, 120)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


async def stop_cleanly(up: Up) -> None:
    """Ctrl-C: exit 0, and nothing `up` started is left running (PostgreSQL included)."""
    postmaster = int((up.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
    children = descendants(up.process.pid)
    up.process.send_signal(signal.SIGINT)
    assert await asyncio.to_thread(up.process.wait, 120) == 0, up.printed
    assert "Stopped." in up.printed
    assert not [pid for pid in children | {postmaster} if running(pid)], "orphans left behind"


@dataclass
class HealthWatch:
    """`/health` asked every quarter second, each answer kept with its moment."""

    url: str
    answers: list[tuple[float, str]] = field(default_factory=list)

    def ask(self) -> str:
        try:
            with urllib.request.urlopen(self.url, timeout=10) as response:
                return str(response.status)
        except urllib.error.HTTPError as error:
            return f"{error.code} {error.read()[:200]!r}"
        except (urllib.error.URLError, OSError) as error:
            return f"no answer: {error}"

    async def run(self) -> None:
        while True:
            self.answers.append((time.monotonic(), await asyncio.to_thread(self.ask)))
            await asyncio.sleep(0.25)

    def failures(self) -> list[tuple[float, str]]:
        return [(t, answer) for t, answer in self.answers if answer != "200"]


def walked(status) -> float:
    """The share of the rollout's stage moves made so far (four per site)."""
    steps = sum(4 if p.status == "completed" else (p.stage.index if p.stage else 0)
                for p in status.sites.values())
    return steps / (4 * status.total_sites)


async def replaced(up: Up, dead: int, within_s: float = 90) -> int:
    """The pid of the worker `up` started in place of `dead`, once the stack file names it."""
    before = set(up.stack()["worker_pids"]) - {dead}
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        new = set(up.stack()["worker_pids"]) - before - {dead}
        if new:
            return new.pop()
        await asyncio.sleep(0.1)
    raise AssertionError(f"worker {dead} was not replaced within {within_s} s:\n{up.printed}")


async def pollers(up: Up) -> set[int]:
    stack = up.stack()
    client = await connect(stack["temporal_address"])
    found = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
        namespace="default", task_queue=TaskQueue(name=stack["task_queue"]),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY))
    return {int(p.identity.split("@")[0]) for p in found.pollers}


async def test_a_killed_worker_is_restarted_by_up_and_the_rollout_completes(tmp_path):
    seed = int(os.environ.get("ROLLOUT_FAULT_SEED", random.randrange(1_000_000)))
    rng = random.Random(seed)
    first_at, second_after = rng.uniform(*FIRST_KILL_AT), rng.uniform(*SECOND_KILL_AFTER_S)
    kills: list[str] = []
    async with rollout_up(workers=2) as up:
        stack = up.stack()
        assert stack["api_url"] and stack["api_pid"] and len(stack["worker_pids"]) == 2
        health = HealthWatch(stack["api_url"] + "/health")
        watching = asyncio.create_task(health.run())
        plan = light_plan(SITES, f"heal-{uuid.uuid4().hex[:6]}")
        plan_file = tmp_path / "light.yaml"
        plan_file.write_text(plan.model_dump_json(indent=2))  # JSON is YAML
        started = await asyncio.to_thread(
            subprocess.run, [ROLLOUT, "start", str(plan_file), "--speedup", f"{SPEEDUP:g}",
                             "--as", "sam.state"], env=up.env(), capture_output=True, text=True,
            timeout=120, cwd=ROOT)
        assert started.returncode == 0, started.stderr
        client = await connect(stack["temporal_address"])
        pool = await connect_db(stack["database_url"], min_size=1, max_size=4)
        progress, t0 = Progress(), time.monotonic()

        async def kill_twice() -> None:
            while progress.last is None or walked(progress.last) < first_at:
                await asyncio.sleep(0.1)
            victim = up.stack()["worker_pids"][0]
            os.kill(victim, signal.SIGKILL)
            kills.append(f"pid {victim} at {time.monotonic() - t0:.1f}s ({walked(progress.last):.0%} walked)")
            successor = await replaced(up, victim)
            await asyncio.sleep(second_after)
            assert not all_finished(progress.last), f"the rollout finished before the second kill {kills}"
            os.kill(successor, signal.SIGKILL)
            kills.append(f"pid {successor} {second_after:.1f}s after its start "
                         f"({walked(progress.last):.0%} walked)")
            await replaced(up, successor)

        killing = asyncio.create_task(kill_twice())
        try:
            handle = client.get_workflow_handle_for(InitiativeWorkflow.run,
                                                    initiative_workflow_id(plan.initiative.id))
            await drive(handle, simulate(client, pool, plan), within_s=600, progress=progress,
                        stalled_s=240)
            rolled_s = time.monotonic() - t0
            assert progress.last is not None and all_finished(progress.last), \
                f"seed {seed}, kills {kills}: {progress.summary()}\n{up.printed}"
            await asyncio.wait_for(killing, timeout=120)
            final = await asyncio.wait_for(handle.result(), timeout=60)
        finally:
            killing.cancel()
            watching.cancel()
            await pool.close()

        print(f"\nseed {seed}: rollout {rolled_s:.0f}s, kills {kills}, "
              f"{len(health.answers)} health answers")
        assert len(kills) == 2, (seed, kills, progress.summary())
        assert final.completed_sites == SITES and \
            {p.status for p in progress.last.sites.values()} == {"completed"}
        assert health.failures() == [], f"/health failed during the kills: {health.failures()[:5]}"
        assert len(health.answers) > 20

        exits = [line for line in up.supervision_log() if line["event"] == "part_exited"]
        assert [(e["part"], e["restart_in_s"], e["exit_code"]) for e in exits] == [
            ("worker 1", 1.0, -9), ("worker 1", 2.0, -9)], "1 s, then 2 s: the backoff"
        restarted = [line for line in up.supervision_log() if line["event"] == "part_restarted"]
        assert [(r["part"], r["restarts"]) for r in restarted] == [("worker 1", 1), ("worker 1", 2)]
        printed = up.printed
        assert "worker 1 was killed by SIGKILL" in printed and "starting it again in 2 s." in printed
        assert "worker 1 started again: pid" in printed and "(restart 2)" in printed
        now = up.stack()
        assert len(now["worker_pids"]) == 2 and all(running(pid) for pid in now["worker_pids"])
        assert restarted[-1]["pid"] in now["worker_pids"]
        deadline = time.monotonic() + 90  # a worker started last may still be importing
        while not set(now["worker_pids"]) <= await pollers(up):
            assert time.monotonic() < deadline, f"not every worker named is polling: {now}"
            await asyncio.sleep(0.5)

        api_pid = now["api_pid"]
        os.kill(api_pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while not (up.stack()["api_pid"] not in (None, api_pid) and health.ask() == "200"):
            assert time.monotonic() < deadline, up.printed
            await asyncio.sleep(0.2)
        assert "the API was killed by SIGKILL" in up.printed
        assert running(up.stack()["api_pid"]) and up.process.poll() is None
        await stop_cleanly(up)


async def test_temporal_stopping_still_stops_everything_with_one_line():
    async with rollout_up(workers=1) as up:
        temporal = next(pid for pid in descendants(up.process.pid)
                        if "server\x00start-dev" in Path(f"/proc/{pid}/cmdline").read_text())
        postmaster = int((up.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
        children = descendants(up.process.pid)
        os.kill(temporal, signal.SIGKILL)
        assert await asyncio.to_thread(up.process.wait, 120) == 1, up.printed
        assert ("the Temporal dev server was killed by SIGKILL; it holds the stack's state, so "
                "everything stops.") in up.printed
        assert "started again" not in up.printed
        assert not [pid for pid in children | {postmaster} if running(pid)], "orphans left behind"
        assert not (up.data_dir / "stack.json").exists()


async def test_postgresql_stopping_still_stops_everything_with_one_line():
    async with rollout_up(workers=1) as up:
        postmaster = int((up.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
        children = descendants(up.process.pid)
        os.kill(postmaster, signal.SIGKILL)
        assert await asyncio.to_thread(up.process.wait, 120) == 1, up.printed
        assert (f"PostgreSQL (pid {postmaster}) stopped (see {up.data_dir / 'postgres' / 'server.log'}); "
                "it holds the stack's state, so everything stops.") in up.printed
        assert "started again" not in up.printed
        assert not [pid for pid in children if running(pid)], "orphans left behind"
        assert not (up.data_dir / "stack.json").exists()
