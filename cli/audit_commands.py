"""`rollout audit ...`: who did what, when, and why a site moved, read from the event store.

The event store is the permanent record; these commands only read it. The database is the one
named by `--database-url`, else $ROLLOUT_DATABASE_URL, else the local demo database under var/
(started for the read and stopped after). Exit codes: 0 printed; 1 nothing recorded for that
initiative or site; 2 the event store cannot be read.

Every read prints a table, JSON lines or CSV (`--format`), with counts of people under the plan's
minimum cell size suppressed (as its launch recorded it; `--min-cell` may raise it, never lower
it, and never below the default 10).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Awaitable, NoReturn

import asyncpg
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli import verify_command
from audit.export import Format, export, initiatives_of, min_cell_for
from cli.database import DATABASE_URL, DEMO_HINT, NOT_FOUND, fail, read
from domain import events as ev
from domain import privacy
from domain.site_state import fold
from audit.wording import StageMove, min_cell, names_in, stage_moves, summarize, when, who
from store.audit_queries import (
    AuditedEvent, SiteStanding, actor_events, site_ids, site_standings, window_events,
)
from store.initiative_queries import recent_initiatives
from store.eventstore import EventStore

audit_app = typer.Typer(no_args_is_help=True,
                        help="Who did what, when, and why: the recorded history of a rollout.")

FORMAT = typer.Option(Format.TABLE, "--format", "-f", help="table on screen, json lines, or csv.")
OUTPUT = typer.Option(None, "--output", "-o", help="Write json/csv to this file (default stdout).")


def _raising_only(asked: int | None) -> int | None:
    low, high = privacy.RAISED_MIN_CELL_RANGE
    if asked is not None and not low <= asked <= high:
        raise typer.BadParameter(f"{asked} is not from {low} to {high}: it may raise the plan's "
                                 f"minimum cell size, never take it below the default {low}.")
    return asked


MIN_CELL = typer.Option(
    None, "--min-cell", metavar="N", callback=_raising_only,
    help=f"Suppress counts of people below N: raises the plan's minimum cell size (as recorded at "
         f"launch), never lowers it; from {privacy.RAISED_MIN_CELL_RANGE[0]} to "
         f"{privacy.RAISED_MIN_CELL_RANGE[1]}.")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


@dataclass
class Record:
    """What one audit read found; `known` names what does exist when the stream is empty."""

    events: list[ev.Event]
    known: list[str] = field(default_factory=list)
    sites: list[SiteStanding] = field(default_factory=list)
    min_cell: int = privacy.MIN_CELL
    """The minimum cell size the read applies (`audit.export.min_cell_for`)."""


@audit_app.command("site")
def site(
    initiative_id: str = typer.Argument(..., help="The initiative's id."),
    site_id: str = typer.Argument(..., help="The site's id (district or school)."),
    database_url: str | None = DATABASE_URL,
    fmt: Format = FORMAT,
    output: Path | None = OUTPUT,
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
    smallest: int | None = MIN_CELL,
) -> None:
    """Every event of one site's rollout, and why it moved from stage to stage."""
    record, local = read(database_url,
                         lambda pool: _site_record(pool, initiative_id, site_id, smallest))
    if not record.events:
        known = f" Sites recorded for it: {', '.join(record.known)}." if record.known else ""
        _missing(f"No events recorded for site '{site_id}' of initiative '{initiative_id}'.{known}",
                 local)
    min_cell.set(record.min_cell)
    fmt = Format.JSON if as_json else fmt
    if fmt is not Format.TABLE:
        export(record.events, fmt, output)
        return
    out = Console(highlight=False)
    state = fold(record.events)
    out.print(Text(f"{state.site_name or site_id} ({state.kind}, {state.region} region), cohort "
                   f"{state.cohort_id or '-'}: {state.stage or 'no stage'}, {state.status}",
                   style="bold"))
    out.print(_events_table(f"Events of {ev.site_stream(initiative_id, site_id)}", record.events))
    _print_moves(out, stage_moves(record.events))


