"""The web forms follow the domain's models: fields, bounds and choices come from the instrument
and command models, and the models' own complaints land next to the field concerned."""

from __future__ import annotations

import re

import pytest

from api.pages.charts import Bar, stacked_bars
from api.pages.form_fields import Input, RowGroup
from api.pages.instrument_forms import MODELS, assessment_form, parse_assessment
from api.pages.outcome_forms import DONE, completion_form, parse_completion
from domain.commands import RecordPdSessionHeld
from domain.drivers import Driver
from domain.instruments import (
    DEFAULT_CHECKLIST_ITEMS, HEXAGON_INDICATORS, CapacityAssessment, CapacityItem, Instrument,
    score,
)


def part(form, name):
    return next(p for p in form.parts if p.name == name)


def capacity_answers(score_value: str = "2", facilitator: str = "Pat Lee") -> dict[str, str]:
    posted = {f"items.{i}.score": score_value for i in range(len(Driver))}
    posted.update({"facilitator": facilitator, "participants.0.role": "district team",
                   "participants.0.count": "6"})
    return posted


def test_every_instrument_of_the_domain_has_a_form():
    assert set(MODELS) == set(Instrument)
    for instrument in Instrument:
        form = assessment_form(instrument)
        assert form.parts and all(i.label for i in form.inputs())


def test_the_capacity_form_is_derived_from_the_capacity_model():
    form = assessment_form(Instrument.CAPACITY)
    items = part(form, "items")
    assert isinstance(items, RowGroup)
    assert [r.heading.split(" (")[0] for r in items.rows] == [d.value for d in Driver]
    score_input = items.rows[0].inputs[-1]
    bounds = {type(m).__name__: m for m in CapacityItem.model_fields["score"].metadata}
    assert [v for v, _ in score_input.options if v] == [
        str(n) for n in range(bounds["Ge"].ge, bounds["Le"].le + 1)]
    assert score_input.hint == CapacityItem.model_fields["score"].description
    facilitator = part(form, "facilitator")
    assert isinstance(facilitator, Input) and facilitator.required
    assert part(form, "instrument_version").value == CapacityAssessment.model_fields[
        "instrument_version"].default


def test_catalogued_items_come_from_the_domain():
    ratings = part(assessment_form(Instrument.FIT_READINESS), "ratings")
    assert [r.inputs[0].value for r in ratings.rows] == list(HEXAGON_INDICATORS)
    checklist = part(assessment_form(Instrument.INSTALLATION_CHECKLIST), "items")
    assert [r.inputs[0].value for r in checklist.rows] == list(DEFAULT_CHECKLIST_ITEMS)


def test_a_filled_capacity_form_becomes_the_domain_assessment():
    assessment, _ = parse_assessment(Instrument.CAPACITY, capacity_answers())
    assert isinstance(assessment, CapacityAssessment)
    assert score(assessment).percent == 100.0
    assert assessment.participants == {"district team": 6}
    assert assessment.facilitator == "Pat Lee"


@pytest.mark.parametrize("field, value, expected", [
    ("items.3.score", "7", "Performance Assessment (Competency driver): Score should be less than "
                           "or equal to 2; you entered '7'."),
    ("facilitator", "", "Facilitator is required."),
    ("participants.0.count", "many", "Participants 1: Number of people should be a whole number; "
                                     "you entered 'many'."),
])
def test_a_bad_value_is_named_next_to_its_field_and_the_answers_are_kept(field, value, expected):
    posted = capacity_answers()
    posted[field] = value
    assessment, form = parse_assessment(Instrument.CAPACITY, posted)
    assert assessment is None
    errors = {i.name: i.error for i in form.inputs() if i.error}
    assert errors == {field: expected}
    kept = {i.name: i.value for i in form.inputs() if i.kind != "hidden"}
    assert kept["items.0.score"] == "2" and kept["participants.0.role"] == "district team"


def test_a_rule_of_the_whole_model_is_reported_for_the_form():
    _, form = parse_assessment(Instrument.STAGE_ANALYSIS, {})
    assert part(form, "items").error == "Items: fill in at least 1 row(s)."


def test_a_pd_session_reports_attendance_within_the_commands_bounds():
    attendees = RecordPdSessionHeld.model_fields["attendees"]
    control = next(completion_form("hold_pd_session").inputs())
    assert (control.name, control.minimum, control.maximum) == (
        "attendees", attendees.metadata[0].ge, attendees.metadata[1].le)
    assert parse_completion("hold_pd_session", {"attendees": "24"})[0] == {"attendees": 24}
    outcome, form = parse_completion("hold_pd_session", {"attendees": "-1"})
    assert outcome is None and "greater than or equal to 0" in form.parts[0].error
    assert parse_completion("action_item", {})[0] == DONE


def test_the_chart_draws_each_stage_with_its_count_and_link():
    svg = stacked_bars("Sites <by> cohort", [
        Bar("c1", {"Exploration": 2, "Installation": 1},
            {"Installation": "/web/board/x?column=Installation"}),
        Bar("c2", {"Installation": 3})], ["Exploration", "Installation", "completed"])
    assert svg.startswith("<svg") and "Sites &lt;by&gt; cohort" in svg
    assert 'href="/web/board/x?column=Installation"' in svg
    assert re.findall(r"<title>(c\d, [^<]+)</title>", svg) == [
        "c1, Exploration: 2 sites", "c1, Installation: 1 site", "c2, Installation: 3 sites"]
    assert ">completed<" not in svg, "columns no bar uses stay out of the legend"
