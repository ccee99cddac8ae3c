"""Assessment instruments and their scoring.

Callers send item answers; scores are always computed here, never taken from the caller, so a
stage move can be traced back to the answers that justified it.

Every list an assessment holds is at most MOST_ITEMS long and every check over it is linear, so
validating one costs milliseconds whatever is sent: an assessment is validated by the API, the web
pages, the CLI and the workflow's Update validator, each in a place where seconds of work would
stall everything else (the API's event loop, the workflow's task).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from enum import StrEnum
from typing import Annotated, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from domain.drivers import Driver
from domain.storable import MOST_KEYS


class Instrument(StrEnum):
    FIT_READINESS = "fit_readiness"
    ADOPTION_DECISION = "adoption_decision"
    INSTALLATION_CHECKLIST = "installation_checklist"
    CAPACITY = "capacity"
    FIDELITY = "fidelity"
    STAGE_ANALYSIS = "stage_analysis"


HEXAGON_INDICATORS: tuple[str, ...] = ("evidence", "supports", "usability", "need", "fit", "capacity")
"""NIRN Hexagon Tool (2018): three indicators for the practice, three for the site."""

DEFAULT_CHECKLIST_ITEMS: tuple[str, ...] = (
    "team_formed",
    "roles_defined",
    "staff_selected",
    "data_system_ready",
    "pd_plan_approved",
    "coaching_plan_approved",
    "coaches_assigned",
    "materials_purchased",
)


MOST_ITEMS = 200
"""Items (ratings, checklist items, capacity items, stage-analysis items) one assessment may
list; participant roles are at most MOST_KEYS, as in any object the record keeps. The instruments
in use have far fewer (the Hexagon Tool rates 6 indicators, the default installation checklist
has 8 items, a District Capacity Assessment or a Stages of Implementation Analysis some dozens); a
list beyond this is refused, naming the field, before its items are read."""



def _not_a_truth_value(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number, not {str(value).lower()}")
    return value


WholeNumber = Annotated[int, BeforeValidator(_not_a_truth_value)]
"""An integer as people mean it: 3 or "3" (a form sends text), never 2.5 (pydantic refuses a
fraction) and never true or false, which pydantic would otherwise read as 1 and 0."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IndicatorRating(_Strict):
    indicator: Literal["evidence", "supports", "usability", "need", "fit", "capacity"]
    rating: WholeNumber = Field(ge=1, le=5, description="1 (weak) to 5 (strong)")
    rationale: str = Field(default="", max_length=2000)


class FitReadinessReview(_Strict):
    """Hexagon-style review: every one of the six indicators rated 1-5."""

    instrument: Literal[Instrument.FIT_READINESS] = Instrument.FIT_READINESS
    ratings: list[IndicatorRating] = Field(min_length=1, max_length=MOST_ITEMS)

    @model_validator(mode="after")
    def _every_indicator_once(self) -> FitReadinessReview:
        named = [r.indicator for r in self.ratings]
        _reject_duplicates(named, "indicator", "rated")
        rated = set(named)
        missing = [i for i in HEXAGON_INDICATORS if i not in rated]
        if missing:
            raise ValueError(f"every indicator must be rated; missing: {', '.join(missing)}")
        return self


class AdoptionDecision(_Strict):
    """The signed decision to adopt (or not), and the implementation team behind it."""

    instrument: Literal[Instrument.ADOPTION_DECISION] = Instrument.ADOPTION_DECISION
    decision: Literal["adopt", "decline", "defer"]
    signed_by: str = Field(min_length=1, max_length=200, description="staff account that signed")
    implementation_team_members: WholeNumber = Field(ge=0, le=50, description="a count, never names")
    rationale: str = Field(default="", max_length=2000)


class ChecklistItem(_Strict):
    item: str = Field(min_length=1, max_length=100)
    in_place: bool


class InstallationChecklist(_Strict):
    instrument: Literal[Instrument.INSTALLATION_CHECKLIST] = Instrument.INSTALLATION_CHECKLIST
    items: list[ChecklistItem] = Field(min_length=1, max_length=MOST_ITEMS)

    @model_validator(mode="after")
    def _unique_items(self) -> InstallationChecklist:
        _reject_duplicates([i.item for i in self.items], "checklist item")
        return self


class CapacityItem(_Strict):
    item: str = Field(min_length=1, max_length=100)
    driver: Driver
    score: WholeNumber = Field(ge=0, le=2, description="0 not in place, 1 partly, 2 fully in place")


class CapacityAssessment(_Strict):
    """SISEP-style capacity assessment, completed by consensus with a non-voting facilitator."""

    instrument: Literal[Instrument.CAPACITY] = Instrument.CAPACITY
    items: list[CapacityItem] = Field(min_length=1, max_length=MOST_ITEMS)
    facilitator: str = Field(min_length=1, max_length=200)
    participants: dict[str, WholeNumber] = Field(default_factory=dict, max_length=MOST_KEYS,
                                                 description="role -> count")
    instrument_version: str = Field(default="DCA 2023", max_length=50)

    @model_validator(mode="after")
    def _check(self) -> CapacityAssessment:
        _reject_duplicates([i.item for i in self.items], "capacity item")
        bad = {role: n for role, n in self.participants.items() if n < 0}
        if bad:
            raise ValueError(f"participant counts cannot be negative: {bad}")
        return self


