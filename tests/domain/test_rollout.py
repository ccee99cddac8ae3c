"""Scenarios through the site aggregate: every move is decided by the rules, with evidence."""

from datetime import date

import pytest

from domain import commands as c
from domain.actors import SYSTEM
from domain.criteria import ExitCriteria, InitialImplementationExit
from domain.errors import DomainError
from domain.events import EVENTS_ADAPTER
from domain.rollout import decide, execute, fold
from domain.site_state import SiteRolloutState
from domain.stages import Stage
from tests.domain.builders import (
    AUDITOR, COACH, COORDINATOR, OTHER_COORDINATOR, START, STATE, Clock, adoption, capacity,
    checklist, enrolled, fidelity, readiness,
)


def submit(state, clock, answers, actor=COORDINATOR, name=None):
    name = name or f"a{state.version}"
    return execute(state, c.SubmitAssessment(at=clock.tick(), actor=actor, assessment_id=name,
                                             assessment=answers))[0]


def evaluate(state, clock):
    return execute(state, c.EvaluateExit(at=clock.tick(), actor=SYSTEM))


def schedule_pd(state, clock):
    session = c.PdSessionPlan(session_id=f"pd-{state.stage_entries}", title="Tier 1 launch",
                              on=date(2026, 10, 5), trainer_id="t1", hours=6, capacity=30)
    return execute(state, c.SchedulePdSessions(at=clock.tick(), actor=SYSTEM, sessions=[session]))[0]


def to_installation(state, clock):
    state = submit(state, clock, readiness(4))
    state = submit(state, clock, adoption())
    return evaluate(state, clock)[0]


def to_initial(state, clock):
    state = to_installation(state, clock)
    state = submit(state, clock, checklist())
    state = submit(state, clock, capacity(1))
    state = schedule_pd(state, clock)
    return evaluate(state, clock)[0]


def test_a_site_walks_all_four_stages_to_completion():
    clock, state = Clock(), enrolled()
    state = to_initial(state, clock)
    assert state.stage is Stage.INITIAL_IMPLEMENTATION
    state = submit(state, clock, capacity(2), actor=COORDINATOR)
    state = submit(state, clock, fidelity(6), actor=COACH)
    state = submit(state, clock, fidelity(9), actor=COACH)
    state, events = evaluate(state, clock)
    assert state.stage is Stage.FULL_IMPLEMENTATION
    entered = events[-1]
    assert entered.type == "StageEntered" and entered.payload.reason == "criteria_met"
    assert {ch.name for ch in entered.payload.evaluation} == {"capacity assessment",
                                                              "fidelity assessments taken"}
    state = submit(state, clock, fidelity(11), actor=COACH)
    state, events = evaluate(state, clock)
    assert state.status == "active", "one assessment at 55% is not yet 'held over two'"
    state = submit(state, clock, fidelity(12), actor=COACH)
    state, events = evaluate(state, clock)
    assert (state.status, events[-1].type) == ("completed", "SiteCompleted")


def test_unmet_criteria_hold_the_site_and_say_why():
    clock, state = Clock(), enrolled()
    state = submit(state, clock, readiness(2))
    state = submit(state, clock, adoption(members=2))
    state, events = evaluate(state, clock)
    assert state.stage is Stage.EXPLORATION
    (verdict,) = events
    assert verdict.payload.met is False
    assert verdict.payload.explanation == (
        "Exploration exit criteria not yet met: fit/readiness mean rating: 2 of 5 (needs >= 3 of 5); "
        "implementation team members: 2 (needs >= 3).")


def test_fidelity_collapse_regresses_then_the_site_recovers():
    clock, state = Clock(), enrolled()
    state = to_initial(state, clock)
    state = submit(state, clock, fidelity(2), actor=COACH)
    state = submit(state, clock, fidelity(1), actor=COACH)
    state, events = evaluate(state, clock)
    assert state.stage is Stage.INSTALLATION and state.regressions == 1
    assert [e.type for e in events] == ["CriteriaEvaluated", "SiteRegressed", "StageEntered"]
    assert "fell below 20%" in events[1].payload.reason
    state = submit(state, clock, checklist())
    state = schedule_pd(state, clock)
    state, _ = evaluate(state, clock)
    assert state.stage is Stage.INITIAL_IMPLEMENTATION


