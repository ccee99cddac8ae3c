"""`rollout up`: the whole stack in the foreground until Ctrl-C.

PostgreSQL, the Temporal dev server with its Web UI (histories kept under the data directory),
N worker processes on one task queue and the HTTP API. Once all of them answer it prints where
each one is and records it in <data dir>/stack.json for the other commands. A worker or the API
that dies is started again (after a pause that grows while it keeps dying; said on the terminal
and in <data dir>/logs/up.log, and the stack file follows); PostgreSQL or Temporal stopping on
its own stops everything (exit 1, saying which). Ctrl-C or SIGTERM stops them in reverse order.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cli.database import UNAVAILABLE, fail, redact
from cli.ops_target import waiting
from cli.local_machine import NoLocalMachine, local_machine
from runtime.settings import load_settings
from runtime.stack_file import (
    API_PORT, TEMPORAL_PORT, UI_PORT, VAR, RunningStack, remove_stack, running_stack, write_stack,
)

POLL_SECONDS = 0.5


def up(
    workers: int = typer.Option(2, "--workers", min=1, max=32, metavar="N",
                                help="Worker processes polling the task queue."),
    temporal_port: int = typer.Option(TEMPORAL_PORT, "--temporal-port", min=1, max=65535, metavar="P",
                                      help="Temporal frontend port (on 127.0.0.1)."),
    ui_port: int = typer.Option(UI_PORT, "--ui-port", min=1, max=65535, metavar="P",
                                help="Temporal Web UI port."),
    api_port: int = typer.Option(API_PORT, "--api-port", min=1, max=65535, metavar="P",
                                 help="HTTP API port."),
    database_url: str = typer.Option(
        None, "--database-url", metavar="URL",
        help="PostgreSQL DSN of the event store (default: $ROLLOUT_DATABASE_URL, else a local "
             "PostgreSQL kept under the data directory)."),
    task_queue: str = typer.Option(None, "--task-queue", metavar="NAME",
                                   help="Task queue (default: $ROLLOUT_TASK_QUEUE, else 'rollouts')."),
    data_dir: Path = typer.Option(VAR, "--data-dir", metavar="DIR", file_okay=False,
                                  help="Where the local PostgreSQL, Temporal's histories and the "
                                       "logs are kept."),
) -> None:
    """Run PostgreSQL, Temporal (with its Web UI), workers and the API until Ctrl-C."""
    try:
        settings = load_settings()
    except ValueError as problem:
        fail(f"Invalid ROLLOUT_* settings: {problem}", UNAVAILABLE)
    data_dir = data_dir.resolve()
    if (other := running_stack(data_dir)) is not None:
        fail(f"`rollout up` is already running from {data_dir} (pid {other.pid}).", 1)
    try:
        machine = local_machine()
    except NoLocalMachine as missing:
        fail(str(missing), UNAVAILABLE)
    stack = machine.ForegroundStack(machine.StackOptions(
        data_dir=data_dir, workers=workers, temporal_port=temporal_port, ui_port=ui_port,
        api_port=api_port, task_queue=task_queue or settings.task_queue,
        namespace=settings.temporal_namespace, database_url=database_url or settings.database_url,
        migration_database_url=settings.migration_database_url,
        database_role=settings.database_role, log_level=settings.log_level))
    out = Console(highlight=False, soft_wrap=True)
    # Both explicitly: a shell starting `up` in the background hands it SIGINT already ignored.
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    failure: Exception | None = None
    try:
        _supervise(stack, out, _start(stack, out))
    except KeyboardInterrupt:
        out.print("Stopping: the API, then the workers (letting running activities finish), then "
                  "Temporal and PostgreSQL...")
    except machine.StackError as problem:
        failure = problem
        Console(stderr=True, highlight=False, soft_wrap=True).print(Text(str(problem), style="red"))
    finally:
        stopped = _stop(stack, data_dir)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failure is not None or not stopped:
        raise typer.Exit(1)
    out.print("Stopped.")


def _start(stack, out: Console) -> RunningStack:
    o = stack.options
    stack.check_ports()
    with waiting("Starting PostgreSQL..."):
        dsn = stack.start_database()
    out.print(f"✓ Event store (PostgreSQL) {redact(dsn)}")
    with waiting("Starting the Temporal dev server and its Web UI..."):
        temporal = stack.start_temporal()
    out.print(f"✓ Temporal {temporal.address}, Web UI {temporal.ui_url}")
    mail = stack.start_mail_sink()
    out.print(f"✓ Mail sink {mail.address}: notification mail kept in {mail.folder} "
              "(`rollout mail`)" if mail else "✓ Mail through ROLLOUT_SMTP_HOST")
    with waiting(f"Starting {o.workers} worker process(es)..."):
        pids = stack.start_workers()
    out.print(f"✓ Workers polling '{o.task_queue}': pids {', '.join(map(str, pids))}")
    with waiting("Starting the API..."):
        api_url = stack.start_api()
    out.print(f"✓ API {api_url}" if api_url else
              Text("! API not available: this checkout has no api/app.py; running without it.",
                   style="yellow"))
    running = RunningStack(
        pid=os.getpid(), temporal_address=temporal.address, namespace=o.namespace,
        task_queue=o.task_queue, web_ui=temporal.ui_url, database_url=dsn, api_url=api_url,
        worker_pids=pids, api_pid=stack.api_pid())
    write_stack(running, o.data_dir)
    out.print(_where(stack, dsn, api_url, pids))
    out.print(_exports(stack, dsn), crop=False, overflow="ignore")
    return running


def _where(stack, dsn: str, api_url: str | None, pids: list[int]) -> Panel:
    o, temporal = stack.options, stack.temporal
    table = Table.grid(padding=(0, 2))
    table.add_row("Temporal Web UI", f"{temporal.ui_url}/namespaces/{o.namespace}/workflows")
    table.add_row("Temporal", f"{temporal.address} (namespace {o.namespace}, task queue {o.task_queue})")
    table.add_row("API", f"{api_url} (OpenAPI docs: {api_url}/docs)" if api_url
                  else "not available (no api/app.py in this checkout)")
    table.add_row("Event store", redact(dsn))
    table.add_row("Workers", f"{len(pids)} processes, pids {', '.join(map(str, pids))}")
    table.add_row("Logs", str(o.data_dir / "logs"))
    table.add_row("Next", "rollout start examples/small.yaml --speedup 864000; rollout status")
    table.add_row("Other shells", f"`rollout` commands find this stack by themselves "
                  f"({o.data_dir / 'stack.json'}); other tools read the ROLLOUT_* variables below")
    return Panel(table, title="rollout up: running; Ctrl-C stops everything", title_align="left")


def _exports(stack, dsn: str) -> str:
    o = stack.options
    where = (f"  # *** = the password of rollout_app in {o.data_dir / 'postgres' / 'rollout-credentials.json'}"
             if not o.database_url else "")
    return (f"export ROLLOUT_TEMPORAL_ADDRESS={stack.temporal.address} "
            f"ROLLOUT_TASK_QUEUE={o.task_queue} ROLLOUT_DATABASE_URL={redact(dsn)}{where}")


def _supervise(stack, out: Console, running: RunningStack) -> None:
    """Until interrupted (or StackError: PostgreSQL or Temporal stopped). A worker or the API
    that dies is started again by `stack.tend()`; each happening is one line here, and the
    stack file keeps naming the processes that run."""
    while True:
        time.sleep(POLL_SECONDS)
        news = stack.tend()
        for happening in news:
            out.print(Text(f"{datetime.now():%H:%M:%S} {'✓' if happening.healed else '!'} "
                           f"{happening.line}", style="green" if happening.healed else "yellow"))
        if news:
            running = running.model_copy(update={"worker_pids": stack.worker_pids(),
                                                  "api_pid": stack.api_pid()})
            write_stack(running, stack.options.data_dir)


def _stop(stack, data_dir: Path) -> bool:
    """In order, without being interrupted halfway by a second Ctrl-C; False if a part would not
    stop (said in one line: the others have been stopped all the same)."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with waiting("Stopping..."):
            stack.stop()
        return True
    except Exception as problem:  # the last boundary before the terminal: one line, no traceback
        first = (str(problem).strip().splitlines() or [type(problem).__name__])[0]
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            Text(f"Stopping did not finish cleanly: {first}", style="red"))
        return False
    finally:
        if (mine := running_stack(data_dir)) is not None and mine.pid == os.getpid():
            remove_stack(data_dir)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
