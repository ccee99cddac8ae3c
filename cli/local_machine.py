"""The local machine's servers (`rollout up`, `rollout demo`, the demo's database under var/),
found through the `rollout.local_machine` entry point that devstack/ provides.

Looking them up instead of importing devstack/ keeps the CLI above the application layers only;
an installation without devstack/ says so in one line instead of failing on an import.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from types import ModuleType

GROUP, NAME = "rollout", "local_machine"


class NoLocalMachine(RuntimeError):
    """This installation cannot start local servers."""


def local_machine() -> ModuleType:
    """The module of local launchers (devstack.machine)."""
    found = entry_points(group=GROUP, name=NAME)
    if not found:
        raise NoLocalMachine(
            "This installation has no local stack (devstack/ is not installed): give the servers "
            "with --database-url / --temporal-address or ROLLOUT_DATABASE_URL / ROLLOUT_TEMPORAL_ADDRESS.")
    return next(iter(found)).load()
