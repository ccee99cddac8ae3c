"""`rollout plan ...`: check an initiative plan before anything starts on it.

Exit codes: 0 the plan is valid; 2 it is not, or the file cannot be read (or is over 5 MB).
Problems are printed one per line with line number, field path, value and message, so an editor
can jump to them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from domain.plan import Plan, PlanSummary
from domain.plan_yaml import MAX_PLAN_BYTES, PlanError, PlanIssue, parse_plan
from instrument_library import DefinitionsError, load_catalogue

INVALID = 2

plan_app = typer.Typer(no_args_is_help=True, help="Check and inspect initiative plans (YAML).")


def register(app: typer.Typer) -> None:
    app.add_typer(plan_app, name="plan")


INSTRUMENTS_OPTION = typer.Option(
    None, "--instruments", envvar="ROLLOUT_INSTRUMENTS_DIR", metavar="DIR",
    help="A folder of the state's own instrument definitions (YAML), used in place of the "
         "product's with the same id and version.")


@plan_app.command("validate")
def validate(
    file: Path = typer.Argument(..., help="The plan YAML file."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON result instead of tables."),
    instruments: Path | None = INSTRUMENTS_OPTION,
) -> None:
    """Validate a plan: print its summary, or every problem with its line, path and value
    (instruments, versions, subscales, tiers and thresholds checked against the definitions)."""
    out = Console(soft_wrap=True, highlight=False)
    try:
        summary = read_plan(file, instruments).summary()
    except PlanFileError as failure:
        if as_json:
            _echo_json(False, errors=[PlanIssue(path="", value="", message=str(failure))])
        else:
            Console(stderr=True, soft_wrap=True, highlight=False).print(Text(str(failure)))
        raise typer.Exit(INVALID) from None
    except PlanError as failure:
        if as_json:
            _echo_json(False, errors=failure.errors)
        else:
            _print_errors(out, failure)
        raise typer.Exit(INVALID) from None
    if as_json:
        _echo_json(True, summary=summary)
    else:
        _print_summary(out, str(file), summary)


class PlanFileError(Exception):
    """The plan file cannot be read; the message is one sentence for the person at the terminal."""


def read_plan(file: Path, instruments: Path | None = None) -> Plan:
    """The plan in the file, checked against the instrument definitions (the product's, with a
    state's folder in their place): PlanFileError when the file or the folder cannot be read,
    PlanError naming every problem of the plan."""
    try:
        catalogue = load_catalogue(instruments)
    except DefinitionsError as failure:
        raise PlanFileError("Cannot read the instrument definitions:\n" + str(failure)) from None
    return parse_plan(read_plan_text(file), source=str(file), instruments=catalogue)


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


def _echo_json(valid: bool, *, summary: PlanSummary | None = None,
               errors: list[PlanIssue] = ()) -> None:
    result: dict = {"valid": valid}
    if summary is not None:
        result["summary"] = summary.model_dump(mode="json")
    if not valid:
        result["errors"] = [e.model_dump() for e in errors]
    typer.echo(json.dumps(result, indent=2))


def _print_errors(out: Console, failure: PlanError) -> None:
    out.print(Text(f"{failure.message}:", style="bold red"))
    for issue in failure.errors:
        line = Text("  ")
        line.append(f"line {issue.line}" if issue.line else "line ?", style="cyan")
        if issue.path:
            line.append("  ").append(issue.path, style="bold").append(f" = {issue.value}")
        line.append(f"  {issue.message}")
        out.print(line)


def _print_summary(out: Console, source: str, s: PlanSummary) -> None:
    out.print(Text(f"{source}: valid plan", style="bold green"))
    out.print(Text(f"{s.name} ({s.initiative_id}), SSIP Phase {s.ssip_phase}: {s.practice}"))
    out.print(Text(f"SiMR: {s.simr}"))
    out.print(Text(f"{s.sites} sites ({s.districts} districts, {s.schools} schools), "
                   f"{s.practitioners} practitioners, {len(s.regions)} regions"))
    regions = Table("region", "districts", "schools", title="Sites by region")
    for r in s.regions:
        regions.add_row(r.region, str(r.districts), str(r.schools))
    out.print(regions)
    cohorts = Table("cohort", "name", "sites", "gate", title="Cohorts")
    for c in s.cohorts:
        cohorts.add_row(c.id, c.name, str(c.sites), c.gate)
    out.print(cohorts)
    pd = Table("stage", "sessions", "hours", title=f"PD plan ({s.trainers} trainers)")
    for stage, count in s.pd_sessions.items():
        pd.add_row(stage.value, str(count), f"{s.pd_hours[stage]:g}")
    out.print(pd)
    out.print(Text(f"Calendar: {s.school_years} school years, {s.first_day} to {s.last_day}, "
                   f"{s.school_days} school days"))
