"""Assessment instruments and their scoring.

Callers send item answers; scores are always computed here, never taken from the caller, so a
stage move can be traced back to the answers that justified it.

Two kinds of answers exist. `DefinedAssessment` answers an instrument defined as data
(`domain.instrument_definitions`): it carries the definition's scoring key (items, groups,
scale, rule), the agreed score of each item and how the team reached consensus, so it is scored
and read later without the catalogue. The older models below it (a capacity assessment as a
free list of items, fidelity as counts...) stay accepted, so recorded histories and existing
callers read and score exactly as before.

Every list an assessment holds is at most MOST_ITEMS long and every check over it is linear, so
validating one costs milliseconds whatever is sent: an assessment is validated by the API, the web
pages, the CLI and the workflow's Update validator, each in a place where seconds of work would
stall everything else (the API's event loop, the workflow's task).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal, NamedTuple, Union

from pydantic import (
    BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, model_validator,
)

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


# --- instruments defined as data ------------------------------------------------------------

class Level(NamedTuple):
    value: str
    label: str
    points: int


ScaleKind = Literal["0-2", "1-5", "in-place", "yes-no"]
SCALES: dict[str, tuple[Level, ...]] = {
    "0-2": (Level("0", "Not in place", 0), Level("1", "Partly in place", 1),
            Level("2", "Fully in place", 2)),
    "1-5": (Level("1", "1: weak", 1), Level("2", "2", 2), Level("3", "3: adequate", 3),
            Level("4", "4", 4), Level("5", "5: strong", 5)),
    "in-place": (Level("not_initiated", "Not yet initiated", 0), Level("partly", "Partly in place", 1),
                 Level("in_place", "In place", 2)),
    "yes-no": (Level("no", "No", 0), Level("yes", "Yes", 1)),
}
"""Each scale's levels, lowest first, with the points each is worth."""

ScoringRule = Literal["percent", "mean", "share"]
"""percent of possible points (overall and per group), mean rating, or share of practitioners."""
CompletedBy = Literal["team-consensus", "coach-observation", "district-coordinator"]
FacilitatorRule = Literal["required", "optional", "none"]


def points_of(scale: str, value: str) -> int | None:
    return next((level.points for level in SCALES[scale] if level.value == value), None)


class KeyGroup(_Strict):
    id: str
    label: str
    required: bool = True


class KeyItem(_Strict):
    id: str
    label: str = Field(max_length=200)
    group: str
    driver: Driver | None = None


class ScoringKey(_Strict):
    """A definition as its submissions carry it: enough to score them and to read them later."""

    definition_id: str = Field(min_length=1, max_length=64)
    version: str = Field(min_length=1, max_length=20)
    evidence: Instrument
    scale: ScaleKind
    rule: ScoringRule
    headline: str = "total"
    completed_by: CompletedBy
    facilitator: FacilitatorRule = "none"
    groups: tuple[KeyGroup, ...] = ()
    items: tuple[KeyItem, ...] = Field(default=(), max_length=500)
    action_mark: str

    @property
    def ref(self) -> str:
        return f"{self.definition_id}@{self.version}"

    @model_validator(mode="after")
    def _consistent(self) -> ScoringKey:
        groups = [g.id for g in self.groups]
        _reject_duplicates(groups, "key group")
        _reject_duplicates([i.id for i in self.items], "key item")
        strays = sorted({i.group for i in self.items} - set(groups))
        if strays:
            raise ValueError(f"key items name groups it does not list: {', '.join(strays)}")
        if points_of(self.scale, self.action_mark) is None:
            raise ValueError(f"action_mark '{self.action_mark}' is not a level of the {self.scale} "
                             "scale")
        return self


