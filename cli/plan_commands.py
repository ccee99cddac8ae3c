"""`rollout plan ...`: check an initiative plan before anything starts on it.

Exit codes: 0 the plan is valid; 2 it is not, or the file cannot be read (or is over 5 MB).
Problems are printed one per line with line number, field path, value and message, so an editor
can jump to them.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from domain.plan import PlanSummary
from domain.plan_yaml import PlanIssue
from rollouts.plans import (
    PlanCheck, PlanFileError, check_plan, issue_line, load_instruments, read_plan_text,
)

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
        catalogue = load_instruments(instruments)
        text = read_plan_text(file)
    except PlanFileError as failure:
        if as_json:
            _echo_json(PlanCheck(valid=False, problem=str(failure), errors=[
                PlanIssue(path="", value="", message=str(failure))]))
        else:
            Console(stderr=True, soft_wrap=True, highlight=False).print(Text(str(failure)))
        raise typer.Exit(INVALID) from None
    _, check = check_plan(text, str(file), catalogue)
    if as_json:
        _echo_json(check)
    elif check.valid:
        _print_summary(out, str(file), check.summary)
    else:
        print_problems(out, check)
    if not check.valid:
        raise typer.Exit(INVALID)


def _echo_json(check: PlanCheck) -> None:
    typer.echo(json.dumps(check.as_json(), indent=2))


def print_problems(out: Console, check: PlanCheck) -> None:
    """The headline and one line per problem (rollouts/plans.py words them for every edge)."""
    out.print(Text(f"{check.problem}:", style="bold red"))
    for issue in check.errors:
        line = Text(f"  {issue_line(issue)}")
        line.stylize("cyan", 2, 2 + len(line.plain[2:].split("  ")[0]))
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
