"""Multi-year rollouts on the time-skipping server, played by simulated districts."""

from collections import Counter

import pytest

from domain.stages import Stage
from simulation.districts import Profile
from store.eventstore import EventStore
from tests.workflows.harness import (
    STATE_ADMIN, drive, one_cohort_plan, record_histories, simulated, two_cohort_plan,
)
from workflows.ids import coaching_workflow_id, group_workflow_id
from workflows.ids import initiative_workflow_id, site_workflow_id
from workflows.initiative import InitiativeWorkflow
from workflows.models import ControlRequest, InitiativeInput
from workflows.site_rollout import SiteRolloutWorkflow

pytestmark = pytest.mark.asyncio


async def start(env, worker, plan, initiative_id):
    plan = plan.model_copy(update={"initiative": plan.initiative.model_copy(update={"id": initiative_id})})
    handle = await env.client.start_workflow(
        InitiativeWorkflow.run, InitiativeInput(plan=plan, launched_by=STATE_ADMIN),
        id=initiative_workflow_id(initiative_id), task_queue=worker)
    return plan, handle


async def stream_types(pool, initiative_id, site_id):
    events = await EventStore(pool).read_stream(f"site-rollout/{initiative_id}/{site_id}")
    return events, [e.type for e in events]


async def test_two_cohorts_reach_full_implementation_and_the_gate_holds_the_second_back(env, worker, pool):
    plan, handle = await start(env, worker, two_cohort_plan(), "lit-two-cohorts")
    sim = simulated(env, pool, plan)
    c1 = plan.cohorts[0].members

    def gate_respected(status):
        second = next(c for c in status.cohorts if c.cohort_id == "c2")
        if second.started:
            reached = [status.sites[m].stage for m in c1 if m in status.sites]
            at_initial = sum(1 for s in reached if s and s.index >= Stage.INITIAL_IMPLEMENTATION.index)
            assert at_initial * 2 >= len(c1), "cohort 2 started before its gate held"
        gate_checks.append(second.started)

    gate_checks: list[bool] = []
    status = await drive(env, handle, sim, weeks=4 * 52, on_step=gate_respected)
    assert False in gate_checks and True in gate_checks, "the gate was observed closed, then open"
    assert status.completed_sites == 3
    final = await handle.result()
    assert final.by_stage == {"Completed": 3}
    for site in plan.sites:
        events, types = await stream_types(pool, plan.initiative.id, site.id)
        stages = [e.payload.stage for e in events if e.type == "StageEntered"]
        assert stages == [Stage.EXPLORATION, Stage.INSTALLATION, Stage.INITIAL_IMPLEMENTATION,
                          Stage.FULL_IMPLEMENTATION]
        assert types[-1] == "SiteCompleted"
        assert [e.sequence for e in events] == list(range(1, len(events) + 1))
        moves = [e for e in events if e.type == "StageEntered" and e.payload.from_stage]
        assert all(m.payload.evaluation for m in moves), "every move carries its evidence"
        assert {"PdSessionScheduled", "CoachingCycleStarted", "CoachingCycleCompleted", "ReviewHeld",
                "FidelityAssessed", "TaskReminderSent"} <= set(types)
    await record_rollout_histories(env, plan)
    initiative = await EventStore(pool).read_stream(f"initiative/{plan.initiative.id}")
    assert [e.type for e in initiative] == ["InitiativeLaunched", "CohortStarted", "CohortStarted"]
    assert "2 sites of the previous cohort" in initiative[2].payload.gate_evidence or \
        "1 of 2 sites" in initiative[2].payload.gate_evidence


async def test_failed_readiness_holds_the_site_in_exploration_and_escalates(env, worker, pool):
    plan, handle = await start(env, worker, one_cohort_plan(), "lit-readiness")
    site = plan.sites[0].id
    sim = simulated(env, pool, plan, {site: Profile.READINESS_FAILS})
    await drive(env, handle, sim, weeks=20)
    status = await env.client.get_workflow_handle(
        site_workflow_id(plan.initiative.id, site)).query(SiteRolloutWorkflow.status)
    assert status.stage is Stage.EXPLORATION and status.status == "active"
    events, types = await stream_types(pool, plan.initiative.id, site)
    escalations = [e for e in events if e.type == "TaskEscalated"]
    assert any("fit/readiness mean rating failed 2 evaluations" in e.payload.reason for e in escalations)
    verdicts = [e.payload.met for e in events if e.type == "CriteriaEvaluated"]
    assert verdicts and not any(verdicts)
    await handle.execute_update(InitiativeWorkflow.control, ControlRequest(
        actor=STATE_ADMIN, action="cancel", reason="readiness never reached"))
    final = await handle.result()
    assert final.by_stage == {"Cancelled": 1}