def _level_text(value: object) -> object:
    """A level as text: 2 and "2" are the same answer; booleans are not levels."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


class ItemAnswer(_Strict):
    item: str = Field(min_length=1, max_length=64)
    value: Annotated[str, BeforeValidator(_level_text)] = Field(
        min_length=1, max_length=20, description="the level the team agreed on (e.g. 0, 1, 2)")
    resolution: str = Field(default="", max_length=2000, description="where the team did not "
                            "agree at first: how it was resolved")


class Consensus(_Strict):
    """How a team reached its scores: who took part (roles and counts, never names) and the
    facilitator, who guides the discussion and does not vote."""

    facilitator: str | None = Field(default=None, min_length=1, max_length=200)
    participants: dict[Annotated[str, Field(min_length=1, max_length=100)],
                       Annotated[WholeNumber, Field(ge=0, le=500)]] = Field(
        default_factory=dict, max_length=MOST_KEYS, description="role -> number of voting members")

    @property
    def voting_members(self) -> int:
        return sum(self.participants.values())


class DefinedAssessment(_Strict):
    """Answers to an instrument defined as data, scored against the key they carry."""

    instrument: Instrument = Field(description="the kind of evidence it gives")
    key: ScoringKey
    items: list[ItemAnswer] = Field(default_factory=list, max_length=500)
    consensus: Consensus | None = None
    practitioners_assessed: WholeNumber | None = Field(default=None, ge=1, le=100_000)
    practitioners_meeting: WholeNumber | None = Field(default=None, ge=0, le=100_000)
    taken_on: date | None = Field(default=None, description="the day the team scored it")
    notes: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _answers_fit_the_key(self) -> DefinedAssessment:
        key = self.key
        if self.instrument is not key.evidence:
            raise ValueError(f"{key.ref} gives {key.evidence.value.replace('_', ' ')} evidence, "
                             f"not {self.instrument.value.replace('_', ' ')}")
        if key.rule == "share":
            _check_share(self)
        else:
            _check_items(self)
        if key.completed_by == "team-consensus":
            if self.consensus is None:
                raise ValueError(f"{key.ref} is scored by the team's consensus: record the "
                                 "consensus (participants, and the facilitator)")
            if self.consensus.voting_members < 1:
                raise ValueError("consensus: at least one voting participant (the facilitator "
                                 "does not vote)")
        if key.facilitator == "required" and not (self.consensus and self.consensus.facilitator):
            raise ValueError(f"{key.ref} is completed with a facilitator: name the facilitator")
        return self

    def answered_groups(self) -> list[str]:
        answered = {a.item for a in self.items}
        return [g.id for g in self.key.groups
                if any(i.id in answered for i in self.key.items if i.group == g.id)]


def _check_share(a: DefinedAssessment) -> None:
    if a.items:
        raise ValueError(f"{a.key.ref} is scored as a share of practitioners: send the counts, "
                         "not items")
    if a.practitioners_assessed is None or a.practitioners_meeting is None:
        raise ValueError("practitioners_assessed and practitioners_meeting are both needed")
    if a.practitioners_meeting > a.practitioners_assessed:
        raise ValueError(f"practitioners_meeting ({a.practitioners_meeting}) cannot exceed "
                         f"practitioners_assessed ({a.practitioners_assessed})")


def _check_items(a: DefinedAssessment) -> None:
    key = a.key
    if a.practitioners_assessed is not None or a.practitioners_meeting is not None:
        raise ValueError(f"{key.ref} is scored from its items, not from practitioner counts")
    if not a.items:
        raise ValueError(f"{key.ref}: answer its items")
    _reject_duplicates([x.item for x in a.items], "item")
    known = {i.id: i for i in key.items}
    unknown = [x.item for x in a.items if x.item not in known]
    if unknown:
        raise ValueError(f"{key.ref} has no item {', '.join(map(repr, unknown[:5]))}")
    levels = [level.value for level in SCALES[key.scale]]
    bad = [f"{x.item}={x.value!r}" for x in a.items if x.value not in levels]
    if bad:
        raise ValueError(f"not a level of the {key.scale} scale ({', '.join(levels)}): "
                         f"{', '.join(bad[:5])}")
    answered = {x.item for x in a.items}
    for group in key.groups:
        ids = [i.id for i in key.items if i.group == group.id]
        missing = [i for i in ids if i not in answered]
        if not missing or (not group.required and len(missing) == len(ids)):
            continue
        listed = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        whole = "" if group.required else " (an optional part is answered whole or not at all)"
        raise ValueError(f"{group.label}: every item needs an agreed score{whole}; missing {listed}")


def _tag(value: Any) -> str | None:
    """Which model an answer is: a defined instrument's (it carries a key), else by instrument."""
    if isinstance(value, dict):
        return "defined" if "key" in value else _plain(value.get("instrument"))
    if isinstance(value, DefinedAssessment):
        return "defined"
    return _plain(getattr(value, "instrument", None))


def _plain(value: Any) -> str | None:
    return value.value if isinstance(value, StrEnum) else value if isinstance(value, str) else None


