"""Area 2 of issue 7, the repair's other half: a site reset to a workflow task whose events were
already recorded goes on, and the record holds each step once.

Resetting a run (the worker's watchdog, runtime/watchdog.py, does it when Temporal refuses a
task after a server restart; an operator can from the Web UI or the CLI) runs that task again at
a later time, so the events it decides come out different from the ones its first pass stored.
The store keeps the first record and hands it back, and the site adopts it
(workflows/recording.py). Here: real resets, on the dev server, of running sites, each to the
last task whose `record_events` had completed, which is the shape a fresh-clone CI run of the
restart test met ("#28 holds a different event").
"""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, ResetReapplyType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client

from domain.stages import Stage
from simulation.playthrough import all_finished
from runtime.temporal import connect
from tests.faults.driving import drive, launch_until, reached
from tests.faults.figures import record
from tests.faults.ledger import audit
from tests.faults.light_plan import light_plan
from tests.faults.processes import WorkerProcess
from tests.workflows.harness import record_histories
from workflows.ids import site_workflow_id
from workflows.recording import ADOPT_STORED_PATCH

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres, pytest.mark.temporal]

SITES = 6
SPEEDUP = 7_200.0
ADOPTED = "again (its workflow was reset); the stored events stand"


async def test_sites_reset_to_recorded_work_adopt_the_record_and_complete(temporal_dev, database,
                                                                          tmp_path):
    pool, dsn = database
    client = await connect(temporal_dev.address)
    plan = light_plan(SITES, f"reset-{uuid.uuid4().hex[:6]}")
    queue = f"reset-{uuid.uuid4().hex[:6]}"
    worker = WorkerProcess(temporal_dev.address, dsn, queue, tmp_path / "worker.log")
    try:
        handle, sim, progress = await launch_until(client, pool, plan, queue, SPEEDUP,
                                                   reached(Stage.INSTALLATION, 1.0))
        resets = [site.id for site in plan.sites if await reset_to_recorded_work(
            client, site_workflow_id(plan.initiative.id, site.id))]
        assert len(resets) >= SITES // 2, f"only {resets} had an accepted Update to reset to"
        await drive(handle, sim, within_s=400, progress=progress)
        assert progress.last is not None and all_finished(progress.last), \
            f"after resetting {SITES} sites the rollout did not finish: {progress.summary()}"
        await handle.result()
        assert worker.stop() == 0, worker.log_tail()
        ledger = await audit(client, pool, plan)
    finally:
        worker.stop()
    adopted = worker.log.read_text().count(ADOPTED)
    adopting = {site: run for site in resets
                if (run := await _run_that_adopted(client, site_workflow_id(plan.initiative.id, site)))}
    patched = list(adopting)
    record("workflow resets", sites_reset=len(resets), batches_adopted=adopted,
           sites_that_adopted=len(patched), sites_completed=ledger.sites_completed,
           events_stored=ledger.events_stored, events_decided=ledger.events_decided,
           events_lost=ledger.events_lost, events_duplicated=ledger.events_duplicated,
           chains_broken=ledger.chains_broken)
    assert ledger.problems == [], ledger.problems[:20]
    if adopting:
        site, run = next(iter(adopting.items()))
        await record_histories(client, {"site-rollout-adopts-stored-events":
                                        (site_workflow_id(plan.initiative.id, site), run)})
    assert patched == resets and adopted >= len(resets), \
        f"{patched} of {resets} adopted stored events ({adopted} batches): every reset task had " \
        "recorded its events, so every site reset must meet its first record"


async def reset_to_recorded_work(client: Client, workflow_id: str) -> str | None:
    """Reset the site's current run to the last workflow task that accepted an Update and
    scheduled the recording of its events, which completed: the refused-task shape. The Update
    is applied again after the reset, later. The new run's id; None if the run has no such task
    yet (it has only just entered its stage)."""
    run_id = (await client.get_workflow_handle(workflow_id).describe()).run_id
    history = (await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()).events
    completed = {e.activity_task_completed_event_attributes.scheduled_event_id for e in history
                 if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED}
    accepted_after = {e.event_id - 1 for e in history
                      if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED}
    points = [e.activity_task_scheduled_event_attributes.workflow_task_completed_event_id
              for e in history
              if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
              and e.activity_task_scheduled_event_attributes.activity_type.name == "record_events"
              and e.event_id in completed
              and e.activity_task_scheduled_event_attributes.workflow_task_completed_event_id
              in accepted_after]
    if not points:
        return None
    response = await client.workflow_service.reset_workflow_execution(ResetWorkflowExecutionRequest(
        namespace=client.namespace,
        workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
        reason="test: decide a recorded Update's events again", request_id=str(uuid.uuid4()),
        workflow_task_finish_event_id=points[-1],
        reset_reapply_type=ResetReapplyType.RESET_REAPPLY_TYPE_ALL_ELIGIBLE))
    return response.run_id


async def _run_that_adopted(client: Client, workflow_id: str) -> str | None:
    """The site's run that recorded the adoption patch's marker, if one did."""
    async for execution in client.list_workflows(f"WorkflowId = '{workflow_id}'"):
        history = await client.get_workflow_handle(workflow_id, run_id=execution.run_id).fetch_history()
        if any(e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
               and ADOPT_STORED_PATCH.encode() in e.marker_recorded_event_attributes.SerializeToString()
               for e in history.events):
            return execution.run_id
    return None