def test_state_approval_gates_a_move_when_the_plan_asks_for_it():
    clock, state = Clock(), enrolled(approval_required_for=[Stage.INSTALLATION])
    state = submit(state, clock, readiness(5))
    state = submit(state, clock, adoption())
    state, events = evaluate(state, clock)
    assert (state.stage, state.pending_move) == (Stage.EXPLORATION, Stage.INSTALLATION)
    with pytest.raises(DomainError, match="Only a state admin may approve"):
        decide(state, c.ApproveStageMove(at=clock.tick(), actor=COORDINATOR, to_stage=Stage.INSTALLATION))
    state, events = execute(state, c.ApproveStageMove(at=clock.tick(), actor=STATE,
                                                      to_stage=Stage.INSTALLATION, note="ok"))
    assert state.stage is Stage.INSTALLATION
    assert events[0].actor == STATE and events[-1].payload.reason == "approved"


def test_override_moves_one_stage_only_and_never_completes():
    clock, state = Clock(), enrolled()
    with pytest.raises(DomainError, match="from Exploration only to Installation"):
        decide(state, c.OverrideStageMove(at=clock.tick(), actor=STATE,
                                          to_stage=Stage.INITIAL_IMPLEMENTATION, reason="rushing ahead"))
    state, events = execute(state, c.OverrideStageMove(
        at=clock.tick(), actor=STATE, to_stage=Stage.INSTALLATION, reason="board already adopted"))
    assert events[0].payload.unmet, "the override records what was not met"
    assert state.stage is Stage.INSTALLATION


def test_custom_criteria_from_the_plan_apply():
    clock = Clock()
    criteria = ExitCriteria(initial_implementation=InitialImplementationExit(
        capacity_min_percent=50, fidelity_assessments_min=1))
    state = to_initial(enrolled(criteria=criteria), clock)
    state = submit(state, clock, fidelity(4), actor=COACH)
    state, _ = evaluate(state, clock)
    assert state.stage is Stage.FULL_IMPLEMENTATION


@pytest.mark.parametrize("actor, message", [
    (OTHER_COORDINATOR, "coordinates district 'baker', not 'adams'"),
    (AUDITOR, "ada.audit is a auditor"),
])
def test_people_act_only_where_they_may(actor, message):
    with pytest.raises(DomainError, match=message):
        decide(enrolled(), c.SubmitAssessment(at=Clock().tick(), actor=actor, assessment_id="x",
                                              assessment=readiness()))


def test_wrong_stage_instrument_is_refused():
    with pytest.raises(DomainError, match="A fidelity is taken in Initial Implementation"):
        decide(enrolled(), c.SubmitAssessment(at=Clock().tick(), actor=COACH, assessment_id="x",
                                              assessment=fidelity(3)))


def test_tasks_complete_once_and_retries_are_harmless():
    clock, state = Clock(), enrolled()
    assign = c.AssignTask(at=clock.tick(), actor=SYSTEM, task_id="t1", kind="join_review",
                          title="Join the quarterly review", assignee_role="district", due=date(2026, 9, 20))
    state, first = execute(state, assign)
    assert decide(state, assign) == []
    done = c.CompleteTask(at=clock.tick(), actor=COORDINATOR, task_id="t1")
    state, events = execute(state, done)
    assert [e.type for e in events] == ["TaskCompleted"]
    assert decide(state, done) == []
    with pytest.raises(DomainError, match="There is no task 'nope'"):
        decide(state, c.CompleteTask(at=clock.tick(), actor=COORDINATOR, task_id="nope"))


def test_assessment_closes_its_task_and_resubmission_is_idempotent():
    clock, state = Clock(), enrolled()
    state, _ = execute(state, c.AssignTask(
        at=clock.tick(), actor=SYSTEM, task_id="t-ready", kind="submit_assessment", title="Readiness",
        assignee_role="district", due=date(2026, 9, 30), instrument="fit_readiness"))
    with pytest.raises(DomainError, match="done by submitting the fit readiness"):
        decide(state, c.CompleteTask(at=clock.tick(), actor=COORDINATOR, task_id="t-ready"))
    submission = c.SubmitAssessment(at=clock.tick(), actor=COORDINATOR, assessment_id="r1",
                                    assessment=readiness())
    state, events = execute(state, submission)
    assert [e.type for e in events] == ["AssessmentSubmitted", "TaskCompleted"]
    assert decide(state, submission) == []


