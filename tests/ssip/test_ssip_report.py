"""The SSIP as a state team records it from the command line (`rollout ssip ...`) and the annual
report's SSIP sections built from it, over a real event store holding a school year decided by
the domain: SiMR baseline 32.0%, target 36.0% and actual 35.1% for FFY 2026 shown as figures, a
chart and a table; stakeholder counts under the minimum cell size suppressed; the reflection
printed. Also the report's loose ends of issue 20: cohort names, data through the year's end, a
plan refused no more for the demo's stamped initiative id."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
import pytest
import pytest_asyncio
import typer
from typer.testing import CliRunner

from cli import report_command, ssip_commands, task_commands
from api.models import Task
from domain import ssip
from domain.actors import SYSTEM
from domain.events import site_streams_of
from domain.plan_yaml import dump_plan
from report import ReportRequest, build_report
from report.build import ReportError
from report.period import school_year
from store import inbox_queries, ssip_stream
from tests.report.histories import ROOT, report_plan, store_year
from tests.report.reading import PNG_SIGNATURE, decode_png, read_report
from tests.ssip.builders import ACTUAL, BASELINE, TARGET, school_clock
from tests.store.scenario import unique
from tests.workflows.harness import fresh_database

pytestmark = pytest.mark.postgres

INITIATIVE = unique("ssiprpt")
STAMPED = f"{unique('demo')}-20261203-152102"
RECORDED_FROM = datetime(2027, 11, 2, 14, tzinfo=timezone.utc)
EXAMPLES = ROOT / "examples" / "ssip"
ENV = {"COLUMNS": "200", "ROLLOUT_DATABASE_URL": None}

app = typer.Typer()
report_command.register(app)
ssip_commands.register(app)
task_commands.register(app)


def ssip_time(day) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=timezone.utc)


@app.callback()
def _group() -> None:
    """Keep the commands subcommands, as in `rollout`."""


runner = CliRunner()


async def rollout(*args: str):
    """Invoke in a thread: each command runs its own event loop."""
    return await asyncio.to_thread(runner.invoke, app, list(args), env=ENV)


@pytest_asyncio.fixture(scope="module")
async def store(postgres, tmp_path_factory):
    pool, dsn = await fresh_database(postgres)
    plan = report_plan(INITIATIVE)
    # school time: the state team records FFY 2026 in November 2027, when its tasks arrive
    await store_year(pool, plan, school_clock(datetime.now(timezone.utc), RECORDED_FROM))
    plan_file = tmp_path_factory.mktemp("plan") / "plan.yaml"
    plan_file.write_text(dump_plan(plan))
    for document in ("phase-1.yaml", "phase-2.yaml"):
        result = await rollout("ssip", "record", INITIATIVE, str(EXAMPLES / document),
                               "--as", "pat.ssip-lead", "--database-url", dsn)
        assert result.exit_code == 0, result.output
        assert result.output.startswith("Recorded Phase "), result.output
    await ssip_stream.record(pool, INITIATIVE, lambda state: ssip.decide(state, ssip.AssignYearTasks(
        at=ssip_time(ssip.tasks_assigned_on(2026)), actor=SYSTEM, ffy=2026)))
    result = await rollout("ssip", "record", INITIATIVE, str(EXAMPLES / "ffy-2026.yaml"),
                           "--as", "pat.ssip-lead", "--database-url", dsn)
    assert result.exit_code == 0, result.output
    assert "Completed: " in result.output and result.output.count(f"ssip:{INITIATIVE}:") == 3, \
        "entering the year's figures completes the state team's three tasks"
    yield pool, dsn, plan, plan_file
    await pool.close()


@pytest_asyncio.fixture(scope="module")
async def report(store, tmp_path_factory):
    _, dsn, _, plan_file = store
    out = tmp_path_factory.mktemp("report")
    result = await rollout("report", "-i", INITIATIVE, "-y", "2026", "--plan", str(plan_file),
                           "--database-url", dsn, "--out", str(out), "--no-pdf")
    assert result.exit_code == 0, result.output
    html = (out / f"ssip-report-{INITIATIVE}-2026-27.html").read_text(encoding="utf-8")
    return read_report(html), html


async def test_the_simr_figures_chart_and_table_for_the_ffy(report):
    reader, html = report
    assert reader.problems == []
    table = reader.tables["simr-by-ffy"].by_row()
    assert table["FFY 2025 (baseline)"]["Actual"] == f"{BASELINE:.1f}%"
    year = table["FFY 2026"]
    assert (year["Target"], year["Actual"]) == (f"{TARGET:.1f}%", f"{ACTUAL:.1f}%")
    assert year["Against the target"] == "not met (0.9 points short)"
    assert year["Change from the baseline"] == "+3.1 points"
    assert table["FFY 2027"]["Actual"] == "-", "a later year's figure belongs to a later report"
    figure = next(f for f in reader.figures if f.id == "chart-simr")
    png, shape, spread = decode_png(figure.images[0]["src"])
    assert png.startswith(PNG_SIGNATURE) and shape[1] >= 400 and spread > 0.01
    assert "35.1% against a target of 36.0%" in figure.images[0]["alt"]
    assert figure.tables == ["simr-by-ffy"]
    assert "SiMR, FFY 2026" in html and "35.1% (target 36.0%; baseline 32.0%)" in html


async def test_stakeholder_counts_under_the_minimum_cell_size_are_suppressed(report):
    reader, _ = report
    groups = reader.tables["stakeholders-by-group"].by_row()
    assert groups["Advocacy organizations"]["Participants"] == "suppressed", "6 is under 10"
    assert groups["Parents and families"]["Participants"] == "suppressed", \
        "complementary: 37 is the smallest other cell"
    assert groups["Teachers"]["Participants"] == "58"
    assert groups["Advocacy organizations"]["Meetings"] == "2", "meetings are not people"
    assert not any("37" == cell or "6" == cell
                   for row in reader.tables["stakeholders-by-group"].rows for cell in row[2:])
    whats = {(row[1], row[2]) for row in reader.tables["suppressed-cells"].rows}
    assert ("Advocacy organizations", "stakeholder participants") in whats


async def test_infrastructure_changes_and_reflection_are_printed(report):
    reader, html = report
    activities = reader.tables["infrastructure-activities"].by_row()
    status = activities["Regional coaching network for structured literacy"]["Status"]
    assert status.startswith("completed 15 Jun 2027")
    assert activities["Termly screener data feed to districts"]["Status"] == "under way"
    changes = reader.tables["plan-changes-table"].rows
    assert any("data warehouse" in " ".join(row) for row in changes)
    assert "Teacher turnover in two districts undoes training each year." in html
    assert "questions not answered" not in html
    assert "Theory of action: If the state trains and coaches" in html


async def test_tables_name_cohorts_and_data_ends_with_the_year(store, report):
    pool, _, plan, _ = store
    reader, html = report
    cohorts = reader.tables["year-end-by-cohort"].by_row()
    assert "Cohort 1" in cohorts and "c1" not in cohorts
    built = await build_report(pool, ReportRequest(INITIATIVE, 2026, plan=plan))
    year = school_year(2026, plan.calendar)
    latest = await pool.fetchval("SELECT max(occurred_at) FROM events "
                                 "WHERE starts_with(stream_id, $1)", site_streams_of(INITIATIVE))
    assert latest > year.end, "the history goes on after the year"
    assert built.data_through is not None and built.data_through < year.end
    assert f"{built.data_through:%-d %B %Y}" in html


async def test_cli_refusals_name_the_field_and_write_nothing(store, tmp_path):
    pool, dsn, _, _ = store
    before = (await ssip_stream.read(pool, INITIATIVE)).version
    bad = tmp_path / "bad.yaml"
    bad.write_text((EXAMPLES / "ffy-2026.yaml").read_text().replace("percent: 35.1",
                                                                     "percent: 135.1"))
    result = await rollout("ssip", "record", INITIATIVE, str(bad), "--database-url", dsn)
    assert result.exit_code == 2, result.output
    assert "simr_actual.percent = 135.1" in result.output
    result = await rollout("ssip", "actual", INITIATIVE, "--ffy", "2026", "--percent", "35.4",
                           "--database-url", dsn)
    assert result.exit_code == 2 and "reason" in result.output.lower(), \
        "revising a year's figure needs a reason"
    result = await rollout("ssip", "show", "no-such-initiative", "--database-url", dsn)
    assert result.exit_code == 1 and "no-such-initiative" in result.output
    assert (await ssip_stream.read(pool, INITIATIVE)).version == before
    result = await rollout("ssip", "show", INITIATIVE, "--database-url", dsn)
    assert result.exit_code == 0 and "35.1%" in result.output and "36.0%" in result.output


async def test_the_demos_stamped_initiative_takes_its_plan(store, tmp_path):
    pool, dsn, _, _ = store
    base = STAMPED.rsplit("-", 2)[0]
    await store_year(pool, report_plan(STAMPED))
    given = tmp_path / "plan.yaml"
    given.write_text(dump_plan(report_plan(base)))
    result = await rollout("report", "-i", STAMPED, "-y", "2026", "--plan", str(given),
                           "--database-url", dsn, "--out", str(tmp_path / "out"), "--no-pdf")
    assert result.exit_code == 0, result.output
    html = next((tmp_path / "out").glob("*.html")).read_text(encoding="utf-8")
    assert "ran it under the stamped id" in html
    other = report_plan(base)
    other = other.model_copy(update={"privacy": other.privacy.model_copy(
        update={"min_cell_size": 12})})
    with pytest.raises(ReportError, match="launched from another plan"):
        await build_report(pool, ReportRequest(STAMPED, 2026, plan=other))


async def test_the_state_teams_ssip_tasks_sit_in_the_inbox_without_a_site(store):
    pool, dsn, _, _ = store
    rows = await inbox_queries.tasks(pool, initiative_id=INITIATIVE, status="completed")
    tasks = [Task(**dict(r)) for r in rows if r["kind"].startswith("ssip_")]
    assert len(tasks) == 3 and all(t.site_id is None and t.completed_by == "pat.ssip-lead"
                                   for t in tasks), "the API's task model takes them"
    result = await rollout("tasks", "--initiative", INITIATIVE, "--status", "all",
                           "--database-url", dsn)
    assert result.exit_code == 0, result.output
    assert "SiMR" in result.output or "ssip:" in result.output
    result = await rollout("complete", tasks[0].task_id, "--database-url", dsn)
    assert result.exit_code == 2 and "rollout ssip record" in result.output, result.output
