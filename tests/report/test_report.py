"""`rollout report` over a real event store holding a school year decided by the domain: the HTML
parses, every chart is a real PNG image (never a table alone), the year-end board equals
`board_at` at the year's end, and small counts of people are suppressed and listed."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
import pytest_asyncio
import typer
from typer.testing import CliRunner

from cli import report_command
from domain.plan_yaml import dump_plan
from report import ReportRequest, build_report
from report.period import school_year
from store import projections
from store.board_queries import board_at
from tests.report.histories import report_plan, store_year
from tests.report.reading import PNG_SIGNATURE, decode_png, read_report
from tests.store.scenario import unique
from tests.workflows.harness import fresh_database

pytestmark = pytest.mark.postgres

INITIATIVE = unique("rpt")
CHARTS = {"chart-stage-progression", "chart-year-end-by-cohort", "chart-year-end-by-region",
          "chart-capacity-by-driver", "chart-capacity-by-region", "chart-capacity-region-driver",
          "chart-fidelity-by-region", "chart-delivery-by-month", "chart-delivery-by-region",
          "chart-action-items-by-region", "chart-action-items-by-driver"}
ENV = {"COLUMNS": "200", "ROLLOUT_DATABASE_URL": None}

app = typer.Typer()
report_command.register(app)


@app.callback()
def _group() -> None:
    """Keep `report` a subcommand, as in `rollout`."""


runner = CliRunner()


@pytest_asyncio.fixture(scope="module")
async def store(postgres, tmp_path_factory):
    pool, dsn = await fresh_database(postgres)
    plan = report_plan(INITIATIVE)
    await store_year(pool, plan)
    plan_file = tmp_path_factory.mktemp("plan") / "plan.yaml"
    plan_file.write_text(dump_plan(plan))
    yield pool, dsn, plan, plan_file
    await pool.close()


async def rollout(*args: str):
    """Invoke in a thread: the command runs its own event loop."""
    return await asyncio.to_thread(runner.invoke, app, ["report", *args], env=ENV)


async def written(store, out: Path, *extra: str):
    pool, dsn, plan, plan_file = store
    result = await rollout("--initiative", INITIATIVE, "--year", "2026", "--plan", str(plan_file),
                           "--database-url", dsn, "--out", str(out), "--no-pdf", *extra)
    assert result.exit_code == 0, result.output
    html = out / f"ssip-report-{INITIATIVE}-2026-27.html"
    return read_report(html.read_text(encoding="utf-8")), result


@pytest_asyncio.fixture(scope="module")
async def report(store, tmp_path_factory):
    reader, result = await written(store, tmp_path_factory.mktemp("report"))
    return reader


async def test_the_html_parses_and_every_chart_is_a_png_image(report):
    assert report.problems == [], "every element closes in order"
    charts = [f for f in report.figures if "chart" in f.classes.split()]
    assert {f.id for f in charts} == CHARTS
    assert len(report.figures) == len(charts), "no figure without a chart"
    for figure in charts:
        assert len(figure.images) == 1, f"{figure.id} is drawn as one image, not a table alone"
        image = figure.images[0]
        png, shape, spread = decode_png(image["src"])
        assert png.startswith(PNG_SIGNATURE)
        assert shape[0] >= 150 and shape[1] >= 400, (figure.id, shape)
        assert spread > 0.01, f"{figure.id} is not a blank image"
        assert len(image["alt"]) > 60, f"{figure.id} says what it shows in its alt text"
        assert len(figure.tables) == 1, f"{figure.id} has its numbers in a table beneath"
        assert report.tables[figure.tables[0]].rows
    assert all(img["src"].startswith("data:image/png;base64,") for img in report.images), \
        "self-contained: no image is fetched from elsewhere"


def _expected(cells, group) -> dict[str, Counter]:
    """The board's own rule, written out: completed, paused and cancelled apart, else the stage."""
    counts: dict[str, Counter] = {}
    for c in cells:
        where = c.status.capitalize() if c.status in ("completed", "paused", "cancelled") \
            else c.stage or "Not started"
        counts.setdefault(group(c), Counter())[where] += c.sites
    return counts


def _shown(table) -> dict[str, Counter]:
    return {row: Counter({col: int(v) for col, v in cells.items() if col != "Total" and int(v)})
            for row, cells in table.by_row().items() if row != "All sites"}


