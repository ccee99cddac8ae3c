"""The read endpoints over a running rollout: the board now and over time agrees with the
initiative's own status; audit exports come as JSON or CSV with small counts suppressed."""

from __future__ import annotations

import csv
import io

import pytest

from audit.export import CSV_COLUMNS
from domain.actors import Role
from domain.stages import Stage

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

SCHOOL = "cedar-falls-lincoln-es"
"""14 practitioners in examples/small.yaml."""


async def test_board_status_and_audit_exports(world, api):
    initiative = await world.launch("reads")
    for site in ("cedar-falls-sd", "lakeview-usd", "prairie-ridge-sd", SCHOOL, "prairie-ridge-central-es"):
        await world.in_stage(initiative, site, Stage.EXPLORATION, ("fit_readiness",))
    admin = await api.headers(Role.STATE_ADMIN)

    status = (await api.http.get(f"/initiatives/{initiative}/status", headers=admin)).json()
    assert (status["source"], status["total_sites"]) == ("event store", 5)
    assert status["by_stage"] == {"Exploration": 5}

    now = (await api.http.get(f"/initiatives/{initiative}/board", params={"points": 1},
                              headers=admin)).json()
    assert len(now["moments"]) == 1
    assert {(c["stage"], c["status"]) for c in now["cells"]} == {("Exploration", "active")}
    assert sum(c["sites"] for c in now["cells"]) == 5
    over_time = (await api.http.get(f"/initiatives/{initiative}/board", params={"points": 4},
                                    headers=admin)).json()
    assert len(over_time["moments"]) == 4
    assert sorted(over_time["moments"]) == over_time["moments"]
    last = [c for c in over_time["cells"] if c["at"] == over_time["moments"][-1]]
    assert sum(c["sites"] for c in last) == 5

    shown = (await api.http.get(f"/audit/sites/{initiative}/{SCHOOL}", headers=admin)).json()
    enrolled = next(e["event"] for e in shown["events"] if e["event"]["type"] == "SiteEnrolled")
    assert enrolled["payload"]["practitioners"] == 14 and "suppressed" not in enrolled["payload"]
    hidden = (await api.http.get(f"/audit/sites/{initiative}/{SCHOOL}", params={"min_cell": 15},
                                 headers=admin)).json()
    enrolled = next(e for e in hidden["events"] if e["event"]["type"] == "SiteEnrolled")
    assert enrolled["event"]["payload"]["practitioners"] is None
    assert enrolled["event"]["payload"]["suppressed"] == ["practitioners"]
    assert "<15 practitioner(s)" in enrolled["summary"]

    exported = await api.http.get(f"/audit/sites/{initiative}/{SCHOOL}",
                                  params={"format": "csv", "min_cell": 15}, headers=admin)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert f'filename="audit-{initiative}-{SCHOOL}.csv"' in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) - 1 == len(hidden["events"])
    assert '"practitioners": null' in next(r for r in rows if r[3] == "SiteEnrolled")[-1]

    window = await api.http.get("/audit/window", headers=admin, params={
        "since": "2000-01-01", "until": "2200-01-01", "initiative": initiative, "format": "csv"})
    assert window.status_code == 200
    streams = {r[0] for r in list(csv.reader(io.StringIO(window.text)))[1:]}
    assert f"initiative/{initiative}" in streams and len(streams) == 6

    engine = (await api.http.get("/audit/actors/rollout-engine", headers=admin,
                                 params={"initiative": initiative})).json()
    assert engine["count"] > 0
    assert {e["event"]["actor"]["id"] for e in engine["events"]} == {"rollout-engine"}
