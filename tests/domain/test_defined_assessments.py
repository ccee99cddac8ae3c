"""Instruments defined as data through the site aggregate: submissions as the plan chooses them,
exit thresholds on tiers and subscales, proposed action items and the team's decisions on them,
and old events still folding as before."""

import pytest

from domain import commands as c
from domain.criteria import ExitCriteria, InitialImplementationExit, InstrumentChoices
from domain.errors import DomainError
from domain.events import EVENT_ADAPTER, EVENTS_ADAPTER
from domain.instrument_definitions import respond
from domain.instruments import CapacityAssessment, Consensus
from domain.rollout import decide, execute, fold
from domain.stages import Stage
from instrument_library import built_in
from tests.domain.builders import (
    COACH, COORDINATOR, OTHER_COORDINATOR, STATE, Clock, enrolled, fidelity,
)
from tests.domain.test_rollout import evaluate, submit, to_initial, to_installation

CATALOGUE = built_in()
DCA, TFI = CATALOGUE.require("dca", "6.0"), CATALOGUE.require("tfi", "2.1")
TEAM = Consensus(facilitator="Regional facilitator", participants={"district leader": 2,
                                                                   "principal": 3})
TFI_PLAN = ExitCriteria(
    instruments=InstrumentChoices(fidelity={"id": "tfi", "version": "2.1"}),
    initial_implementation=InitialImplementationExit(thresholds=[
        {"instrument": "tfi", "part": "tier-1", "at_least": 70, "consecutive": 2}]))


def dca(points: list[int], **extra):
    return respond(DCA, {i.id: str(p) for i, p in zip(DCA.items, points)}, consensus=TEAM, **extra)


def tfi(tier_1_points: int):
    """Tier I only, the points given filled item by item (2 each while they last)."""
    values, left = {}, tier_1_points
    for item in TFI.items_of("tier-1"):
        values[item.id] = str(min(2, left))
        left -= min(2, left)
    return respond(TFI, values, consensus=TEAM)


def test_a_capacity_assessment_records_its_consensus_scores_and_proposes_action_items():
    clock = Clock()
    state = to_installation(enrolled(), clock)
    points = [2] * 26
    points[3], points[24] = 1, 0  # item 4 partly, item 25 (systems intervention) not in place
    answers = dca(points, resolutions={"4": "Two said fully, three partly; agreed partly."})
    state, events = execute(state, c.SubmitAssessment(at=clock.tick(), actor=COORDINATOR,
                                                      assessment_id="dca-1", assessment=answers))
    assert [e.type for e in events] == ["AssessmentSubmitted", "ActionItemsProposed"]
    recorded = events[0].payload
    assert recorded.answers.key.ref == recorded.score.definition == "dca@6.0"
    assert recorded.answers.consensus.facilitator == "Regional facilitator"
    assert recorded.answers.items[3].resolution.startswith("Two said fully")
    assert recorded.score.parts == {"leadership": 94.44, "competency": 100.0, "organization": 88.89}
    assert state.evidence.capacity_percent == 94.23 and state.evidence.capacity_baseline_taken
    assert [r.definition for r in state.evidence.results] == ["dca@6.0"]
    proposed = events[1].payload.items
    assert [(p.item, p.value, p.mark) for p in proposed] == [("4", "1", "2"), ("25", "0", "2")]
    assert [p.owner for p in proposed] == ["District Implementation Team",
                                           "State Implementation Team"]
    assert all(p.due.weekday() < 5 for p in proposed)
    assert set(state.action_items) == {"dca-1:action:4", "dca-1:action:25"}