async def test_the_year_end_board_equals_board_at_the_years_end(store, report):
    pool, _, plan, _ = store
    end = school_year(2026, plan.calendar).end
    cells = await board_at(pool, INITIATIVE, [end])
    named = {c.id: c.name for c in plan.cohorts}
    by_cohort = _expected(cells, lambda c: named[c.cohort_id])
    by_region = _expected(cells, lambda c: c.region)
    assert _shown(report.tables["year-end-by-cohort"]) == by_cohort, "cohorts by their names"
    assert _shown(report.tables["year-end-by-region"]) == by_region
    assert by_cohort == {
        "Cohort 1": Counter({"Completed": 1, "Initial Implementation": 2, "Cancelled": 1}),
        "Cohort 2": Counter({"Paused": 1, "Initial Implementation": 1})}, \
        "lakeview's pause after the year's end is not on the year-end board"
    total = report.tables["year-end-by-cohort"].by_row()["All sites"]
    assert total["Total"] == str(sum(c.sites for c in cells)) == "6"


async def test_each_month_of_the_progression_equals_board_at_that_moment(store, report):
    from report.period import month_ends
    pool, _, plan, _ = store
    moments = month_ends(school_year(2026, plan.calendar))
    cells = await board_at(pool, INITIATIVE, moments)
    table = report.tables["stage-progression"]
    assert len(table.rows) == len(moments) == 12
    for row, moment in zip(table.rows, moments):
        shown = Counter({col: int(v) for col, v in zip(table.headers[1:-1], row[1:-1]) if int(v)})
        expected = _expected([c for c in cells if c.at == moment], lambda c: "")
        assert shown == expected.get("", Counter()), row[0]


async def test_small_counts_of_people_are_suppressed_and_listed(report):
    delivery = report.tables["delivery-by-region"].by_row()
    assert delivery["South"]["PD attendees"] == "suppressed", "9 attendees is a small cell"
    assert delivery["East"]["PD attendees"] == "suppressed", \
        "complementary: East's 30 would give South away through the total"
    assert delivery["North"]["PD attendees"] == "115"
    assert delivery["All regions"]["PD attendees"] == "154"
    assert delivery["South"]["Practitioners observed"] == "suppressed"
    assert delivery["South"]["PD sessions held"] == "2", "sessions are not people"
    fidelity = report.tables["fidelity-by-region"].by_row()
    assert fidelity["30 Nov 2026"]["North"] == "60.0% of 30"
    assert fidelity["31 Dec 2026"]["South"] == "suppressed", "6 of 20 meeting is a small cell"
    assert fidelity["31 Dec 2026"]["North"] == "suppressed", "complementary to South"
    assert fidelity["31 Dec 2026"]["Statewide"] == "48.0% of 50"
    assert not any("30.0%" in cell for row in report.tables["fidelity-by-region"].rows
                   for cell in row), "the hidden percent is nowhere"
    listed = report.tables["suppressed-cells"].by_row()
    assert any("complementary" in cells["Why"] for cells in listed.values()) or \
        any("complementary" in row[-1] for row in report.tables["suppressed-cells"].rows)
    whats = {(row[1], row[2]) for row in report.tables["suppressed-cells"].rows}
    assert ("South", "PD attendees") in whats and ("East", "PD attendees") in whats
    assert ("South, 31 Dec 2026", "practitioners assessed and meeting fidelity") in whats
    sites = report.tables["year-end-by-region"].by_row()
    assert sites["East"]["Total"] == "1", "counts of sites are never suppressed"


async def test_a_plan_with_a_lower_minimum_cell_size_shows_more(store, tmp_path):
    pool, dsn, plan, _ = store
    lower = plan.model_copy(update={"privacy": plan.privacy.model_copy(update={"min_cell_size": 5})})
    plan_file = tmp_path / "plan-min-5.yaml"
    plan_file.write_text(dump_plan(lower))
    reader, result = await written((pool, dsn, lower, plan_file), tmp_path)
    delivery = reader.tables["delivery-by-region"].by_row()
    assert (delivery["South"]["PD attendees"], delivery["East"]["PD attendees"]) == ("9", "30")
    assert delivery["South"]["Practitioners observed"] == "suppressed", "4 is under 5"
    assert reader.tables["fidelity-by-region"].by_row()["31 Dec 2026"]["South"] == "30.0% of 20"


