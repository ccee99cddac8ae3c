"""Decisions people make about a site's stage, and a cohort's gate: declining a move the rules
asked for, and opening a decision-gated cohort with a reason."""

from datetime import date

import pytest
from pydantic import ValidationError

from domain import commands as c
from domain import initiative as agg
from domain.actors import SYSTEM
from domain.errors import DomainError
from domain.events import EVENTS_ADAPTER, InitiativeLaunchedPayload
from domain.plan import DecisionGate, ImmediateGate
from domain.rollout import decide, execute, fold
from domain.stages import Stage
from tests.domain.builders import COACH, COORDINATOR, START, STATE, Clock, capacity, enrolled, fidelity
from tests.domain.test_rollout import evaluate, submit, to_initial

FOLLOW_UP = date(2026, 12, 1)


def waiting_for_full(clock):
    """A site whose Initial Implementation exit holds, waiting for the state's approval."""
    state = to_initial(enrolled(approval_required_for=[Stage.FULL_IMPLEMENTATION]), clock)
    state = submit(state, clock, capacity(2))
    state = submit(state, clock, fidelity(6), actor=COACH)
    state = submit(state, clock, fidelity(9), actor=COACH)
    state, events = evaluate(state, clock)
    assert events[-1].type == "StageMoveRequested"
    assert (state.stage, state.pending_move) == (Stage.INITIAL_IMPLEMENTATION, Stage.FULL_IMPLEMENTATION)
    return state


def decline(clock, to_stage=Stage.FULL_IMPLEMENTATION, actor=STATE, reason="Fidelity data are "
            "from one classroom only", follow_up_due=FOLLOW_UP):
    return c.DeclineStageMove(at=clock.tick(), actor=actor, to_stage=to_stage, reason=reason,
                              follow_up_due=follow_up_due)


def test_a_declined_move_keeps_the_site_in_its_stage_until_new_evidence_asks_again():
    clock = Clock()
    state = waiting_for_full(clock)
    open_before = {t.task_id for t in state.open_tasks()}
    state, events = execute(state, decline(clock))
    declined, *asked = events
    assert declined.type == "StageMoveDeclined" and declined.actor == STATE
    assert declined.payload.reason == "Fidelity data are from one classroom only"
    assert {ch.name for ch in declined.payload.checks} == {"capacity assessment",
                                                           "fidelity assessments taken"}
    assert (state.stage, state.pending_move) == (Stage.INITIAL_IMPLEMENTATION, None)
    new_tasks = {e.payload.instrument.value: e.payload for e in asked}
    assert set(new_tasks) == {"capacity", "fidelity"} and all(
        t.due == FOLLOW_UP and "declined the move to Full Implementation" in t.title
        for t in new_tasks.values())
    assert new_tasks["fidelity"].assignee_role == "coach"
    assert not open_before & {e.payload.task_id for e in asked}, "new tasks, new ids"

    # An evaluation without new evidence (PD booked, say) does not ask again.
    state, events = evaluate(state, clock)
    assert [e.type for e in events] == ["CriteriaEvaluated"] and state.pending_move is None

    # New evidence does: the move is requested again, and this time approved.
    state = submit(state, clock, fidelity(12), actor=COACH)
    state, events = evaluate(state, clock)
    assert events[-1].type == "StageMoveRequested" and state.pending_move is Stage.FULL_IMPLEMENTATION
    state, _ = execute(state, c.ApproveStageMove(at=clock.tick(), actor=STATE,
                                                 to_stage=Stage.FULL_IMPLEMENTATION))
    assert (state.stage, state.declined_move) == (Stage.FULL_IMPLEMENTATION, None)


def test_only_a_pending_move_is_declined_by_the_state_with_a_reason():
    clock = Clock()
    state = waiting_for_full(clock)
    with pytest.raises(DomainError, match="Only a state admin may decline"):
        decide(state, decline(clock, actor=COORDINATOR))
    with pytest.raises(DomainError, match="waiting for approval of Full Implementation, not "
                                          "Installation") as wrong:
        decide(state, decline(clock, to_stage=Stage.INSTALLATION))
    assert (wrong.value.field, wrong.value.value) == ("to_stage", "Installation")
    with pytest.raises(ValidationError, match="reason"):
        decline(clock, reason="no")
    with pytest.raises(DomainError, match="waiting for approval of no move"):
        decide(enrolled(), decline(clock, to_stage=Stage.INSTALLATION))
    state, events = execute(state, decline(clock))
    assert decide(state, decline(clock)) == [], "declining again records nothing"
    without_follow_up, events = execute(waiting_for_full(Clock()), decline(Clock(), follow_up_due=None))
    assert [e.type for e in events] == ["StageMoveDeclined"]


def test_a_declined_move_round_trips_and_folds_to_the_same_state():
    clock = Clock()
    state = waiting_for_full(clock)
    state, events = execute(state, decline(clock))
    again = EVENTS_ADAPTER.validate_json(EVENTS_ADAPTER.dump_json(events))
    assert again == events
    assert fold(again, waiting_for_full(Clock())).declined_move is Stage.FULL_IMPLEMENTATION


def launched() -> agg.InitiativeState:
    payload = InitiativeLaunchedPayload(
        initiative_id="pbis", name="PBIS", practice="PBIS", ssip_phase="III", simr="reading",
        site_count=2, cohort_ids=["c1", "c2"], plan_digest="0" * 64)
    return agg.fold(agg.decide(agg.InitiativeState(), agg.LaunchInitiative(
        at=START, actor=STATE, payload=payload)))


def test_a_cohort_opened_by_a_state_decision_records_who_and_why():
    state = launched()
    start = dict(at=START, actor=SYSTEM, site_count=1, today=START.date())
    (first,) = agg.decide(state, agg.StartCohort(cohort_id="c1", gate=ImmediateGate(),
                                                 decided_by="sam.state", reason="ignored", **start))
    assert (first.payload.decided_by, first.payload.reason) == (None, "")
    state = agg.fold([first], state)
    with pytest.raises(DomainError, match="waiting for a state decision"):
        agg.decide(state, agg.StartCohort(cohort_id="c2", gate=DecisionGate(), **start))
    (second,) = agg.decide(state, agg.StartCohort(
        cohort_id="c2", gate=DecisionGate(), decided_by="sam.state",
        reason="Cohort 1 holds fidelity; funding confirmed", **start))
    assert second.payload.decided_by == "sam.state"
    assert second.payload.reason == "Cohort 1 holds fidelity; funding confirmed"
    assert second.payload.gate_evidence == "state decision by sam.state"
