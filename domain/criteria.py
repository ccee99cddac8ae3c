"""Stage exit criteria as data (defaults from DOMAIN.md, overridable per plan) and their evaluation.

`evaluate_exit` is the one place a stage's exit rule lives: the workflow, the update validator,
the API's early check and the audit's "why" all call it.

Besides the fixed checks, any stage's exit can hold thresholds on instruments defined as data
("TFI Tier I at 70% or more in two consecutive assessments"), judged from the per-part scores the
evidence keeps for each assessment. The criteria also say which definition (id and version)
answers each kind of evidence, so every site carries, from its enrolment, the instruments it is
judged by.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.drivers import Driver
from domain.instruments import Instrument
from domain.stages import Stage

EVERY_PART = "every"
TOTAL_PART = "total"


class _Criteria(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstrumentUse(_Criteria):
    """A definition by id and version, and the level under which its items become proposed
    action items (default: the definition's own mark)."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
    version: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9._-]+$")
    mark: str | None = Field(default=None, min_length=1, max_length=20)

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"


EVIDENCE_KINDS: tuple[Instrument, ...] = (
    Instrument.FIT_READINESS, Instrument.INSTALLATION_CHECKLIST, Instrument.CAPACITY,
    Instrument.FIDELITY, Instrument.STAGE_ANALYSIS)
"""The kinds of evidence an instrument defined as data can give (the adoption decision is a
signed record, not a scored instrument)."""


class InstrumentChoices(_Criteria):
    """Which definition answers each kind of evidence; the defaults are the product's own."""

    fit_readiness: InstrumentUse = InstrumentUse(id="hexagon", version="2018")
    installation_checklist: InstrumentUse = InstrumentUse(id="installation-checklist", version="1")
    capacity: InstrumentUse = InstrumentUse(id="dca", version="6.0")
    fidelity: InstrumentUse = InstrumentUse(id="practitioner-fidelity", version="1")
    stage_analysis: InstrumentUse = InstrumentUse(id="sia", version="1")
    action_due_weeks: int = Field(default=6, ge=1, le=52, description="how far ahead a proposed "
                                  "action item falls due (moved off a weekend)")

    def for_evidence(self, instrument: Instrument) -> InstrumentUse | None:
        return getattr(self, instrument.value, None) if instrument in EVIDENCE_KINDS else None

    def evidence_of(self, definition_id: str) -> Instrument | None:
        return next((kind for kind in EVIDENCE_KINDS
                     if self.for_evidence(kind).id == definition_id), None)


class InstrumentThreshold(_Criteria):
    """An exit check on an instrument defined as data: a part of its score (the total, a
    subscale or tier, or every one of them) at or above a mark, in the latest assessments."""

    instrument: str = Field(min_length=1, max_length=64, description="the definition's id")
    threshold: str | None = Field(default=None, max_length=64, description="a threshold the "
                                  "definition names; fills `part` and `at_least`")
    part: str = Field(default=TOTAL_PART, min_length=1, max_length=64,
                      description="'total', a subscale or tier id, or 'every'")
    at_least: float | None = Field(default=None, ge=0, le=100)
    consecutive: int = Field(default=1, ge=1, le=20)

    @model_validator(mode="after")
    def _has_a_mark(self) -> InstrumentThreshold:
        if self.at_least is None and self.threshold is None:
            raise ValueError("give 'at_least' (the mark) or 'threshold' (one the definition names)")
        return self

    def describe(self) -> str:
        part = "every part" if self.part == EVERY_PART else self.part
        mark = "the definition's mark" if self.at_least is None else f"{self.at_least:g}"
        times = f" in {self.consecutive} consecutive assessments" if self.consecutive > 1 else ""
        return f"{self.instrument} {part} >= {mark}{times}"


class ExplorationExit(_Criteria):
    readiness_mean_min: float = Field(default=3.0, ge=1, le=5, description="Hexagon mean, 1-5 scale")
    require_adoption_decision: bool = True
    implementation_team_min_members: int = Field(default=3, ge=1, le=50)
    thresholds: tuple[InstrumentThreshold, ...] = ()


