"""Child processes that a foreground supervisor (`rollout up`) owns and stops in order.

Each child runs in its own session, so a Ctrl-C in the terminal reaches only the supervisor,
which then stops the children one layer at a time (API, workers, then the servers they use).
On Linux each child also asks the kernel for SIGTERM should the supervisor die without cleaning
up (PR_SET_PDEATHSIG), so even a killed supervisor leaves no workers behind.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child between fork and exec."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(argv: list[str], *, env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start `argv` with its output appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=_die_with_parent)


def stop_all(processes: list[subprocess.Popen], *, grace: float) -> None:
    """SIGTERM to every process at once (they shut down in parallel), SIGKILL after `grace` s."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def last_line(log: Path) -> str:
    """The last non-empty line a child wrote: usually why it stopped."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


@contextmanager
def worker_processes(count: int, *, address: str, database_url: str, task_queue: str,
                     log_dir: Path, grace: float = 20.0) -> Iterator[list[subprocess.Popen]]:
    """`count` extra `python -m worker` processes on one task queue, stopped (gracefully, then
    killed after `grace` s) when the block ends."""
    env = {**os.environ, "ROLLOUT_TEMPORAL_ADDRESS": address, "ROLLOUT_DATABASE_URL": database_url,
           "ROLLOUT_TASK_QUEUE": task_queue, "PYTHONUNBUFFERED": "1"}
    root = Path(__file__).resolve().parents[1]
    started = [spawn([sys.executable, "-m", "worker"], env=env,
                     log=log_dir / f"worker-{task_queue}-{n}.log", cwd=root)
               for n in range(1, count + 1)]
    try:
        yield started
    finally:
        stop_all(started, grace=grace)
