"""The built-in instrument definitions: their structure, and each scored against worked examples."""

from datetime import date

import pytest
from pydantic import ValidationError

from domain.criteria import (
    InstrumentChoices, InstrumentResult, InstrumentThreshold, StageEvidence, threshold_check,
)
from domain.drivers import Driver
from domain.instrument_definitions import InstrumentDefinition, respond, scoring_key
from domain.instruments import SCALES, Consensus, Instrument, score
from instrument_library import built_in, read_definition

CATALOGUE = built_in()
TEAM = Consensus(facilitator="Regional facilitator", participants={"district leader": 2,
                                                                   "principal": 2, "coach": 1})


def definition(definition_id: str) -> InstrumentDefinition:
    return CATALOGUE.require(definition_id, CATALOGUE.versions(definition_id)[-1])


def values(d: InstrumentDefinition, points_by_group: dict[str, list[int]]) -> dict[str, str]:
    """Item id -> level, group by group in the definition's item order."""
    answers = {}
    for group, points in points_by_group.items():
        items = d.items_of(group)
        assert len(items) == len(points), (group, len(items))
        levels = [level.value for level in SCALES[d.scale]]
        answers.update({i.id: levels[p] for i, p in zip(items, points)})
    return answers


def test_the_catalogue_holds_every_built_in_instrument_with_its_structure():
    assert CATALOGUE.refs() == ["dbpa@1", "dca@6.0", "hexagon@2018", "installation-checklist@1",
                                "practitioner-fidelity@1", "sia@1", "tfi@2.1"]
    tfi = definition("tfi")
    assert [len(tfi.items_of(t)) for t in ("tier-1", "tier-2", "tier-3")] == [15, 13, 17]
    assert [g.required for g in tfi.groups] == [True, False, False]
    assert (tfi.scale, tfi.scoring.rule, tfi.scoring.headline) == ("0-2", "percent", "tier-1")
    assert {t.id: (t.part, t.at_least) for t in tfi.thresholds}["tier-1"] == ("tier-1", 70)
    assert (tfi.schedule.every, tfi.schedule.until, tfi.schedule.then) == ("term", "tier-1", "year")
    dca = definition("dca")
    assert [g.id for g in dca.groups] == ["leadership", "competency", "organization"]
    assert dca.completed_by.facilitator == "required" and dca.scale == "0-2"
    assert {(t.part, t.at_least) for t in dca.thresholds} == {("total", 80), ("every", 80)}
    assert [(w.from_month, w.to_month) for w in dca.schedule.windows] == [(8, 9), (1, 2)]
    assert {i.driver for i in dca.items} == set(Driver)  # every driver is fed
    hexagon = definition("hexagon")
    assert [i.id for i in hexagon.items] == ["evidence", "supports", "usability", "need", "fit",
                                             "capacity"]
    assert all(sorted(i.anchors) == ["1", "2", "3", "4", "5"] for i in hexagon.items)
    dbpa = definition("dbpa")
    assert {i.driver for i in dbpa.items} == set(Driver) and dbpa.groups_are == "driver"
    sia = definition("sia")
    assert [g.label for g in sia.groups] == ["Exploration", "Installation", "Initial Implementation",
                                             "Full Implementation"] and sia.scale == "in-place"


def test_tfi_tier_one_at_73_and_tier_two_at_61():
    """Tier I 22 of 30 points, Tier II 16 of 26; Tier III not run."""
    tfi = definition("tfi")
    tier_1 = [2] * 8 + [1] * 6 + [0]       # 22 of 30
    tier_2 = [2] * 5 + [1] * 6 + [0] * 2   # 16 of 26
    answers = respond(tfi, values(tfi, {"tier-1": tier_1, "tier-2": tier_2}), consensus=TEAM)
    result = score(answers)
    assert result.parts == {"tier-1": 73.33, "tier-2": 61.54}
    assert result.headline == 73.33 and result.unanswered == ["tier-3"]
    assert (result.points, result.possible_points, result.percent) == (38, 56, 67.86)
    assert len(result.below_mark) == 7 + 8
    evidence = StageEvidence(results=(_result("tfi", result),))
    choices = InstrumentChoices(fidelity={"id": "tfi", "version": "2.1"})
    tier_one = threshold_check(InstrumentThreshold(instrument="tfi", part="tier-1", at_least=70),
                               evidence, choices)
    every_tier = threshold_check(InstrumentThreshold(instrument="tfi", part="every", at_least=70),
                                 evidence, choices)
    assert tier_one.met and tier_one.actual == "73.33%" and tier_one.instrument is Instrument.FIDELITY
    assert not every_tier.met and every_tier.actual == "tier-1 73.33%, tier-2 61.54%"