class InstallationExit(_Criteria):
    checklist_min_percent: float = Field(default=80.0, ge=0, le=100)
    require_pd_scheduled: bool = True
    require_coaches_assigned: bool = True
    require_capacity_baseline: bool = True
    thresholds: tuple[InstrumentThreshold, ...] = ()


class InitialImplementationExit(_Criteria):
    capacity_min_percent: float = Field(default=80.0, ge=0, le=100)
    capacity_min_percent_per_driver: float | None = Field(default=None, ge=0, le=100)
    fidelity_assessments_min: int = Field(default=2, ge=0, le=20)
    thresholds: tuple[InstrumentThreshold, ...] = ()


class FullImplementationExit(_Criteria):
    fidelity_min_percent: float = Field(default=50.0, ge=0, le=100)
    consecutive_assessments: int = Field(default=2, ge=1, le=20)
    thresholds: tuple[InstrumentThreshold, ...] = ()


class RegressionRule(_Criteria):
    """When fidelity collapses in Initial or Full Implementation, the site slips back one stage."""

    fidelity_collapse_percent: float = Field(default=20.0, ge=0, le=100)
    consecutive_assessments: int = Field(default=2, ge=1, le=20)


class ExitCriteria(_Criteria):
    """Every stage's exit rule; a plan overrides any field and keeps the rest of the defaults."""

    exploration: ExplorationExit = ExplorationExit()
    installation: InstallationExit = InstallationExit()
    initial_implementation: InitialImplementationExit = InitialImplementationExit()
    full_implementation: FullImplementationExit = FullImplementationExit()
    regression: RegressionRule = RegressionRule()
    instruments: InstrumentChoices = Field(
        default=InstrumentChoices(), description="filled from the plan's `instruments` section")

    def of_stage(self, stage: Stage):
        return getattr(self, STAGE_FIELDS[stage])


STAGE_FIELDS: dict[Stage, str] = {
    Stage.EXPLORATION: "exploration",
    Stage.INSTALLATION: "installation",
    Stage.INITIAL_IMPLEMENTATION: "initial_implementation",
    Stage.FULL_IMPLEMENTATION: "full_implementation",
}


class InstrumentResult(BaseModel):
    """One assessment of an instrument defined as data, as the exit checks read it."""

    model_config = ConfigDict(frozen=True)

    assessment_id: str
    definition: str = Field(description="id@version")
    definition_id: str
    instrument: Instrument
    total: float | None = Field(default=None, description="percent, mean rating or share")
    parts: dict[str, float] = Field(default_factory=dict)
    headline: float | None = None
    taken_on: date | None = None

    def value(self, part: str) -> float | None:
        """The score of a part: the total, one subscale or tier, or the lowest of them all."""
        if part == TOTAL_PART:
            return self.total
        if part == EVERY_PART:
            return min(self.parts.values()) if self.parts else None
        return self.parts.get(part)


class StageEvidence(BaseModel):
    """What the site has shown so far in its current stage; built by the rollout aggregate."""

    model_config = ConfigDict(frozen=True)

    readiness_mean: float | None = None
    adoption_decision: str | None = None
    implementation_team_members: int | None = None
    checklist_percent: float | None = None
    checklist_gaps: tuple[str, ...] = ()
    pd_sessions_scheduled: int = 0
    capacity_baseline_taken: bool = False
    capacity_percent: float | None = None
    capacity_per_driver: dict[Driver, float] = Field(default_factory=dict)
    fidelity_percents: tuple[float, ...] = Field(default=(), description="this stage, oldest first")
    results: tuple[InstrumentResult, ...] = Field(
        default=(), description="instruments defined as data: this stage's assessments, oldest "
        "first, after the latest of each from before the stage")


