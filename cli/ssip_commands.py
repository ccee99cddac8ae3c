"""`rollout ssip ...`: the state team records its SSIP and reads where it stands.

Phase I and II go in as YAML documents (`record`, examples under examples/ssip/); each year's
Phase III figures as a document too, or one figure at a time (`simr`, `target`, `actual`), or a
data office's CSV export (`import`). `show` prints the SiMR by FFY, the parts still missing and the
state team's open SSIP tasks. Every entry goes through rollouts/ssip.py, as the API's do, recorded
with the person named by `--as` (default: your login) as a state admin. Exit codes: 0 recorded or
shown; 1 no such initiative; 2 bad input (the field and value named), or the stack cannot be
reached.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.database import NOT_FOUND, fail, read
from cli.ops_target import DATABASE_URL, JSON, TEMPORAL_ADDRESS, run, target, waiting
from domain import ssip
from domain.actors import Actor, Role
from domain.ssip_yaml import DocumentError, parse_document
from rollouts import ssip as service
from rollouts.operations import OperationError, reach
from store.db import connect

INVALID = 2
INITIATIVE = typer.Argument(..., metavar="INITIATIVE", help="The initiative's id.")
ACTOR = typer.Option(None, "--as", metavar="PERSON",
                     help="Who records it, as a state admin (default: your login).")
REASON = typer.Option("", "--reason", help="Why, when this revises something recorded before "
                                          "(required then: it is a change to the plan).")

group = typer.Typer(no_args_is_help=True, help="The SSIP: Phase I and II records, each FFY's "
                                               "Phase III figures, the state team's yearly tasks.")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="ssip")


@group.command("show")
def show(initiative: str = INITIATIVE, database_url: str = DATABASE_URL,
         as_json: bool = JSON) -> None:
    """The SiMR with its baseline, targets and actuals by FFY, the Phase I and II parts still
    missing, and the state team's open SSIP tasks."""
    view = _do(database_url, lambda pool: service.view(pool, initiative))
    state = view.state
    if as_json:
        print(json.dumps({"initiative_id": initiative, "simr": view.statement,
                          **state.model_dump(mode="json", include={
                              "simr", "targets", "actuals", "tasks", "changes"}),
                          "missing": {p: state.missing(p) for p in ("I", "II")}}, default=str))
        return
    out = Console(highlight=False, soft_wrap=True)
    out.print(Text(f"{view.launched.name} ({initiative}), plan's SSIP phase "
                   f"{view.launched.ssip_phase}"))
    out.print(Text(f"SiMR: {view.statement}"))
    if state.simr is None:
        out.print(Text("No baseline recorded yet: `rollout ssip simr` or `rollout ssip record` "
                       "with the Phase I document.", style="dim"))
    else:
        table = Table("FFY", "school year", "target", "actual", "data source",
                      title=f"Baseline {state.simr.baseline:.1f}% in FFY {state.simr.baseline_ffy}")
        for year in sorted({*state.targets, *state.actuals}):
            actual = state.actuals.get(year)
            target_ = state.targets.get(year)
            table.add_row(str(year), ssip.ffy_label(year),
                          f"{target_:.1f}%" if target_ is not None else "-",
                          f"{actual.percent:.1f}%" if actual else "-",
                          Text(actual.data_source if actual else ""))
        out.print(table)
    for phase in ("I", "II"):
        if missing := state.missing(phase):
            out.print(Text(f"Phase {phase} not recorded: {', '.join(missing)}."))
    for task in state.open_tasks():
        out.print(Text(f"Open task {task.task_id}: {task.title} (due {task.due:%-d %B %Y}"
                       f"{', overdue' if task.overdue else ''})"))


@group.command("record")
def record(initiative: str = INITIATIVE,
           document: Path = typer.Argument(..., metavar="FILE",
                                           help="A Phase I, II or III document (YAML)."),
           actor_id: str = ACTOR, database_url: str = DATABASE_URL) -> None:
    """Record a phase document: all of it, or nothing when any part is refused."""
    try:
        text = document.read_text(encoding="utf-8")
    except OSError as problem:
        fail(f"Cannot read {document}: {problem.strerror or problem}.", INVALID)
    try:
        parsed = parse_document(text, str(document))
    except DocumentError as refused:
        fail(str(refused), INVALID)
    actor = _actor(actor_id)
    _said(_do(database_url, lambda pool: service.record_document(pool, initiative, actor, parsed)),
          f"Phase {parsed.phase}")