async def test_collapsed_fidelity_regresses_then_recovers(env, worker, pool):
    plan, handle = await start(env, worker, one_cohort_plan(), "lit-collapse")
    site = plan.sites[0].id
    sim = simulated(env, pool, plan, {site: Profile.FIDELITY_COLLAPSES})
    status = await drive(env, handle, sim, weeks=5 * 52)
    assert status.completed_sites == 1
    events, types = await stream_types(pool, plan.initiative.id, site)
    (regression,) = [e for e in events if e.type == "SiteRegressed"]
    assert (regression.payload.from_stage, regression.payload.to_stage) == (
        Stage.INITIAL_IMPLEMENTATION, Stage.INSTALLATION)
    stages = [e.payload.stage for e in events if e.type == "StageEntered"]
    assert stages == [Stage.EXPLORATION, Stage.INSTALLATION, Stage.INITIAL_IMPLEMENTATION,
                      Stage.INSTALLATION, Stage.INITIAL_IMPLEMENTATION, Stage.FULL_IMPLEMENTATION]
    assert types[-1] == "SiteCompleted"
    await record_histories(env.client, {
        "site-rollout-after-regression": (site_workflow_id(plan.initiative.id, site), None)})


async def test_pause_resume_and_cancel_mid_stage(env, worker, pool):
    plan, handle = await start(env, worker, one_cohort_plan(sites=2), "lit-controls")
    paused_site, cancelled_site = plan.sites[0].id, plan.sites[1].id
    sim = simulated(env, pool, plan)
    await drive(env, handle, sim, weeks=3)
    site = env.client.get_workflow_handle(site_workflow_id(plan.initiative.id, paused_site))
    before = await site.query(SiteRolloutWorkflow.status)
    outcome = await site.execute_update(SiteRolloutWorkflow.control, ControlRequest(
        actor=STATE_ADMIN, action="pause", reason="superintendent change", site_id=paused_site))
    assert outcome.status == "paused"
    await drive(env, handle, sim, weeks=8)
    during = await site.query(SiteRolloutWorkflow.status)
    assert (during.status, during.stage, during.version) == ("paused", before.stage, before.version + 1)
    await handle.execute_update(InitiativeWorkflow.control, ControlRequest(
        actor=STATE_ADMIN, action="cancel", reason="district withdrew", site_id=cancelled_site))
    await site.execute_update(SiteRolloutWorkflow.control, ControlRequest(
        actor=STATE_ADMIN, action="resume", site_id=paused_site))
    status = await drive(env, handle, sim, weeks=4 * 52)
    assert status.sites[paused_site].status == "completed"
    assert status.sites[cancelled_site].status == "cancelled"
    _, types = await stream_types(pool, plan.initiative.id, cancelled_site)
    assert types[-1] == "RolloutCancelled" and "TaskWithdrawn" in types
    _, types = await stream_types(pool, plan.initiative.id, paused_site)
    assert Counter(types)["RolloutPaused"] == 1 and Counter(types)["RolloutResumed"] == 1
    await handle.result()
    await record_histories(env.client, {
        "site-rollout-cancelled": (site_workflow_id(plan.initiative.id, cancelled_site), None),
        "initiative-with-controls": (initiative_workflow_id(plan.initiative.id), None),
    })


async def record_rollout_histories(env, plan):
    initiative_id, site = plan.initiative.id, plan.sites[0]
    site_id = site_workflow_id(initiative_id, site.id)
    description = await env.client.get_workflow_handle(site_id).describe()
    first_run = description.raw_description.workflow_execution_info.first_run_id
    await record_histories(env.client, {
        "initiative": (initiative_workflow_id(initiative_id), None),
        "site-group": (group_workflow_id(initiative_id, "c1", site.region, 0), None),
        "site-rollout-first-run": (site_id, first_run),
        "site-rollout-last-run": (site_id, None),
        "coaching-cycle": (coaching_workflow_id(f"{initiative_id}:{site.id}:e3:coaching:1"), None),
    })
