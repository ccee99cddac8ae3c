"""`rollout audit`: a site's history, read back from a real event store, says who did what, when,
and why the site moved; unknown ids and unreadable stores give a message and an exit code. Every
read prints a table, JSON lines or CSV, and suppresses counts under the plan's minimum cell size."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from contextlib import contextmanager
from datetime import date
from types import SimpleNamespace

import asyncpg
import pytest
import pytest_asyncio
import typer
from typer.testing import CliRunner

from audit.export import CSV_COLUMNS
from cli import audit_commands
from cli.main import app as rollout
from cli import database as cli_database
from domain import commands as c
from domain import events as ev
from domain.actors import SYSTEM
from domain.rollout import execute
from domain.site_state import SiteRolloutState
from domain.stages import Stage
from store.eventstore import EventStore
from tests.domain.builders import (
    COACH, COORDINATOR, START, STATE, Clock, adoption, capacity, checklist, fidelity, readiness,
)
from tests.workflows.harness import fresh_database

pytestmark = pytest.mark.postgres

INITIATIVE, SITE = "pbis", "adams"
STRICT, LOOSE, SMALL_SITE = "strict", "loose", "tiny-sd"
"""Two initiatives enrolling a site of 12 practitioners: STRICT's plan set min_cell_size 15 (its
launch recorded it), LOOSE's launch predates the field (the default, 10, applies)."""
WIDE = {"COLUMNS": "300", "ROLLOUT_DATABASE_URL": None}
APPROVAL_NOTE = "Regional team confirmed the PD calendar"
OVERRIDE_REASON = "State team accepts the district's recovery plan"

app = typer.Typer()
audit_commands.register(app)
runner = CliRunner()


def site_history() -> list[ev.Event]:
    """Adams through every kind of move: criteria met, approved, regression, override."""
    clock, state, recorded = Clock(), SiteRolloutState(), []

    def run(command) -> None:
        nonlocal state
        state, events = execute(state, command)
        recorded.extend(events)

    def submit(answers, actor=COORDINATOR) -> None:
        run(c.SubmitAssessment(at=clock.tick(), actor=actor, assessment_id=f"a{state.version}",
                               assessment=answers))

    def evaluate() -> None:
        run(c.EvaluateExit(at=clock.tick(), actor=SYSTEM, follow_up_due=date(2026, 10, 30)))

    run(c.EnrollSite(at=START, actor=SYSTEM, initiative_id=INITIATIVE, site_id=SITE,
                     site_name="Adams County SD", kind="district", region="North", cohort_id="c1",
                     practitioners=20, approval_required_for=[Stage.INITIAL_IMPLEMENTATION]))
    submit(readiness(2))
    submit(adoption())
    evaluate()                      # held: readiness too low, a follow-up task is assigned
    submit(readiness(4))
    evaluate()                      # Exploration -> Installation, criteria met
    submit(checklist())
    submit(capacity(1))
    run(c.SchedulePdSessions(at=clock.tick(), actor=SYSTEM, sessions=[c.PdSessionPlan(
        session_id="pd-1", title="Tier 1 launch", on=date(2026, 10, 5), trainer_id="t1", hours=6,
        capacity=30)]))
    evaluate()                      # met, but the plan asks for approval
    run(c.ApproveStageMove(at=clock.tick(), actor=STATE, to_stage=Stage.INITIAL_IMPLEMENTATION,
                           note=APPROVAL_NOTE))
    submit(fidelity(2), actor=COACH)
    submit(fidelity(1), actor=COACH)
    evaluate()                      # fidelity collapse: back to Installation
    run(c.OverrideStageMove(at=clock.tick(), actor=STATE, to_stage=Stage.INITIAL_IMPLEMENTATION,
                            reason=OVERRIDE_REASON))
    run(c.PauseRollout(at=clock.tick(), actor=STATE, reason="budget review"))
    return recorded


