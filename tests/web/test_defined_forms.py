"""Forms built from instrument definitions: items with labels, descriptions and anchors, the
consensus fields, and the posted answers read back into the domain's DefinedAssessment with each
problem at its control."""

from __future__ import annotations

from api.pages.form_fields import Input, RowGroup
from api.pages.instrument_forms import assessment_form, parse_assessment
from domain.criteria import InstrumentUse
from domain.instruments import Instrument, score
from instrument_library import built_in

CATALOGUE = built_in()
DCA = (CATALOGUE.require("dca", "6.0"), InstrumentUse(id="dca", version="6.0"))
TFI = (CATALOGUE.require("tfi", "2.1"), InstrumentUse(id="tfi", version="2.1"))
SHARE = (CATALOGUE.require("practitioner-fidelity", "1"),
         InstrumentUse(id="practitioner-fidelity", version="1"))


def groups(form) -> list[RowGroup]:
    return [p for p in form.parts if isinstance(p, RowGroup)]


def controls(form) -> dict[str, Input]:
    return {c.name: c for c in form.inputs()}


def dca_posted(value: str = "2") -> dict[str, str]:
    posted = {f"items.{i.id}.value": value for i in DCA[0].items}
    posted.update({"consensus.facilitator": "Pat Lee (regional)",
                   "consensus.participants.1.role": "district leader",
                   "consensus.participants.1.count": "3",
                   "consensus.participants.2.role": "principal",
                   "consensus.participants.2.count": "2"})
    return posted


def test_the_capacity_form_is_built_from_its_definition():
    form = assessment_form(Instrument.CAPACITY, DCA)
    assert form.title == "District capacity assessment (dca 6.0)"
    tables = groups(form)
    assert [g.label for g in tables] == ["Subscale: Leadership", "Subscale: Competency",
                                         "Subscale: Organization", "Voting participants"]
    assert [len(g.rows) for g in tables[:3]] == [9, 8, 9]
    first = tables[0].rows[0]
    assert first.heading == "1 District implementation team in place"
    assert first.detail.startswith("A team with the authority")
    agreed, resolved = first.inputs
    assert agreed.options == [("", "choose"), ("0", "0: No team."),
                              ("1", "1: A team exists but lacks authority or key members."),
                              ("2", "2: A team with authority and the needed members leads the work.")]
    assert agreed.required and not resolved.required
    facilitator = controls(form)["consensus.facilitator"]
    assert facilitator.required and "does not vote" in facilitator.hint
    assert "become proposed action items" in form.intro


def test_posted_answers_become_a_consensus_assessment():
    posted = dca_posted()
    posted["items.4.value"] = "1"
    posted["items.4.resolution"] = "Split 3-2 at first; agreed partly once the plan was read."
    answers, form = parse_assessment(Instrument.CAPACITY, posted, DCA)
    assert answers is not None, form.errors
    assert answers.key.ref == "dca@6.0"
    assert answers.consensus.facilitator == "Pat Lee (regional)"
    assert answers.consensus.participants == {"district leader": 3, "principal": 2}
    assert next(a for a in answers.items if a.item == "4").resolution.startswith("Split 3-2")
    assert score(answers).below_mark == ["4"]


def test_each_problem_lands_at_its_control():
    posted = dca_posted()
    del posted["items.7.value"]
    posted["consensus.facilitator"] = ""
    posted["consensus.participants.2.count"] = "two"
    posted["taken_on"] = "2026-13-01"
    answers, form = parse_assessment(Instrument.CAPACITY, posted, DCA)
    assert answers is None
    found = controls(form)
    assert found["items.7.value"].error.startswith("7 Team roles written down: choose the agreed")
    assert found["consensus.facilitator"].error.startswith("Facilitator is required")
    assert "should be a whole number; you entered 'two'" in found[
        "consensus.participants.2.count"].error
    assert "should be a date" in found["taken_on"].error
    assert found["items.8.value"].value == "2", "what was entered is kept"


def test_a_tfi_tier_is_answered_whole_or_not_at_all():
    posted = {f"items.{i.id}.value": "2" for i in TFI[0].items_of("tier-1")}
    posted["consensus.participants.1.role"] = "school team"
    posted["consensus.participants.1.count"] = "6"
    answers, _ = parse_assessment(Instrument.FIDELITY, posted, TFI)
    assert answers is not None and score(answers).unanswered == ["tier-2", "tier-3"]
    posted["items.2.1.value"] = "1"
    answers, form = parse_assessment(Instrument.FIDELITY, posted, TFI)
    assert answers is None
    assert "answered whole or not at all" in controls(form)["items.2.2.value"].error
    assert not controls(form)["items.3.1.value"].error
    tiers = [g.label for g in groups(assessment_form(Instrument.FIDELITY, TFI))]
    assert tiers[:3] == ["Tier: Tier I: universal", "Tier: Tier II: targeted",
                         "Tier: Tier III: intensive"]


def test_a_team_needs_voting_participants():
    posted = dca_posted()
    for n in (1, 2):
        del posted[f"consensus.participants.{n}.role"], posted[f"consensus.participants.{n}.count"]
    answers, form = parse_assessment(Instrument.CAPACITY, posted, DCA)
    assert answers is None
    participants = next(g for g in groups(form) if g.name == "consensus-participants")
    assert participants.error.startswith("Voting participants: give at least one role")


def test_a_share_of_practitioners_is_two_counts():
    form = assessment_form(Instrument.FIDELITY, SHARE)
    assert [c.name for c in form.inputs()][:2] == ["practitioners_assessed", "practitioners_meeting"]
    answers, _ = parse_assessment(Instrument.FIDELITY, {"practitioners_assessed": "20",
                                                        "practitioners_meeting": "12"}, SHARE)
    assert score(answers).percent == 60.0
    answers, form = parse_assessment(Instrument.FIDELITY, {"practitioners_assessed": "5",
                                                           "practitioners_meeting": "6"}, SHARE)
    assert answers is None and "cannot exceed" in form.errors[0]
