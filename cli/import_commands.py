"""`rollout import results FILE`: fidelity and capacity results scored elsewhere, from a CSV file.

Exit codes: 0 imported (or nothing new to import); 2 the file was refused (every bad row printed
with its line and field; nothing recorded) or the stack cannot be reached; 1 sending stopped
midway (the assessments recorded are listed; importing the same file again records the rest).
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import asyncpg
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.database import UNAVAILABLE, fail, redact, with_pool
from cli.ops_commands import _state_admin
from cli.ops_target import DATABASE_URL, JSON, TEMPORAL_ADDRESS, run, target, waiting
from cli.plan_commands import INSTRUMENTS_OPTION, INVALID
from instrument_library import DefinitionsError, load_catalogue
from rollouts.imports import ImportOutcome, ImportRefused, import_results
from rollouts.operations import reach

STOPPED = 1

import_app = typer.Typer(no_args_is_help=True, help="Bring in results scored elsewhere.")


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")


@import_app.command("results")
def results(
    file: Path = typer.Argument(..., metavar="FILE", help="The CSV file (examples/results.csv)."),
    actor_id: str = typer.Option(None, "--as", metavar="ACTOR_ID",
                                 help="Who imports, recorded as a state admin (default: your login)."),
    instruments: Path | None = INSTRUMENTS_OPTION,
    temporal_address: str = TEMPORAL_ADDRESS,
    database_url: str = DATABASE_URL,
    as_json: bool = JSON,
) -> None:
    """Import results, one row per item: initiative, site, instrument, version, item, score, date
    (and facilitator, participants as 'role:count; role:count', resolution). Every row is checked,
    and each assessment against its site's rules, before anything is recorded; the same rows
    imported again record nothing."""
    actor = _state_admin(actor_id or getpass.getuser())
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as problem:
        fail(f"Cannot read '{file}': {getattr(problem, 'strerror', None) or problem}.", INVALID)
    try:
        catalogue = load_catalogue(instruments)
    except DefinitionsError as problem:
        fail(f"Cannot read the instrument definitions:\n{problem}", INVALID)
    where = target(temporal_address, database_url)
    if not where.database_url:
        fail("No event store to import into: give --database-url, set ROLLOUT_DATABASE_URL or "
             "start `rollout up`.", INVALID)

    async def send(pool) -> ImportOutcome:
        client = await reach(where.temporal_address, where.namespace)
        return await import_results(pool, client, catalogue, text, actor, source=file.name)

    try:
        with waiting(f"Importing {file.name}..."):
            outcome = run(with_pool(where.database_url, send))
    except ImportRefused as refused:
        _refused(refused, as_json)
        raise typer.Exit(INVALID) from None
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as problem:
        fail(f"Cannot reach the event store at {redact(where.database_url)}: "
             f"{str(problem).strip() or type(problem).__name__}", UNAVAILABLE)
    _report(outcome, as_json)
    if outcome.failure:
        raise typer.Exit(STOPPED)


def _refused(refused: ImportRefused, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"imported": False, "bad_lines": refused.lines, "problems": [
            {"line": p.line, "field": p.field, "value": p.value, "message": p.message}
            for p in refused.problems]}, indent=2))
        return
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    err.print(Text(f"Refused: {len(refused.lines)} bad row(s); nothing was imported.",
                   style="bold red"))
    for p in refused.problems:
        err.print(Text.assemble("  ", (f"line {p.line}", "cyan"), "  ", (p.field, "bold"),
                                f" = {p.value!r}  {p.message}"))


def _report(outcome: ImportOutcome, as_json: bool) -> None:
    if as_json:
        typer.echo(outcome.model_dump_json(indent=2))
        return
    out = Console(highlight=False, soft_wrap=True)
    table = Table("site", "instrument", "date", "lines", "status", title="Assessments")
    for a in outcome.assessments:
        table.add_row(a.site_id, a.definition, str(a.taken_on), a.lines, a.status)
    out.print(table)
    out.print(Text(f"{outcome.rows} rows: {outcome.recorded} assessment(s) recorded, "
                   f"{outcome.unchanged} already recorded."))
    if outcome.failure:
        out.print(Text(f"Stopped: {outcome.failure}. Import the same file again to record the "
                       "rest; nothing is recorded twice.", style="yellow"))
