"""`rollout projections status|rebuild`: the read models' lag, and rebuilding them from the events.

A rebuild replays the events page by page, each page committed with its checkpoint, so stopping
it (Ctrl-C, a crash) loses nothing: the next `rebuild` resumes where it stopped. Appends go on
meanwhile; the projection turns live again when its rebuild reaches the newest event.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from dataclasses import asdict
from typing import Callable, Iterator

import asyncpg
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from cli.database import DATABASE_URL, fail, read
from store import projections
from store.migrate import migrate

projections_app = typer.Typer(
    no_args_is_help=True, help="Read models: how far behind they are, and rebuilding them.")


def register(app: typer.Typer) -> None:
    app.add_typer(projections_app, name="projections")


@projections_app.command("status")
def status(
    database_url: str | None = DATABASE_URL,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per projection."),
) -> None:
    """Each projection's state, checkpoint and lag behind the newest event."""
    found, _ = read(database_url, _status)
    if as_json:
        for s in found:
            print(json.dumps(asdict(s), default=str))
        return
    table = Table("projection", "state", "checkpoint", "newest event", "behind (events)",
                  "lag", "last rebuilt", title="Projections")
    for s in found:
        table.add_row(s.name, s.state, str(s.position), str(s.head), str(s.behind),
                      f"{s.lag_seconds:.1f} s" if s.behind else "-",
                      f"{s.rebuilt_at:%Y-%m-%d %H:%M}" if s.rebuilt_at else "never")
    Console(highlight=False).print(table)


@projections_app.command("rebuild")
def rebuild(
    names: list[str] = typer.Argument(None, help="Projections to rebuild (default: resume any "
                                                 "rebuild under way)."),
    everything: bool = typer.Option(False, "--all", help="Rebuild every projection."),
    restart: bool = typer.Option(False, "--restart",
                                 help="Start over even if a rebuild of it is under way."),
    page: int = typer.Option(1000, min=1, max=100_000, help="Events per committed page."),
    database_url: str | None = DATABASE_URL,
) -> None:
    """Rebuild projections from the events, resuming from their checkpoints."""
    names = list(projections.PROJECTIONS) if everything else list(names or [])
    for name in names:
        if name not in projections.PROJECTIONS:
            fail(f"Unknown projection '{name}'; known: {', '.join(projections.PROJECTIONS)}.", 2)
    replayed, _ = read(database_url, lambda pool: _rebuild(pool, names, restart, page))
    if replayed is None:
        print("No rebuild under way; name a projection or use --all.")
        return
    print(f"Replayed {replayed} events; every projection is live.")


async def _status(pool: asyncpg.Pool) -> list[projections.ProjectionStatus]:
    await migrate(pool)
    return await projections.status(pool)


async def _rebuild(pool: asyncpg.Pool, names: list[str], restart: bool, page: int) -> int | None:
    await migrate(pool)
    under_way = await projections.rebuilding(pool)
    for name in names:
        if restart or name not in under_way:
            under_way += await projections.start(pool, name)
    if not under_way:
        return None
    with _progress() as progress:
        return await projections.catch_up(pool, page=page, progress=progress)


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None]]:
    """A progress bar on a terminal; a line per tenth of the work otherwise."""
    if not sys.stderr.isatty():
        shown = [-1]

        def line(done: int, total: int) -> None:
            if (tenth := done * 10 // max(total, 1)) != shown[0]:
                shown[0] = tenth
                print(f"rebuilding: {done}/{total} events", file=sys.stderr, flush=True)
        yield line
        return
    with Progress(TextColumn("rebuilding"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task("rebuild", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
