"""A plan from its text to a launched initiative, one way for every edge: `rollout plan validate`
and `rollout start` (cli/), the API's plan check and launch, and the web page's upload.

Each reads the plan with `domain.plan_yaml.parse_plan` and tells its problems in the same words
(`PlanCheck`, `issue_line`): what the terminal prints is what the API answers and what the page
shows. Launching refuses an id the event store already holds, as `rollout start` does.
"""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
from pydantic import BaseModel
from temporalio.client import Client

from domain.actors import Actor
from domain.instrument_definitions import Catalogue
from domain.plan import Plan, PlanSummary
from domain.plan_yaml import MAX_PLAN_BYTES, PlanError, PlanIssue, parse_plan
from instrument_library import DefinitionsError, load_catalogue
from rollouts import operations as ops
from store.initiative_queries import initiative_recorded


class PlanFileError(Exception):
    """The plan file cannot be read; the message is one sentence for the person at the terminal."""


def read_plan_text(file: Path) -> str:
    """The file's text, or `PlanFileError` saying why not (shared by commands that take a plan).
    A file over the plan size limit is refused before it is read (and whatever its size claims,
    no more than the limit and one byte are ever read: a pipe or a device has no size)."""
    try:
        with file.open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            data = stream.read(MAX_PLAN_BYTES + 1) if size <= MAX_PLAN_BYTES else b""
        if size > MAX_PLAN_BYTES or len(data) > MAX_PLAN_BYTES:
            shown = f"{size:,} bytes" if size > MAX_PLAN_BYTES else "over that"
            raise PlanFileError(f"Cannot read plan file '{file}': it is {shown}; a plan file is "
                                f"at most {MAX_PLAN_BYTES:,} bytes (5 MB).")
        return data.decode("utf-8")
    except FileNotFoundError:
        reason = "no such file"
    except IsADirectoryError:
        reason = "it is a directory"
    except PermissionError:
        reason = "permission denied"
    except UnicodeDecodeError:
        reason = "it is not UTF-8 text"
    except OSError as failure:
        reason = failure.strerror or type(failure).__name__
    raise PlanFileError(f"Cannot read plan file '{file}': {reason}.")


def load_instruments(folder: Path | None = None) -> Catalogue:
    """The instrument definitions plans are checked against: the product's, with a state's
    folder's in their place (`PlanFileError` when the folder cannot be read)."""
    try:
        return load_catalogue(folder)
    except DefinitionsError as failure:
        raise PlanFileError("Cannot read the instrument definitions:\n" + str(failure)) from None


def read_plan(file: Path, instruments: Path | None = None) -> Plan:
    """The plan in the file, checked against the instrument definitions: `PlanFileError` when the
    file or the folder cannot be read, `PlanError` naming every problem of the plan."""
    return parse_plan(read_plan_text(file), source=str(file), instruments=load_instruments(instruments))


class PlanCheck(BaseModel):
    """A plan's verdict: `rollout plan validate --json` prints it, the API answers it."""

    valid: bool
    summary: PlanSummary | None = None
    problem: str | None = None
    """The headline, e.g. "plan.yaml: 2 problems in the plan" (None when valid)."""
    errors: list[PlanIssue] = []

    def as_json(self) -> dict:
        """The shape `rollout plan validate --json` has always printed."""
        result: dict = {"valid": self.valid}
        if self.summary is not None:
            result["summary"] = self.summary.model_dump(mode="json")
        if not self.valid:
            result["errors"] = [e.model_dump() for e in self.errors]
        return result


def check_plan(text: str, source: str,
               instruments: Catalogue | None = None) -> tuple[Plan | None, PlanCheck]:
    """The plan and its verdict; (None, the problems) when it is not valid. With `instruments`
    the plan's instrument references are checked against them, as `rollout plan validate` does."""
    try:
        plan = parse_plan(text, source=source, instruments=instruments)
    except PlanError as failure:
        return None, PlanCheck(valid=False, problem=failure.message, errors=failure.errors)
    return plan, PlanCheck(valid=True, summary=plan.summary())


def issue_line(issue: PlanIssue) -> str:
    """One problem as the terminal prints it: line, field path and value, then the message."""
    text = f"line {issue.line}" if issue.line else "line ?"
    if issue.path:
        text += f"  {issue.path} = {issue.value}"
    return f"{text}  {issue.message}"


def renamed(plan: Plan, initiative_id: str | None) -> Plan:
    """The plan under another initiative id (`ValidationError` naming `id` when it is not one)."""
    if initiative_id is None:
        return plan
    initiative = plan.initiative.model_validate({**plan.initiative.model_dump(), "id": initiative_id})
    return plan.model_copy(update={"initiative": initiative})


async def launch(client: Client, pool: asyncpg.Pool, plan: Plan, actor: Actor, *,
                 task_queue: str, speedup: float) -> ops.Launched:
    """Launch the plan's initiative, unless the event store already holds one by its id (an
    `OperationError`, as for a running one)."""
    if await initiative_recorded(pool, plan.initiative.id):
        raise ops.OperationError(ops.already_started(plan.initiative.id,
                                                     "the event store holds its record"))
    return await ops.launch_initiative(client, plan, actor, task_queue=task_queue,
                                       speedup=speedup)

