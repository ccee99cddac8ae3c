"""A coaching cycle that finishes in the very moment its site changes stage is recorded as
completed, and the site goes on (before, the withdrawal sent to the closed cycle failed the
site's workflow: seen in CI, `ExternalWorkflowExecutionNotFound`).

The moment is made on purpose with row locks in PostgreSQL, the way a busy database makes it:
the coach's debrief and the state's approval of the move to Full Implementation arrive together;
the debrief is recorded and reaches the cycle, which closes, while the approval's recording
waits on the stage board's row. So when the site turns to its new stage, its cycle has already
finished.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateStage
from temporalio.service import RPCError

from domain.actors import Actor, Role
from domain.stages import Stage
from simulation.districts import STATE_ADMIN
from store.eventstore import EventStore
from tests.workflows.harness import one_cohort_plan, record_histories, simulated
from tests.workflows.test_rollout_lifecycle import start
from workflows.ids import coaching_workflow_id, site_workflow_id
from workflows.models import CompleteTaskRequest, StageDecisionRequest
from workflows.site_rollout import SiteRolloutWorkflow

pytestmark = pytest.mark.asyncio


def is_debrief(task) -> bool:
    return task.kind == "coaching_step" and task.task_id.endswith(":debrief")


async def test_a_cycle_that_finishes_as_its_site_moves_on_is_recorded_completed(env, worker, pool):
    plan, _ = await start(env, worker, one_cohort_plan(), "lit-cycle-race")
    site = plan.sites[0].id
    stream_id = f"site-rollout/{plan.initiative.id}/{site}"
    handle = env.client.get_workflow_handle(site_workflow_id(plan.initiative.id, site))
    sim = simulated(env, pool, plan)

    debrief = await _until_a_move_waits_with_only_a_debrief_left(env, handle, sim)
    cycle_id, racing_run = debrief.ref, (await handle.describe()).run_id
    coach = Actor(id=f"coach.{site}", role=Role.COACH)
    async with pool.acquire() as stream_lock, pool.acquire() as board_lock:
        stream_tx = stream_lock.transaction()
        await stream_tx.start()
        await stream_lock.execute("SELECT 1 FROM streams WHERE stream_id = $1 FOR UPDATE", stream_id)
        debriefed = await handle.start_update(
            SiteRolloutWorkflow.complete_task,
            CompleteTaskRequest(actor=coach, site_id=site, task_id=debrief.task_id,
                                outcome={"practitioners_observed": 5}),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED)
        approved = await handle.start_update(
            SiteRolloutWorkflow.decide_stage_move,
            StageDecisionRequest(actor=STATE_ADMIN, site_id=site, decision="approve",
                                 to_stage=Stage.FULL_IMPLEMENTATION, reason="Evidence reviewed"),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED)
        board_tx = board_lock.transaction()
        await board_tx.start()
        await board_lock.execute("SELECT 1 FROM sites WHERE stream_id = $1 FOR UPDATE", stream_id)
        await stream_tx.rollback()  # the debrief is recorded; the approval waits on the board
        await debriefed.result()
        await _until_closed(env, coaching_workflow_id(cycle_id))
        await board_tx.rollback()
    await approved.result()
    await _until_closed(env, handle.id, run_id=racing_run)
    assert (await env.client.get_workflow_handle(handle.id, run_id=racing_run).describe()).status \
        == WorkflowExecutionStatus.CONTINUED_AS_NEW, "the site's run did not move on to its new stage"

    events = await _until_recorded(pool, stream_id, "CoachingCycleCompleted")
    (completed,) = [e for e in events if e.type == "CoachingCycleCompleted"]
    assert completed.payload.cycle_id == cycle_id and completed.payload.feedback_given
    types = [e.type for e in events]
    assert types.index("StageMoveApproved") < types.index("CoachingCycleCompleted")
    await record_histories(env.client, {
        "site-rollout-cycle-finished-at-stage-change": (handle.id, racing_run)})


async def _until_a_move_waits_with_only_a_debrief_left(env, handle, sim, rounds: int = 200):
    """Play the site, its teams sitting on every debrief and the state on every move, until a
    move to Full Implementation waits and a cycle has only its debrief left."""
    status = None
    for _ in range(rounds):
        try:
            status = await handle.query(SiteRolloutWorkflow.status)
        except RPCError:  # the initiative has not started the site yet
            await env.sleep(timedelta(days=1))
            continue
        open_ids = {t.task_id for t in status.open_tasks}
        debriefs = [t for t in status.open_tasks if is_debrief(t)
                    and not {f"{t.ref}:plan", f"{t.ref}:observe"} & open_ids]
        if status.pending_move == Stage.FULL_IMPLEMENTATION and debriefs:
            return debriefs[0]
        await sim.answer_site(status.site_id, approve_moves=False, holding=is_debrief)
        await env.sleep(timedelta(days=3))
    raise AssertionError(f"no waiting move with a debrief left: {status}")


async def _until_closed(env, workflow_id: str, within_s: float = 30.0, run_id=None) -> None:
    handle = env.client.get_workflow_handle(workflow_id, run_id=run_id)
    for _ in range(int(within_s / 0.2)):
        if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{workflow_id} did not close")


async def _until_recorded(pool, stream_id: str, event_type: str, within_s: float = 30.0):
    store = EventStore(pool)
    for _ in range(int(within_s / 0.2)):
        events = await store.read_stream(stream_id)
        if any(e.type == event_type for e in events):
            return events
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {event_type} in {stream_id}: {[e.type for e in events][-10:]}")
