"""`rollout up`'s supervisor on a clock of the test's own: a dead worker is started again after
a pause that doubles while it keeps dying and starts afresh once it ran a minute; each exit and
restart is a structlog JSON line; a state holder stopping is the one thing that stops everything.
The real stack under kill -9 is tests/cli/test_up_heals.py."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from devstack.supervision import Backoff, StateLost, Supervisor


def test_the_pause_doubles_to_a_minute_and_starts_afresh_after_a_healthy_run():
    backoff = Backoff()
    assert [backoff.delay(ran_s=2.0) for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.delay(ran_s=60.0) == 1, "a minute's run was healthy"
    assert backoff.delay(ran_s=59.0) == 2


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeChild:
    """A process as the supervisor sees it: it may die (`code`) and be started again."""

    name: str
    clock: Clock
    pid: int = 100
    code: int | None = None
    started_at: float = 0.0

    def exit_code(self) -> int | None:
        return self.code

    def exited(self) -> str:
        return f"{self.name} was killed by SIGKILL (see worker-1.log)."

    def respawn(self) -> None:
        self.pid, self.code, self.started_at = self.pid + 1, None, self.clock.now


def supervised(tmp_path, children, holders=()):
    clock = Clock()
    for child in children:
        child.clock, child.started_at = clock, clock.now
    return clock, Supervisor(lambda: children, lambda: list(holders), tmp_path, clock=clock)


def test_a_dead_worker_is_started_again_after_its_pause_and_the_others_are_left_alone(tmp_path):
    worker, other = FakeChild("worker 1", None), FakeChild("worker 2", None, pid=200)
    clock, supervisor = supervised(tmp_path, [worker, other])
    assert supervisor.tend() == []

    clock.now += 30
    worker.code = -9
    [died] = supervisor.tend()
    assert (died.line, died.healed) == (
        "worker 1 was killed by SIGKILL (see worker-1.log); starting it again in 1 s.", False)
    clock.now += 0.5
    assert supervisor.tend() == [] and worker.pid == 100, "not before its pause is over"
    clock.now += 0.5
    [restarted] = supervisor.tend()
    assert (restarted.line, restarted.healed) == ("worker 1 started again: pid 101 (restart 1).", True)

    clock.now += 3  # killed again soon after its restart: the pause doubles
    worker.code = -9
    assert supervisor.tend()[0].line.endswith("starting it again in 2 s.")
    clock.now += 1.9
    assert supervisor.tend() == []
    clock.now += 0.1
    assert supervisor.tend()[0].line == "worker 1 started again: pid 102 (restart 2)."

    clock.now += 120  # a healthy run: the next death waits a second again
    worker.code = 1
    assert supervisor.tend()[0].line.endswith("starting it again in 1 s.")
    assert other.pid == 200 and other.code is None
    supervisor.close()

    lines = [json.loads(line) for line in (tmp_path / "up.log").read_text().splitlines()]
    assert [(line["event"], line.get("restart_in_s"), line.get("pid")) for line in lines] == [
        ("stack_up", None, None), ("part_exited", 1.0, 100), ("part_restarted", None, 101),
        ("part_exited", 2.0, 101), ("part_restarted", None, 102), ("part_exited", 1.0, 102),
        ("stack_stopping", None, None)]
    assert lines[0]["pids"] == {"worker 1": 100, "worker 2": 200}
    assert lines[1]["level"] == "warning" and lines[1]["part"] == "worker 1" and "timestamp" in lines[1]
    assert lines[3]["ran_s"] == 3.0 and lines[3]["exit_code"] == -9


def test_a_state_holder_stopping_stops_everything_with_one_sentence(tmp_path):
    stopped = {"why": None}
    clock, supervisor = supervised(tmp_path, [FakeChild("worker 1", None)],
                                   [("Temporal", lambda: stopped["why"])])
    assert supervisor.tend() == []
    stopped["why"] = "the Temporal dev server was killed by SIGKILL"
    with pytest.raises(StateLost) as lost:
        supervisor.tend()
    assert str(lost.value) == ("the Temporal dev server was killed by SIGKILL; it holds the "
                               "stack's state, so everything stops.")
    supervisor.close()
    assert '"event": "state_lost"' in (tmp_path / "up.log").read_text()
