"""The worker as the operator runs it, `python worker.py` in a process of its own, so a test can
kill it with SIGKILL (no clean-up, no graceful shutdown) and start another."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    def __init__(self, address: str, dsn: str, queue: str, log: Path,
                 settings: dict[str, str] | None = None) -> None:
        """`settings`: more ROLLOUT_* variables for this process (a small workflow cache, ...)."""
        env = {**os.environ, "ROLLOUT_TEMPORAL_ADDRESS": address, "ROLLOUT_DATABASE_URL": dsn,
               "ROLLOUT_TASK_QUEUE": queue, "ROLLOUT_LOG_LEVEL": "INFO", **(settings or {})}
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=env,
                                            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """kill -9 the worker and anything it started."""
        if self.alive:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM: the worker finishes its running activities and exits."""
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


class ApiProcess:
    """The HTTP API as deployed: `uvicorn --factory api.app:create_app` in a process of its own."""

    def __init__(self, address: str, dsn: str, port: int, log: Path) -> None:
        env = {**os.environ, "ROLLOUT_TEMPORAL_ADDRESS": address, "ROLLOUT_DATABASE_URL": dsn,
               "ROLLOUT_LOG_LEVEL": "WARNING"}
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app",
                 "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> int:
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()
