"""`rollout tasks` and `rollout complete`: a site's inbox, and acting on one task as a state admin.

`tasks` reads the inbox projection. `complete TASK --data FILE` sends the Update the API and the
web pages send (rollouts/task_actions.py): for a task that asks for an assessment the file holds
the assessment (JSON or YAML, `instrument` saying which), for any other task its outcome, e.g.
`{"attendees": 24}`. Exit codes: 0 done; 1 not found, refused or finished; 2 bad arguments or the
stack cannot be reached.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import asyncpg
import typer
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text
from ruamel.yaml import YAML, YAMLError

from cli.database import NOT_FOUND, fail, read
from cli.ops_target import DATABASE_URL, JSON, TEMPORAL_ADDRESS, run, target, waiting
from domain.actors import Actor, Role
from domain.commands import Outcome
from domain.instruments import Assessment
from rollouts import task_actions
from rollouts.operations import OperationError, reach
from rollouts.task_actions import ActionFailed
from store import district_queries, inbox_queries
from workflows.models import UpdateOutcome

INVALID, REFUSED, UNAVAILABLE = 2, 1, 2
EXIT = {"invalid": REFUSED, "forbidden": REFUSED, "finished": REFUSED, "unavailable": UNAVAILABLE}
STATUSES = ("open", "completed", "withdrawn", "all")


def register(app: typer.Typer) -> None:
    app.command("tasks")(tasks)
    app.command("complete")(complete)


def tasks(
    site: str = typer.Option(None, "--site", metavar="SITE_ID", help="Only this site's tasks."),
    initiative: str = typer.Option(None, "--initiative", metavar="ID", help="Only this initiative."),
    status: str = typer.Option("open", "--status", help="open, completed, withdrawn or all."),
    limit: int = typer.Option(200, "--limit", min=1, max=10_000, help="At most this many."),
    database_url: str = DATABASE_URL,
    as_json: bool = JSON,
) -> None:
    """The task inbox, earliest due first: what each site's teams and coaches are asked to do."""
    if status not in STATUSES:
        fail(f"--status must be one of {', '.join(STATUSES)}, not '{status}'.", INVALID)

    async def fetch(pool: asyncpg.Pool) -> tuple[bool, list[asyncpg.Record]]:
        known = site is None or await district_queries.site_known(pool, site)
        rows = await inbox_queries.tasks(pool, site_id=site, initiative_id=initiative,
                                         status=None if status == "all" else status, limit=limit)
        return known, rows

    (known, rows), _ = read(target(database_url=database_url).database_url, fetch)
    if not known:
        fail(f"No initiative has enrolled a site '{site}'.", NOT_FOUND)
    if as_json:
        for r in rows:
            print(json.dumps(dict(r), default=str))
        return
    out = Console(highlight=False)
    if not rows:
        out.print(Text(f"No {'' if status == 'all' else status + ' '}tasks"
                       + (f" for {site}" if site else "") + "."))
        return
    table = Table("task", "site", "stage", "for", "due", "status", "title",
                  title=f"Tasks{' of ' + site if site else ''}")
    for r in rows:
        flags = ", ".join(f for f in ("overdue", "escalated") if r[f])
        table.add_row(*(Text(c or "-") for c in (
            r["task_id"], r["site_id"], r["stage"], r["assignee_role"], str(r["due"]),
            r["status"] + (f" ({flags})" if flags else ""), r["title"])))
    out.print(table)
    out.print(Text("Complete one with: rollout complete TASK_ID --data FILE", style="dim"))


