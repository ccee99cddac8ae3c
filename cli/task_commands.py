"""`rollout tasks` and `rollout complete`: a site's inbox, and acting on one task as a state admin;
`rollout escalations` and `rollout task reassign|extend|waive`: the state team's queue of escalated
tasks, and working one of them.

`tasks` reads the inbox projection, `escalations` the queue (rollouts/escalations.py). `complete TASK --data FILE` sends the Update the API and the
web pages send (rollouts/task_actions.py): for a task that asks for an assessment the file holds
the assessment (JSON or YAML, `instrument` saying which), for any other task its outcome, e.g.
`{"attendees": 24}`. `task reassign|extend|waive TASK --reason TEXT --as ID` sends the Update the
API's `POST /tasks/{id}/reassign|extend|waive` sends, as a state admin. Exit codes: 0 done; 1 not
found, refused or finished; 2 bad arguments or the stack cannot be reached.
"""

from __future__ import annotations

import getpass
import json
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import typer
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text
from ruamel.yaml import YAML, YAMLError

from cli.database import NOT_FOUND, fail, read
from cli.ops_target import DATABASE_URL, JSON, TEMPORAL_ADDRESS, run, target, waiting
from domain.actors import Actor, Role
from domain.commands import Assignee, Outcome, Reason
from domain.events import TaskKind
from domain.instruments import Assessment
from rollouts import escalations as queue, task_actions
from rollouts.operations import OperationError, reach
from rollouts.task_actions import ActionFailed
from store import district_queries, inbox_queries
from workflows.models import UpdateOutcome

INVALID, REFUSED, UNAVAILABLE = 2, 1, 2
EXIT = {"invalid": REFUSED, "forbidden": REFUSED, "finished": REFUSED, "unavailable": UNAVAILABLE}
STATUSES = ("open", "completed", "withdrawn", "waived", "all")
KINDS = TaskKind.__args__
REASON = typer.Option(..., "--reason", metavar="TEXT",
                      help="Why: recorded with the decision in the audit trail.")
ACTOR = typer.Option(..., "--as", metavar="ACTOR_ID",
                     help="Your staff id; recorded as a state admin's decision.")
TASK = typer.Argument(..., metavar="TASK", help="The task's id (see `rollout escalations`).")

task_app = typer.Typer(no_args_is_help=True,
                       help="The state team works a task: reassign it, extend it, or waive it.")


def register(app: typer.Typer) -> None:
    app.command("tasks")(tasks)
    app.command("complete")(complete)
    app.command("escalations")(escalations)
    app.add_typer(task_app, name="task")


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


# --- the escalation queue -------------------------------------------------------------------

def escalations(
    region: str = typer.Option(None, "--region", metavar="REGION", help="Only this region."),
    district: str = typer.Option(None, "--district", metavar="DISTRICT",
                                 help="Only this district (and its schools)."),
    kind: str = typer.Option(None, "--kind", metavar="KIND", help=f"Only this kind: {', '.join(KINDS)}."),
    older_than: int = typer.Option(None, "--older-than", metavar="DAYS", min=0, max=queue.MAX_AGE,
                                   help="Only those escalated at least DAYS school days ago."),
    initiative: str = typer.Option(None, "--initiative", metavar="ID", help="Only this initiative."),
    limit: int = typer.Option(200, "--limit", min=1, max=10_000, help="At most this many."),
    database_url: str = DATABASE_URL,
    as_json: bool = JSON,
) -> None:
    """The state team's queue: escalated open tasks, oldest escalation first, with their age in
    school days; work one with `rollout task reassign|extend|waive`."""
    if kind is not None and kind not in KINDS:
        fail(f"--kind must be one of {', '.join(KINDS)}, not '{kind}'.", INVALID)
    rows, _ = read(target(database_url=database_url).database_url, lambda pool: queue.queue(
        pool, region=region, district=district, kind=kind, older_than_days=older_than,
        initiative_id=initiative, limit=limit))
    if as_json:
        for r in rows:
            print(r.model_dump_json())
        return
    out = Console(highlight=False)
    if not rows:
        out.print(Text("No escalated open tasks" + (" match." if any(
            v is not None for v in (region, district, kind, older_than, initiative)) else ".")))
        return
    table = Table(Column("task", no_wrap=True), "site", "region", "kind",
                  Column("due", no_wrap=True), Column("escalated", no_wrap=True),
                  Column("age", no_wrap=True), "with", "title",
                  title=f"Escalations ({len(rows)}, oldest first)")
    for r in rows:
        escalated = f"{r.escalated_at:%Y-%m-%d}" if r.escalated_at else "-"
        age = "-" if r.age_school_days is None else f"{r.age_school_days} d"
        table.add_row(*(Text(c) for c in (
            r.task_id, f"{r.site_name} ({r.site_id})", r.region, r.kind, str(r.due), escalated,
            age, r.assignee or r.assignee_role, r.title)))
    out.print(table)
    out.print(Text("Work one with: rollout task reassign|extend|waive TASK --reason TEXT --as ID",
                   style="dim"))


