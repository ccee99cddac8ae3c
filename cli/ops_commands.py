"""`rollout up | start | status | pause | resume | cancel`: running initiatives for real.

`up` brings the stack up in the foreground (cli.up_command); the others talk to it: `start`
launches a validated plan's InitiativeWorkflow, `status` reads the board from the workflow (and
who controlled it, and why, from the event store), and the controls send the workflows' control
Updates as a state admin. A refused Update prints the workflow's own one-sentence explanation.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import asyncpg
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from cli import status_view
from cli.database import UNAVAILABLE, fail, redact, with_pool
from cli.ops_target import (
    DATABASE_URL, JSON, TASK_QUEUE, TEMPORAL_ADDRESS, Target, run, target, waiting,
)
from cli.plan_commands import INSTRUMENTS_OPTION, INVALID, print_problems
from cli.up_command import up
from domain.actors import Actor, Role
from domain.errors import shown
from domain.plan import Plan
from rollouts import operations as ops
from rollouts.plans import PlanFileError, check_plan, load_instruments, read_plan_text, renamed
from rollouts.trouble import Trouble, troubles
from rollouts.control_history import control_history
from store.initiative_queries import initiative_recorded
from workflows.ids import initiative_workflow_id
from workflows.models import ControlRequest, InitiativeStatus

TROUBLE = 3
"""`rollout status`: a workflow of the initiative has stopped (failed, or its task cannot
complete); the board says which, and why."""

REASON = typer.Option(..., "--reason", metavar="TEXT",
                      help="Why: recorded with the decision in the audit trail.")
ACTOR = typer.Option(..., "--as", metavar="ACTOR_ID",
                     help="Your staff id; the decision is recorded as yours (a state admin's).")
SITE = typer.Option(None, "--site", metavar="SITE",
                    help="Only this site's rollout (default: the whole initiative).")
INITIATIVE = typer.Argument(..., metavar="INITIATIVE", help="The initiative's id (from its plan).")


def register(app: typer.Typer) -> None:
    app.command("up")(up)
    app.command("start")(start)
    app.command("status")(status)
    app.command("pause")(pause)
    app.command("resume")(resume)
    app.command("cancel")(cancel)


def start(
    file: Path = typer.Argument(..., metavar="FILE", help="The plan YAML file."),
    speedup: float = typer.Option(1.0, "--speedup", min=1.0, metavar="X",
                                  help="Run school time X times faster than real time (the demo uses "
                                       "864000: a school day every 0.1 s)."),
    initiative_id: str = typer.Option(None, "--initiative-id", metavar="ID",
                                      help="Launch under this id instead of the plan's."),
    actor_id: str = typer.Option(None, "--as", metavar="ACTOR_ID",
                                 help="Who launches it, recorded as a state admin (default: your login)."),
    task_queue: str = TASK_QUEUE,
    temporal_address: str = TEMPORAL_ADDRESS,
    database_url: str = DATABASE_URL,
    as_json: bool = JSON,
    instruments: Path | None = INSTRUMENTS_OPTION,
) -> None:
    """Validate a plan and launch its initiative on the running stack."""
    plan = _valid_plan(file, initiative_id, instruments)
    actor = _state_admin(actor_id or _login())
    where = target(temporal_address, database_url, task_queue)
    if where.database_url:
        _refuse_if_recorded(where.database_url, plan.initiative.id)

    async def launch() -> ops.Launched:
        client = await ops.reach(where.temporal_address, where.namespace)
        return await ops.launch_initiative(client, plan, actor, task_queue=where.task_queue,
                                           speedup=speedup)

    with waiting(f"Launching {plan.initiative.id}..."):
        launched = run(launch())
    if as_json:
        typer.echo(launched.model_dump_json(indent=2))
        return
    out = Console(highlight=False, soft_wrap=True)
    out.print(Text.assemble("Started initiative ", (launched.initiative_id, "bold"),
                            f" ({launched.sites} sites, {launched.cohorts} cohort(s)) as {actor.id}."))
    out.print(f"Workflow {launched.workflow_id} on task queue '{launched.task_queue}' at "
              f"{where.temporal_address}, school time ×{launched.speedup:g}.")
    if link := where.workflow_link(launched.workflow_id):
        out.print(f"Temporal Web UI: {link}")
    out.print(f"Follow it with: rollout status {launched.initiative_id}")
    if launched.ssip_cycle:
        out.print(f"SSIP cycle {launched.ssip_cycle} beside it: the state team's report tasks "
                  "each 1 November.")
    else:
        out.print(Text("The SSIP cycle could not be started; start it with `rollout ssip "
                       f"start-cycle {launched.initiative_id}`.", style="yellow"))
    if not launched.worker_polling:
        out.print(Text(f"No worker is polling task queue '{launched.task_queue}' yet: the rollout "
                       "begins when one does (`rollout up` runs workers).", style="yellow"))


def status(
    initiative_id: str = typer.Argument(None, metavar="INITIATIVE",
                                        help="One initiative's board (default: list the initiatives)."),
    as_json: bool = JSON,
    limit: int = typer.Option(100, "--limit", min=1, help="List at most this many initiatives."),
    temporal_address: str = TEMPORAL_ADDRESS,
    database_url: str = DATABASE_URL,
) -> None:
    """List the initiatives, or draw one initiative's stage board and its controls; exit 3 and
    name them when any of its workflows has stopped (failed, or its task cannot complete)."""
    where = target(temporal_address, database_url)
    out = Console(highlight=False, soft_wrap=not as_json)
    if initiative_id is None:
        async def listing() -> list[ops.InitiativeRun]:
            return await ops.list_initiatives(await ops.reach(where.temporal_address, where.namespace),
                                              limit)

        with waiting("Listing initiatives..."):
            runs = run(listing())
        if as_json:
            typer.echo(json.dumps([r.model_dump(mode="json") for r in runs], indent=2))
        elif not runs:
            out.print(f"No initiatives on Temporal at {where.temporal_address}; launch one with "
                      "`rollout start FILE`.")
        else:
            out.print(status_view.initiative_list(runs, where.temporal_address))
        return
    with waiting(f"Reading {initiative_id}..."):
        report = _report(where, initiative_id)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        out.print(status_view.initiative_board(report))
    if report.troubles:
        raise typer.Exit(TROUBLE)


def pause(initiative_id: str = INITIATIVE, site: str = SITE, reason: str = REASON,
          actor_id: str = ACTOR, temporal_address: str = TEMPORAL_ADDRESS, as_json: bool = JSON) -> None:
    """Pause an initiative (every site) or one site; tasks and deadlines wait until resumed."""
    _control("pause", initiative_id, site, reason, actor_id, temporal_address, as_json)


def resume(initiative_id: str = INITIATIVE, site: str = SITE, reason: str = REASON,
           actor_id: str = ACTOR, temporal_address: str = TEMPORAL_ADDRESS, as_json: bool = JSON) -> None:
    """Resume a paused initiative or site."""
    _control("resume", initiative_id, site, reason, actor_id, temporal_address, as_json)


def cancel(initiative_id: str = INITIATIVE, site: str = SITE, reason: str = REASON,
           actor_id: str = ACTOR, temporal_address: str = TEMPORAL_ADDRESS, as_json: bool = JSON) -> None:
    """Cancel an initiative (every site) or withdraw one site; this cannot be undone."""
    _control("cancel", initiative_id, site, reason, actor_id, temporal_address, as_json)


# --- helpers --------------------------------------------------------------------------------

def _control(action: str, initiative_id: str, site: str | None, reason: str, actor_id: str,
             temporal_address: str | None, as_json: bool) -> None:
    if not reason.strip():
        fail("--reason must say why: it is recorded with the decision.", INVALID)
    try:
        request = ControlRequest(actor=_state_admin(actor_id), action=action, reason=reason.strip(),
                                 site_id=site)
    except ValidationError as problem:
        fail(_invalid(problem, {"reason": "--reason", "site_id": "--site"}), INVALID)
    where = target(temporal_address)

    async def send():
        client = await ops.reach(where.temporal_address, where.namespace)
        return await ops.control(client, initiative_id, request)

    with waiting(f"Asking {initiative_id} to {action}..."):
        result = run(send())
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    scope = f"site {site} of initiative {initiative_id}" if site else f"initiative {initiative_id}"
    out = Console(highlight=False, soft_wrap=True)
    if result.changed:
        out.print(f"{ops.PAST_TENSE[action].capitalize()} {scope} as {request.actor.id}: "
                  f"{request.reason} (now {result.status}).")
    elif site:
        out.print(f"The {scope} is {result.status} already; nothing was recorded.")
    else:  # the initiative relays every control to its sites, whatever its own state
        out.print(f"The {scope} was {result.status} already, so nothing was recorded for it; its "
                  f"sites were still asked to {action}.")


def _report(where: Target, initiative_id: str) -> status_view.InitiativeReport:
    async def read() -> tuple[str, InitiativeStatus, list[Trouble]]:
        client = await ops.reach(where.temporal_address, where.namespace)
        stopped = await troubles(client, initiative_id)
        return *await ops.initiative_status(client, initiative_id), stopped

    workflow_status, board, stopped = run(read())
    workflow_id = initiative_workflow_id(initiative_id)
    return status_view.InitiativeReport(
        initiative_id=initiative_id, workflow_id=workflow_id, workflow_status=workflow_status,
        status=board, site_counts=ops.site_counts(board),
        controls=_controls(where.database_url, initiative_id),
        web_ui=where.workflow_link(workflow_id), troubles=stopped)


def _controls(database_url: str | None, initiative_id: str):
    """The control history, or None (with a note on stderr) when the store cannot be read."""
    if not database_url:
        return None
    try:
        return run(with_pool(database_url, lambda pool: control_history(pool, initiative_id)))
    except (OSError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as problem:
        Console(stderr=True, highlight=False, soft_wrap=True).print(Text(
            f"Cannot read the controls from the event store at {redact(database_url)}: "
            f"{str(problem).strip() or type(problem).__name__}", style="yellow"))
        return None


def _refuse_if_recorded(database_url: str, initiative_id: str) -> None:
    try:
        recorded = run(with_pool(database_url, lambda pool: initiative_recorded(pool, initiative_id)))
    except asyncpg.UndefinedTableError:
        return  # a new, unmigrated store holds no initiative yet; the workers migrate it
    except (OSError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as problem:
        fail(f"Cannot read the event store at {redact(database_url)}: "
             f"{str(problem).strip() or type(problem).__name__}", UNAVAILABLE)
    if recorded:
        fail(ops.already_started(initiative_id, "the event store holds its record"), ops.REFUSED)


def _valid_plan(file: Path, initiative_id: str | None, instruments: Path | None = None) -> Plan:
    """The plan, as `rollout plan validate` reads it; an invalid one lists its problems."""
    try:
        plan, check = check_plan(read_plan_text(file), str(file), load_instruments(instruments))
    except PlanFileError as problem:
        fail(str(problem), INVALID)
    if plan is None:
        print_problems(Console(stderr=True, soft_wrap=True, highlight=False), check)
        raise typer.Exit(INVALID)
    try:
        return renamed(plan, initiative_id)
    except ValidationError as problem:
        fail(_invalid(problem, {"id": "--initiative-id"}), INVALID)


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        fail("Say who launches the initiative with --as ACTOR_ID.", INVALID)


def _state_admin(actor_id: str) -> Actor:
    try:
        return Actor(id=actor_id.strip(), role=Role.STATE_ADMIN)
    except ValidationError as problem:
        fail(_invalid(problem, {"id": "--as"}), INVALID)


def _invalid(problem: ValidationError, flags: dict[str, str]) -> str:
    """pydantic's first complaint, naming the flag and the value."""
    error = problem.errors()[0]
    field = str(error["loc"][-1]) if error["loc"] else ""
    message = error["msg"].removeprefix("Value error, ")
    return f"Invalid {flags.get(field, field)} {shown(error.get('input'))}: {message}."