def test_capacity_at_82_percent_with_a_subscale_at_67_fails_the_per_subscale_rule():
    """43 of 52 points in total (82.69%), but Leadership 12 of 18 (66.67%)."""
    dca = definition("dca")
    answers = respond(dca, values(dca, {
        "leadership": [2, 2, 2, 1, 1, 1, 1, 1, 1],       # 12 of 18
        "competency": [2] * 8,                           # 16 of 16
        "organization": [2, 2, 2, 2, 2, 2, 1, 1, 1]}),   # 15 of 18
        consensus=TEAM)
    result = score(answers)
    assert (result.points, result.possible_points, result.percent) == (43, 52, 82.69)
    assert result.parts == {"leadership": 66.67, "competency": 100.0, "organization": 83.33}
    evidence = StageEvidence(results=(_result("dca", result),))
    total = threshold_check(InstrumentThreshold(instrument="dca", at_least=80), evidence,
                            InstrumentChoices())
    per_subscale = threshold_check(InstrumentThreshold(instrument="dca", part="every", at_least=80),
                                   evidence, InstrumentChoices())
    assert total.met and not per_subscale.met and not per_subscale.pending
    assert "leadership 66.67%" in per_subscale.actual
    assert result.per_driver[Driver.ADAPTIVE_LEADERSHIP] < 80 <= result.per_driver[Driver.TRAINING]


def test_hexagon_mean_per_indicator_group_and_items_under_three():
    hexagon = definition("hexagon")
    answers = respond(hexagon, {"evidence": 5, "supports": 4, "usability": 3, "need": 2, "fit": 3,
                                "capacity": 1}, consensus=TEAM)
    result = score(answers)
    assert (result.mean_rating, result.headline, result.percent) == (3.0, 3.0, None)
    assert result.parts == {"practice": 4.0, "site": 2.0}
    assert result.below_mark == result.gaps == ["need", "capacity"]


def test_drivers_best_practices_per_driver():
    dbpa = definition("dbpa")
    points = {g.id: [2, 2, 2, 2] for g in dbpa.groups}
    points["coaching"] = [2, 1, 0, 0]
    result = score(respond(dbpa, values(dbpa, points), consensus=TEAM))
    assert result.parts["coaching"] == 37.5 and result.per_driver[Driver.COACHING] == 37.5
    assert result.parts["training"] == 100.0
    assert result.percent == round(100 * (8 * 8 + 3) / 72, 2)
    assert result.below_mark == ["coaching.2", "coaching.3", "coaching.4"]


def test_stage_analysis_strength_of_each_stage():
    sia = definition("sia")
    result = score(respond(sia, values(sia, {
        "exploration": [2] * 8, "installation": [2, 2, 2, 1, 1, 0, 0],
        "initial-implementation": [1, 0, 0, 0, 0, 0], "full-implementation": [0] * 4}),
        consensus=TEAM))
    assert result.parts == {"exploration": 100.0, "installation": 57.14,
                            "initial-implementation": 8.33, "full-implementation": 0.0}
    assert "installation.4" in result.below_mark and "exploration.1" not in result.below_mark