class FidelityAssessment(_Strict):
    """Counts of practitioners meeting the practice's fidelity criterion (never names)."""

    instrument: Literal[Instrument.FIDELITY] = Instrument.FIDELITY
    practitioners_assessed: WholeNumber = Field(ge=1, le=100_000)
    practitioners_meeting: WholeNumber = Field(ge=0, le=100_000)

    @model_validator(mode="after")
    def _meeting_within_assessed(self) -> FidelityAssessment:
        if self.practitioners_meeting > self.practitioners_assessed:
            raise ValueError(
                f"practitioners_meeting ({self.practitioners_meeting}) cannot exceed "
                f"practitioners_assessed ({self.practitioners_assessed})"
            )
        return self


class StageAnalysisItem(_Strict):
    item: str = Field(min_length=1, max_length=200)
    status: Literal["in_place", "partly", "not_initiated"]


class StageAnalysis(_Strict):
    """NIRN Stages of Implementation Analysis: a strength-of-stage score per stage."""

    instrument: Literal[Instrument.STAGE_ANALYSIS] = Instrument.STAGE_ANALYSIS
    items: list[StageAnalysisItem] = Field(min_length=1, max_length=MOST_ITEMS)

    @model_validator(mode="after")
    def _unique_items(self) -> StageAnalysis:
        _reject_duplicates([i.item for i in self.items], "stage analysis item")
        return self


Assessment = Annotated[
    Union[
        FitReadinessReview,
        AdoptionDecision,
        InstallationChecklist,
        CapacityAssessment,
        FidelityAssessment,
        StageAnalysis,
    ],
    Field(discriminator="instrument"),
]


class AssessmentScore(_Strict):
    """What the domain computed from an assessment's answers."""

    instrument: Instrument
    percent: float | None = Field(default=None, description="percent of points / items / people")
    mean_rating: float | None = None
    per_driver: dict[Driver, float] = Field(default_factory=dict)
    points: int | None = None
    possible_points: int | None = None
    gaps: list[str] = Field(default_factory=list, description="items not (fully) in place")


def score(assessment: Assessment) -> AssessmentScore:
    """Score any instrument from its item answers."""
    match assessment:
        case FitReadinessReview():
            return score_fit_readiness(assessment)
        case AdoptionDecision():
            return AssessmentScore(instrument=assessment.instrument)
        case InstallationChecklist():
            return score_checklist(assessment)
        case CapacityAssessment():
            return score_capacity(assessment)
        case FidelityAssessment():
            return score_fidelity(assessment)
        case StageAnalysis():
            return score_stage_analysis(assessment)
    raise TypeError(f"unknown instrument: {assessment!r}")


def percent(points: int, possible: int) -> float:
    return round(100.0 * points / possible, 2) if possible else 0.0


def score_fit_readiness(review: FitReadinessReview) -> AssessmentScore:
    ratings = [r.rating for r in review.ratings]
    return AssessmentScore(
        instrument=review.instrument,
        mean_rating=round(sum(ratings) / len(ratings), 2),
        points=sum(ratings),
        possible_points=5 * len(ratings),
        gaps=[r.indicator for r in review.ratings if r.rating < 3],
    )


def score_checklist(checklist: InstallationChecklist) -> AssessmentScore:
    in_place = sum(1 for i in checklist.items if i.in_place)
    return AssessmentScore(
        instrument=checklist.instrument,
        percent=percent(in_place, len(checklist.items)),
        points=in_place,
        possible_points=len(checklist.items),
        gaps=[i.item for i in checklist.items if not i.in_place],
    )


def score_capacity(assessment: CapacityAssessment) -> AssessmentScore:
    """Percent of possible points (2 per item), overall and per driver."""
    by_driver: dict[Driver, list[int]] = defaultdict(list)
    for item in assessment.items:
        by_driver[item.driver].append(item.score)
    points = sum(i.score for i in assessment.items)
    possible = 2 * len(assessment.items)
    return AssessmentScore(
        instrument=assessment.instrument,
        percent=percent(points, possible),
        points=points,
        possible_points=possible,
        per_driver={d: percent(sum(s), 2 * len(s)) for d, s in sorted(by_driver.items())},
        gaps=[i.item for i in assessment.items if i.score < 2],
    )


def score_fidelity(assessment: FidelityAssessment) -> AssessmentScore:
    return AssessmentScore(
        instrument=assessment.instrument,
        percent=percent(assessment.practitioners_meeting, assessment.practitioners_assessed),
        points=assessment.practitioners_meeting,
        possible_points=assessment.practitioners_assessed,
    )


def score_stage_analysis(analysis: StageAnalysis) -> AssessmentScore:
    weight = {"in_place": 2, "partly": 1, "not_initiated": 0}
    points = sum(weight[i.status] for i in analysis.items)
    return AssessmentScore(
        instrument=analysis.instrument,
        percent=percent(points, 2 * len(analysis.items)),
        points=points,
        possible_points=2 * len(analysis.items),
        gaps=[i.item for i in analysis.items if i.status != "in_place"],
    )


def _reject_duplicates(names: list[str], what: str, done: str = "listed") -> None:
    """Refuse names given more than once, in one pass over them (a hash count, never a
    comparison of every name with every other)."""
    duplicates = sorted(name for name, n in Counter(names).items() if n > 1)
    if duplicates:
        raise ValueError(f"{what} {done} more than once: {', '.join(duplicates)}")
