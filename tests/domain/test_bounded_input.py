"""Bounded work for every assessment and every reported figure (issue 18, findings 1 and 2): each
list an assessment holds is capped (MOST_ITEMS) and refused, naming the field, before its items
are read; the checks over it are linear; counts are whole numbers, never true/false or fractions.
"""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError
from temporalio.exceptions import ApplicationError

from domain import instruments
from domain.instruments import MOST_ITEMS, Assessment
from domain.storable import MOST_KEYS
from workflows.update_checks import check_figures, whole_number

ASSESSMENTS = TypeAdapter(Assessment)


class CountedName(str):
    """A name that counts how often it is compared with another."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        CountedName.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_the_duplicate_check_compares_names_a_linear_number_of_times():
    """The check that took 45 s over 30,000 items compared every item with every other
    (list.count per item: n² comparisons); a hash count compares each name about once."""
    names = [CountedName(f"item-{n}") for n in range(3_000)]
    CountedName.comparisons = 0
    instruments._reject_duplicates(names, "stage analysis item")
    assert CountedName.comparisons <= 2 * len(names), CountedName.comparisons
    with pytest.raises(ValueError, match="listed more than once: item-7"):
        instruments._reject_duplicates(names + [CountedName("item-7")], "stage analysis item")


def stage_analysis(items: int) -> dict:
    return {"instrument": "stage_analysis",
            "items": [{"item": str(n), "status": "partly"} for n in range(items)]}


def test_an_assessment_of_30000_items_is_refused_naming_the_field():
    with pytest.raises(ValidationError) as refused:
        ASSESSMENTS.validate_python(stage_analysis(30_000))
    (error,) = refused.value.errors()
    assert error["loc"] == ("stage_analysis", "items") and error["type"] == "too_long"
    assert f"at most {MOST_ITEMS} items" in error["msg"]


@pytest.mark.parametrize("assessment, field", [
    (stage_analysis(MOST_ITEMS + 1), "items"),
    ({"instrument": "installation_checklist",
      "items": [{"item": f"i{n}", "in_place": True} for n in range(MOST_ITEMS + 1)]}, "items"),
    ({"instrument": "capacity", "facilitator": "f",
      "items": [{"item": f"i{n}", "driver": "Coaching", "score": 1} for n in range(MOST_ITEMS + 1)]},
     "items"),
    ({"instrument": "fit_readiness",
      "ratings": [{"indicator": "fit", "rating": 3} for _ in range(MOST_ITEMS + 1)]}, "ratings"),
    ({"instrument": "capacity", "facilitator": "f", "items": [{"item": "i", "driver": "Coaching",
                                                               "score": 1}],
      "participants": {f"role {n}": 1 for n in range(MOST_KEYS + 1)}}, "participants"),
])
def test_every_list_of_an_assessment_is_capped(assessment, field):
    with pytest.raises(ValidationError) as refused:
        ASSESSMENTS.validate_python(assessment)
    assert any(e["loc"][-1] == field and e["type"] == "too_long" for e in refused.value.errors()), \
        refused.value.errors()


def test_as_many_items_as_the_cap_are_accepted():
    assert len(ASSESSMENTS.validate_python(stage_analysis(MOST_ITEMS)).items) == MOST_ITEMS


@pytest.mark.parametrize("assessment, field", [
    ({"instrument": "adoption_decision", "decision": "adopt", "signed_by": "s",
      "implementation_team_members": True}, "implementation_team_members"),
    ({"instrument": "adoption_decision", "decision": "adopt", "signed_by": "s",
      "implementation_team_members": 2.5}, "implementation_team_members"),
    ({"instrument": "fidelity", "practitioners_assessed": 10, "practitioners_meeting": True},
     "practitioners_meeting"),
    ({"instrument": "fit_readiness", "ratings": [{"indicator": "fit", "rating": True}]}, "rating"),
])
def test_counts_and_ratings_are_whole_numbers_never_true_or_a_fraction(assessment, field):
    with pytest.raises(ValidationError) as refused:
        ASSESSMENTS.validate_python(assessment)
    assert any(e["loc"][-1] == field for e in refused.value.errors()), refused.value.errors()


def test_a_count_sent_as_digits_by_a_form_is_still_read():
    read = ASSESSMENTS.validate_python({"instrument": "fidelity", "practitioners_assessed": "10",
                                        "practitioners_meeting": "4"})
    assert (read.practitioners_assessed, read.practitioners_meeting) == (10, 4)


@pytest.mark.parametrize("kind, value", [
    ("hold_pd_session", 2.5), ("hold_pd_session", True), ("hold_pd_session", False),
    ("hold_pd_session", -1), ("hold_pd_session", -0.5), ("hold_pd_session", float("inf")),
    ("hold_pd_session", float("nan")), ("hold_pd_session", "2.5"), ("hold_pd_session", "24 people"),
    ("hold_pd_session", 10_001), ("hold_pd_session", "9" * 5000),
    ("coaching_step", 2.5), ("coaching_step", -0.5), ("coaching_step", True), ("coaching_step", -3),
])
def test_a_reported_figure_that_is_not_a_count_is_refused_naming_it(kind, value):
    name = "attendees" if kind == "hold_pd_session" else "practitioners_observed"
    with pytest.raises(ApplicationError) as refused:
        check_figures(kind, {name: value})
    assert refused.value.details[0]["field"] == f"outcome.{name}"
    assert "whole number from 0 to 10,000" in refused.value.message


@pytest.mark.parametrize("kind, value, count", [
    ("hold_pd_session", 24, 24), ("hold_pd_session", 24.0, 24), ("hold_pd_session", "24", 24),
    ("hold_pd_session", 0, 0), ("coaching_step", 3, 3), ("coaching_step", 10_000, 10_000),
])
def test_a_count_is_accepted_as_a_count(kind, value, count):
    name = "attendees" if kind == "hold_pd_session" else "practitioners_observed"
    check_figures(kind, {name: value})
    assert whole_number(value) == count


def test_a_coaching_step_keeps_text_as_a_note():
    check_figures("coaching_step", {"practitioners_observed": "most of the grade 2 team"})
