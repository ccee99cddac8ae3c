"""`rollout demo`: the main job. A real rollout end to end on the embedded Temporal dev server.

It starts PostgreSQL (kept under var/) and the Temporal dev server with its Web UI, runs a worker
in this process (and `--workers N` - 1 more beside it), launches the plan (the small example by default) with simulated districts and
time compressed, draws the stage board live, and ends with a summary and where to look next.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cli.plan_commands import PlanFileError, read_plan_text
from cli.local_machine import NoLocalMachine, local_machine
from domain.plan_yaml import PlanError, parse_plan
from domain.board import COLUMNS
from domain.stages import Stage
from observability.logging import configure_logging
from runtime.mail import MailServer
from simulation.demo import (
    SCHOOL_DAY_SECONDS, SPEEDUP, RolloutStopped, Round, demo_plan, run_demo, totals,
)
from runtime.temporal import connect
from store.db import connect as connect_db
from runtime.stack_file import ROOT, VAR
from store import notification_addresses
from store.migrate import migrate
from worker import running_worker

SMALL_PLAN = ROOT / "examples" / "small.yaml"
MAIL = VAR / "mail"


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    plan_file: Path = typer.Option(SMALL_PLAN, "--plan", help="The plan to roll out."),
    keep_open: bool = typer.Option(False, "--keep-open", help="Keep the servers (and the Web UI) "
                                   "running after the summary until Enter is pressed."),
    max_minutes: float = typer.Option(10.0, help="Stop the simulation after this long."),
    workers: int = typer.Option(1, "--workers", min=1, max=32, metavar="N",
                                help="Worker processes: one in this process, N-1 beside it, all "
                                     "on the demo's task queue."),
) -> None:
    """Run a full rollout with simulated districts and compressed time, drawn live."""
    out = Console(highlight=False)
    try:
        plan = parse_plan(read_plan_text(plan_file), source=str(plan_file))
    except (PlanFileError, PlanError) as problem:
        out.print(f"[red]{problem}[/red]")
        raise typer.Exit(2)
    configure_logging("WARNING")
    plan = demo_plan(plan, datetime.now().strftime("%Y%m%d-%H%M%S"))
    summary = plan.summary()
    out.print(Panel.fit(
        f"[bold]{plan.initiative.name}[/bold] ({summary.sites} sites, {len(plan.cohorts)} cohort(s))\n"
        f"Time is compressed: one school day passes every {SCHOOL_DAY_SECONDS:g} s "
        f"(×{SPEEDUP:,.0f}); district, coach and state answers are simulated.",
        title="rollout demo"))
    try:
        machine = local_machine()
    except NoLocalMachine as missing:
        out.print(f"[red]{missing}[/red]")
        raise typer.Exit(2)
    with out.status("Starting PostgreSQL and the Temporal dev server..."):
        database = machine.local_database()
        dsn = database.__enter__()
        temporal_cm = machine.local_temporal()
        try:
            temporal = temporal_cm.__enter__()
        except BaseException:
            database.__exit__(None, None, None)
            raise
    try:
        out.print(f"Temporal Web UI: [link]{temporal.ui_url}[/link]  (while the demo runs)")
        try:
            asyncio.run(_run(out, machine, plan, dsn, temporal.address, max_minutes, workers))
        except RolloutStopped as stopped:
            out.print(f"[bold red]The rollout stopped: {len(stopped.troubles)} workflow(s) failed "
                      "or cannot go on:[/bold red]")
            for trouble in stopped.troubles:
                out.print(Text(f"  {trouble.line()}", style="red"))
            raise typer.Exit(1)
        _where_to_look(out, plan, temporal)
        if keep_open:
            input("Press Enter to stop the servers. ")
    finally:
        with out.status("Stopping the servers..."):
            temporal_cm.__exit__(None, None, None)
            database.__exit__(None, None, None)


async def _run(out: Console, machine, plan, dsn: str, address: str, max_minutes: float,
               workers: int = 1) -> None:
    pool = await connect_db(dsn)
    try:
        await migrate(pool)
        client = await connect(address)
        queue = f"demo-{uuid.uuid4().hex[:8]}"
        with machine.MailSink(MAIL) as sink:
            mailed_before = len(machine.mailbox(MAIL))
            await _demo_addresses(pool, plan)
            os.environ.update(sink.env())  # the extra workers mail too (their env is ours)
            with machine.worker_processes(workers - 1, address=address, database_url=dsn,
                                          task_queue=queue, log_dir=VAR / "logs"):
                async with running_worker(client, pool, task_queue=queue,
                                          mail=MailServer("127.0.0.1", sink.port)):
                    screen = _Screen(out, plan)
                    with screen:
                        _, status = await run_demo(client, pool, plan, task_queue=queue,
                                                   on_round=screen.update,
                                                   max_seconds=max_minutes * 60)
            mailed = len(machine.mailbox(MAIL)) - mailed_before
        out.print(_summary(await totals(pool, plan, status)))
        out.print(f"{mailed} notification mails reached the demo's mail server (districts, "
                  f"coaches and the state team at .example addresses): `.venv/bin/rollout mail "
                  f"list` lists them, `rollout mail show N` prints one; files in {MAIL}.")
    finally:
        await pool.close()


async def _demo_addresses(pool, plan) -> None:
    """Addresses for the plan's teams (reserved .example domains): the state team, each
    district's team and each site's coaches, so the demo shows the mail each would get."""
    teams = {"state-team": "state-team@state.example"}
    for site in plan.sites:
        district = site.district or site.id
        teams[f"district:{district}"] = f"team@{district}.example"
        teams[f"coach:{site.id}"] = f"coaches-{site.id}@{district}.example"
    for recipient, email in teams.items():
        await notification_addresses.set_address(pool, recipient, email, by="rollout demo")


class _Screen:
    """Live board on a terminal; a line every few seconds otherwise (logs, CI)."""

    def __init__(self, out: Console, plan) -> None:
        self.out, self.plan, self._last_line = out, plan, -10.0
        self._live = Live(console=out, refresh_per_second=4, transient=False) if out.is_terminal else None

    def __enter__(self):
        if self._live:
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live:
            self._live.__exit__(*exc)

    def update(self, round: Round) -> None:
        if self._live:
            self._live.update(self._board(round))
        elif round.elapsed - self._last_line >= 3:
            self._last_line = round.elapsed
            board = ", ".join(f"{k}: {v}" for k, v in sorted(round.status.by_stage.items()))
            self.out.print(f"[{round.elapsed:5.1f}s] school day {round.school_day or '-'} | {board}")

    def _board(self, round: Round) -> Group:
        status = round.status
        regions = Table(title=f"Stage board, school day {round.school_day or '-'} "
                              f"({round.elapsed:.0f} s)", expand=False)
        regions.add_column("Region")
        for column in COLUMNS:
            regions.add_column(column, justify="right")
        for region, counts in status.by_region.items():
            regions.add_row(region, *[str(counts.get(c, "")) for c in COLUMNS])
        sites = Table(show_header=True, expand=False)
        for column in ("Site", "Cohort", "Stage", "Status", "Path"):
            sites.add_column(column)
        for site in self.plan.sites:
            progress = status.sites.get(site.id)
            stage = progress.stage if progress else None
            path = "".join("■" if stage and s.index <= stage.index else "□" for s in Stage)
            sites.add_row(site.name, progress.cohort_id if progress else "-",
                          stage.value if stage else "not started",
                          progress.status if progress else "waiting for its cohort", path)
        return Group(regions, sites)


SHORT = {Stage.EXPLORATION.value: "Expl", Stage.INSTALLATION.value: "Inst",
         Stage.INITIAL_IMPLEMENTATION.value: "Init", Stage.FULL_IMPLEMENTATION.value: "Full"}


def _summary(t) -> Group:
    table = Table(title="How each site went (Expl → Inst → Init → Full)")
    for column in ("Site", "Outcome", "Stages entered", "Regressed", "Escalated", "Months"):
        table.add_column(column)
    for s in t.sites:
        months = f"{(s.finished - s.started).days / 30.4:.0f}" if s.started and s.finished else "-"
        table.add_row(s.name, s.final, "→".join(SHORT[x] for x in s.stages) or "-",
                      str(s.regressions), str(s.escalations), months)
    figures = (f"{t.events} events recorded, {t.tasks} tasks assigned, {t.notifications} "
               f"notifications delivered, {t.pd_sessions} PD sessions booked")
    return Group(table, figures)


def _where_to_look(out: Console, plan, temporal) -> None:
    initiative, first = plan.initiative.id, plan.sites[0].id
    out.print(Panel(
        f"Audit one site:      [bold].venv/bin/rollout audit site {initiative} {first}[/bold]\n"
        f"Audit the initiative: [bold].venv/bin/rollout audit initiative {initiative}[/bold]\n"
        f"Verify the record:   .venv/bin/rollout audit verify --initiative {initiative} "
        f"--temporal-address {temporal.address} (while the servers run; after, --chains-only)\n"
        f"Workflows by stage:  .venv/bin/temporal workflow list --address {temporal.address} "
        f"--query \"InitiativeId='{initiative}' AND RolloutStage='Full Implementation' AND "
        "ExecutionStatus != 'ContinuedAsNew'\"\n"
        f"Temporal Web UI:     {temporal.ui_url}/namespaces/default/workflows "
        "(the servers stop when the demo ends; add --keep-open to browse)\n"
        "The event store under var/postgres keeps every run's record for the audit commands.",
        title="Where to look"))