Assessment = Annotated[
    Union[
        Annotated[DefinedAssessment, Tag("defined")],
        Annotated[FitReadinessReview, Tag(Instrument.FIT_READINESS.value)],
        Annotated[AdoptionDecision, Tag(Instrument.ADOPTION_DECISION.value)],
        Annotated[InstallationChecklist, Tag(Instrument.INSTALLATION_CHECKLIST.value)],
        Annotated[CapacityAssessment, Tag(Instrument.CAPACITY.value)],
        Annotated[FidelityAssessment, Tag(Instrument.FIDELITY.value)],
        Annotated[StageAnalysis, Tag(Instrument.STAGE_ANALYSIS.value)],
    ],
    Discriminator(_tag, custom_error_type="assessment_kind", custom_error_message=(
        "an assessment needs 'instrument' (fit_readiness, adoption_decision, "
        "installation_checklist, capacity, fidelity, stage_analysis), or a 'key' for an "
        "instrument defined as data")),
]
LEGACY_MODELS: tuple[type[BaseModel], ...] = (
    FitReadinessReview, AdoptionDecision, InstallationChecklist, CapacityAssessment,
    FidelityAssessment, StageAnalysis)
"""The answers of the instruments as first built, before definitions: still read and scored."""


class AssessmentScore(_Strict):
    """What the domain computed from an assessment's answers."""

    instrument: Instrument
    percent: float | None = Field(default=None, description="percent of points / items / people")
    mean_rating: float | None = None
    per_driver: dict[Driver, float] = Field(default_factory=dict)
    points: int | None = None
    possible_points: int | None = None
    gaps: list[str] = Field(default_factory=list, description="items not (fully) in place")
    definition: str | None = Field(default=None, description="id@version, for an instrument "
                                   "defined as data")
    rule: ScoringRule | None = None
    parts: dict[str, float] = Field(default_factory=dict, description="per subscale, tier or "
                                    "stage: percent of points (or mean rating)")
    headline: float | None = Field(default=None, description="the figure that stands for the "
                                   "instrument (its total, or a part such as the TFI's Tier I)")
    below_mark: list[str] = Field(default_factory=list, description="items under the action mark")
    unanswered: list[str] = Field(default_factory=list, description="optional groups left out")


def score(assessment: Assessment) -> AssessmentScore:
    """Score any instrument from its item answers."""
    match assessment:
        case DefinedAssessment():
            return score_defined(assessment)
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


def score_defined(a: DefinedAssessment) -> AssessmentScore:
    """Percent of possible points (overall, per group, per driver), mean rating, or share of
    practitioners, as the definition's rule says; items under the mark listed for action."""
    key = a.key
    common = dict(instrument=a.instrument, definition=key.ref, rule=key.rule)
    if key.rule == "share":
        share = percent(a.practitioners_meeting, a.practitioners_assessed)
        return AssessmentScore(**common, percent=share, headline=share,
                               points=a.practitioners_meeting,
                               possible_points=a.practitioners_assessed)
    items = {i.id: i for i in key.items}
    top = SCALES[key.scale][-1].points
    mark = points_of(key.scale, key.action_mark)
    got = {x.item: points_of(key.scale, x.value) for x in a.items}
    answered = a.answered_groups()
    by_group: dict[str, list[int]] = defaultdict(list)
    by_driver: dict[Driver, list[int]] = defaultdict(list)
    for item in key.items:  # the definition's order
        if item.id in got:
            by_group[item.group].append(got[item.id])
            if item.driver is not None:
                by_driver[item.driver].append(got[item.id])
    points, possible = sum(got.values()), top * len(got)
    below = [i.id for i in key.items if i.id in got and got[i.id] < mark]
    if key.rule == "mean":
        parts = {g: round(sum(p) / len(p), 2) for g, p in by_group.items()}
        total: dict = dict(mean_rating=round(points / len(got), 2), gaps=below)
        headline = total["mean_rating"] if key.headline == "total" else parts.get(key.headline)
    else:
        parts = {g: percent(sum(p), top * len(p)) for g, p in by_group.items()}
        total = dict(percent=percent(points, possible),
                     gaps=[i.id for i in key.items if i.id in got and got[i.id] < top])
        headline = total["percent"] if key.headline == "total" else parts.get(key.headline)
    return AssessmentScore(
        **common, **total, points=points, possible_points=possible, parts=parts,
        per_driver={d: percent(sum(p), top * len(p)) for d, p in sorted(by_driver.items())},
        headline=headline, below_mark=below,
        unanswered=[g.id for g in key.groups if g.id not in answered])


def _reject_duplicates(names: list[str], what: str, done: str = "listed") -> None:
    """Refuse names given more than once, in one pass over them (a hash count, never a
    comparison of every name with every other)."""
    duplicates = sorted(name for name, n in Counter(names).items() if n > 1)
    if duplicates:
        raise ValueError(f"{what} {done} more than once: {', '.join(duplicates)}")
