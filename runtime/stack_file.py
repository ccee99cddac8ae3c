"""Where a running `rollout up` says what it started, so other commands find it without flags.

`rollout up` writes `<data dir>/stack.json` once everything answers, writes it again whenever it
restarts a worker or the API (so the pids it names are the ones running), and removes it when it
stops. Each write replaces the file whole, so a reader never sees half of one. A file left by a
supervisor that no longer runs (killed with SIGKILL) is ignored. The file may hold the event
store's DSN, so only its owner can read it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError


ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
"""The checkout's data directory: the local stack's databases, logs and this file."""
FILE_NAME = "stack.json"
TEMPORAL_PORT, UI_PORT, API_PORT = 7233, 8233, 8000
"""`rollout up`'s ports unless told otherwise: Temporal's and its Web UI's usual ones, so the
`temporal` CLI and the other commands find the local stack without flags."""
LOCAL_TEMPORAL = f"127.0.0.1:{TEMPORAL_PORT}"


class RunningStack(BaseModel):
    model_config = ConfigDict(frozen=True)

    pid: int
    temporal_address: str
    namespace: str
    task_queue: str
    web_ui: str
    database_url: str
    api_url: str | None = None
    worker_pids: list[int] = []
    """The worker processes running now (one that died is left out until it is started again)."""
    api_pid: int | None = None


def stack_file(data_dir: Path = VAR) -> Path:
    return data_dir / FILE_NAME


def write_stack(stack: RunningStack, data_dir: Path) -> Path:
    """Write the file beside its place, then rename it over the old one (atomic on POSIX)."""
    path = stack_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, written = tempfile.mkstemp(prefix=f".{FILE_NAME}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(stack.model_dump_json(indent=2))
        os.replace(written, path)
    except BaseException:
        Path(written).unlink(missing_ok=True)
        raise
    return path


def running_stack(data_dir: Path = VAR) -> RunningStack | None:
    """The stack `rollout up` is running from `data_dir`, or None."""
    try:
        stack = RunningStack.model_validate_json(stack_file(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValidationError):
        return None
    return stack if alive(stack.pid) else None


def remove_stack(data_dir: Path) -> None:
    stack_file(data_dir).unlink(missing_ok=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
