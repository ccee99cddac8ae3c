"""The documents a state team writes for its SSIP, one per phase (and one per year in Phase III).

A team drafts these over weeks, with prose and lists, and keeps them in its own files; so they
are YAML documents (domain/ssip_yaml.py reads them with every problem's path, value and line),
recorded with `rollout ssip record FILE` or POSTed as JSON. Each names its phase:

- Phase I: `simr` (statement, measure, baseline and its FFY), `targets` by FFY, `data_analysis`,
  `infrastructure_analysis`, `improvement_strategies`, `theory_of_action`;
- Phase II: `strategy_links` (strategy -> initiatives), `infrastructure_activities` (owner,
  start, due), `evaluation_plan` (measure, kind, instrument, when);
- Phase III, for one `ffy`: `simr_actual`, `infrastructure_done`, `stakeholders` (meetings and
  participants by group), `plan_changes` (change and reason), `reflection` (the five questions).

A document may hold only some of its parts; recording it turns each part into a command
(`commands_for`), decided in order by domain/ssip.py, so recording the same file twice records
nothing the second time and a revision needs the document's `reason`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from domain import ssip
from domain.actors import Actor
from domain.issues import Issue, raise_if_any
from domain.ssip_records import (
    ComponentAnalysis, DataAnalysis, EvaluationMeasure, EvaluationPlan, Ffy, ImplementationPlan,
    ImprovementStrategies, InfrastructureActivities, InfrastructureActivity,
    InfrastructureAnalysis, Name, Percent, Question, Record, SimrDefinition, StakeholderGroup,
    Strand, Strategy, StrategyLink, Text, TheoryOfAction, duplicates,
)


class _Document(Record):
    reason: str = Field(default="", max_length=2000,
                        description="why, when the document changes something recorded before")


class TheoryOfActionEntry(Record):
    statement: Text
    strands: list[Strand] = Field(default_factory=list, max_length=50)


class PhaseOne(_Document):
    phase: Literal["I"]
    simr: SimrDefinition | None = None
    targets: dict[Ffy, Percent] = Field(default_factory=dict, max_length=30)
    data_analysis: DataAnalysis | None = None
    infrastructure_analysis: list[ComponentAnalysis] | None = Field(default=None, min_length=1)
    improvement_strategies: list[Strategy] | None = Field(default=None, min_length=1,
                                                          max_length=50)
    theory_of_action: TheoryOfActionEntry | None = None

    @model_validator(mode="after")
    def _unique(self) -> PhaseOne:
        raise_if_any(
            duplicates([c.component.value for c in self.infrastructure_analysis or []],
                        "infrastructure_analysis", "component", "infrastructure component")
            + duplicates([s.id for s in self.improvement_strategies or []],
                          "improvement_strategies", "id", "strategy"))
        return self


class PhaseTwo(_Document):
    phase: Literal["II"]
    strategy_links: list[StrategyLink] | None = Field(default=None, min_length=1, max_length=50)
    infrastructure_activities: list[InfrastructureActivity] | None = Field(
        default=None, min_length=1, max_length=200)
    evaluation_plan: list[EvaluationMeasure] | None = Field(default=None, min_length=1,
                                                            max_length=100)

    @model_validator(mode="after")
    def _unique(self) -> PhaseTwo:
        raise_if_any(
            duplicates([s.strategy for s in self.strategy_links or []], "strategy_links",
                        "strategy", "strategy")
            + duplicates([a.id for a in self.infrastructure_activities or []],
                          "infrastructure_activities", "id", "activity")
            + duplicates([m.id for m in self.evaluation_plan or []], "evaluation_plan", "id",
                          "measure"))
        return self


class ActualEntry(Record):
    percent: Percent
    data_source: str = Field(default="", max_length=2000)
    note: str = Field(default="", max_length=2000)


class DoneEntry(Record):
    activity: Name
    completed_on: date
    note: str = Field(default="", max_length=2000)


class ChangeEntry(Record):
    change: Text
    reason: Text


class PhaseThree(_Document):
    phase: Literal["III"]
    ffy: Ffy
    simr_actual: ActualEntry | None = None
    infrastructure_done: list[DoneEntry] = Field(default_factory=list, max_length=200)
    stakeholders: list[StakeholderGroup] | None = Field(default=None, max_length=100)
    plan_changes: list[ChangeEntry] = Field(default_factory=list, max_length=50)
    reflection: dict[Question, Text] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique(self) -> PhaseThree:
        groups = [g.group.casefold() for g in self.stakeholders or []]
        raise_if_any(
            [Issue(("stakeholders", i, "group"), g.group, f"group '{g.group}' is listed twice")
             for i, g in enumerate(self.stakeholders or []) if groups.index(groups[i]) != i]
            + duplicates([d.activity for d in self.infrastructure_done], "infrastructure_done",
                          "activity", "activity"))
        return self


Document = Annotated[Union[PhaseOne, PhaseTwo, PhaseThree], Field(discriminator="phase")]


def commands_for(document: PhaseOne | PhaseTwo | PhaseThree, at: datetime,
                 actor: Actor) -> list[ssip.Command]:
    """The document's parts as commands, in the order they depend on one another."""
    common = dict(at=at, actor=actor)
    reason = dict(common, reason=document.reason)
    out: list[ssip.Command] = []
    match document:
        case PhaseOne():
            if document.simr:
                out.append(ssip.DefineSimr(simr=document.simr, **reason))
            out += [ssip.SetTarget(ffy=ffy, percent=percent, **reason)
                    for ffy, percent in sorted(document.targets.items())]
            parts = [
                document.data_analysis,
                InfrastructureAnalysis(components=document.infrastructure_analysis)
                if document.infrastructure_analysis else None,
                ImprovementStrategies(strategies=document.improvement_strategies)
                if document.improvement_strategies else None,
                TheoryOfAction(statement=document.theory_of_action.statement,
                               strands=document.theory_of_action.strands)
                if document.theory_of_action else None]
            out += [ssip.RecordPart(record=p, **reason) for p in parts if p is not None]
        case PhaseTwo():
            parts = [
                ImplementationPlan(links=document.strategy_links)
                if document.strategy_links else None,
                InfrastructureActivities(activities=document.infrastructure_activities)
                if document.infrastructure_activities else None,
                EvaluationPlan(measures=document.evaluation_plan)
                if document.evaluation_plan else None]
            out += [ssip.RecordPart(record=p, **reason) for p in parts if p is not None]
        case PhaseThree():
            ffy = document.ffy
            if document.simr_actual:
                a = document.simr_actual
                out.append(ssip.RecordActual(ffy=ffy, percent=a.percent, data_source=a.data_source,
                                             note=a.note, **reason))
            out += [ssip.CompleteActivity(activity_id=d.activity, completed_on=d.completed_on,
                                          note=d.note, **common)
                    for d in document.infrastructure_done]
            if document.stakeholders is not None:
                out.append(ssip.RecordStakeholders(ffy=ffy, groups=document.stakeholders,
                                                   **reason))
            out += [ssip.RecordPlanChange(ffy=ffy, change=c.change, reason=c.reason, **common)
                    for c in document.plan_changes]
            if document.reflection:
                out.append(ssip.AnswerReflection(ffy=ffy, answers=document.reflection, **common))
    return out
