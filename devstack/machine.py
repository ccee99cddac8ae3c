"""What this checkout's own machine can run for the `rollout` command: a private PostgreSQL and
Temporal dev server under var/, the whole foreground stack of `rollout up`, and extra worker
processes beside the demo.

The CLI reaches it through the entry point `rollout.local_machine` (pyproject.toml), never by
importing devstack/: the application image runs against a real cluster and has no use for it.
"""

from devstack.children import worker_processes
from devstack.foreground_stack import ForegroundStack, StackError, StackOptions
from devstack.local_stack import local_database, local_temporal

__all__ = ["ForegroundStack", "StackError", "StackOptions", "local_database", "local_temporal",
           "worker_processes"]
