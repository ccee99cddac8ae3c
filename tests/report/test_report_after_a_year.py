"""Acceptance: a plan played for one simulated school year on the Temporal dev server (real worker,
real PostgreSQL, simulated districts, time compressed), then `rollout report` on it: its charts
are images, not tables, and its year-end board equals the stage board (`board_at`) at the year's
end and the initiative workflow's own status query.

The status query answers for "now", the report for the year's end. They are compared once school
time has passed the year's end with nobody acting since before it (the driver stops answering
with a margin), and only after checking that the board did not change between the two moments,
so the comparison is exact. The initiative keeps running after its first year; it is cancelled at
the end.

The small example's year is in the default suite; the state-scale example's (368 sites) takes
many minutes on this machine and is marked `slow`.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from temporalio.client import WorkflowExecutionStatus
from typer.testing import CliRunner

from cli.main import app
from domain.plan import Plan
from domain.plan_yaml import dump_plan, parse_plan
from simulation.playthrough import launch, simulate
from report.period import school_year
from simulation.districts import Profile
from store.board_queries import board_at
from tests.report.reading import PNG_SIGNATURE, decode_png, read_report
from tests.report.school_year import play_school_year, school_clock
from tests.workflows.harness import STATE_ADMIN
from worker import running_worker
from workflows.initiative import InitiativeWorkflow
from workflows.models import ControlRequest, InitiativeOptions, InitiativeStatus

pytestmark = [pytest.mark.asyncio, pytest.mark.temporal, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
SMALL_SPEEDUP = 864_000.0   # one calendar day of school time every 0.1 s (answers stop 20 days early)
STATE_SPEEDUP = 43_200.0    # one every 2 s: the dev server and worker keep up better at scale
runner = CliRunner()


def plan_from(example: str) -> Plan:
    plan = parse_plan((ROOT / "examples" / example).read_text())
    initiative = plan.initiative.model_copy(
        update={"id": f"{plan.initiative.id[:40]}-{uuid.uuid4().hex[:6]}"})
    return plan.model_copy(update={"initiative": initiative})


def varied(plan: Plan) -> dict[str, Profile]:
    """Mostly steady sites; some whose capacity stalls, fidelity collapses or readiness fails,
    so the year ends with sites spread over the stages."""
    profiles = {}
    for n, site in enumerate(plan.sites):
        profiles[site.id] = (Profile.CAPACITY_STALLS if n % 5 == 2 else
                             Profile.FIDELITY_COLLAPSES if n % 7 == 1 else
                             Profile.READINESS_FAILS if n % 11 == 4 else Profile.STEADY)
    return profiles


def _label(c) -> str:
    return c.status.capitalize() if c.status in ("completed", "paused", "cancelled") \
        else c.stage or "Not started"


def grouped(cells, key) -> dict[str, Counter]:
    out: dict[str, Counter] = {}
    for c in cells:
        out.setdefault(key(c), Counter())[_label(c)] += c.sites
    return out


def status_groups(status: InitiativeStatus,
                  ) -> tuple[Counter, dict[str, Counter], dict[str, Counter]]:
    started = {c.cohort_id: Counter(c.by_stage) for c in status.cohorts if c.started}
    return (Counter(status.by_stage), started,
            {region: Counter(counts) for region, counts in status.by_region.items()})


def report_groups(table) -> dict[str, Counter]:
    return {row: Counter({col: int(v) for col, v in cells.items() if col != "Total" and int(v)})
            for row, cells in table.by_row().items() if row != "All sites"}


async def play_a_year_then_report(client, database, plan: Plan, speedup: float, out: Path,
                                  guard_seconds: float) -> dict:
    pool, dsn = database
    queue = f"report-{uuid.uuid4().hex[:6]}"
    timings: dict = {"sites": len(plan.sites), "speedup": speedup}
    year = school_year(plan.calendar.years[0].start.year, plan.calendar)
    started = time.monotonic()
    async with running_worker(client, pool, task_queue=queue):
        handle = await launch(client, plan, STATE_ADMIN, task_queue=queue,
                              options=InitiativeOptions(speedup=speedup))
        clock = await school_clock(handle, plan, speedup)
        played = await play_school_year(handle, simulate(client, pool, plan, varied(plan)), clock,
                                        year_end=year.last_day, guard_seconds=guard_seconds)
        timings |= {"year_seconds": round(played.seconds, 1), "rounds": played.rounds,
                    "last_answered": str(played.last_answered),
                    "longest_round_seconds": round(max(played.round_seconds, default=0), 2)}

        # Quiet: nobody has acted since before the year's end. Let the last signals and
        # projections land, then compare the store's board now, at the year's end, and the
        # workflow's status query.
        for _ in range(300):
            status = await handle.query(InitiativeWorkflow.status)
            now = clock.school_now(datetime.now(timezone.utc))
            cells = await board_at(pool, plan.initiative.id, [year.end, now])
            at_end = [c for c in cells if c.at == year.end]
            at_now = [c for c in cells if c.at != year.end]
            if Counter(_count(at_now)) == status_groups(status)[0] and \
                    sum(c.sites for c in at_now) == len(status.sites):
                break
            await asyncio.sleep(0.2)
        assert Counter(_count(at_end)) == Counter(_count(at_now)), \
            "no site moved between the year's end and the comparison"
        by_stage, by_cohort, by_region = status_groups(status)
        assert Counter(_count(at_end)) == +by_stage, "the store's board is the workflow's board"
        assert grouped(at_end, lambda c: c.cohort_id) == {k: +v for k, v in by_cohort.items()}
        assert grouped(at_end, lambda c: c.region) == {k: +v for k, v in by_region.items()}

        plan_file = out / "plan.yaml"
        plan_file.write_text(dump_plan(plan))
        report_started = time.monotonic()
        result = await asyncio.to_thread(runner.invoke, app, [
            "report", "--initiative", plan.initiative.id, "--year", str(year.year),
            "--plan", str(plan_file), "--database-url", dsn, "--out", str(out), "--pdf"],
            env={"COLUMNS": "200", "ROLLOUT_DATABASE_URL": None})
        timings["report_seconds"] = round(time.monotonic() - report_started, 1)
        assert result.exit_code == 0, result.output

        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.execute_update(InitiativeWorkflow.control, ControlRequest(
                actor=STATE_ADMIN, action="cancel", reason="first school year reported"))
            final = await asyncio.wait_for(handle.result(), timeout=900)
            assert set(final.by_stage) <= {"Cancelled", "Completed"}, final.by_stage
    timings["total_seconds"] = round(time.monotonic() - started, 1)

    stem = f"ssip-report-{plan.initiative.id}-{year.label}"
    reader = read_report((out / f"{stem}.html").read_text(encoding="utf-8"))
    assert reader.problems == []
    charts = [f for f in reader.figures if "chart" in f.classes.split()]
    assert len(charts) == 11 and len(reader.figures) == len(charts)
    for figure in charts:
        assert len(figure.images) == 1, f"{figure.id} is an image, not a table alone"
        png, shape, spread = decode_png(figure.images[0]["src"])
        assert png.startswith(PNG_SIGNATURE) and shape[1] >= 400 and spread > 0.01, figure.id
    named = {c.id: c.name for c in plan.cohorts}
    assert report_groups(reader.tables["year-end-by-cohort"]) == \
        grouped(at_end, lambda c: named[c.cohort_id]), "cohorts by the plan's names"
    assert report_groups(reader.tables["year-end-by-region"]) == \
        grouped(at_end, lambda c: c.region)
    assert report_groups(reader.tables["year-end-by-cohort"]) == \
        {named[k]: +v for k, v in by_cohort.items()}, "the report's board is the workflow's board"
    assert (out / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"
    timings["board_at_year_end"] = dict(Counter(_count(at_end)))
    (out / "timings.json").write_text(json.dumps(timings, indent=1))
    print(f"\n{plan.initiative.id}: {json.dumps(timings)}")
    return timings


def _count(cells) -> dict[str, int]:
    counts: Counter = Counter()
    for c in cells:
        counts[_label(c)] += c.sites
    return dict(counts)


def output_dir(tmp_path: Path, name: str) -> Path:
    """ROLLOUT_REPORT_OUT keeps the written report (and its timings) somewhere to look at."""
    kept = os.environ.get("ROLLOUT_REPORT_OUT")
    out = Path(kept) / name if kept else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    return out


async def test_a_year_of_the_small_example_then_the_report(client, database, tmp_path):
    timings = await play_a_year_then_report(client, database, plan_from("small.yaml"),
                                            SMALL_SPEEDUP, output_dir(tmp_path, "small"), 2.0)
    past_exploration = {k: v for k, v in timings["board_at_year_end"].items()
                        if k not in ("Not started", "Exploration")}
    assert past_exploration, "the districts answered through the year"


@pytest.mark.slow
@pytest.mark.timeout(3600)
async def test_a_year_of_the_state_scale_example_then_the_report(client, database, tmp_path):
    timings = await play_a_year_then_report(client, database, plan_from("state-scale.yaml"),
                                            STATE_SPEEDUP, output_dir(tmp_path, "state-scale"),
                                            10.0)
    assert sum(timings["board_at_year_end"].values()) > 100, "at least the first cohort enrolled"
