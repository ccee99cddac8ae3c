"""Which stack an operator command talks to, and how it runs and fails.

Each setting comes from its flag, else its ROLLOUT_* variable, else the `rollout up` running from
var/ (its stack.json), else `rollout up`'s defaults. Failures are one red line and an exit code,
never a traceback; on a terminal, waits show a spinner.
"""

from __future__ import annotations

import asyncio
import os
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Awaitable, Iterator, TypeVar

import typer
from rich.console import Console

from cli.database import UNAVAILABLE, fail
from runtime.settings import ENV_PREFIX, load_settings
from runtime.stack_file import LOCAL_TEMPORAL, RunningStack, running_stack
from rollouts.operations import OperationError

T = TypeVar("T")

TEMPORAL_ADDRESS = typer.Option(
    None, "--temporal-address", metavar="HOST:PORT",
    help=f"Temporal frontend (default: ${ENV_PREFIX}TEMPORAL_ADDRESS, else the running `rollout up`, "
         f"else {LOCAL_TEMPORAL}).")
TASK_QUEUE = typer.Option(
    None, "--task-queue", metavar="NAME",
    help=f"Task queue the workers poll (default: ${ENV_PREFIX}TASK_QUEUE, else the running "
         "`rollout up`'s, else 'rollouts').")
DATABASE_URL = typer.Option(
    None, "--database-url", metavar="URL",
    help=f"PostgreSQL DSN of the event store (default: ${ENV_PREFIX}DATABASE_URL, else the running "
         "`rollout up`'s).")
JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")


@dataclass(frozen=True)
class Target:
    temporal_address: str
    namespace: str
    task_queue: str
    database_url: str | None
    web_ui: str | None

    def workflow_link(self, workflow_id: str) -> str | None:
        if not self.web_ui:
            return None
        return f"{self.web_ui}/namespaces/{self.namespace}/workflows/{workflow_id}"


def target(temporal_address: str | None = None, database_url: str | None = None,
           task_queue: str | None = None) -> Target:
    try:
        settings = load_settings()
    except ValueError as problem:
        fail(f"Invalid {ENV_PREFIX}* settings: {problem}", UNAVAILABLE)
    stack: RunningStack | None = running_stack()
    from_env = {name: os.environ.get(ENV_PREFIX + name.upper(), "").strip()
                for name in ("temporal_address", "task_queue")}
    return Target(
        temporal_address=temporal_address or from_env["temporal_address"]
        or (stack.temporal_address if stack else LOCAL_TEMPORAL),
        namespace=settings.temporal_namespace,
        task_queue=task_queue or from_env["task_queue"] or (stack.task_queue if stack else settings.task_queue),
        database_url=database_url or settings.database_url or (stack.database_url if stack else None),
        web_ui=stack.web_ui if stack else None)


def run(work: Awaitable[T]) -> T:
    """Run the command's async work; an OperationError ends the command with its one line."""
    try:
        return asyncio.run(work)
    except OperationError as problem:
        fail(problem.message, problem.code)


@contextmanager
def waiting(message: str) -> Iterator[None]:
    """A spinner on stderr while something slow happens, when stderr is a terminal."""
    console = Console(stderr=True)
    with console.status(message) if console.is_terminal else nullcontext():
        yield