def initiative_history() -> list[ev.Event]:
    return ev.envelope([
        ev.InitiativeLaunchedPayload(
            initiative_id=INITIATIVE, name="PBIS statewide", practice="PBIS", ssip_phase="III",
            simr="Grade 3 reading", site_count=1, cohort_ids=["c1"], plan_digest="0" * 64),
        ev.CohortStartedPayload(cohort_id="c1", site_count=1, gate="starts at launch",
                                gate_evidence="the initiative launched"),
    ], stream_id=ev.initiative_stream(INITIATIVE), after=0, occurred_at=START, actor=STATE)


def launched(initiative_id: str, min_cell_size: int | None) -> list[ev.Event]:
    return ev.envelope([ev.InitiativeLaunchedPayload(
        initiative_id=initiative_id, name=f"{initiative_id} plan", practice="PBIS", ssip_phase="III",
        simr="Grade 3 reading", site_count=1, cohort_ids=["c1"], plan_digest="0" * 64,
        min_cell_size=min_cell_size)],
        stream_id=ev.initiative_stream(initiative_id), after=0, occurred_at=START, actor=STATE)


def small_site(initiative_id: str) -> list[ev.Event]:
    _, events = execute(SiteRolloutState(), c.EnrollSite(
        at=START, actor=SYSTEM, initiative_id=initiative_id, site_id=SMALL_SITE,
        site_name="Tiny SD", kind="district", region="North", cohort_id="c1", practitioners=12))
    return events


@pytest_asyncio.fixture(scope="module")
async def dsn(postgres):
    pool, dsn = await fresh_database(postgres)
    store = EventStore(pool)
    await store.append(ev.site_stream(INITIATIVE, SITE), site_history(), expected_version=0)
    await store.append(ev.initiative_stream(INITIATIVE), initiative_history(), expected_version=0)
    for initiative_id, plan_minimum in ((STRICT, 15), (LOOSE, None)):
        await store.append(ev.initiative_stream(initiative_id), launched(initiative_id, plan_minimum),
                           expected_version=0)
        await store.append(ev.site_stream(initiative_id, SMALL_SITE), small_site(initiative_id),
                           expected_version=0)
    yield dsn
    await pool.close()


async def audit(*args: str, env: dict | None = None):
    """Invoke in a thread: the command runs its own event loop."""
    return await asyncio.to_thread(runner.invoke, app, ["audit", *args], env={**WIDE, **(env or {})})


async def test_the_site_audit_names_actors_moves_and_their_reasons(dsn):
    result = await audit("site", INITIATIVE, SITE, "--database-url", dsn)
    assert result.exit_code == 0, result.output
    out = result.output
    for expected in (
        "Adams County SD (district, North region), cohort c1: Initial Implementation, paused",
        "ann.adams", "district_coordinator (adams)", "cora.coach", "sam.state", "rollout-engine",
        "2026-09-02 14:00 UTC", "Fit readiness a2 in Exploration: mean rating 2 of 5",
        "not met: Exploration exit criteria not yet met: fit/readiness mean rating: 2 of 5",
        "decision 'adopt' signed by supt.adams, implementation team of 4",
        "10% of practitioners at fidelity (counts under 10 suppressed)", "PD session 'Tier 1 launch' (pd-1)",
        "Paused: budget review",
        "Why the site moved",
        "Exploration → Installation (criteria met)",
        "Installation → Initial Implementation (approved)",
        "approved by sam.state (state_admin) on", APPROVAL_NOTE,
        "Initial Implementation → Installation (regression)",
        "fidelity fell below 20% in 2 consecutive assessments",
        "Installation → Initial Implementation (override)", OVERRIDE_REASON,
        "fit/readiness mean rating", ">= 3 of 5",
    ):
        assert expected in out, expected
    why = out[out.index("Why the site moved"):]
    assert why.index("(criteria met)") < why.index("(approved)") < why.index("(regression)") \
        < why.index("(override)")
    assert "Assessments submitted in Exploration before the move:" in why
    assert "ann.adams (district_coordinator, adams): fit readiness a6, mean rating 4 of 5" in why
    assert "cora.coach (coach): fidelity a19, 5% of practitioners at fidelity (counts under 10 suppressed)" in why
    assert "No assessments submitted in Installation before the move." in why, "the override"


