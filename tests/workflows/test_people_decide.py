"""People's decisions in the workflows, on the time-skipping server: a move the state declines is
asked for again only once new evidence comes in, then approved; a decision-gated cohort records who
opened it and why. The runs are recorded for the replay tests (ROLLOUT_RECORD_HISTORIES=1):
`site-rollout-declined` (the run in which the state declined) and `initiative-cohort-decision`."""

from datetime import timedelta

import pytest

from domain import events as ev
from domain.plan import Plan
from domain.stages import Stage
from store.eventstore import EventStore
from tests.workflows.harness import (
    STATE_ADMIN, drive, one_cohort_plan, record_histories, simulated, two_cohort_plan, wait_until,
)
from tests.workflows.test_rollout_lifecycle import start, stream_types
from workflows.ids import initiative_workflow_id, site_workflow_id
from workflows.initiative import InitiativeWorkflow
from workflows.models import CohortDecisionRequest, StageDecisionRequest
from workflows.site_rollout import SiteRolloutWorkflow

pytestmark = pytest.mark.asyncio

FULL = Stage.FULL_IMPLEMENTATION
DECLINE = "Fidelity was observed in one classroom; observe the grade team"
OPENING = "Cohort 1 is installed; the legislature funded cohort 2"


async def answer_until(env, sim, handle, site: str, predicate, *, weeks: int):
    """The district answers (the state approving nothing) until the site's status satisfies
    `predicate`."""
    for _ in range(weeks * 7 // 3):
        status = await handle.query(SiteRolloutWorkflow.status)
        if predicate(status):
            return status
        await sim.answer_site(site, approve_moves=False)
        await env.sleep(timedelta(days=3))
    raise AssertionError(f"{site} never got there: {status}")


async def test_a_declined_move_is_asked_again_on_new_evidence_then_approved(env, worker, pool):
    plan, initiative = await start(env, worker, one_cohort_plan(), "lit-decline")
    site = plan.sites[0].id
    sim = simulated(env, pool, plan)
    handle = env.client.get_workflow_handle(site_workflow_id(plan.initiative.id, site))
    await wait_until(env, initiative, lambda s: site in s.sites and s.sites[site].stage is not None)
    await answer_until(env, sim, handle, site, lambda s: s.pending_move is FULL, weeks=104)
    declined_in = (await handle.describe()).run_id

    outcome = await handle.execute_update(SiteRolloutWorkflow.decide_stage_move, StageDecisionRequest(
        actor=STATE_ADMIN, site_id=site, decision="decline", to_stage=FULL, reason=DECLINE))
    assert outcome.recorded[0] == "StageMoveDeclined" and "TaskAssigned" in outcome.recorded
    assert (outcome.stage, outcome.status) == (Stage.INITIAL_IMPLEMENTATION, "active")
    status = await handle.query(SiteRolloutWorkflow.status)
    assert status.pending_move is None
    asked = [t for t in status.open_tasks if "declined the move to Full Implementation" in t.title]
    assert {t.instrument for t in asked} == {"capacity", "fidelity"}

    await answer_until(env, sim, handle, site, lambda s: s.pending_move is FULL, weeks=52)
    outcome = await handle.execute_update(SiteRolloutWorkflow.decide_stage_move, StageDecisionRequest(
        actor=STATE_ADMIN, site_id=site, decision="approve", to_stage=FULL, reason="Seen again"))
    assert outcome.stage is FULL
    status = await drive(env, initiative, sim, weeks=3 * 52)
    assert status.completed_sites == 1
    events, types = await stream_types(pool, plan.initiative.id, site)
    assert types.count("StageMoveRequested") == 2 and types.count("StageMoveDeclined") == 1
    declined = next(e for e in events if e.type == "StageMoveDeclined")
    requests = [e.sequence for e in events if e.type == "StageMoveRequested"]
    submitted = [e.sequence for e in events if e.type == "AssessmentSubmitted"]
    assert any(declined.sequence < s < requests[1] for s in submitted), \
        "the second request followed new evidence"
    assert declined.payload.reason == DECLINE and declined.actor == STATE_ADMIN
    await record_histories(env.client, {
        "site-rollout-declined": (site_workflow_id(plan.initiative.id, site), declined_in)})


def decision_gated_plan() -> Plan:
    data = two_cohort_plan().model_dump(mode="json")
    data["cohorts"][1]["gate"] = {"kind": "decision"}
    return Plan.model_validate(data)


async def test_a_cohort_opened_by_the_state_records_who_and_why(env, worker, pool):
    plan, initiative = await start(env, worker, decision_gated_plan(), "lit-opened")
    sim = simulated(env, pool, plan)
    status = await drive(env, initiative, sim, weeks=4)
    assert [c.started for c in status.cohorts] == [True, False]
    status = await initiative.execute_update(InitiativeWorkflow.approve_cohort, CohortDecisionRequest(
        actor=STATE_ADMIN, cohort_id="c2", note=OPENING))
    assert [c.started for c in status.cohorts] == [True, True]
    status = await drive(env, initiative, sim, weeks=4 * 52)
    assert status.completed_sites == 3
    await initiative.result()
    events = await EventStore(pool).read_stream(ev.initiative_stream(plan.initiative.id))
    opened = [e.payload for e in events if e.type == "CohortStarted"]
    assert [(p.cohort_id, p.decided_by, p.reason) for p in opened] == [
        ("c1", None, ""), ("c2", STATE_ADMIN.id, OPENING)]
    await record_histories(env.client, {
        "initiative-cohort-decision": (initiative_workflow_id(plan.initiative.id), None)})