def test_pause_blocks_work_until_resume_and_cancel_is_final():
    clock, state = Clock(), enrolled()
    state, _ = execute(state, c.PauseRollout(at=clock.tick(), actor=STATE, reason="budget review"))
    with pytest.raises(DomainError, match="is paused; ask the state team to resume"):
        decide(state, c.SubmitAssessment(at=clock.tick(), actor=COORDINATOR, assessment_id="x",
                                         assessment=readiness()))
    state, _ = execute(state, c.ResumeRollout(at=clock.tick(), actor=STATE))
    state = submit(state, clock, readiness())
    state, _ = execute(state, c.CancelRollout(at=clock.tick(), actor=STATE, reason="district withdrew"))
    assert state.status == "cancelled"
    with pytest.raises(DomainError, match="is cancelled"):
        decide(state, c.EvaluateExit(at=clock.tick(), actor=SYSTEM))


def test_review_turns_low_drivers_into_action_items_and_escalates_system_barriers():
    clock, state = Clock(), enrolled()
    state = to_initial(state, clock)
    state, events = execute(state, c.HoldReview(at=clock.tick(), actor=SYSTEM, review_id="rev-1",
                                                number=1, action_due=date(2026, 11, 1)))
    review = events[0].payload
    assert len(review.low_drivers) == 9 and len(review.action_items) == 9
    assert [e.type for e in events].count("TaskAssigned") == 9
    assert [e.payload.task_id for e in events if e.type == "TaskEscalated"] == [
        a.action_id for a in review.action_items if a.system_barrier]


def test_events_round_trip_as_json_and_fold_to_the_same_state():
    clock = Clock()
    enroll = c.EnrollSite(at=clock.now, actor=SYSTEM, initiative_id="pbis", site_id="adams",
                          site_name="Adams County SD", kind="district", region="North",
                          cohort_id="c1", practitioners=20)
    commands = [
        c.SubmitAssessment(at=clock.tick(), actor=COORDINATOR, assessment_id="r", assessment=readiness()),
        c.SubmitAssessment(at=clock.tick(), actor=COORDINATOR, assessment_id="d", assessment=adoption()),
        c.EvaluateExit(at=clock.tick(), actor=SYSTEM),
        c.SubmitAssessment(at=clock.tick(), actor=COORDINATOR, assessment_id="k", assessment=capacity(1)),
    ]
    events = decide(SiteRolloutState(), enroll)
    state = fold(events)
    for command in commands:
        new = decide(state, command)
        events, state = events + new, fold(new, state)
    assert state.stage is Stage.INSTALLATION and state.evidence.capacity_percent == 50.0
    assert fold(events) == state
    assert fold(EVENTS_ADAPTER.validate_json(EVENTS_ADAPTER.dump_json(events))) == state
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))


def test_a_held_site_is_asked_again_and_repeated_failure_is_escalated():
    clock, state = Clock(), enrolled()
    due = date(2026, 10, 1)
    state = submit(state, clock, readiness(2))
    state = submit(state, clock, adoption())
    state, events = execute(state, c.EvaluateExit(at=clock.tick(), actor=SYSTEM, follow_up_due=due))
    assert [e.type for e in events] == ["CriteriaEvaluated", "TaskAssigned"]
    retry = events[1].payload
    assert (retry.instrument.value, retry.due) == ("fit_readiness", due)
    assert "fit/readiness mean rating is 2 of 5" in retry.title
    state = submit(state, clock, readiness(2))
    state, events = execute(state, c.EvaluateExit(at=clock.tick(), actor=SYSTEM, follow_up_due=due))
    assert state.stage is Stage.EXPLORATION
    escalated = [e for e in events if e.type == "TaskEscalated"]
    assert len(escalated) == 1 and "failed 2 evaluations" in escalated[0].payload.reason


def test_waiting_for_evidence_is_not_escalated():
    clock, state = Clock(), enrolled()
    state = to_initial(state, clock)
    due = date(2027, 1, 10)
    for meeting in (8, 9):
        state = submit(state, clock, fidelity(meeting), actor=COACH)
        state, events = execute(state, c.EvaluateExit(at=clock.tick(), actor=SYSTEM, follow_up_due=due))
        assert not [e for e in events if e.type == "TaskEscalated"]


def test_stage_work_names_each_stage_tasks():
    from domain.stage_work import entry_tasks
    state = enrolled()
    tasks = entry_tasks(state, at=START, due=date(2026, 9, 30))
    assert [t.instrument.value for t in tasks] == ["fit_readiness", "adoption_decision"]
    assert tasks[0].task_id == "pbis:adams:e1:fit_readiness:1"
