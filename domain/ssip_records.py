"""What a state records about its SSIP, phase by phase, as plain validated data.

Phase I: the State-identified Measurable Result (SiMR) with its baseline (`SimrDefinition`) and
yearly targets, the data analysis, the infrastructure analysis, the improvement strategies and the
theory of action. Phase II: the implementation plan linking strategies to initiatives, the
infrastructure activities (owner, dates) and the evaluation plan (measure, instrument, when).
Phase III, each federal fiscal year (FFY): the SiMR actual, infrastructure activities done,
stakeholder engagement (meetings and participants by group: counts only, never names), changes to
the plan with their reasons, and the state team's answers to the five reflection questions.

These models are the payloads of the SSIP's events (domain/events.py) and the parts of the
documents a state team writes (domain/ssip_yaml.py), so one set of rules checks both. Nothing here
does I/O.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain.issues import Issue, raise_if_any

FFY_RANGE = (2005, 2100)
Ffy = Annotated[int, Field(ge=FFY_RANGE[0], le=FFY_RANGE[1],
                           description="a federal fiscal year: FFY 2026 runs 1 July 2026 to "
                                       "30 June 2027 (the 2026-27 school year)")]
Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False, description="0 to 100")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


def _slug(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", value) or len(value) > 64:
        raise ValueError(f"'{value}' is not a valid id: use lowercase letters, digits and single "
                         "dashes, at most 64 characters (e.g. 'coaching-network')")
    return value


Slug = Annotated[str, AfterValidator(_slug)]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- Phase I ---------------------------------------------------------------------------------

class SimrDefinition(Record):
    """The SiMR: what is measured, how, and where it stood in the baseline year."""

    statement: Text = Field(description="the result, in one sentence")
    measure: Text = Field(description="how it is computed (numerator and denominator)")
    baseline: Percent
    baseline_ffy: Ffy
    direction: Literal["increase", "decrease"] = Field(
        default="increase", description="whether progress means the figure goes up or down")
    data_source: str = Field(default="", max_length=2000)


class DataAnalysis(Record):
    part: Literal["data_analysis"] = "data_analysis"
    data_sources: list[Text] = Field(min_length=1, max_length=50)
    findings: list[Text] = Field(min_length=1, max_length=50)
    root_causes: list[Text] = Field(default_factory=list, max_length=50)


class Component(StrEnum):
    """The infrastructure components a Phase I analysis looks at."""

    GOVERNANCE = "governance"
    FISCAL = "fiscal"
    QUALITY_STANDARDS = "quality standards"
    PROFESSIONAL_DEVELOPMENT = "professional development"
    DATA = "data"
    TECHNICAL_ASSISTANCE = "technical assistance"
    ACCOUNTABILITY = "accountability and monitoring"


class ComponentAnalysis(Record):
    component: Component
    strengths: list[Text] = Field(default_factory=list, max_length=50)
    areas_for_improvement: list[Text] = Field(default_factory=list, max_length=50)


class InfrastructureAnalysis(Record):
    part: Literal["infrastructure_analysis"] = "infrastructure_analysis"
    components: list[ComponentAnalysis] = Field(min_length=1, max_length=len(Component))

    @model_validator(mode="after")
    def _each_component_once(self) -> InfrastructureAnalysis:
        raise_if_any(duplicates([c.component.value for c in self.components], "components",
                                 "component", "infrastructure component"))
        return self


class Strategy(Record):
    id: Slug
    title: Name
    description: str = Field(default="", max_length=2000)


class ImprovementStrategies(Record):
    part: Literal["improvement_strategies"] = "improvement_strategies"
    strategies: list[Strategy] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _unique_ids(self) -> ImprovementStrategies:
        raise_if_any(duplicates([s.id for s in self.strategies], "strategies", "id", "strategy"))
        return self


class Strand(Record):
    """One line of the theory of action: if the state does this, then that follows."""

    strategy: Slug
    if_the_state: Text
    then: Text


class TheoryOfAction(Record):
    part: Literal["theory_of_action"] = "theory_of_action"
    statement: Text
    strands: list[Strand] = Field(default_factory=list, max_length=50)


# --- Phase II --------------------------------------------------------------------------------

class StrategyLink(Record):
    strategy: Slug
    initiatives: list[Slug] = Field(min_length=1, max_length=50,
                                    description="ids of the initiatives carrying the strategy out")


class ImplementationPlan(Record):
    part: Literal["implementation_plan"] = "implementation_plan"
    links: list[StrategyLink] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _one_link_per_strategy(self) -> ImplementationPlan:
        raise_if_any(duplicates([s.strategy for s in self.links], "links", "strategy",
                                 "strategy"))
        return self


class InfrastructureActivity(Record):
    id: Slug
    title: Name
    strategy: Slug | None = None
    component: Component | None = None
    owner: Name = Field(description="the person or team responsible")
    start: date
    due: date

    @model_validator(mode="after")
    def _due_after_start(self) -> InfrastructureActivity:
        if self.due < self.start:
            raise_if_any([Issue(("due",), self.due.isoformat(),
                                f"activity '{self.id}' is due on {self.due:%-d %B %Y}, before it "
                                f"starts ({self.start:%-d %B %Y})")])
        return self


class InfrastructureActivities(Record):
    part: Literal["infrastructure_activities"] = "infrastructure_activities"
    activities: list[InfrastructureActivity] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _unique_ids(self) -> InfrastructureActivities:
        raise_if_any(duplicates([a.id for a in self.activities], "activities", "id",
                                 "activity"))
        return self


MEASURE_KINDS = ("implementation", "short-term outcome", "intermediate outcome",
                 "long-term outcome")


class EvaluationMeasure(Record):
    id: Slug
    measure: Text = Field(description="what is measured")
    kind: Literal[MEASURE_KINDS]  # type: ignore[valid-type]
    instrument: Name = Field(description="how: the tool or data source")
    when: Name = Field(description="when it is collected, e.g. 'each spring'")
    strategy: Slug | None = None


class EvaluationPlan(Record):
    part: Literal["evaluation_plan"] = "evaluation_plan"
    measures: list[EvaluationMeasure] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _unique_ids(self) -> EvaluationPlan:
        raise_if_any(duplicates([m.id for m in self.measures], "measures", "id", "measure"))
        return self


PlanPart = Annotated[
    Union[DataAnalysis, InfrastructureAnalysis, ImprovementStrategies, TheoryOfAction,
          ImplementationPlan, InfrastructureActivities, EvaluationPlan],
    Field(discriminator="part"),
]
PHASE_PARTS: dict[str, tuple[str, ...]] = {
    "I": ("simr", "targets", "data_analysis", "infrastructure_analysis", "improvement_strategies",
          "theory_of_action"),
    "II": ("implementation_plan", "infrastructure_activities", "evaluation_plan"),
}
"""What each planning phase consists of (the SiMR and its targets are recorded apart)."""
PART_NAMES = {
    "simr": "the SiMR and its baseline", "targets": "yearly SiMR targets",
    "data_analysis": "data analysis", "infrastructure_analysis": "infrastructure analysis",
    "improvement_strategies": "improvement strategies", "theory_of_action": "theory of action",
    "implementation_plan": "implementation plan (strategies linked to initiatives)",
    "infrastructure_activities": "infrastructure activities", "evaluation_plan": "evaluation plan",
}


# --- Phase III -------------------------------------------------------------------------------

class StakeholderGroup(Record):
    """One group's engagement in a year: counts only, never names."""

    group: Name = Field(description="e.g. 'Parents and families', 'Teachers'")
    meetings: int = Field(ge=0, le=10_000, description="meetings the group took part in")
    participants: int = Field(ge=0, le=1_000_000, description="people taking part (a count)")