@task_app.command("reassign")
def reassign(task_id: str = TASK,
             assignee: str = typer.Option(..., "--to", metavar="ASSIGNEE",
                                          help="team:KIND:ID or person:ID, e.g. "
                                               "team:district:cedar-falls-sd, person:ann@example.org."),
             reason: str = REASON, actor_id: str = ACTOR,
             temporal_address: str = TEMPORAL_ADDRESS, database_url: str = DATABASE_URL,
             as_json: bool = JSON) -> None:
    """Hand a task to another person or team."""
    _valid(TypeAdapter(Assignee), assignee, "--to")
    _manage(task_id, "reassign", reason, actor_id, temporal_address, database_url, as_json,
            assignee=assignee)


@task_app.command("extend")
def extend(task_id: str = TASK,
           due: str = typer.Option(..., "--due", metavar="YYYY-MM-DD",
                                   help="The new due date: a school day after today and after "
                                        "the current due date."),
           reason: str = REASON, actor_id: str = ACTOR,
           temporal_address: str = TEMPORAL_ADDRESS, database_url: str = DATABASE_URL,
           as_json: bool = JSON) -> None:
    """Give a task a later due date; its escalation clears and its deadlines restart from it."""
    new_due = _valid(TypeAdapter(date), due, "--due")
    _manage(task_id, "extend", reason, actor_id, temporal_address, database_url, as_json,
            due=new_due)


@task_app.command("waive")
def waive(task_id: str = TASK, reason: str = REASON, actor_id: str = ACTOR,
          temporal_address: str = TEMPORAL_ADDRESS, database_url: str = DATABASE_URL,
          as_json: bool = JSON) -> None:
    """Close a task without completing it: it no longer needs doing."""
    _manage(task_id, "waive", reason, actor_id, temporal_address, database_url, as_json)


def _manage(task_id: str, action: str, reason: str, actor_id: str, temporal_address: str | None,
            database_url: str | None, as_json: bool, **details) -> None:
    reason = _valid(TypeAdapter(Reason), reason, "--reason")
    actor = _state_admin(actor_id)
    where = target(temporal_address, database_url)
    task, _ = read(where.database_url, lambda pool: inbox_queries.task(pool, task_id))
    if task is None:
        fail(f"There is no task '{task_id}'; `rollout escalations` lists the escalated ones.",
             NOT_FOUND)

    async def act() -> UpdateOutcome:
        client = await reach(where.temporal_address, where.namespace)
        try:
            return await task_actions.manage_task(
                client, initiative_id=task["initiative_id"], site_id=task["site_id"],
                task_id=task_id, actor=actor, action=action, reason=reason, **details)
        except ActionFailed as failure:
            raise OperationError(failure.message, EXIT[failure.kind]) from None

    with waiting(f"Sending to the rollout of {task['site_id']}..."):
        outcome = run(act())
    if as_json:
        print(json.dumps({"task_id": task_id, "site_id": task["site_id"], "action": action,
                          **outcome.model_dump(mode="json")}))
        return
    done = "Already recorded" if outcome.already_done else f"Recorded {', '.join(outcome.recorded)}"
    Console(highlight=False, soft_wrap=True).print(Text(
        f"{done} for task {task_id} at {task['site_id']}."))