def test_the_plan_chooses_the_definition_and_its_mark():
    clock = Clock()
    state = to_installation(enrolled(), clock)
    with pytest.raises(DomainError) as refused:
        decide(state, c.SubmitAssessment(at=clock.tick(), actor=COORDINATOR, assessment_id="x",
                                         assessment=respond(
                                             CATALOGUE.require("dbpa", "1"),
                                             {i.id: "in_place" for i in
                                              CATALOGUE.require("dbpa", "1").items},
                                             consensus=TEAM)))
    assert refused.value.field == "assessment.key.definition_id"
    assert "takes its capacity from dca@6.0, not dbpa@1" in refused.value.message
    marked = enrolled(criteria=ExitCriteria(instruments=InstrumentChoices(
        capacity={"id": "dca", "version": "6.0", "mark": "1"})))
    marked = to_installation(marked, clock)
    points = [2] * 26
    points[0], points[1] = 1, 0
    _, events = execute(marked, c.SubmitAssessment(at=clock.tick(), actor=COORDINATOR,
                                                   assessment_id="d", assessment=dca(points)))
    assert events[0].payload.answers.key.action_mark == "1", "the key recorded is the one applied"
    assert [p.item for p in events[-1].payload.items] == ["2"]


def test_an_item_in_play_is_not_proposed_twice_and_comes_back_once_dismissed():
    clock = Clock()
    state = to_installation(enrolled(), clock)
    low = [2] * 26
    low[0] = 0
    state = submit(state, clock, dca(low), name="first")
    state, events = execute(state, c.SubmitAssessment(at=clock.tick(), actor=COORDINATOR,
                                                      assessment_id="second", assessment=dca(low)))
    assert "ActionItemsProposed" not in [e.type for e in events]
    state, events = execute(state, c.DismissActionItem(
        at=clock.tick(), actor=COORDINATOR, action_id="first:action:1",
        reason="The team is being re-formed this month."))
    assert [e.type for e in events] == ["ActionItemDismissed"] and not state.action_items
    _, again = execute(state, c.DismissActionItem(at=clock.tick(), actor=COORDINATOR,
                                                  action_id="first:action:1", reason="retry"))
    assert again == []
    state, events = execute(state, c.SubmitAssessment(at=clock.tick(), actor=COORDINATOR,
                                                      assessment_id="third", assessment=dca(low)))
    assert [p.action_id for p in events[-1].payload.items] == ["third:action:1"]


def test_the_team_accepts_merges_and_dismisses_with_reasons():
    clock = Clock()
    state = to_installation(enrolled(), clock)
    low = [2] * 26
    low[0] = low[1] = low[2] = 1
    before = state = submit(state, clock, dca(low), name="d1")
    first, second, third = "d1:action:1", "d1:action:2", "d1:action:3"
    history = []

    def act(command):
        nonlocal state
        state, events = execute(state, command)
        history.extend(events)
        return events

    for actor, message in [(COACH, "Only the site's district coordinator or a state admin"),
                           (OTHER_COORDINATOR, "coordinates district 'baker', not 'adams'")]:
        with pytest.raises(DomainError, match=message):
            decide(state, c.AcceptActionItem(at=clock.tick(), actor=actor, action_id=first))
    events = act(c.AcceptActionItem(at=clock.tick(), actor=COORDINATOR, action_id=first,
                                    owner="Superintendent's cabinet", note="On the October agenda."))
    assert (events[0].payload.owner, state.action_items[first].status) == (
        "Superintendent's cabinet", "accepted")
    assert decide(state, c.AcceptActionItem(at=clock.tick(), actor=COORDINATOR,
                                            action_id=first)) == [], "a retry changes nothing"
    events = act(c.MergeActionItems(
        at=clock.tick(), actor=STATE, into=first, merged=[second], title="Rebuild the team's routine",
        reason="Both items come from the same missing meeting routine."))
    assert events[0].payload.merged == [second] and second not in state.action_items
    assert state.action_items[first].title == "Rebuild the team's routine"
    assert decide(state, c.MergeActionItems(at=clock.tick(), actor=STATE, into=first,
                                            merged=[second], reason="retry")) == []
    with pytest.raises(DomainError, match="was merged"):
        decide(state, c.AcceptActionItem(at=clock.tick(), actor=COORDINATOR, action_id=second))
    with pytest.raises(DomainError, match="no action item 'nope'") as unknown:
        decide(state, c.DismissActionItem(at=clock.tick(), actor=COORDINATOR, action_id="nope",
                                          reason="not ours"))
    assert unknown.value.field == "action_id"
    act(c.DismissActionItem(at=clock.tick(), actor=COORDINATOR, action_id=third,
                            reason="Already handled."))
    assert set(state.action_items) == {first}
    assert state.closed_action_items == {second: "merged", third: "dismissed"}
    replayed = fold(EVENTS_ADAPTER.validate_json(EVENTS_ADAPTER.dump_json(history)), before)
    assert replayed == state


