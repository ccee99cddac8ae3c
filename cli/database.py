"""Which event store a command reads, and how it says it cannot.

`--database-url`, else $ROLLOUT_DATABASE_URL, else the event store of the `rollout up` running
from var/, else the local demo database under var/ (started for the command and stopped after).
Failures are one red line on stderr with the password hidden, and a non-zero exit code; never a
traceback.
"""

from __future__ import annotations

import asyncio
import subprocess
from typing import Awaitable, Callable, NoReturn, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.text import Text

from cli.local_machine import NoLocalMachine, local_machine
from runtime.settings import load_settings, redact_dsn
from runtime.stack_file import running_stack
from store.db import connect

NOT_FOUND, UNAVAILABLE = 1, 2
DEMO_HINT = "run `bash scripts/demo` first"
T = TypeVar("T")

DATABASE_URL = typer.Option(
    None, "--database-url", metavar="URL",
    help="PostgreSQL DSN of the event store (default: $ROLLOUT_DATABASE_URL, else the running "
         "`rollout up`'s, else the local demo database under var/).")


def read(database_url: str | None, fetch: Callable[[asyncpg.Pool], Awaitable[T]]) -> tuple[T, bool]:
    """Run `fetch` against the chosen database; True when that was the local demo database."""
    try:
        url = database_url or load_settings().database_url or _running_stack_url()
    except ValueError as problem:
        fail(f"Invalid ROLLOUT_* settings: {problem}", UNAVAILABLE)
    where = redact(url) if url else "the local demo database (var/postgres)"
    try:
        if url:
            return asyncio.run(with_pool(url, fetch)), False
        with local_database() as dsn:
            return asyncio.run(with_pool(dsn, fetch)), True
    except asyncpg.UndefinedTableError:
        hint = f"; {DEMO_HINT}" if not url else " (its migrations have not been applied)"
        fail(f"There is no event store in {where}{hint}.", UNAVAILABLE)
    except NoLocalMachine as missing:
        fail(str(missing), UNAVAILABLE)
    except (OSError, RuntimeError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError,
            subprocess.CalledProcessError) as problem:
        fail(f"Cannot read the event store at {where}: {str(problem).strip() or type(problem).__name__}",
              UNAVAILABLE)


def local_database():
    """The demo's PostgreSQL under var/, started for the command and stopped after it."""
    return local_machine().local_database()


def _running_stack_url() -> str | None:
    """While `rollout up` runs from var/ its PostgreSQL holds var/postgres: read through it."""
    stack = running_stack()
    return stack.database_url if stack else None


async def with_pool(dsn: str, fetch: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    pool = await connect(dsn, min_size=1, max_size=2)
    try:
        return await fetch(pool)
    finally:
        await pool.close()


redact = redact_dsn


def fail(message: str, code: int) -> NoReturn:
    Console(stderr=True, soft_wrap=True, highlight=False).print(Text(message, style="red"))
    raise typer.Exit(code)