async def test_json_prints_one_event_per_line(dsn):
    result = await audit("site", INITIATIVE, SITE, "--database-url", dsn, "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    expected = site_history()
    assert [line["sequence"] for line in lines] == list(range(1, len(expected) + 1))
    assert [line["type"] for line in lines] == [e.type for e in expected]
    assert lines[0]["actor"] == {"id": "rollout-engine", "role": "system", "district": None}


async def test_the_initiative_audit_shows_its_events_and_each_site(dsn):
    result = await audit("initiative", INITIATIVE, "--database-url", dsn)
    assert result.exit_code == 0, result.output
    for expected in ("Launched PBIS statewide (PBIS), SSIP Phase III: 1 site in cohorts c1",
                     "Cohort c1 started with 1 site", "Adams County SD",
                     "Initial Implementation", "paused"):
        assert expected in result.output, expected
    row = next(line for line in result.output.splitlines() if "Adams County SD" in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells[:6] == ["adams", "Adams County SD", "North", "c1", "Initial Implementation", "paused"]
    assert cells[-2:] == ["1", "0"], "one regression, no escalations"


async def test_the_initiative_audit_as_json_lines_and_csv(dsn, tmp_path):
    as_json = await audit("initiative", INITIATIVE, "--database-url", dsn, "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    lines = [json.loads(line) for line in as_json.output.splitlines()]
    assert [(line["stream_id"], line["sequence"], line["type"]) for line in lines] == [
        ("initiative/pbis", 1, "InitiativeLaunched"), ("initiative/pbis", 2, "CohortStarted")]
    assert lines[0]["payload"]["name"] == "PBIS statewide"

    written = tmp_path / "pbis.csv"
    as_csv = await audit("initiative", INITIATIVE, "--database-url", dsn, "-f", "csv", "-o", str(written))
    assert as_csv.exit_code == 0 and as_csv.output == "", as_csv.output
    rows = list(csv.reader(io.StringIO(written.read_text())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r[0], r[3]) for r in rows[1:]] == [("initiative/pbis", "InitiativeLaunched"),
                                                ("initiative/pbis", "CohortStarted")]
    assert rows[1][CSV_COLUMNS.index("summary")].startswith("Launched PBIS statewide (PBIS)")


def enrolments(output: str, fmt: str) -> dict[str, dict]:
    """The SiteEnrolled payloads of a JSON-lines or CSV export, by stream."""
    rows = ([json.loads(line) for line in output.splitlines()] if fmt == "json" else
            [{**r, "payload": json.loads(r["payload"])} for r in csv.DictReader(io.StringIO(output))])
    return {r["stream_id"]: r["payload"] for r in rows if r["type"] == "SiteEnrolled"}


SUPPRESSED = {"practitioners": None, "suppressed": ["practitioners"]}


@pytest.mark.parametrize("fmt", ["json", "csv"])
async def test_every_export_applies_the_plans_minimum_cell_size(dsn, fmt):
    """A plan with min_cell_size 15 exports `practitioners: 12` as suppressed, whichever read;
    the same 12 under a launch that recorded no minimum is shown (the default, 10)."""
    strict, loose = ev.site_stream(STRICT, SMALL_SITE), ev.site_stream(LOOSE, SMALL_SITE)
    window = ("window", "--since", "2000-01-01", "--until", "2200-01-01")
    reads = {
        "site": ("site", STRICT, SMALL_SITE),
        "actor": ("actor", "rollout-engine", "--initiative", STRICT),
        "window": (*window, "--initiative", STRICT),
        "asked 10": ("site", STRICT, SMALL_SITE, "--min-cell", "10"),
    }
    for name, args in reads.items():
        result = await audit(*args, "--database-url", dsn, "--format", fmt)
        assert result.exit_code == 0, (name, result.output)
        assert SUPPRESSED.items() <= enrolments(result.output, fmt)[strict].items(), name

    shown = await audit("site", LOOSE, SMALL_SITE, "--database-url", dsn, "--format", fmt)
    assert enrolments(shown.output, fmt)[loose]["practitioners"] == 12
    assert "suppressed" not in enrolments(shown.output, fmt)[loose]
    raised = await audit("site", LOOSE, SMALL_SITE, "--database-url", dsn, "--format", fmt,
                         "--min-cell", "13")
    assert SUPPRESSED.items() <= enrolments(raised.output, fmt)[loose].items(), \
        "--min-cell raises the default"

    everything = enrolments((await audit(*window, "--database-url", dsn, "--format", fmt)).output, fmt)
    assert SUPPRESSED.items() <= everything[strict].items()
    assert SUPPRESSED.items() <= everything[loose].items(), \
        "a read spanning initiatives is told with the strictest plan's minimum"
    assert everything[ev.site_stream(INITIATIVE, SITE)]["practitioners"] == 20


async def test_tables_say_the_minimum_and_asking_below_the_default_is_refused(dsn):
    table = await audit("site", STRICT, SMALL_SITE, "--database-url", dsn)
    assert table.exit_code == 0, table.output
    assert "<15 practitioner(s)" in table.output and "12 practitioner" not in table.output
    assert "Counts of people under 15 are suppressed." in table.output
    loose = await audit("site", LOOSE, SMALL_SITE, "--database-url", dsn)
    assert "12 practitioner(s)" in loose.output
    assert "Counts of people under 10 are suppressed." in loose.output

    lowered = runner.invoke(rollout, ["audit", "site", STRICT, SMALL_SITE, "--database-url", dsn,
                                      "--min-cell", "5"])
    assert lowered.exit_code == 2 and "Traceback" not in lowered.output
    assert lowered.output.strip() == (
        "rollout audit site: Invalid value for '--min-cell': 5 is not from 10 to 30: it may raise "
        "the plan's minimum cell size, never take it below the default 10. "
        "See `rollout audit site --help`.")


async def test_an_unknown_site_says_so_and_exits_1(dsn):
    result = await audit("site", INITIATIVE, "nowhere", "--database-url", dsn)
    assert result.exit_code == 1
    assert "No events recorded for site 'nowhere' of initiative 'pbis'" in result.output
    assert "Sites recorded for it: adams" in result.output
    assert "Traceback" not in result.output


async def test_an_unknown_initiative_lists_the_recorded_ones(dsn):
    result = await audit("initiative", "nope", "--database-url", dsn)
    assert result.exit_code == 1
    assert "No events recorded for initiative 'nope'. Recent initiatives: loose, strict, pbis." \
        in result.output, "newest first"


async def test_without_a_url_the_local_demo_database_is_read(postgres, monkeypatch):
    empty_pool, empty = await fresh_database(postgres)
    await empty_pool.close()
    unmigrated = await _bare_database(postgres)
    for database, message in (
        (empty, "No events recorded for site 'adams' of initiative 'pbis'. The local demo "
                "database holds only what demos recorded; run `bash scripts/demo` first."),
        (unmigrated, "There is no event store in the local demo database (var/postgres); "
                     "run `bash scripts/demo` first."),
    ):
        monkeypatch.setattr(cli_database, "local_machine",
                            lambda: SimpleNamespace(local_database=_yielding(database)))
        result = await audit("site", INITIATIVE, SITE)
        assert result.exit_code in (1, 2), result.output
        assert message in result.output


async def test_an_unreachable_database_is_a_message_not_a_traceback():
    result = await audit("site", INITIATIVE, SITE, "--database-url",
                         "postgresql://auditor:secret@127.0.0.1:1/rollout")
    assert result.exit_code == 2
    assert "Cannot read the event store at postgresql://auditor:***@127.0.0.1:1/rollout" in result.output
    assert "secret" not in result.output and "Traceback" not in result.output


async def _bare_database(server_dsn: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return server_dsn.rsplit("/", 1)[0] + f"/{name}"


def _yielding(database: str):
    @contextmanager
    def local_database():
        yield database
    return local_database
