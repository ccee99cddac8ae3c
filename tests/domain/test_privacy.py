"""Small-cell suppression: counts under the threshold, and what would recover them, are hidden."""

import pytest

from domain.privacy import applied_min_cell, cell, check_min_cell, part_of_whole, redact


@pytest.mark.parametrize("meeting, assessed, shown", [
    (12, 25, True), (12, 20, False), (8, 20, False), (15, 20, False), (0, 20, True), (20, 20, True), (10, 10, True),
])
def test_a_part_and_its_whole_show_only_when_neither_side_is_small(meeting, assessed, shown):
    assert part_of_whole(meeting, assessed) is shown


def test_fidelity_counts_are_withheld_together_and_named():
    payload = {"percent": 40.0, "practitioners_meeting": 8, "practitioners_assessed": 20, "stage": "x"}
    redacted = redact("FidelityAssessed", payload)
    assert redacted["practitioners_meeting"] is None and redacted["practitioners_assessed"] is None
    assert redacted["percent"] == 40.0 and redacted["suppressed"] == [
        "practitioners_meeting", "practitioners_assessed"]
    assert payload["practitioners_meeting"] == 8, "the original is left alone"


def test_submitted_fidelity_answers_and_score_and_capacity_participants():
    fidelity = {"answers": {"instrument": "fidelity", "practitioners_meeting": 3, "practitioners_assessed": 30},
                "score": {"points": 3, "possible_points": 30, "percent": 10.0}}
    redacted = redact("AssessmentSubmitted", fidelity)
    assert redacted["suppressed"] == ["answers.practitioners_meeting", "answers.practitioners_assessed",
                                      "score.points", "score.possible_points"]
    capacity = {"answers": {"instrument": "capacity", "participants": {"district_team": 4, "staff": 25}},
                "score": {"percent": 80.0}}
    assert redact("AssessmentSubmitted", capacity)["answers"]["participants"] == {
        "district_team": None, "staff": 25}


def test_single_counts_and_the_threshold_is_configurable():
    assert redact("PdSessionHeld", {"session_id": "s", "attendees": 6})["attendees"] is None
    assert redact("PdSessionHeld", {"session_id": "s", "attendees": 6}, min_cell=5)["attendees"] == 6
    assert "suppressed" not in redact("PdSessionHeld", {"session_id": "s", "attendees": 24})
    assert (cell(3), cell(0), cell(10)) == ("<10", "0", "10")
    with pytest.raises(ValueError, match="from 5 to 30, not 3"):
        check_min_cell(3)


def test_an_audit_read_applies_the_plans_minimum_raised_never_lowered_never_below_10():
    assert applied_min_cell() == 10, "no plan recorded, nothing asked: the default"
    assert applied_min_cell([15]) == 15
    assert applied_min_cell([15], asked=10) == 15, "asking cannot lower the plan's"
    assert applied_min_cell([15], asked=20) == 20, "asking can raise it"
    assert applied_min_cell([5]) == 10, "a plan cannot take an export below the default"
    assert applied_min_cell([None, 12, 15]) == 15, "several initiatives: the strictest"