@audit_app.command("initiative")
def initiative(
    initiative_id: str = typer.Argument(..., help="The initiative's id."),
    database_url: str | None = DATABASE_URL,
    fmt: Format = FORMAT,
    output: Path | None = OUTPUT,
    smallest: int | None = MIN_CELL,
) -> None:
    """The initiative's own events (launch, cohorts, pauses) and where each site stands.

    As JSON lines or CSV: the initiative's events, as the other reads give theirs (where each
    site stands is a read model: `rollout status INITIATIVE --json`)."""
    record, local = read(database_url,
                         lambda pool: _initiative_record(pool, initiative_id, smallest))
    if not record.events and not record.sites:
        known = f" Recent initiatives: {', '.join(record.known)}." if record.known else ""
        _missing(f"No events recorded for initiative '{initiative_id}'.{known}", local)
    min_cell.set(record.min_cell)
    if fmt is not Format.TABLE:
        export(record.events, fmt, output)
        return
    out = Console(highlight=False)
    out.print(_events_table(f"Events of {ev.initiative_stream(initiative_id)}", record.events))
    sites = Table("site", "name", "region", "cohort", "stage", "status", "since", "regressions",
                  "escalations", title=f"Sites of {initiative_id}")
    for s in record.sites:
        since = when(s.stage_entered_at) if s.stage_entered_at else "-"
        _add_row(sites, s.site_id, s.name, s.region, s.cohort_id, s.stage or "-",
                 s.status, since, str(s.regressions), str(s.escalations))
    out.print(sites)
    out.print(Text(f"Details of one site: rollout audit site {initiative_id} SITE_ID"))


@audit_app.command("actor")
def actor(
    actor_id: str = typer.Argument(..., help="Whose actions: a person's id, or 'system'."),
    initiative_id: str | None = typer.Option(None, "--initiative", help="Only this initiative."),
    since: datetime | None = typer.Option(None, help="From this date/time (inclusive)."),
    until: datetime | None = typer.Option(None, help="Up to this date/time (exclusive)."),
    database_url: str | None = DATABASE_URL,
    fmt: Format = FORMAT,
    output: Path | None = OUTPUT,
    smallest: int | None = MIN_CELL,
) -> None:
    """Everything one person did, across sites and initiatives, oldest first."""
    found, local = read(database_url, lambda pool: _searched(pool, actor_events(
        pool, actor_id, since=_utc(since), until=_utc(until), initiative_id=initiative_id), smallest))
    if not found.events:
        _missing(f"No events recorded by actor '{actor_id}'{_scope_text(initiative_id, since, until)}.",
                 local)
    _show(found, fmt, output, f"Events by {actor_id}")


@audit_app.command("window")
def window(
    since: datetime = typer.Option(..., help="From this date/time (inclusive)."),
    until: datetime = typer.Option(..., help="Up to this date/time (exclusive)."),
    initiative_id: str | None = typer.Option(None, "--initiative", help="Only this initiative."),
    database_url: str | None = DATABASE_URL,
    fmt: Format = FORMAT,
    output: Path | None = OUTPUT,
    smallest: int | None = MIN_CELL,
) -> None:
    """Everything recorded as happening in a window of time."""
    if until <= since:
        fail(f"--until ({until}) must be after --since ({since}).", 2)
    found, local = read(database_url, lambda pool: _searched(pool, window_events(
        pool, _utc(since), _utc(until), initiative_id=initiative_id), smallest))
    if not found.events:
        _missing(f"No events{_scope_text(initiative_id, since, until)}.", local)
    _show(found, fmt, output, f"Events from {since} to {until}")


def _show(found: Record, fmt: Format, output: Path | None, title: str) -> None:
    min_cell.set(found.min_cell)
    if fmt is Format.TABLE:
        Console(highlight=False).print(_events_table(title, found.events, with_stream=True))
    else:
        export(found.events, fmt, output)