async def test_statuses_are_told_as_of_the_years_end(report):
    items = report.tables["action-items-by-region"].by_row()["All regions"]
    assert (items["Assigned"], items["Open"], items["Completed"], items["Escalated"]) == \
        ("2", "1", "1", "1"), "the item completed in July is open at the year's end"
    months = report.tables["delivery-by-month"].by_row()
    assert months["Year"]["Coaching cycles completed"] == "5"
    assert (months["Year"]["PD sessions scheduled"], months["Year"]["PD sessions held"]) == \
        ("8", "8")
    assert months["Oct 2026"]["PD sessions held"] == "4", "prairie's, lakeview's two, cedar's"


async def test_a_pdf_is_printed_with_chromium(store, tmp_path):
    pool, dsn, plan, plan_file = store
    result = await rollout("-i", INITIATIVE, "-y", "2026", "--plan", str(plan_file),
                           "--database-url", dsn, "--out", str(tmp_path), "--pdf")
    assert result.exit_code == 0, result.output
    pdf = tmp_path / f"ssip-report-{INITIATIVE}-2026-27.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 50_000


async def test_without_the_plan_the_year_runs_july_to_june(store, tmp_path):
    _, dsn, _, _ = store
    result = await rollout("-i", INITIATIVE, "-y", "2026", "--database-url", dsn,
                           "--out", str(tmp_path), "--no-pdf")
    assert result.exit_code == 0, result.output
    reader = read_report((tmp_path / f"ssip-report-{INITIATIVE}-2026-27.html").read_text())
    text = " ".join("".join(reader.text).split())
    assert "1 July 2026 to 30 June 2027" in text and "pass --plan" in text
    assert reader.tables["stage-progression"].rows[-1][0] == "30 Jun 2027"


async def test_a_read_model_being_rebuilt_is_said_up_front(store):
    pool, _, plan, _ = store
    await projections.start(pool, "scores")
    try:
        report = await build_report(pool, ReportRequest(INITIATIVE, 2026, plan=plan))
    finally:
        await projections.catch_up(pool)
    assert any(note.startswith("The scores read model is being rebuilt") for note in report.notes)
    assert "No capacity assessment was recorded by the year's end." in \
        next(s for s in report.sections if s.id == "capacity").notes, "it was emptied to rebuild"


@pytest.mark.parametrize("args, code, message", [
    (["-i", "no-such-initiative", "-y", "2026"], 1, "No stage history is recorded for initiative "
                                                    "'no-such-initiative'"),
    (["-y", "2031"], 1, "has no record in school year 2031-32"),
    (["-y", "2026", "--min-cell", "3"], 2, "--min-cell must be from 5 to 30, not 3."),
    (["-y", "1999"], 2, "--year must be from 2000 to 2100"),
])
async def test_bad_requests_fail_in_one_line(store, tmp_path, args, code, message):
    _, dsn, _, _ = store
    full = args if "-i" in args else ["-i", INITIATIVE, *args]
    result = await rollout(*full, "--database-url", dsn, "--out", str(tmp_path), "--no-pdf")
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if not line.startswith("report: ")]
    assert len(lines) == 1 and message in lines[0], result.output
    assert not list(tmp_path.iterdir()), "nothing written"


async def test_a_plan_for_another_initiative_is_refused(store, tmp_path):
    _, dsn, plan, _ = store
    other = tmp_path / "other.yaml"
    other.write_text(dump_plan(report_plan("someone-else")))
    result = await rollout("-i", INITIATIVE, "-y", "2026", "--plan", str(other),
                           "--database-url", dsn, "--out", str(tmp_path / "out"), "--no-pdf")
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == \
        f"The plan is for initiative 'someone-else', not '{INITIATIVE}'."


async def test_the_report_may_raise_the_plans_minimum_cell_size_never_lower_it(store, tmp_path):
    pool, dsn, plan, plan_file = store
    result = await rollout("--initiative", INITIATIVE, "--year", "2026", "--plan", str(plan_file),
                           "--database-url", dsn, "--out", str(tmp_path), "--no-pdf",
                           "--min-cell", "5")
    assert result.exit_code != 0
    assert "--min-cell 5 is below the plan's minimum cell size 10" in result.output
