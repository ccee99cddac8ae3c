"""Every kind of bad Update is refused by its validator, before it reaches history."""

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError

from domain.actors import SYSTEM, Actor, Role
from domain.stages import Stage
from tests.domain.builders import fidelity, readiness
from tests.workflows.harness import STATE_ADMIN, one_cohort_plan, wait_until
from tests.workflows.test_rollout_lifecycle import start
from rollouts.refusals import explain_refusal
from workflows.ids import site_workflow_id
from workflows.models import (
    CompleteTaskRequest, ControlRequest, InitiativeInput, StageDecisionRequest, SubmitAssessmentRequest,
)
from workflows.site_rollout import SiteRolloutWorkflow

pytestmark = pytest.mark.asyncio

AUDITOR = Actor(id="ada.audit", role=Role.AUDITOR)


def coordinator(district):
    return Actor(id=f"coord.{district}", role=Role.DISTRICT_COORDINATOR, district=district)


def cases(site, task_id):
    me, other = coordinator(site), coordinator("somewhere-else")
    submit = SiteRolloutWorkflow.submit_assessment
    complete = SiteRolloutWorkflow.complete_task
    move = SiteRolloutWorkflow.decide_stage_move
    good_answers = readiness().model_dump(mode="json")
    return [
        ("wrong site", submit, SubmitAssessmentRequest(actor=me, site_id="elsewhere", assessment_id="x",
                                                      assessment=readiness()), "not 'elsewhere'"),
        ("score out of range", "submit_assessment", {
            "actor": me.model_dump(), "site_id": site, "assessment_id": "x",
            "assessment": {**good_answers, "ratings": [{"indicator": "fit", "rating": 9}]}}, "rating"),
        ("unknown field", "submit_assessment", {
            "actor": me.model_dump(), "site_id": site, "assessment_id": "x", "score": 100,
            "assessment": good_answers}, "score"),
        ("unknown task", complete, CompleteTaskRequest(actor=me, site_id=site, task_id="nope"),
         "There is no task 'nope'"),
        ("assessment task marked done", complete, CompleteTaskRequest(actor=me, site_id=site, task_id=task_id),
         "done by submitting the fit readiness"),
        ("wrong role", submit, SubmitAssessmentRequest(actor=AUDITOR, site_id=site, assessment_id="x",
                                                      assessment=readiness()), "ada.audit is a auditor"),
        ("wrong district", submit, SubmitAssessmentRequest(actor=other, site_id=site, assessment_id="x",
                                                          assessment=readiness()), "coordinates district"),
        ("instrument of another stage", submit, SubmitAssessmentRequest(
            actor=me, site_id=site, assessment_id="x", assessment=fidelity(3)), "A fidelity is taken in"),
        ("approval by a coordinator", move, StageDecisionRequest(
            actor=me, site_id=site, decision="approve", to_stage=Stage.INSTALLATION),
         "Only a state admin may approve"),
        ("approval of nothing pending", move, StageDecisionRequest(
            actor=STATE_ADMIN, site_id=site, decision="approve", to_stage=Stage.INSTALLATION),
         "waiting for approval of no move"),
        ("override that skips a stage", move, StageDecisionRequest(
            actor=STATE_ADMIN, site_id=site, decision="override", to_stage=Stage.FULL_IMPLEMENTATION,
            reason="we are in a hurry here"), "An override moves one stage forward"),
        ("pause by a coordinator", SiteRolloutWorkflow.control, ControlRequest(
            actor=me, action="pause", reason="budget review", site_id=site), "Only a state admin may pause"),
        ("the engine's own role", submit, SubmitAssessmentRequest(
            actor=SYSTEM, site_id=site, assessment_id="x", assessment=readiness()),
         "claims the system role"),
        ("a NUL under a key with a line break", complete, CompleteTaskRequest(
            actor=me, site_id=site, task_id=task_id, outcome={"notes\nmore": "a\x00b"}),
         "outcome['notes\\nmore'] contains a NUL character, which the record cannot store: 'a\\x00b'."),
    ]


async def test_every_kind_of_bad_update_is_rejected_before_history(env, worker):
    plan, initiative = await start(env, worker, one_cohort_plan(), "lit-validation")
    site = plan.sites[0].id
    handle = env.client.get_workflow_handle(site_workflow_id(plan.initiative.id, site))
    await wait_until(env, initiative, lambda s: site in s.sites and s.sites[site].stage is not None)
    status = await handle.query(SiteRolloutWorkflow.status)
    readiness_task = next(t.task_id for t in status.open_tasks if t.instrument == "fit_readiness")
    rejected = []
    for name, update, request, message in cases(site, readiness_task):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(update, request)
        rejected.append(name)
        explanation = explain_refusal(refused.value)
        assert message in explanation and "\n" not in explanation, f"{name}: {explanation}"
    assert len(rejected) == 14
    answer = SubmitAssessmentRequest(actor=coordinator(site), site_id=site, assessment_id="r-1",
                                     assessment=readiness(), task_id=readiness_task)
    first = await handle.execute_update(SiteRolloutWorkflow.submit_assessment, answer)
    again = await handle.execute_update(SiteRolloutWorkflow.submit_assessment, answer)
    assert first.recorded[:2] == ["AssessmentSubmitted", "TaskCompleted"] and again.already_done
    with pytest.raises(WorkflowUpdateFailedError) as closed:
        await handle.execute_update(SiteRolloutWorkflow.submit_assessment, answer.model_copy(
            update={"assessment_id": "r-2"}))
    assert "is already completed" in str(closed.value.cause)
    history = await handle.fetch_history()
    kinds = [e.event_type for e in history.events]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds
    accepted = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
    assert len(accepted) == 2, "only the two good submissions reached history"
