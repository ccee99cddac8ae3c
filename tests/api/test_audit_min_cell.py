"""The plan's minimum cell size reaches every audit export: a plan with `privacy.min_cell_size: 15`
is launched through the real workflow (which records the minimum in its InitiativeLaunched
event), and its school of 12 practitioners is exported with `practitioners` suppressed, as JSON
and as CSV, by the API's `/audit/...` reads and by `rollout audit`, whatever `min_cell` asks short
of raising it."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid

import pytest
from typer.testing import CliRunner

from cli.main import app as rollout
from domain.actors import Role
from domain.plan import Plan
from domain.stages import Stage
from simulation.playthrough import launch
from tests.api.conftest import plan_for
from tests.workflows.harness import STATE_ADMIN
from workflows.models import InitiativeOptions

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

SCHOOL = "prairie-ridge-central-es"
"""12 practitioners in examples/small.yaml: shown under the default 10, hidden under 15."""
SUPPRESSED = {"practitioners": None, "suppressed": ["practitioners"]}


def strict_plan(initiative_id: str) -> Plan:
    data = plan_for(initiative_id, ("prairie-ridge-sd",)).model_dump(mode="json")
    data["privacy"] = {"min_cell_size": 15}
    return Plan.model_validate(data)


def enrolled_in_csv(text: str) -> dict:
    rows = list(csv.DictReader(io.StringIO(text)))
    return json.loads(next(r["payload"] for r in rows if r["type"] == "SiteEnrolled"
                           and r["stream_id"].endswith(f"/{SCHOOL}")))


def enrolled_in_json(events: list[dict]) -> dict:
    return next(e["event"]["payload"] for e in events if e["event"]["type"] == "SiteEnrolled"
                and e["event"]["stream_id"].endswith(f"/{SCHOOL}"))


async def test_the_plans_minimum_of_15_suppresses_12_in_every_export(world, api, api_database):
    initiative = f"strict-{uuid.uuid4().hex[:6]}"
    await launch(world.client, strict_plan(initiative), STATE_ADMIN, task_queue=world.queue,
                 options=InitiativeOptions(speedup=1.0))
    await world.in_stage(initiative, SCHOOL, Stage.EXPLORATION)
    admin = await api.headers(Role.STATE_ADMIN)

    async def get(path: str, **params):
        answer = await api.http.get(path, params=params, headers=admin)
        assert answer.status_code == 200, (path, params, answer.text)
        return answer

    record = (await get(f"/audit/initiatives/{initiative}")).json()
    launched = next(e["event"] for e in record["events"] if e["event"]["type"] == "InitiativeLaunched")
    assert launched["payload"]["min_cell_size"] == 15, "the workflow records the plan's minimum"

    site = f"/audit/sites/{initiative}/{SCHOOL}"
    searches = {"window": ("/audit/window", {"since": "2000-01-01", "until": "2200-01-01",
                                             "initiative": initiative}),
                "actor": ("/audit/actors/rollout-engine", {"initiative": initiative})}
    for asked in ({}, {"min_cell": 10}, {"min_cell": 12}):
        shown = (await get(site, **asked)).json()
        enrolled = next(e for e in shown["events"] if e["event"]["type"] == "SiteEnrolled")
        assert SUPPRESSED.items() <= enrolled["event"]["payload"].items(), asked
        assert "<15 practitioner(s)" in enrolled["summary"], asked
        assert SUPPRESSED.items() <= enrolled_in_csv((await get(site, format="csv", **asked)).text).items()
        for path, params in searches.values():
            assert SUPPRESSED.items() <= enrolled_in_json((await get(path, **params, **asked)).json()["events"]).items()
            assert SUPPRESSED.items() <= enrolled_in_csv((await get(path, **params, format="csv", **asked)).text).items()

    lowered = await api.http.get(site, params={"min_cell": 5}, headers=admin)
    assert lowered.status_code == 422 and "min_cell" in lowered.text

    _, dsn = api_database
    runner = CliRunner()
    for fmt in ("json", "csv"):
        for args in (("site", initiative, SCHOOL), ("initiative", initiative),
                     ("window", "--since", "2000-01-01", "--until", "2200-01-01", "--initiative", initiative)):
            done = await asyncio.to_thread(runner.invoke, rollout, [
                "audit", *args, "--database-url", dsn, "--format", fmt, "--min-cell", "10"])
            assert done.exit_code == 0, done.output
            rows = (list(csv.DictReader(io.StringIO(done.output))) if fmt == "csv" else
                    [json.loads(line) for line in done.output.splitlines()])
            payloads = {(r["type"], r["stream_id"].rsplit("/", 1)[-1]): r["payload"] for r in rows}
            payloads = {k: json.loads(p) if isinstance(p, str) else p for k, p in payloads.items()}
            if args[0] == "initiative":
                assert payloads["InitiativeLaunched", initiative]["min_cell_size"] == 15
            else:
                assert SUPPRESSED.items() <= payloads["SiteEnrolled", SCHOOL].items(), (fmt, args)