class Question(StrEnum):
    """The five discussion questions of the state's yearly reflection."""

    INFRASTRUCTURE = "infrastructure"
    BROADENING_FOCUS = "broadening_focus"
    SYSTEMIC_CHALLENGES = "systemic_challenges"
    RESOURCES = "resources"
    PD_AND_COACHING = "pd_and_coaching"


QUESTIONS: dict[Question, str] = {
    Question.INFRASTRUCTURE:
        "Infrastructure: how has the state's infrastructure changed this year to support "
        "districts in using the practice, and what is still missing?",
    Question.BROADENING_FOCUS:
        "Broadening the focus: what would it take to reach more districts, schools, grades or "
        "students, building on what worked?",
    Question.SYSTEMIC_CHALLENGES:
        "Systemic challenges: which barriers of the system (policy, funding, staffing, data) held "
        "the work back, and what will the state do about them?",
    Question.RESOURCES:
        "Resources: which resources (funding, people, partners, time) are needed to sustain and "
        "scale the work, and where will they come from?",
    Question.PD_AND_COACHING:
        "PD and coaching: what professional development and coaching do the state, regional and "
        "district teams need next year?",
}

Answers = dict[Question, Text]


def duplicates(values: list[str], field: str, key: str, noun: str) -> list[Issue]:
    seen: dict[str, int] = {}
    issues = []
    for i, value in enumerate(values):
        if value in seen:
            issues.append(Issue((field, i, key), value, f"duplicate {noun} '{value}' (also "
                                f"{field}[{seen[value]}])"))
        seen.setdefault(value, i)
    return issues