@group.command("simr")
def simr(initiative: str = INITIATIVE,
         baseline: float = typer.Option(..., "--baseline", metavar="PERCENT"),
         baseline_ffy: int = typer.Option(..., "--baseline-ffy", metavar="FFY"),
         measure: str = typer.Option(..., "--measure", help="What is counted, over what."),
         statement: str = typer.Option(None, "--statement",
                                       help="The SiMR (default: the plan's sentence)."),
         direction: str = typer.Option("increase", "--direction",
                                       help="increase or decrease: which way is progress."),
         data_source: str = typer.Option("", "--data-source"),
         reason: str = REASON, actor_id: str = ACTOR, database_url: str = DATABASE_URL) -> None:
    """Record the SiMR with its baseline (Phase I)."""
    actor = _actor(actor_id)
    _said(_do(database_url, lambda pool: service.define_simr(
        pool, initiative, actor, baseline=baseline, baseline_ffy=baseline_ffy,
        statement=statement, measure=measure, direction=direction, data_source=data_source,
        reason=reason)), "the SiMR")


@group.command("target")
def target_(initiative: str = INITIATIVE,
            ffy: int = typer.Option(..., "--ffy", metavar="FFY"),
            percent: float = typer.Option(..., "--percent", metavar="PERCENT"),
            reason: str = REASON, actor_id: str = ACTOR,
            database_url: str = DATABASE_URL) -> None:
    """Record the SiMR's target for one FFY."""
    actor = _actor(actor_id)
    _said(_do(database_url, lambda pool: service.set_target(
        pool, initiative, actor, ffy=ffy, percent=percent, reason=reason)), f"FFY {ffy}'s target")


@group.command("actual")
def actual(initiative: str = INITIATIVE,
           ffy: int = typer.Option(..., "--ffy", metavar="FFY"),
           percent: float = typer.Option(..., "--percent", metavar="PERCENT"),
           data_source: str = typer.Option("", "--data-source"),
           note: str = typer.Option("", "--note"),
           reason: str = REASON, actor_id: str = ACTOR,
           database_url: str = DATABASE_URL) -> None:
    """Record the SiMR's actual for one FFY (Phase III)."""
    actor = _actor(actor_id)
    _said(_do(database_url, lambda pool: service.record_actual(
        pool, initiative, actor, ffy=ffy, percent=percent, data_source=data_source, note=note,
        reason=reason)), f"FFY {ffy}'s actual")


@group.command("import")
def import_(initiative: str = INITIATIVE,
            csv_file: Path = typer.Argument(..., metavar="FILE",
                                            help="CSV: ffy,actual[,target][,data_source]."),
            reason: str = REASON, actor_id: str = ACTOR,
            database_url: str = DATABASE_URL) -> None:
    """Import SiMR actuals (and targets) by FFY from a CSV export, all rows or none."""
    try:
        text = csv_file.read_text(encoding="utf-8")
    except OSError as problem:
        fail(f"Cannot read {csv_file}: {problem.strerror or problem}.", INVALID)
    actor = _actor(actor_id)
    _said(_do(database_url, lambda pool: service.import_actuals(
        pool, initiative, actor, text, source=str(csv_file), reason=reason)), str(csv_file))


@group.command("start-cycle")
def start_cycle(initiative: str = INITIATIVE, temporal_address: str = TEMPORAL_ADDRESS,
                database_url: str = DATABASE_URL) -> None:
    """Start the yearly cycle that gives the state team its SSIP report tasks, for an initiative
    launched before `rollout start` started it beside the initiative, or whose cycle was stopped
    (a running cycle is left as it is)."""
    where = target(temporal_address, database_url)
    if where.database_url is None:
        fail("Which event store? Give --database-url (or $ROLLOUT_DATABASE_URL, or run "
             "`rollout up`).", INVALID)

    async def act() -> str:
        client = await reach(where.temporal_address, where.namespace)
        pool = await connect(where.database_url, min_size=1, max_size=2)
        try:
            return await service.start_cycle(client, pool, initiative,
                                             task_queue=where.task_queue)
        except service.SsipRefused as refused:
            raise OperationError(refused.message, NOT_FOUND if refused.kind == "not_found"
                                 else INVALID) from None
        finally:
            await pool.close()

    with waiting(f"Starting the SSIP cycle of {initiative}..."):
        workflow_id = run(act())
    Console(highlight=False, soft_wrap=True).print(Text(f"SSIP cycle running: {workflow_id}"))


def _do(database_url: str | None, work):
    try:
        value, _ = read(target(database_url=database_url).database_url, work)
    except service.SsipRefused as refused:
        fail(refused.message, NOT_FOUND if refused.kind == "not_found" else INVALID)
    return value


def _said(result: service.Recorded, what: str) -> None:
    text = (f"Recorded {what}: {', '.join(result.recorded)}." if result.recorded
            else f"Already recorded: {what} changes nothing.")
    if result.completed_tasks:
        text += f" Completed: {', '.join(result.completed_tasks)}."
    Console(highlight=False, soft_wrap=True).print(Text(text))


def _actor(actor_id: str | None) -> Actor:
    given = (actor_id or getpass.getuser()).strip()
    try:
        return Actor(id=given, role=Role.STATE_ADMIN)
    except ValidationError:
        fail(f"--as must be 1 to 200 characters, not {len(given)}.", INVALID)