class Check(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    required: str
    actual: str
    met: bool
    pending: bool = Field(default=False, description="unmet only for want of evidence so far")
    instrument: Instrument | None = Field(default=None, description="what re-measures this")


class Evaluation(BaseModel):
    """The verdict on a stage's exit, with the evidence behind each check."""

    model_config = ConfigDict(frozen=True)

    stage: Stage
    met: bool
    checks: tuple[Check, ...]

    def unmet(self) -> list[Check]:
        return [c for c in self.checks if not c.met]

    def explain(self) -> str:
        """One sentence a district coordinator can act on."""
        if self.met:
            return f"{self.stage} exit criteria are met."
        gaps = "; ".join(f"{c.name}: {c.actual} (needs {c.required})" for c in self.unmet())
        return f"{self.stage} exit criteria not yet met: {gaps}."


def fidelity_collapsed(stage: Stage, evidence: StageEvidence, criteria: ExitCriteria) -> bool:
    """True when the latest fidelity results in this stage all fall under the collapse line."""
    rule = criteria.regression
    if stage not in (Stage.INITIAL_IMPLEMENTATION, Stage.FULL_IMPLEMENTATION):
        return False
    recent = evidence.fidelity_percents[-rule.consecutive_assessments:]
    return len(recent) == rule.consecutive_assessments and all(
        p < rule.fidelity_collapse_percent for p in recent)


def evaluate_exit(stage: Stage, evidence: StageEvidence, criteria: ExitCriteria) -> Evaluation:
    checks = _CHECKS[stage](evidence, criteria) + [
        threshold_check(t, evidence, criteria.instruments)
        for t in criteria.of_stage(stage).thresholds]
    return Evaluation(stage=stage, met=all(c.met for c in checks), checks=tuple(checks))


def threshold_check(rule: InstrumentThreshold, ev: StageEvidence,
                    choices: InstrumentChoices) -> Check:
    """The latest `consecutive` assessments of the instrument, each at or above the mark in the
    part named (for 'every', in each subscale or tier it answered)."""
    if rule.at_least is None:
        return Check(name=f"{rule.instrument} threshold '{rule.threshold}'",
                     required="a mark resolved from the instrument's definition",
                     actual="never resolved (validate the plan with its instrument definitions)",
                     met=False, instrument=choices.evidence_of(rule.instrument))
    mark = rule.at_least
    results = [r for r in ev.results if r.definition_id == rule.instrument]
    recent = results[-rule.consecutive:]
    values = [r.value(rule.part) for r in recent]
    reached = [v is not None and v >= mark for v in values]
    part = "every part" if rule.part == EVERY_PART else rule.part
    times = f" in {rule.consecutive} consecutive assessments" if rule.consecutive > 1 else ""
    return Check(
        name=f"{rule.instrument} {part}", required=f">= {mark:g}{_unit(recent)}{times}",
        actual="; ".join(_shown(r, rule.part) for r in recent) or "not yet assessed",
        met=len(recent) == rule.consecutive and all(reached),
        pending=len(recent) < rule.consecutive and all(reached),
        instrument=choices.evidence_of(rule.instrument))


def _unit(results: list[InstrumentResult]) -> str:
    return "" if results and results[-1].instrument is Instrument.FIT_READINESS else "%"


def _shown(result: InstrumentResult, part: str) -> str:
    unit = _unit([result])
    if part == EVERY_PART:
        return ", ".join(f"{p} {v:g}{unit}" for p, v in result.parts.items()) or "no parts"
    value = result.value(part)
    return "not answered" if value is None else f"{value:g}{unit}"


def _fmt(value: float | None, unit: str = "%") -> str:
    return "not yet assessed" if value is None else f"{value:g}{unit}"


def _exploration(ev: StageEvidence, c: ExitCriteria) -> list[Check]:
    rule = c.exploration
    checks = [
        Check(
            name="fit/readiness mean rating",
            required=f">= {rule.readiness_mean_min:g} of 5",
            actual=_fmt(ev.readiness_mean, " of 5"),
            met=ev.readiness_mean is not None and ev.readiness_mean >= rule.readiness_mean_min,
            pending=ev.readiness_mean is None, instrument=Instrument.FIT_READINESS,
        ),
        Check(
            name="implementation team members",
            required=f">= {rule.implementation_team_min_members}",
            actual="not reported" if ev.implementation_team_members is None
            else str(ev.implementation_team_members),
            met=(ev.implementation_team_members or 0) >= rule.implementation_team_min_members,
            pending=ev.implementation_team_members is None, instrument=Instrument.ADOPTION_DECISION,
        ),
    ]
    if rule.require_adoption_decision:
        checks.append(Check(
            name="signed adoption decision",
            required="adopt",
            actual=ev.adoption_decision or "none recorded",
            met=ev.adoption_decision == "adopt",
            pending=ev.adoption_decision is None, instrument=Instrument.ADOPTION_DECISION,
        ))
    return checks


def _installation(ev: StageEvidence, c: ExitCriteria) -> list[Check]:
    rule = c.installation
    checks = [Check(
        name="installation checklist in place",
        required=f">= {rule.checklist_min_percent:g}%",
        actual=_fmt(ev.checklist_percent),
        met=ev.checklist_percent is not None and ev.checklist_percent >= rule.checklist_min_percent,
        pending=ev.checklist_percent is None, instrument=Instrument.INSTALLATION_CHECKLIST,
    )]
    if rule.require_pd_scheduled:
        checks.append(Check(
            name="PD sessions scheduled", required=">= 1",
            actual=str(ev.pd_sessions_scheduled), met=ev.pd_sessions_scheduled >= 1,
            pending=True,
        ))
    if rule.require_coaches_assigned:
        assigned = ev.checklist_percent is not None and "coaches_assigned" not in ev.checklist_gaps
        checks.append(Check(
            name="coaches assigned", required="checklist item 'coaches_assigned' in place",
            actual="in place" if assigned else "not in place", met=assigned,
            pending=ev.checklist_percent is None, instrument=Instrument.INSTALLATION_CHECKLIST,
        ))
    if rule.require_capacity_baseline:
        checks.append(Check(
            name="capacity assessment baseline", required="taken",
            actual="taken" if ev.capacity_baseline_taken else "not taken",
            met=ev.capacity_baseline_taken, pending=True, instrument=Instrument.CAPACITY,
        ))
    return checks


def _initial(ev: StageEvidence, c: ExitCriteria) -> list[Check]:
    rule = c.initial_implementation
    checks = [
        Check(
            name="capacity assessment",
            required=f">= {rule.capacity_min_percent:g}% of points",
            actual=_fmt(ev.capacity_percent),
            met=ev.capacity_percent is not None and ev.capacity_percent >= rule.capacity_min_percent,
            pending=ev.capacity_percent is None, instrument=Instrument.CAPACITY,
        ),
        Check(
            name="fidelity assessments taken",
            required=f">= {rule.fidelity_assessments_min}",
            actual=str(len(ev.fidelity_percents)),
            met=len(ev.fidelity_percents) >= rule.fidelity_assessments_min,
            pending=True, instrument=Instrument.FIDELITY,
        ),
    ]
    floor = rule.capacity_min_percent_per_driver
    if floor is not None:
        low = {d: p for d, p in ev.capacity_per_driver.items() if p < floor}
        checks.append(Check(
            name="capacity per driver",
            required=f">= {floor:g}% for every driver",
            actual="no drivers scored" if not ev.capacity_per_driver else (
                ", ".join(f"{d} {p:g}%" for d, p in low.items()) or "all drivers at or above"),
            met=bool(ev.capacity_per_driver) and not low,
            pending=not ev.capacity_per_driver, instrument=Instrument.CAPACITY,
        ))
    return checks


def _full(ev: StageEvidence, c: ExitCriteria) -> list[Check]:
    rule = c.full_implementation
    recent = ev.fidelity_percents[-rule.consecutive_assessments:]
    held = len(recent) == rule.consecutive_assessments and all(
        p >= rule.fidelity_min_percent for p in recent)
    return [Check(
        name="practitioners meeting fidelity",
        required=f">= {rule.fidelity_min_percent:g}% in {rule.consecutive_assessments} "
                 "consecutive assessments",
        actual=", ".join(f"{p:g}%" for p in recent) or "not yet assessed",
        met=held, instrument=Instrument.FIDELITY,
        pending=len(recent) < rule.consecutive_assessments and all(
            p >= rule.fidelity_min_percent for p in recent),
    )]


_CHECKS = {
    Stage.EXPLORATION: _exploration,
    Stage.INSTALLATION: _installation,
    Stage.INITIAL_IMPLEMENTATION: _initial,
    Stage.FULL_IMPLEMENTATION: _full,
}
