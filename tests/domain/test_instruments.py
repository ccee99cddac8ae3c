import pytest
from pydantic import ValidationError

from domain.drivers import Driver, DriverGroup, drivers_in
from domain.instruments import (
    CapacityAssessment, CapacityItem, FidelityAssessment, FitReadinessReview, IndicatorRating,
    StageAnalysis, StageAnalysisItem, score,
)
from tests.domain.builders import checklist, readiness


def test_nine_drivers_in_three_groups():
    assert len(Driver) == 9
    assert [len(drivers_in(g)) for g in DriverGroup] == [4, 3, 2]
    assert Driver.ADAPTIVE_LEADERSHIP.group is DriverGroup.LEADERSHIP


def test_capacity_worked_example_from_domain_md():
    """[2, 1, 0, 2, 2] -> 7 of 10 points = 70%."""
    drivers = [Driver.SELECTION, Driver.TRAINING, Driver.COACHING, Driver.TRAINING, Driver.SELECTION]
    answers = CapacityAssessment(
        items=[CapacityItem(item=f"i{n}", driver=d, score=s)
               for n, (d, s) in enumerate(zip(drivers, [2, 1, 0, 2, 2]))],
        facilitator="f")
    result = score(answers)
    assert (result.points, result.possible_points, result.percent) == (7, 10, 70.0)
    assert result.per_driver == {Driver.SELECTION: 100.0, Driver.TRAINING: 75.0, Driver.COACHING: 0.0}
    assert result.gaps == ["i1", "i2"]


def test_readiness_mean_and_gaps():
    ratings = dict(evidence=5, supports=4, usability=3, need=2, fit=3, capacity=1)
    review = FitReadinessReview(ratings=[IndicatorRating(indicator=k, rating=v) for k, v in ratings.items()])
    result = score(review)
    assert result.mean_rating == 3.0
    assert result.gaps == ["need", "capacity"]


def test_checklist_and_fidelity_and_stage_analysis():
    assert score(checklist(in_place=6)).percent == 75.0
    assert score(FidelityAssessment(practitioners_assessed=24, practitioners_meeting=13)).percent == 54.17
    analysis = StageAnalysis(items=[StageAnalysisItem(item="a", status="in_place"),
                                    StageAnalysisItem(item="b", status="partly"),
                                    StageAnalysisItem(item="c", status="not_initiated")])
    assert (score(analysis).percent, score(analysis).gaps) == (50.0, ["b", "c"])


@pytest.mark.parametrize("build, message", [
    (lambda: CapacityItem(item="x", driver=Driver.COACHING, score=3), "less than or equal to 2"),
    (lambda: IndicatorRating(indicator="fit", rating=6), "less than or equal to 5"),
    (lambda: FitReadinessReview(ratings=readiness().ratings[:5]), "missing: capacity"),
    (lambda: FitReadinessReview(ratings=readiness().ratings + readiness().ratings[:1]),
     "rated more than once: evidence"),
    (lambda: FidelityAssessment(practitioners_assessed=5, practitioners_meeting=6),
     "practitioners_meeting (6) cannot exceed practitioners_assessed (5)"),
    (lambda: CapacityAssessment(items=[CapacityItem(item="x", driver=Driver.COACHING, score=1)],
                                facilitator="f", percent=99), "Extra inputs are not permitted"),
])
def test_bad_answers_are_refused_with_a_clear_message(build, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build()


def test_scores_come_from_answers_never_from_the_caller():
    with pytest.raises(ValidationError, match="score"):
        FidelityAssessment(practitioners_assessed=10, practitioners_meeting=1, score=90)
