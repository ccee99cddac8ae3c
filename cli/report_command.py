"""`rollout report --initiative I --year Y`: the annual SSIP (Phase III) progress report.

Reads the event store (`--database-url`, else $ROLLOUT_DATABASE_URL, else the local demo database)
and writes one self-contained HTML file, plus a PDF printed by headless Chromium when one is
installed. Exit codes: 0 written; 1 nothing recorded for that initiative and year, or the PDF asked
for could not be printed; 2 bad arguments, or the event store cannot be read.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import asyncpg
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from cli.database import DATABASE_URL, NOT_FOUND, UNAVAILABLE, fail, read
from rollouts.plans import PlanFileError, read_plan_text
from domain.plan import Plan
from domain.plan_yaml import PlanError, parse_plan
from domain.privacy import MIN_CELL, MIN_CELL_RANGE
from report import (
    STEPS, PdfError, ReportError, ReportRequest, build_report, find_browser, print_pdf, write_html,
)
from report.model import Report
from report.period import YEAR_RANGE

BAD_ARGUMENT = 2
WRITING, PRINTING = "Writing the HTML", "Printing the PDF"


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    initiative: str = typer.Option(..., "--initiative", "-i", metavar="ID",
                                   help="The initiative's id."),
    year: int = typer.Option(
        ..., "--year", "-y", metavar="YEAR",
        help="The school year, by the calendar year it starts in: 2026 means the "
             "2026-27 school year. With --plan, its dates are the plan's school year starting "
             "in that year; without, 1 July YEAR to 30 June YEAR+1 (the SPP/APR reporting "
             "period)."),
    out: Path = typer.Option(Path("."), "--out", "-o", metavar="DIR",
                             help="Directory to write the report into (created if missing)."),
    plan_file: Path | None = typer.Option(
        None, "--plan", metavar="FILE",
        help="The initiative's plan (YAML): its school-year dates and minimum cell size."),
    database_url: str | None = DATABASE_URL,
    min_cell: int | None = typer.Option(
        None, "--min-cell", metavar="N",
        help=f"Suppress counts of people below N, from {MIN_CELL_RANGE[0]} to "
             f"{MIN_CELL_RANGE[1]} (default: the plan's, else {MIN_CELL})."),
    pdf: bool | None = typer.Option(
        None, "--pdf/--no-pdf",
        help="Also print a PDF with headless Chromium (default: when Chromium is installed)."),
) -> None:
    """Write an initiative's annual SSIP progress report (HTML, and PDF where practical).

    Stage progression, the year-end stage board by cohort and region, capacity and fidelity
    trends by driver and region, coaching and PD delivered, review action items. Counts of
    people under the minimum cell size are suppressed, and the report lists them."""
    request = _request(initiative, year, min_cell, _plan(plan_file))
    browser = find_browser() if pdf is not False else None
    if pdf and browser is None:
        fail("Cannot print a PDF: no Chromium found (install Debian's chromium, or use --no-pdf).",
             BAD_ARGUMENT)
    total = len(STEPS) + 1 + (1 if browser else 0)
    with _progress(total) as step:
        built, _ = read(database_url, lambda pool: _build(pool, request, step))
        if isinstance(built, ReportError):
            fail(str(built), NOT_FOUND if built.not_found else BAD_ARGUMENT)
        step(WRITING)
        try:
            html = write_html(built, out)
        except OSError as problem:
            fail(f"Cannot write the report into '{out}': {problem.strerror or problem}.",
                 UNAVAILABLE)
        printed, trouble = None, None
        if browser:
            step(PRINTING)
            try:
                printed = print_pdf(html, browser)
            except PdfError as failure:
                trouble = str(failure)
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"Wrote {html} ({html.stat().st_size // 1024} KiB, {len(built.charts)} charts"
                  f"{_suppressed(built)}).")
    if printed:
        console.print(f"Wrote {printed} ({printed.stat().st_size // 1024} KiB).")
    if trouble:
        if pdf:
            fail(f"The HTML report is written, but not the PDF: {trouble}", NOT_FOUND)
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            Text(f"No PDF: {trouble}", style="yellow"))


def _request(initiative: str, year: int, min_cell: int | None,
             plan: Plan | None) -> ReportRequest:
    if not initiative.strip():
        fail("--initiative is empty: name the initiative to report on (e.g. --initiative "
             "pbis-statewide).", BAD_ARGUMENT)
    low, high = YEAR_RANGE
    if not low <= year <= high:
        fail(f"--year must be from {low} to {high} (the calendar year the school year starts "
             f"in), not {year}.", BAD_ARGUMENT)
    if min_cell is not None and not MIN_CELL_RANGE[0] <= min_cell <= MIN_CELL_RANGE[1]:
        fail(f"--min-cell must be from {MIN_CELL_RANGE[0]} to {MIN_CELL_RANGE[1]}, not "
             f"{min_cell}.", BAD_ARGUMENT)
    return ReportRequest(initiative.strip(), year, min_cell, plan)


def _plan(plan_file: Path | None) -> Plan | None:
    if plan_file is None:
        return None
    try:
        return parse_plan(read_plan_text(plan_file), source=str(plan_file))
    except PlanFileError as failure:
        fail(str(failure), BAD_ARGUMENT)
    except PlanError as failure:
        first = failure.errors[0] if failure.errors else None
        fail(f"The plan '{plan_file}' is not valid ({len(failure.errors)} problem"
             f"{'s' if len(failure.errors) != 1 else ''}; first: {first}); see `rollout plan "
             f"validate {plan_file}`.", BAD_ARGUMENT)


async def _build(pool: asyncpg.Pool, request: ReportRequest,
                 step: Callable[[str], None]) -> Report | ReportError:
    try:
        return await build_report(pool, request, progress=step)
    except ReportError as refused:
        return refused


def _suppressed(report: Report) -> str:
    n = len(report.suppressed)
    return f", {n} small cell{'s' if n != 1 else ''} suppressed" if n else ""


@contextmanager
def _progress(total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar on a terminal; one line per step otherwise (logs, CI)."""
    done = [0]
    if not sys.stderr.isatty():
        def line(what: str) -> None:
            done[0] += 1
            print(f"report: {what} ({done[0]}/{total})", file=sys.stderr, flush=True)
        yield line
        return
    with Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("report", total=total)

        def advance(what: str) -> None:
            bar.update(task, description=what, completed=done[0])
            done[0] += 1
        yield advance
