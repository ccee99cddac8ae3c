"""A worker that cannot reach its servers says so in one line and exits 1, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _start_worker(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "worker"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})


def test_an_unreachable_temporal_is_one_line_and_exit_1():
    result = _start_worker(ROLLOUT_TEMPORAL_ADDRESS="127.0.0.1:9",
                           ROLLOUT_DATABASE_URL="postgresql://rollout:hunter2@127.0.0.1:9/rollout")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "Fatal Python error" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("worker: cannot reach Temporal at 127.0.0.1:9:")


def test_an_unreachable_database_is_one_line_without_the_password(temporal_dev):
    result = _start_worker(ROLLOUT_TEMPORAL_ADDRESS=temporal_dev.address,
                           ROLLOUT_DATABASE_URL="postgresql://rollout:hunter2@127.0.0.1:9/rollout")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr + result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith(
        "worker: cannot reach PostgreSQL at postgresql://rollout:***@127.0.0.1:9/rollout:")
