"""CPU seconds spent by a process (and, for a server, its children), from /proc.

Wall-clock throughput on a shared 2-core machine moves with whatever else runs; the CPU a
rollout costs each process moves much less, so the benchmark reports both.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _fields(pid: int) -> list[str]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process itself; 0 if it is gone."""
    try:
        f = _fields(pid)
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / _TICKS


def tree_cpu_seconds(pid: int) -> float:
    """The process, its live children and the children it has reaped (PostgreSQL backends)."""
    try:
        f = _fields(pid)
    except OSError:
        return 0.0
    total = (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / _TICKS
    for child in _children(pid):
        total += cpu_seconds(child)
    return total


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_fields(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split()[0])
