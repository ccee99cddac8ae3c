"""`rollout decisions`, `rollout decide`, `rollout cohorts` and `rollout cohort open`: the state's
decisions from the shell, through the paths the API and the web pages use (rollouts/decisions.py,
rollouts/cohort_gates.py).

`decisions` lists the sites whose stage move waits for the state, with the checks the rules
weighed; `decide` approves, declines, overrides a failed gate or sends a site back, as a state
admin; `cohorts` shows each cohort's gate and how far the cohort before a closed one has come;
`cohort open` opens a decision-gated cohort. Every decision is recorded with `--as` and
`--reason`. Exit codes: 0 done; 1 not found or refused by the rules; 2 bad arguments, or the
event store or Temporal cannot be reached.
"""

from __future__ import annotations

import asyncio
import json

import asyncpg
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.database import DATABASE_URL, NOT_FOUND, fail, read
from cli.ops_target import JSON, TEMPORAL_ADDRESS, target, waiting
from domain.actors import Actor, Role
from domain.board import COLUMNS
from domain.criteria import Check
from domain.stages import STAGE_ORDER, Stage
from rollouts import decisions
from rollouts.cohort_gates import CohortBoard, CohortGate, CohortOpened, cohort_gates, open_cohort
from rollouts.operations import OperationError, reach
from rollouts.task_actions import ActionFailed
from store import district_queries

INVALID, REFUSED, UNAVAILABLE = 2, 1, 2
EXIT = {"invalid": REFUSED, "forbidden": REFUSED, "finished": REFUSED, "unavailable": UNAVAILABLE}
INITIATIVE = typer.Argument(..., metavar="INITIATIVE", help="The initiative's id.")
ACTOR = typer.Option(..., "--as", metavar="ACTOR_ID",
                     help="Your staff id: the decision is recorded as yours, a state admin's.")
PAST = {"approve": "Approved", "decline": "Declined", "override": "Overrode",
        "send_back": "Sent back"}

cohort_app = typer.Typer(no_args_is_help=True, help="Open a cohort whose gate is a state decision.")


def register(app: typer.Typer) -> None:
    app.command("decisions")(decisions_command)
    app.command("decide")(decide)
    app.command("cohorts")(cohorts)
    app.add_typer(cohort_app, name="cohort")


def decisions_command(
    initiative_id: str = typer.Argument(None, metavar="[INITIATIVE]",
                                        help="Only this initiative (default: every one)."),
    district: str = typer.Option(None, "--district", metavar="DISTRICT", help="Only this district."),
    database_url: str = DATABASE_URL,
    as_json: bool = JSON,
) -> None:
    """The sites whose stage move waits for the state's decision, longest waiting first, with
    the checks the rules weighed."""
    found, _ = read(target(database_url=database_url).database_url, lambda pool: decisions.waiting(
        pool, initiative_id=initiative_id, district=district))
    if as_json:
        typer.echo(json.dumps([d.model_dump(mode="json") for d in found], indent=2))
        return
    out = Console(highlight=False, soft_wrap=True)
    if not found:
        out.print("No stage move waits for a decision"
                  + (f" in {initiative_id}" if initiative_id else "") + ".")
        return
    table = Table("initiative", "site", "district", "move", "asked", "evidence",
                  title="Stage moves waiting for the state", show_lines=True)
    for d in found:
        table.add_row(*(Text(c) for c in (
            d.initiative_id, f"{d.name} ({d.site_id})", d.district_id,
            f"{d.stage} → {d.to_stage}" + (f" ({d.status})" if d.status != "active" else ""),
            f"{d.asked_at:%Y-%m-%d}", checks_text(d.checks))))
    out.print(table)
    out.print(Text("Decide with: rollout decide INITIATIVE SITE --approve|--decline --reason TEXT "
                   "--as ID", style="dim"))


def checks_text(checks: list[Check]) -> str:
    return "\n".join(f"{'met' if c.met else 'NOT met'}: {c.name} {c.actual} (needs {c.required})"
                     for c in checks) or "no checks recorded"


def decide(
    initiative_id: str = INITIATIVE,
    site_id: str = typer.Argument(..., metavar="SITE", help="The site's id."),
    approve: bool = typer.Option(False, "--approve", help="Approve the move waiting for the state."),
    decline: bool = typer.Option(False, "--decline", help="Decline it (with --reason): the site "
                                 "stays, and is asked for new evidence."),
    override: bool = typer.Option(False, "--override", help="Move the site one stage on past a "
                                  "failed gate (with --reason, the rationale)."),
    send_back: bool = typer.Option(False, "--send-back", help="Send the site back a stage (with "
                                   "--reason; --to for a stage further back)."),
    to_stage: str = typer.Option(None, "--to", metavar="STAGE", help="The stage the decision is "
                                 "about (default: the move waiting, the next stage for "
                                 "--override, the one before for --send-back)."),
    reason: str = typer.Option("", "--reason", metavar="TEXT",
                               help="Why: recorded with the decision (required, except to approve)."),
    actor_id: str = ACTOR,
    temporal_address: str = TEMPORAL_ADDRESS,
    database_url: str = DATABASE_URL,
    as_json: bool = JSON,
) -> None:
    """Approve, decline, override or send back a site's stage move, as a state admin."""
    chosen = [name for name, on in (("approve", approve), ("decline", decline),
                                    ("override", override), ("send_back", send_back)) if on]
    if len(chosen) != 1:
        fail("Choose one decision: --approve, --decline, --override or --send-back.", INVALID)
    decision = chosen[0]
    stage = parse_stage(to_stage) if to_stage else None
    actor = state_admin(actor_id)
    try:
        reason = decisions.checked_reason(decision, reason)
    except ActionFailed as failure:
        fail(failure.message.replace("give a reason", "give --reason"), INVALID)
    where = target(temporal_address, database_url)

    async def act(pool: asyncpg.Pool):
        row = await district_queries.site(pool, initiative_id, site_id)
        if row is None:
            return None
        try:
            client = await reach(where.temporal_address, where.namespace)
            return await decisions.decide(client, pool, row, actor=actor, decision=decision,
                                          reason=reason, to_stage=stage)
        except (ActionFailed, OperationError) as failure:
            return failure

    with waiting(f"Sending the decision to the rollout of {site_id}..."):
        result, _ = read(where.database_url, act)
    if result is None:
        fail(f"There is no site '{site_id}' in initiative '{initiative_id}'.", NOT_FOUND)
    refused(result)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    outcome = result.outcome
    done = ("Already recorded; nothing changed." if outcome.already_done else
            f"{PAST[decision]} {result.to_stage} for {site_id} as {actor.id}"
            + (f": {result.reason}" if result.reason else "") + ".")
    Console(highlight=False, soft_wrap=True).print(Text(
        f"{done} {site_id} is now in {outcome.stage} ({outcome.status}). {outcome.explanation}"))


