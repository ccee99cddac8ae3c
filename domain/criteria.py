"""Stage exit criteria as data (defaults from DOMAIN.md, overridable per plan) and their evaluation.

`evaluate_exit` is the one place a stage's exit rule lives: the workflow, the update validator,
the API's early check and the audit's "why" all call it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain.drivers import Driver
from domain.instruments import Instrument
from domain.stages import Stage


class _Criteria(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExplorationExit(_Criteria):
    readiness_mean_min: float = Field(default=3.0, ge=1, le=5, description="Hexagon mean, 1-5 scale")
    require_adoption_decision: bool = True
    implementation_team_min_members: int = Field(default=3, ge=1, le=50)


class InstallationExit(_Criteria):
    checklist_min_percent: float = Field(default=80.0, ge=0, le=100)
    require_pd_scheduled: bool = True
    require_coaches_assigned: bool = True
    require_capacity_baseline: bool = True


class InitialImplementationExit(_Criteria):
    capacity_min_percent: float = Field(default=80.0, ge=0, le=100)
    capacity_min_percent_per_driver: float | None = Field(default=None, ge=0, le=100)
    fidelity_assessments_min: int = Field(default=2, ge=0, le=20)


class FullImplementationExit(_Criteria):
    fidelity_min_percent: float = Field(default=50.0, ge=0, le=100)
    consecutive_assessments: int = Field(default=2, ge=1, le=20)


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
    checks = _CHECKS[stage](evidence, criteria)
    return Evaluation(stage=stage, met=all(c.met for c in checks), checks=tuple(checks))


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