def _utc(moment: datetime | None) -> datetime | None:
    """Dates typed without a zone are read as UTC, the zone the store reports in."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def _scope_text(initiative_id: str | None, since: datetime | None, until: datetime | None) -> str:
    parts = [f" in initiative '{initiative_id}'" if initiative_id else "",
             f" from {since}" if since else "", f" before {until}" if until else ""]
    return "".join(parts)


def _events_table(title: str, events: list[ev.Event], with_stream: bool = False) -> Table:
    columns = ("stream", "#") if with_stream else ("#",)
    table = Table(*columns, "when", "actor", "role", "event", "summary", title=title,
                  caption=f"Counts of people under {min_cell.get()} are suppressed.")
    names = names_in(events)
    for e in events:
        role = e.actor.role.value + (f" ({e.actor.district})" if e.actor.district else "")
        where = (e.stream_id, str(e.sequence)) if with_stream else (str(e.sequence),)
        _add_row(table, *where, when(e.occurred_at), e.actor.id, role, e.type, summarize(e, names))
    return table


def _add_row(table: Table, *cells: str) -> None:
    """Cells as plain text: recorded reasons and names are data, never rich markup."""
    table.add_row(*(Text(cell) for cell in cells))


def _print_moves(out: Console, moves: list[StageMove]) -> None:
    out.print(Text("Why the site moved", style="bold underline"))
    if not moves:
        out.print(Text("The site has not moved between stages yet."))
    for move in moves:
        p = move.entered.payload
        out.print(Text(f"#{move.entered.sequence} {when(move.entered.occurred_at)}: {p.from_stage} "
                       f"→ {p.stage} ({p.reason.replace('_', ' ')}), entered by "
                       f"{who(move.entered.actor)}", style="bold"))
        out.print(Text(f"  Trigger: {move.trigger}"))
        if move.checks:
            checks = Table("check", "required", "actual", "met", title=f"{p.from_stage} exit checks "
                           "as evaluated for the move", title_justify="left")
            for c in move.checks:
                _add_row(checks, c.name, c.required, c.actual,
                               "yes" if c.met else "pending" if c.pending else "no")
            out.print(checks)
        out.print(Text(f"  Assessments submitted in {p.from_stage} before the move:"
                       if move.evidence else f"  No assessments submitted in {p.from_stage} "
                       "before the move."))
        for line in move.evidence:
            out.print(Text(f"    {line}"))


# --- reading the store ----------------------------------------------------------------------

async def _site_record(pool: asyncpg.Pool, initiative_id: str, site_id: str,
                       asked: int | None) -> Record:
    events = await EventStore(pool).read_stream(ev.site_stream(initiative_id, site_id))
    known = [] if events else await site_ids(pool, initiative_id)
    return Record(events, known, min_cell=await min_cell_for(pool, [initiative_id], asked))


async def _initiative_record(pool: asyncpg.Pool, initiative_id: str, asked: int | None) -> Record:
    events = await EventStore(pool).read_stream(ev.initiative_stream(initiative_id))
    sites = await site_standings(pool, initiative_id)
    known = [] if events or sites else await recent_initiatives(pool)
    return Record(events, known, sites, min_cell=await min_cell_for(pool, [initiative_id], asked))


async def _searched(pool: asyncpg.Pool, search: Awaitable[list[AuditedEvent]],
                    asked: int | None) -> Record:
    """A search's events, told with the strictest minimum cell size of the initiatives they
    belong to."""
    events = [found.event for found in await search]
    return Record(events, min_cell=await min_cell_for(pool, initiatives_of(events), asked))


def _missing(message: str, local: bool) -> NoReturn:
    fail(message + (f" The local demo database holds only what demos recorded; {DEMO_HINT}."
                     if local else ""), NOT_FOUND)


audit_app.command("verify")(verify_command.verify)