def cohorts(
    initiative_id: str = INITIATIVE,
    temporal_address: str = TEMPORAL_ADDRESS,
    database_url: str = DATABASE_URL,
    as_json: bool = JSON,
) -> None:
    """The initiative's cohorts and their gates: who opened each and why, and for a closed one
    how far the cohort before it has come."""
    where = target(temporal_address, database_url)

    async def fetch(pool: asyncpg.Pool):
        try:
            return await cohort_gates(await reach(where.temporal_address, where.namespace), pool,
                                      initiative_id)
        except (ActionFailed, OperationError) as failure:
            return failure

    with waiting(f"Reading the cohorts of {initiative_id}..."):
        board, _ = read(where.database_url, fetch)
    refused(board)
    if as_json:
        typer.echo(board.model_dump_json(indent=2))
        return
    Console(highlight=False, soft_wrap=True).print(cohort_table(board))


def cohort_table(board: CohortBoard) -> Table:
    table = Table("cohort", "sites", "gate", "now", "why / how far the cohort before has come",
                  title=f"Cohorts of {board.initiative_id} ({board.status})", show_lines=True)
    for c in board.cohorts:
        table.add_row(*(Text(t) for t in (f"{c.cohort_id}\n{c.name}", str(c.sites), c.gate,
                                           _standing(c), _why(c))))
    return table


def _standing(c: CohortGate) -> str:
    if c.started:
        return f"started, opened by {c.opened_by}" if c.opened_by else "started"
    return "waiting for a state decision" if c.waiting_for_decision else "closed"


def _why(c: CohortGate) -> str:
    if c.started:
        return c.reason or c.evidence
    if c.earlier_cohort is None:
        return ""
    columns = ", ".join(f"{c.earlier_by_stage[k]} {k}" for k in COLUMNS if k in c.earlier_by_stage)
    shares = ", ".join(f"{share:g}% at or beyond {stage}" for stage, share in c.earlier_share.items()
                       if stage is not Stage.EXPLORATION)
    return f"{c.earlier_cohort}: {columns}\n{shares}"


@cohort_app.command("open")
def open_command(
    initiative_id: str = INITIATIVE,
    cohort_id: str = typer.Argument(..., metavar="COHORT", help="The cohort's id (see `rollout "
                                    "cohorts`)."),
    reason: str = typer.Option(..., "--reason", metavar="TEXT",
                               help="Why the state opens it: recorded with its start."),
    actor_id: str = ACTOR,
    temporal_address: str = TEMPORAL_ADDRESS,
    as_json: bool = JSON,
) -> None:
    """Open a cohort whose gate is a state decision, as a state admin."""
    actor = state_admin(actor_id)
    where = target(temporal_address)

    async def act() -> CohortOpened | ActionFailed | OperationError:
        try:
            client = await reach(where.temporal_address, where.namespace)
            return await open_cohort(client, initiative_id, cohort_id, actor=actor, reason=reason)
        except (ActionFailed, OperationError) as failure:
            return failure

    with waiting(f"Opening {cohort_id} of {initiative_id}..."):
        opened = asyncio.run(act())
    refused(opened)
    if as_json:
        typer.echo(opened.model_dump_json(indent=2))
        return
    then = ("it has started" if opened.started else
            "it starts once the cohorts before it have started")
    Console(highlight=False, soft_wrap=True).print(Text(
        f"Opened cohort {cohort_id} of {initiative_id} as {actor.id}: {opened.reason}; {then}."))


def refused(result) -> None:
    """End the command with the one sentence of a refusal or an outage."""
    if isinstance(result, ActionFailed):
        fail(result.message, EXIT[result.kind])
    if isinstance(result, OperationError):
        fail(result.message, result.code)


def parse_stage(text: str) -> Stage:
    """A stage by its name, in any case, with spaces, hyphens or underscores."""
    wanted = " ".join(text.replace("-", " ").replace("_", " ").split()).lower()
    for stage in STAGE_ORDER:
        if stage.value.lower() == wanted:
            return stage
    fail(f"--to must be a stage ({', '.join(s.value for s in STAGE_ORDER)}), not {text!r}.",
         INVALID)


def state_admin(actor_id: str) -> Actor:
    try:
        return Actor(id=actor_id.strip(), role=Role.STATE_ADMIN)
    except ValidationError:
        fail(f"--as must be 1 to 200 characters, not {len(actor_id.strip())}.", INVALID)
