"""What this checkout's own machine can run for the `rollout` command: a private PostgreSQL and
Temporal dev server under var/, the whole foreground stack of `rollout up`, extra worker
processes beside the demo, and the local mail sink (with what it received).

The CLI reaches it through the entry point `rollout.local_machine` (pyproject.toml), never by
importing devstack/: the application image runs against a real cluster and has no use for it.
"""

from devstack.children import worker_processes
from devstack.foreground_stack import ForegroundStack, StackError, StackOptions
from devstack.local_stack import local_database, local_temporal
from devstack.mail_sink import MailSink, mailbox

__all__ = ["ForegroundStack", "MailSink", "StackError", "StackOptions", "local_database",
           "local_temporal", "mailbox", "worker_processes"]