def test_checklist_and_practitioner_share():
    checklist = definition("installation-checklist")
    answered = {i.id: "yes" for i in checklist.items} | {"coaches_assigned": "no"}
    result = score(respond(checklist, answered))
    assert (result.percent, result.gaps) == (87.5, ["coaches_assigned"])
    share = score(respond(definition("practitioner-fidelity"), practitioners=(24, 13)))
    assert (share.percent, share.headline, share.points) == (54.17, 54.17, 13)


def test_the_domain_md_worked_example_on_a_defined_instrument():
    """Items scored [2, 1, 0, 2, 2] -> 7 of 10 points = 70%."""
    small = read_definition("""
id: five
version: "1"
title: Five items
evidence: capacity
completed_by: {by: district-coordinator}
scale: 0-2
groups: [{id: all, label: All}]
items: [{id: a, label: A, group: all}, {id: b, label: B, group: all}, {id: c, label: C, group: all},
        {id: d, label: D, group: all}, {id: e, label: E, group: all}]
scoring: {rule: percent}
""")
    result = score(respond(small, dict(zip("abcde", [2, 1, 0, 2, 2]))))
    assert (result.points, result.possible_points, result.percent) == (7, 10, 70.0)


@pytest.mark.parametrize("change, message", [
    (lambda v: v.pop("1.3"), "every item needs an agreed score; missing 1.3"),
    (lambda v: v.update({"1.3": "3"}), "not a level of the 0-2 scale"),
    (lambda v: v.update({"9.9": "1"}), "has no item '9.9'"),
    (lambda v: v.update({"2.1": "1"}), "answered whole or not at all); missing 2.2"),
])
def test_answers_must_fit_the_key(change, message):
    tfi = definition("tfi")
    answered = {i.id: "2" for i in tfi.items_of("tier-1")}
    change(answered)
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        respond(tfi, answered, consensus=TEAM)


def test_a_team_instrument_records_its_consensus_and_facilitator():
    dca = definition("dca")
    everything = {i.id: "2" for i in dca.items}
    with pytest.raises(ValidationError, match="record the consensus"):
        respond(dca, everything)
    with pytest.raises(ValidationError, match="name the facilitator"):
        respond(dca, everything, consensus=Consensus(participants={"district leader": 3}))
    with pytest.raises(ValidationError, match="at least one voting participant"):
        respond(dca, everything, consensus=Consensus(facilitator="F", participants={"x": 0}))
    answered = respond(dca, everything, consensus=TEAM,
                       resolutions={"4": "Split 3-2 at first; agreed 2 once the plan was shown."})
    assert answered.items[3].resolution.startswith("Split 3-2")
    assert answered.key.ref == "dca@6.0" and answered.consensus.voting_members == 5


def test_a_definition_names_each_problem_at_its_field():
    from domain.plan_yaml import PlanError
    with pytest.raises(PlanError) as refused:
        read_definition("""
id: bad
version: "1"
title: Bad
evidence: capacity
completed_by: {by: team-consensus}
scale: 0-2
groups: [{id: one, label: One}]
items:
  - {id: a, label: A, group: two, anchors: {"3": too high}}
scoring: {rule: percent, headline: three}
thresholds: [{id: t, label: T, part: four, at_least: 80}]
""")
    found = {(i.path, i.message.split(",")[0]) for i in refused.value.errors}
    paths = {p for p, _ in found}
    assert {"items[0].group", 'items[0].anchors["3"]', "scoring.headline", "thresholds[0].part",
            "completed_by.facilitator", "groups[0].id"} <= paths, found


def test_the_key_carries_what_scoring_and_reading_need():
    key = scoring_key(definition("tfi"), mark="1")
    assert (key.ref, key.evidence, key.action_mark, len(key.items)) == (
        "tfi@2.1", Instrument.FIDELITY, "1", 45)
    assert key.items[0].label == definition("tfi").items[0].label


def _result(definition_id, result) -> InstrumentResult:
    return InstrumentResult(assessment_id="a1", definition=result.definition,
                            definition_id=definition_id, instrument=result.instrument,
                            total=result.percent, parts=result.parts, headline=result.headline,
                            taken_on=date(2026, 10, 1))
