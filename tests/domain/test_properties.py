"""Properties of the aggregate over arbitrary command sequences (hypothesis)."""

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import commands as c
from domain.actors import SYSTEM
from domain.criteria import evaluate_exit
from domain.drivers import Driver
from domain.errors import DomainError
from domain.events import EVENTS_ADAPTER
from domain.instruments import (
    HEXAGON_INDICATORS, AdoptionDecision, CapacityAssessment, CapacityItem, ChecklistItem,
    DEFAULT_CHECKLIST_ITEMS, FidelityAssessment, FitReadinessReview, IndicatorRating,
    InstallationChecklist,
)
from domain.rollout import decide, fold
from domain.site_state import SiteRolloutState
from domain.stages import Stage
from tests.domain.builders import AUDITOR, COACH, COORDINATOR, OTHER_COORDINATOR, START, STATE

actors = st.sampled_from([SYSTEM, STATE, COORDINATOR, OTHER_COORDINATOR, COACH, AUDITOR])
stages = st.sampled_from(list(Stage))

assessments = st.one_of(
    st.lists(st.integers(1, 5), min_size=6, max_size=6).map(lambda rs: FitReadinessReview(
        ratings=[IndicatorRating(indicator=i, rating=r) for i, r in zip(HEXAGON_INDICATORS, rs)])),
    st.builds(AdoptionDecision, decision=st.sampled_from(["adopt", "decline", "defer"]),
              signed_by=st.just("supt"), implementation_team_members=st.integers(0, 8)),
    st.lists(st.booleans(), min_size=len(DEFAULT_CHECKLIST_ITEMS), max_size=len(DEFAULT_CHECKLIST_ITEMS))
    .map(lambda flags: InstallationChecklist(items=[
        ChecklistItem(item=n, in_place=f) for n, f in zip(DEFAULT_CHECKLIST_ITEMS, flags)])),
    st.lists(st.integers(0, 2), min_size=9, max_size=9).map(lambda scores: CapacityAssessment(
        items=[CapacityItem(item=d.name, driver=d, score=s) for d, s in zip(Driver, scores)],
        facilitator="f")),
    st.integers(1, 30).flatmap(lambda n: st.integers(0, n).map(
        lambda m: FidelityAssessment(practitioners_assessed=n, practitioners_meeting=m))),
)


def command_for(draw, n: int):
    at, actor = START + timedelta(days=n), draw(actors)
    kind = draw(st.sampled_from(
        ["submit"] * 6 + ["evaluate"] * 4 + ["pd", "override", "regress", "approve", "pause",
                                             "resume", "cancel", "task", "complete"]))
    match kind:
        case "submit":
            return c.SubmitAssessment(at=at, actor=actor, assessment_id=f"a{n}", assessment=draw(assessments))
        case "evaluate":
            return c.EvaluateExit(at=at, actor=actor)
        case "pd":
            return c.SchedulePdSessions(at=at, actor=actor, sessions=[c.PdSessionPlan(
                session_id=f"pd{n}", title="PD", on=date(2026, 10, 1), trainer_id="t", hours=3, capacity=20)])
        case "override":
            return c.OverrideStageMove(at=at, actor=actor, to_stage=draw(stages), reason="state decided so")
        case "regress":
            return c.RegressSite(at=at, actor=actor, to_stage=draw(stages), reason="staff turnover hit")
        case "approve":
            return c.ApproveStageMove(at=at, actor=actor, to_stage=draw(stages))
        case "pause":
            return c.PauseRollout(at=at, actor=actor, reason="budget")
        case "resume":
            return c.ResumeRollout(at=at, actor=actor)
        case "cancel":
            return c.CancelRollout(at=at, actor=actor, reason="withdrew")
        case "task":
            return c.AssignTask(at=at, actor=actor, task_id=f"t{n % 3}", kind="join_review",
                                title="Review", assignee_role="district", due=date(2026, 12, 1))
        case "complete":
            return c.CompleteTask(at=at, actor=actor, task_id=f"t{n % 3}")


def enrolled_state(approvals):
    enroll = c.EnrollSite(at=START, actor=SYSTEM, initiative_id="pbis", site_id="adams",
                          site_name="Adams", kind="district", region="N", cohort_id="c1",
                          practitioners=20, approval_required_for=approvals)
    events = decide(SiteRolloutState(), enroll)
    return fold(events), events


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.lists(st.sampled_from([Stage.INSTALLATION, Stage.FULL_IMPLEMENTATION]),
                           unique=True))
def test_no_accepted_command_skips_a_stage_or_completes_without_the_criteria(data, approvals):
    state, history = enrolled_state(approvals)
    for n in range(1, 60):
        before = state
        try:
            events = decide(state, command_for(data.draw, n))
        except DomainError:
            continue
        state = fold(events, state)
        history += events
        for event in events:
            if event.type == "StageEntered" and event.payload.reason != "regression":
                assert event.payload.from_stage.next is event.payload.stage, "skipped a stage"
            if event.type == "StageEntered" and event.payload.reason == "criteria_met":
                assert evaluate_exit(before.stage, before.evidence, before.criteria).met
            if event.type == "StageEntered" and event.payload.reason == "approved":
                assert before.pending_move is event.payload.stage
            if event.type == "SiteCompleted":
                assert before.stage is Stage.FULL_IMPLEMENTATION
                assert evaluate_exit(before.stage, before.evidence, before.criteria).met
        if before.stage is not None and state.stage is not None:
            assert state.stage.index <= before.stage.index + 1
        if before.status in ("cancelled", "completed"):
            assert state == before, "a finished rollout records nothing more"
    assert [e.sequence for e in history] == list(range(1, len(history) + 1))


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_folding_is_deterministic(data):
    state, history = enrolled_state([])
    for n in range(1, 40):
        try:
            events = decide(state, command_for(data.draw, n))
        except DomainError:
            continue
        state, history = fold(events, state), history + events
    assert fold(history) == fold(history) == state
    assert fold(EVENTS_ADAPTER.validate_json(EVENTS_ADAPTER.dump_json(history))) == state
