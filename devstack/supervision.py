"""Keeping `rollout up` running: a worker or the API that dies is started again; PostgreSQL or
the Temporal dev server dying stops everything.

Workers and the API keep no state of their own. Temporal hands a dead worker's workflow and
activity tasks to the workers still polling (or to its successor) once their timeouts pass, and
the API is a front over Temporal and PostgreSQL. So a dead one is healed by starting it again
while the rest keeps serving: the API answers while a worker restarts. Temporal and PostgreSQL
hold the state (the histories, the event store); without either the stack cannot go on, so the
supervisor names which one stopped and everything is stopped in order.

A restart waits its `Backoff`: 1 s after a first death, doubling up to 60 s while the process
keeps dying within a minute of starting, back to 1 s once it has run a minute. Every exit and
restart is a structlog JSON line in `<data dir>/logs/up.log` and a `Happening` the command prints.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, TextIO

import structlog

LOG_NAME = "up.log"


@dataclass
class Backoff:
    """How long to wait before starting again a process that died."""

    first_s: float = 1.0
    most_s: float = 60.0
    steady_s: float = 60.0
    """A run at least this long counts as healthy: its death starts the doubling afresh."""
    _next_s: float | None = None

    def delay(self, ran_s: float) -> float:
        """The pause before the next start of a process that ran `ran_s` seconds and died."""
        if self._next_s is None or ran_s >= self.steady_s:
            self._next_s = self.first_s
        delay, self._next_s = self._next_s, min(self.most_s, self._next_s * 2)
        return delay


class Restartable(Protocol):
    """A child process the supervisor may start again (devstack.foreground_stack.Child)."""

    name: str
    started_at: float

    @property
    def pid(self) -> int: ...

    def exit_code(self) -> int | None: ...

    def exited(self) -> str: ...

    def respawn(self) -> None: ...


class StateLost(RuntimeError):
    """PostgreSQL or Temporal stopped: one sentence saying which, ending in what happens now."""


@dataclass(frozen=True)
class Happening:
    """One thing the supervisor saw or did, told on the terminal in `line`."""

    line: str
    healed: bool
    """True: a process was started again; False: one died and waits for its restart."""


@dataclass
class _Watch:
    backoff: Backoff = field(default_factory=Backoff)
    restart_at: float | None = None
    restarts: int = 0


class Supervisor:
    """One `tend()` per poll: restarts the dead restartable children when their pause is over,
    raises `StateLost` when a state holder stopped."""

    def __init__(self, restartable: Callable[[], list[Restartable]],
                 state_holders: Callable[[], list[tuple[str, Callable[[], str | None]]]],
                 log_dir: Path, *, clock: Callable[[], float] = time.monotonic,
                 backoff: Callable[[], Backoff] = Backoff) -> None:
        """`restartable`: the workers and the API as they are now. `state_holders`: each a name
        and a check that answers why it stopped (None while it runs)."""
        self._restartable = restartable
        self._state_holders = state_holders
        self._clock = clock
        self._backoff = backoff
        self._watches: dict[str, _Watch] = {}
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / LOG_NAME
        self._log_file: TextIO = self.log_path.open("a", encoding="utf-8")
        self.log = structlog.wrap_logger(
            structlog.WriteLogger(self._log_file), wrapper_class=structlog.BoundLogger,
            processors=[structlog.processors.add_log_level,
                        structlog.processors.TimeStamper(fmt="iso", utc=True),
                        structlog.processors.JSONRenderer()],
            logger_name="rollout.up")
        self.log.info("stack_up", pids={c.name: c.pid for c in restartable()}, supervisor=os.getpid())

    def tend(self) -> list[Happening]:
        for name, stopped in self._state_holders():
            if (why := stopped()) is not None:
                self.log.error("state_lost", part=name, why=why)
                raise StateLost(f"{why}; it holds the stack's state, so everything stops.")
        news = []
        for child in self._restartable():
            watch = self._watches.setdefault(child.name, _Watch(self._backoff()))
            if watch.restart_at is None and child.exit_code() is not None:
                news.append(self._died(child, watch))
            elif watch.restart_at is not None and self._clock() >= watch.restart_at:
                news.append(self._restart(child, watch))
        return news

    def _died(self, child: Restartable, watch: _Watch) -> Happening:
        ran_s = self._clock() - child.started_at
        delay = watch.backoff.delay(ran_s)
        watch.restart_at = self._clock() + delay
        self.log.warning("part_exited", part=child.name, pid=child.pid, exit_code=child.exit_code(),
                         ran_s=round(ran_s, 1), restart_in_s=delay, restarts=watch.restarts)
        return Happening(f"{child.exited()[:-1]}; starting it again in {delay:g} s.", healed=False)

    def _restart(self, child: Restartable, watch: _Watch) -> Happening:
        watch.restart_at = None
        watch.restarts += 1
        try:
            child.respawn()
        except OSError as problem:
            delay = watch.backoff.delay(0.0)
            watch.restart_at = self._clock() + delay
            self.log.error("part_restart_failed", part=child.name, error=str(problem),
                           restart_in_s=delay, restarts=watch.restarts)
            return Happening(f"{child.name} could not be started again ({problem}); trying again "
                             f"in {delay:g} s.", healed=False)
        self.log.info("part_restarted", part=child.name, pid=child.pid, restarts=watch.restarts)
        return Happening(f"{child.name} started again: pid {child.pid} (restart {watch.restarts}).",
                         healed=True)

    def close(self) -> None:
        self.log.info("stack_stopping")
        self._log_file.close()


def process_state(pid: int) -> str | None:
    """The kernel's one-letter state of a process ('Z' for a zombie), None when there is none.

    A process we did not start (PostgreSQL's postmaster, daemonized by pg_ctl) may linger as a
    zombie after it died, and a zombie still answers `kill(pid, 0)`: /proc tells them apart."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return "?"
    return "?"