def complete(
    task_id: str = typer.Argument(..., metavar="TASK", help="The task's id (see `rollout tasks`)."),
    data: Path = typer.Option(None, "--data", metavar="FILE",
                              help="JSON or YAML: the assessment, for a task asking for one; "
                                   "otherwise the outcome, e.g. {\"attendees\": 24}."),
    actor_id: str = typer.Option(None, "--as", metavar="ACTOR_ID",
                                 help="Who completes it, recorded as a state admin (default: your login)."),
    temporal_address: str = TEMPORAL_ADDRESS,
    database_url: str = DATABASE_URL,
    as_json: bool = JSON,
) -> None:
    """Complete a task, or answer it with its assessment, through the site's rollout workflow."""
    actor = _state_admin(actor_id or getpass.getuser())
    answers = _load(data) if data is not None else None
    where = target(temporal_address, database_url)
    task, _ = read(where.database_url, lambda pool: inbox_queries.task(pool, task_id))
    if task is None:
        fail(f"There is no task '{task_id}'; `rollout tasks --site SITE` lists them.", NOT_FOUND)
    if task["site_id"] is None:
        fail(f"Task '{task_id}' is the state team's SSIP task: record what it asks for with "
             "`rollout ssip record INITIATIVE FILE` (the year's Phase III document).", INVALID)
    send = _answer(task, actor, answers)

    async def act() -> UpdateOutcome:
        client = await reach(where.temporal_address, where.namespace)
        try:
            return await send(client)
        except ActionFailed as failure:
            raise OperationError(failure.message, EXIT[failure.kind]) from None

    with waiting(f"Sending to the rollout of {task['site_id']}..."):
        outcome = run(act())
    if as_json:
        print(json.dumps({"task_id": task_id, "site_id": task["site_id"],
                          **outcome.model_dump(mode="json")}))
        return
    done = "Already recorded" if outcome.already_done else f"Recorded {', '.join(outcome.recorded)}"
    Console(highlight=False, soft_wrap=True).print(Text(
        f"{done} for task {task_id} at {task['site_id']}. {outcome.explanation}".strip()))


def _answer(task: asyncpg.Record, actor: Actor, answers: Any):
    """The Update this task needs: its assessment, or a completion with the outcome."""
    common = dict(initiative_id=task["initiative_id"], site_id=task["site_id"], actor=actor)
    if task["kind"] == "submit_assessment":
        if answers is None:
            fail(f"Task '{task['task_id']}' asks for a {task['instrument'].replace('_', ' ')}; "
                 "give it with --data FILE.", INVALID)
        body = answers.get("assessment", answers) if isinstance(answers, dict) else answers
        assessment = _valid(TypeAdapter(Assessment), body, "assessment")
        assessment_id = (answers.get("assessment_id") if isinstance(answers, dict) else None) \
            or f"{task['task_id']}:cli"
        return lambda client: task_actions.submit_assessment(
            client, **common, assessment_id=str(assessment_id), assessment=assessment,
            task_id=task["task_id"])
    body = answers.get("outcome", answers) if isinstance(answers, dict) else answers
    outcome = _valid(TypeAdapter(Outcome), body if body is not None else {}, "outcome")
    return lambda client: task_actions.complete_task(client, **common, task_id=task["task_id"],
                                                     outcome=outcome)


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as problem:
        fail(f"Cannot read {path}: {problem.strerror or problem}.", INVALID)
    try:
        return json.loads(text) if path.suffix == ".json" else YAML(typ="safe").load(text)
    except (ValueError, YAMLError) as problem:
        fail(f"{path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: "
             f"{' '.join(str(problem).split())[:200]}", INVALID)


def _valid(adapter: TypeAdapter, value: Any, what: str):
    try:
        return adapter.validate_python(value)
    except ValidationError as problem:
        first = problem.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        shown = first.get("input")
        value_text = "" if isinstance(shown, (dict, list)) else f" (got {shown!r})"
        fail(f"Invalid {what}: {path or 'the data'}: {first['msg']}{value_text}.", INVALID)


def _state_admin(actor_id: str) -> Actor:
    try:
        return Actor(id=actor_id.strip(), role=Role.STATE_ADMIN)
    except ValidationError:
        fail(f"--as must be 1 to 200 characters, not {len(actor_id.strip())}.", INVALID)
