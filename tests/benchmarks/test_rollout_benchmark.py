"""The rollout benchmark's machinery on a tiny run: the bare baseline gets exactly the
activities, timers and updates the real rollout's histories hold. No timing is asserted."""

from __future__ import annotations

import pytest

from benchmarks.__main__ import measure_size
from benchmarks.bare import ACTIVITY, TIMER, UPDATE
from benchmarks.histories import fetch_histories
from temporalio.api.enums.v1 import EventType
from runtime.temporal import connect
from tests.workflows.harness import fresh_database

pytestmark = pytest.mark.postgres

COUNTED = {ACTIVITY: EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
           TIMER: EventType.EVENT_TYPE_TIMER_STARTED,
           UPDATE: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED}


async def test_the_bare_baseline_repeats_the_rollout_s_work(postgres, temporal_dev, tmp_path):
    pool, dsn = await fresh_database(postgres)
    await pool.close()
    client = await connect(temporal_dev.address)
    size = await measure_size(client, temporal_dev.address, dsn, sites=2, speedup=8_640_000,
                              work=tmp_path, workers=2)
    histories = size.pop("_histories")
    again = await fetch_histories(client, size["initiative_id"])
    assert len(again) == len(histories) == size["histories"] > 2, "runs and coaching cycles"
    for kind, event_type in COUNTED.items():
        in_histories = sum(e.event_type == event_type for h in histories for e in h.events)
        assert size["bare"][kind + "s" if kind != ACTIVITY else "activities"] == in_histories, kind
    assert size["bare"]["updates"] > 0 and size["activities_by_type"]["record_events"] > 0
    assert size["ours"]["rollouts_per_s"] > 0 and size["bare"]["rollouts_per_s"] > 0
    assert size["ratio"] == pytest.approx(
        size["ours"]["rollouts_per_s"] / size["bare"]["rollouts_per_s"], rel=0.05)
    assert size["ours"]["worker_peak_mib"] > 30 and size["bare"]["worker_peak_mib"] > 30
    for side in ("ours", "bare"):
        cpu = size[side]["cpu_s_per_site"]
        assert cpu["workers"] > 0 and cpu["total"] == pytest.approx(
            cpu["workers"] + cpu["driver"], abs=0.01), "this suite's servers are not charged"
    bare_runs = [w async for w in client.list_workflows(
        f"WorkflowType = 'BareSiteWorkflow' AND TaskQueue = 'bare-{size['initiative_id']}'")]
    assert len(bare_runs) == 2 and {w.status.name for w in bare_runs} == {"COMPLETED"}
