"""How `rollout status` draws initiatives: the list, and one initiative's board (sites per stage
by cohort and by region, as the demo's board), its site counts and its control history."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from domain.board import COLUMNS
from rollouts.control_history import ControlRecord
from rollouts.operations import InitiativeRun
from rollouts.trouble import Trouble
from workflows.models import InitiativeStatus

"""The status query's labels, in board order."""
HEADERS = ["Waiting", "Expl", "Inst", "Init", "Full", "Done", "Paused", "Cancelled"]
"""Short enough for an 80-column terminal; the legend under the board spells them out."""
LEGEND = ("Waiting: cohort not started yet; Expl → Inst → Init → Full: Exploration, Installation, "
          "Initial and Full Implementation; Done: completed.")


class InitiativeReport(BaseModel):
    """What `rollout status INITIATIVE --json` prints."""

    initiative_id: str
    workflow_id: str
    workflow_status: str
    status: InitiativeStatus
    site_counts: dict[str, int]
    controls: list[ControlRecord] | None = None
    """None when no event store was given or it could not be read"""
    web_ui: str | None = None
    troubles: list[Trouble] = []
    """Workflows of the initiative that failed or cannot go on (empty when all is well)"""


def initiative_list(runs: list[InitiativeRun], address: str) -> Table:
    table = Table(title=f"Initiatives on Temporal at {address}")
    for column in ("Initiative", "Workflow", "Started", "Closed", "Task queue"):
        table.add_column(column)
    for run in runs:
        table.add_row(run.initiative_id, run.workflow_status, _when(run.started), _when(run.closed),
                      run.task_queue)
    return table


def initiative_board(report: InitiativeReport) -> Group:
    status = report.status
    parts: list = [Text.assemble(
        ("Initiative ", ""), (report.initiative_id, "bold"), f": {status.status} ",
        (f"(workflow {report.workflow_id}: {report.workflow_status})", "dim"))]
    if report.troubles:
        parts.append(Text(f"{len(report.troubles)} workflow(s) of this initiative have stopped:",
                          style="bold red"))
        parts.extend(Text(f"  {t.line()}", style="red") for t in report.troubles)
    cohorts = _board_table("Sites per stage by cohort", "Cohort")
    for cohort in status.cohorts:
        cohorts.add_row(cohort.cohort_id, *_counts(cohort.by_stage), str(cohort.sites))
    parts.append(cohorts)
    parts.extend(Text(f"  {c.cohort_id}: {c.gate}{'' if c.started else ' (not started)'}", style="dim")
                 for c in status.cohorts)
    if status.by_region:
        regions = _board_table("Sites per stage by region (started cohorts)", "Region")
        for region, counts in status.by_region.items():
            regions.add_row(region, *_counts(counts), str(sum(counts.values())))
        parts.append(regions)
    parts.append(Text(LEGEND, style="dim"))
    parts.append(Text(_counts_line(report.site_counts)))
    parts.append(_controls(report.controls))
    if report.web_ui:
        parts.append(Text(f"Temporal Web UI: {report.web_ui}"))
    return Group(*parts)


def _board_table(title: str, first: str) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1),
                  collapse_padding=True, pad_edge=False)
    table.add_column(first)
    for header in HEADERS:
        table.add_column(header, justify="right")
    table.add_column("Sites", justify="right")
    return table


def _counts(by_label: dict[str, int]) -> list[str]:
    return [str(by_label.get(column, 0) or "-") for column in COLUMNS]


def _counts_line(counts: dict[str, int]) -> str:
    rest = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items() if name != "total")
    return f"Sites: {counts['total']} in the plan; {rest}."


def _controls(controls: list[ControlRecord] | None) -> Table | Text:
    if controls is None:
        return Text("Controls: no event store to read them from (give --database-url).", style="dim")
    if not controls:
        return Text("Controls: none (never paused, resumed or cancelled).")
    table = Table(title="Pause, resume and cancel, with reasons", title_justify="left")
    for column in ("Recorded", "Action", "Scope", "By", "Reason"):
        table.add_column(column)
    for c in controls:
        table.add_row(_when(c.recorded_at), c.action, c.scope, c.actor_id, c.reason)
    return table


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "-"
