"""Importing results into running rollouts, through `rollout import results` and `POST /imports`:
1,040 rows with 3 bad ones are refused naming those rows, with nothing recorded; the fixed file
is recorded as assessments by the importer; the same file again changes nothing."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import pytest
from typer.testing import CliRunner

from cli.main import app as cli
from domain import events as ev
from domain.actors import Role
from domain.stages import Stage
from store.eventstore import EventStore
from tests.api.conftest import DISTRICT_A
from tests.imports.test_import_rows import HEADER, capacity_rows

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

runner = CliRunner()
SITES = ("cedar-falls-sd", "lakeview-usd", "prairie-ridge-sd", "cedar-falls-lincoln-es",
         "prairie-ridge-central-es")


def rollout(*args: str):
    return asyncio.to_thread(runner.invoke, cli, list(args), env={"COLUMNS": "200"})


def as_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([HEADER, *rows])
    return out.getvalue()


async def versions(pool, initiative: str) -> dict[str, int]:
    store = EventStore(pool)
    return {s: await store.stream_version(ev.site_stream(initiative, s)) for s in SITES}


async def assessments(pool, initiative: str) -> int:
    """Assessments recorded at the initiative's sites (the sites' own setup events may still be
    arriving while the first file is refused; assessments only come from the import)."""
    store, count = EventStore(pool), 0
    for site in SITES:
        count += sum(e.type == "AssessmentSubmitted"
                     for e in await store.read_stream(ev.site_stream(initiative, site)))
    return count


async def test_a_thousand_rows_refused_then_imported_once(world, api, api_database, temporal_dev,
                                                         tmp_path):
    pool, dsn = api_database
    stack = ["--database-url", dsn, "--temporal-address", temporal_dev.address]
    initiative = await world.launch("import")
    for site in SITES:
        await world.in_stage(initiative, site, Stage.EXPLORATION, ("fit_readiness",))
    rows = capacity_rows(sites=SITES, dates=8)
    for row in rows:
        row[0] = initiative
    assert len(rows) == 1040
    bad = [r[:] for r in rows]
    bad[10][4] = "27"            # line 12: no such item
    bad[500][5] = "3"            # line 502: off the scale
    bad[999][6] = "2025-02-30"   # line 1001: no such day
    bad_file, good_file = tmp_path / "bad.csv", tmp_path / "results.csv"
    bad_file.write_text(as_csv(bad))
    good_file.write_text(as_csv(rows))

    refused = await rollout("import", "results", str(bad_file), "--as", "ivy.importer", "--json",
                            *stack)
    assert refused.exit_code == 2, refused.output
    answer = json.loads(refused.output)
    assert answer["bad_lines"] == [12, 502, 1001]
    assert [(p["line"], p["field"]) for p in answer["problems"]] == [
        (12, "item"), (502, "score"), (1001, "date")]
    assert await assessments(pool, initiative) == 0, "nothing half-imported"

    imported = await rollout("import", "results", str(good_file), "--as", "ivy.importer", "--json",
                             *stack)
    assert imported.exit_code == 0, imported.output
    outcome = json.loads(imported.output)
    assert (outcome["rows"], outcome["recorded"], outcome["unchanged"]) == (1040, 40, 0)
    after = await versions(pool, initiative)
    events = [e for e in await EventStore(pool).read_stream(ev.site_stream(initiative, SITES[0]))
              if e.type == "AssessmentSubmitted"]
    assert len(events) == 8
    assert {e.actor.id for e in events} == {"ivy.importer"}
    assert all(e.payload.assessment_id.startswith("import:") for e in events)
    assert events[0].payload.answers.consensus.facilitator == "Regional facilitator"
    assert [str(e.payload.answers.taken_on) for e in events][:2] == ["2025-09-01", "2025-10-01"]

    again = await rollout("import", "results", str(good_file), "--as", "ivy.importer", "--json",
                          *stack)
    assert again.exit_code == 0, again.output
    assert (json.loads(again.output)["recorded"], json.loads(again.output)["unchanged"]) == (0, 40)
    assert await versions(pool, initiative) == after, "a second import changes nothing"
    table = await rollout("import", "results", str(good_file), "--as", "ivy.importer", *stack)
    assert "0 assessment(s) recorded, 40 already recorded" in table.output

    # The API: a coordinator imports for their own district only, and the same body twice.
    headers = {**await api.headers(Role.DISTRICT_COORDINATOR, DISTRICT_A),
               "Content-Type": "text/csv"}
    own = [r[:] for r in rows if r[1] in ("cedar-falls-sd", "cedar-falls-lincoln-es")]
    for row in own:  # a later year's results
        row[6] = f"{int(row[6][:4]) + 2}{row[6][4:]}"
    body = as_csv(own)
    answer = await api.http.post("/imports", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["recorded"], answer.json()["unchanged"]) == (16, 0)
    answer = await api.http.post("/imports", content=body, headers=headers)
    assert (answer.json()["recorded"], answer.json()["unchanged"]) == (0, 16)
    others = as_csv(rows[:26] + [r for r in rows if r[1] == "lakeview-usd"][:26])
    answer = await api.http.post("/imports", content=others, headers=headers)
    assert answer.status_code == 422
    assert {f["path"] for f in answer.json()["fields"]} == {f"line {n}.site" for n in range(28, 54)}
    assert "has no site 'lakeview-usd' you may import for" in answer.json()["fields"][0]["message"]
    answer = await api.http.post("/imports", content=body,
                                 headers={**headers, "Content-Type": "application/json"})
    assert answer.status_code == 422 and "text/csv" in answer.json()["error"]