def test_tfi_tier_one_at_70_twice_in_a_row_moves_initial_to_full():
    clock = Clock()
    state = to_initial(enrolled(criteria=TFI_PLAN), clock)
    assert state.stage is Stage.INITIAL_IMPLEMENTATION
    state = submit(state, clock, dca([2] * 26))
    state = submit(state, clock, tfi(22), actor=COACH)  # 73.33%
    state, events = evaluate(state, clock)
    check = next(ch for ch in events[0].payload.checks if ch.name == "tfi tier-1")
    assert (check.met, check.pending, check.actual) == (False, True, "73.33%")
    state = submit(state, clock, tfi(18), actor=COACH)  # 60%
    state, events = evaluate(state, clock)
    assert state.stage is Stage.INITIAL_IMPLEMENTATION
    check = next(ch for ch in events[0].payload.checks if ch.name == "tfi tier-1")
    assert (check.met, check.pending, check.actual) == (False, False, "73.33%; 60%")
    assert state.evidence.fidelity_percents == (73.33, 60.0), "Tier I is the fidelity figure"
    state = submit(state, clock, tfi(21), actor=COACH)  # 70%
    state, events = evaluate(state, clock)
    assert state.stage is Stage.INITIAL_IMPLEMENTATION, "60% then 70%: not two in a row"
    state = submit(state, clock, tfi(24), actor=COACH)  # 80%
    state, events = evaluate(state, clock)
    assert state.stage is Stage.FULL_IMPLEMENTATION
    moved = events[-1].payload.evaluation
    assert next(ch for ch in moved if ch.name == "tfi tier-1").actual == "70%; 80%"


def test_old_events_fold_as_before():
    """An AssessmentSubmitted stored before definitions existed reads and folds unchanged."""
    clock = Clock()
    state = to_installation(enrolled(), clock)
    answers = CapacityAssessment.model_validate({
        "items": [{"item": "a", "driver": "Coaching", "score": 1},
                  {"item": "b", "driver": "Training", "score": 2}],
        "facilitator": "f", "participants": {"team": 4}})
    state, events = execute(state, c.SubmitAssessment(at=clock.tick(), actor=COORDINATOR,
                                                      assessment_id="old", assessment=answers))
    stored = EVENT_ADAPTER.dump_python(events[0], mode="json")
    for field in ("definition", "rule", "parts", "headline", "below_mark", "unanswered"):
        del stored["payload"]["score"][field]  # as written before these fields existed
    read = EVENT_ADAPTER.validate_python(stored)
    assert isinstance(read.payload.answers, CapacityAssessment)
    assert read.payload.score == events[0].payload.score
    assert [e.type for e in events] == ["AssessmentSubmitted"], "no proposals"
    assert state.evidence.capacity_percent == 75.0 and state.evidence.results == ()


def test_fidelity_as_a_defined_share_still_counts_practitioners():
    clock = Clock()
    state = to_initial(enrolled(), clock)
    share = respond(CATALOGUE.require("practitioner-fidelity", "1"), practitioners=(20, 12))
    state, events = execute(state, c.SubmitAssessment(at=clock.tick(), actor=COACH,
                                                      assessment_id="f", assessment=share))
    assert [e.type for e in events][:2] == ["AssessmentSubmitted", "FidelityAssessed"]
    assert state.evidence.fidelity_percents == (60.0,)
    legacy = submit(state, clock, fidelity(5), actor=COACH)
    assert legacy.evidence.fidelity_percents == (60.0, 25.0)
