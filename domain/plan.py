"""The initiative plan a state writes: practice, sites, cohorts and gates, criteria, PD, calendar.

Nothing starts on an invalid plan, so validation is strict: unknown fields are refused (a typo
must not silently become a default), and cross-references (cohort members, school districts,
trainer regions) are checked together, each problem reported at its own field path.

A plan about to start is also checked as a whole (`whole_plan_issues`): the rules between fields
(domain/plan_rules.py), and its texts, which hold no control characters and nothing the event
store cannot hold (domain/plan_text.py). Those run where a plan enters (domain/plan_yaml.py's
parse_plan, which `rollout plan validate` and `rollout start` share, and
rollouts/operations.launch_initiative), not in the model's own validation: a running initiative's
workflow loads its plan again on every run and replay, and a rule added later must not make the
plan of an initiative already running unreadable there.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Literal, Union

from pydantic import (
    AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints, ValidationInfo,
    model_validator,
)

from domain.calendar import SchoolCalendar, school_days_between
from domain.cohorts import describe_gate
from domain.criteria import ExitCriteria, InstrumentChoices
from domain.plan_instruments import INSTRUMENTS_CONTEXT, instrument_issues, settle_criteria
from domain.errors import DomainError
from domain.issues import Issue, raise_if_any
from domain.memo import Memo
from domain.plan_rules import cross_field_issues
from domain.plan_text import text_issues
from domain.stages import STAGE_ORDER, Stage

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value) or len(value) > 64:
        raise ValueError(f"'{value}' is not a valid id: use lowercase letters, digits and single "
                         "dashes, at most 64 characters (e.g. 'north-valley-sd')")
    return value


Slug = Annotated[str, AfterValidator(_slug)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Practice(_Model):
    name: Text
    fidelity_criterion: Text = Field(description="what 'meets fidelity' means for a practitioner")
    evidence_summary: str = ""


class Ssip(_Model):
    phase: Literal["I", "II", "III"]
    simr: Text = Field(description="the State-identified Measurable Result")
    ffy_start: int | None = Field(default=None, ge=2005, le=2100, description="first federal FY")


class Initiative(_Model):
    id: Slug
    name: Text
    practice: Practice
    ssip: Ssip


class Site(_Model):
    id: Slug
    name: Text
    kind: Literal["district", "school"]
    region: Text
    district: Slug | None = Field(default=None, description="a school's district site id")
    practitioners: int = Field(default=20, ge=1, le=100_000, description="a count, never names")

    @model_validator(mode="after")
    def _district_matches_kind(self) -> Site:
        if self.kind == "school" and self.district is None:
            raise_if_any([Issue(("district",), None, f"school '{self.id}' needs a district: "
                                "the id of a district site in the plan")])
        if self.kind == "district" and self.district is not None:
            raise_if_any([Issue(("district",), self.district, f"district '{self.id}' cannot "
                                "belong to a district; only schools have one")])
        return self


class ImmediateGate(_Model):
    kind: Literal["immediate"] = "immediate"


class DateGate(_Model):
    kind: Literal["date"] = "date"
    on: date


class ShareGate(_Model):
    """Opens when `percent` of the previous cohort's sites are at `stage` or beyond."""

    kind: Literal["share"] = "share"
    stage: Stage
    percent: float = Field(gt=0, le=100)


class DecisionGate(_Model):
    kind: Literal["decision"] = "decision"


Gate = Annotated[Union[ImmediateGate, DateGate, ShareGate, DecisionGate],
                 Field(discriminator="kind")]


class Cohort(_Model):
    id: Slug
    name: Text
    members: list[str] = Field(min_length=1, description="site ids")
    gate: Gate


class Trainer(_Model):
    id: Slug
    name: Text
    sessions_per_day: int = Field(default=1, ge=1, le=4)
    region: str | None = None


class PdSession(_Model):
    title: Text
    hours: float = Field(gt=0, le=8)
    capacity: int = Field(ge=1, le=1000, description="practitioners per session")


class Pd(_Model):
    trainers: list[Trainer] = Field(min_length=1)
    sessions: dict[Stage, list[PdSession]] = Field(default_factory=dict)


class Coaching(_Model):
    initial_every_weeks: int = Field(default=4, ge=1, le=26)
    full_every_weeks: int = Field(default=8, ge=1, le=26)


class Reviews(_Model):
    initial_every_weeks: int = Field(default=4, ge=1, le=52)
    default_every_weeks: int = Field(default=13, ge=1, le=52)


class Deadlines(_Model):
    assessment_school_days: int = Field(default=20, ge=1, le=180)
    task_school_days: int = Field(default=10, ge=1, le=180)
    reminder_school_days_before: int = Field(default=3, ge=0, le=60)
    escalate_after_school_days: int = Field(default=5, ge=1, le=60)
    remeasure_school_days: int = Field(
        default=60, ge=5, le=180, description="when evidence still short is measured again (a term)")


class Approvals(_Model):
    state_approval_required_for: list[Stage] = Field(
        default_factory=list, description="stages whose entry needs a state approval")


class Privacy(_Model):
    min_cell_size: int = Field(default=10, ge=5, le=30)


class RegionSummary(_Model):
    region: str
    districts: int
    schools: int


class CohortSummary(_Model):
    id: str
    name: str
    sites: int
    gate: str


class PlanSummary(_Model):
    initiative_id: str
    name: str
    practice: str
    ssip_phase: str
    simr: str
    sites: int
    districts: int
    schools: int
    practitioners: int
    regions: list[RegionSummary]
    cohorts: list[CohortSummary]
    trainers: int
    pd_sessions: dict[Stage, int]
    pd_hours: dict[Stage, float]
    first_day: date
    last_day: date
    school_years: int
    school_days: int


class Plan(_Model):
    initiative: Initiative
    sites: list[Site] = Field(min_length=1)
    cohorts: list[Cohort] = Field(min_length=1)
    exit_criteria: ExitCriteria = ExitCriteria()
    instruments: InstrumentChoices = Field(
        default=InstrumentChoices(), description="which definition (id and version) answers each "
        "kind of evidence, and the mark under which items become proposed action items")
    pd: Pd
    coaching: Coaching = Coaching()
    reviews: Reviews = Reviews()
    deadlines: Deadlines = Deadlines()
    calendar: SchoolCalendar
    approvals: Approvals = Approvals()
    privacy: Privacy = Privacy()
    _memo: Memo = PrivateAttr(default_factory=Memo)

    @model_validator(mode="after")
    def _cross_references(self) -> Plan:
        raise_if_any(_site_issues(self.sites) + _cohort_issues(self.sites, self.cohorts)
                     + _trainer_issues(self.pd.trainers, {s.region for s in self.sites})
                     + _approval_issues(self.approvals))
        return self

    @model_validator(mode="after")
    def _instrument_references(self, info: ValidationInfo) -> Plan:
        """Check the instruments the plan names against the definitions known (when the caller
        gives them: `parse_plan(..., instruments=...)`), and settle the exit criteria every site
        carries: the plan's instrument choices, and each named threshold's part and mark.
        (Settled in place while the plan is being built: a plan is frozen once made.)"""
        catalogue = (info.context or {}).get(INSTRUMENTS_CONTEXT)
        raise_if_any(instrument_issues(self.instruments, self.exit_criteria, catalogue))
        object.__setattr__(self, "exit_criteria",
                           settle_criteria(self.instruments, self.exit_criteria, catalogue))
        return self

    def site(self, site_id: str) -> Site:
        site = self._lookup()[0].get(site_id)
        if site is None:
            raise DomainError(f"The plan has no site '{site_id}'.", field="site_id", value=site_id)
        return site

    def cohort_of(self, site_id: str) -> Cohort:
        cohort = self._lookup()[1].get(site_id)
        if cohort is None:
            raise DomainError(f"Site '{site_id}' is in no cohort of the plan.",
                              field="site_id", value=site_id)
        return cohort

    def districts(self) -> list[Site]:
        return [s for s in self.sites if s.kind == "district"]

    def regions(self) -> list[str]:
        return sorted({s.region for s in self.sites})

    def summary(self) -> PlanSummary:
        regions = {r: [0, 0] for r in self.regions()}
        for s in self.sites:
            regions[s.region][s.kind == "school"] += 1
        first, last = self.calendar.span()
        stages = [s for s in STAGE_ORDER if s in self.pd.sessions]
        return PlanSummary(
            initiative_id=self.initiative.id, name=self.initiative.name,
            practice=self.initiative.practice.name, ssip_phase=self.initiative.ssip.phase,
            simr=self.initiative.ssip.simr, sites=len(self.sites), districts=len(self.districts()),
            schools=len(self.sites) - len(self.districts()),
            practitioners=sum(s.practitioners for s in self.sites),
            regions=[RegionSummary(region=r, districts=d, schools=s)
                     for r, (d, s) in regions.items()],
            cohorts=[CohortSummary(id=c.id, name=c.name, sites=len(c.members),
                                   gate=describe_gate(c.gate)) for c in self.cohorts],
            trainers=len(self.pd.trainers),
            pd_sessions={s: len(self.pd.sessions[s]) for s in stages},
            pd_hours={s: sum(p.hours for p in self.pd.sessions[s]) for s in stages},
            first_day=first, last_day=last, school_years=len(self.calendar.years),
            school_days=school_days_between(self.calendar, first - timedelta(days=1), last))

    def _lookup(self) -> tuple[dict[str, Site], dict[str, Cohort]]:
        if not self._memo.holds(self.sites, self.cohorts):
            cohorts = {m: c for c in self.cohorts for m in c.members}
            self._memo = Memo((self.sites, self.cohorts), ({s.id: s for s in self.sites}, cohorts))
        return self._memo.value


def whole_plan_issues(plan: Plan) -> list[Issue]:
    """What keeps a plan that validates field by field from working as meant, each at its path."""
    return (cross_field_issues(plan.exit_criteria, plan.cohorts, plan.pd, plan.calendar)
            + text_issues(plan.model_dump(mode="python")))


def require_whole(plan: Plan) -> Plan:
    """The plan, when it can be started; `Invalid` listing every problem otherwise."""
    raise_if_any(whole_plan_issues(plan))
    return plan


def _site_issues(sites: list[Site]) -> list[Issue]:
    issues, seen = [], {}
    for i, s in enumerate(sites):
        if s.id in seen:
            issues.append(Issue(("sites", i, "id"), s.id,
                                f"duplicate site id '{s.id}' (also sites[{seen[s.id]}])"))
        seen.setdefault(s.id, i)
    for i, s in enumerate(sites):
        if s.kind != "school":
            continue
        parent = sites[seen[s.district]] if s.district in seen else None
        if parent is None:
            issues.append(Issue(("sites", i, "district"), s.district,
                                f"school '{s.id}' names district '{s.district}', which is not a "
                                "site in the plan"))
        elif parent.kind != "district":
            issues.append(Issue(("sites", i, "district"), s.district,
                                f"school '{s.id}' names '{s.district}' as its district, but "
                                f"'{s.district}' is a {parent.kind}"))
        elif parent.region != s.region:
            issues.append(Issue(("sites", i, "region"), s.region,
                                f"school '{s.id}' is in region '{s.region}' but its district "
                                f"'{parent.id}' is in region '{parent.region}'"))
    return issues


def _cohort_issues(sites: list[Site], cohorts: list[Cohort]) -> list[Issue]:
    issues, seen_cohorts, home = [], {}, {}
    known = {s.id for s in sites}
    for ci, c in enumerate(cohorts):
        if c.id in seen_cohorts:
            issues.append(Issue(("cohorts", ci, "id"), c.id, f"duplicate cohort id '{c.id}' "
                                f"(also cohorts[{seen_cohorts[c.id]}])"))
        seen_cohorts.setdefault(c.id, ci)
        for mi, member in enumerate(c.members):
            path = ("cohorts", ci, "members", mi)
            if member not in known:
                issues.append(Issue(path, member, f"cohort '{c.id}' lists unknown site '{member}'"))
            elif member in home:
                where = "twice" if home[member] == c.id else \
                    f"but site '{member}' is already in cohort '{home[member]}'"
                issues.append(Issue(path, member, f"cohort '{c.id}' lists site '{member}' {where}; "
                                    "a site belongs to exactly one cohort"))
            else:
                home[member] = c.id
    issues += [Issue(("sites", i, "id"), s.id, f"site '{s.id}' is in no cohort")
               for i, s in enumerate(sites) if s.id not in home]
    if cohorts and cohorts[0].gate.kind == "share":
        issues.append(Issue(("cohorts", 0, "gate", "kind"), "share",
                            f"the first cohort '{cohorts[0].id}' cannot wait for a share of a "
                            "previous cohort: there is none"))
    return issues


def _trainer_issues(trainers: list[Trainer], regions: set[str]) -> list[Issue]:
    issues, seen = [], {}
    for i, t in enumerate(trainers):
        if t.id in seen:
            issues.append(Issue(("pd", "trainers", i, "id"), t.id, f"duplicate trainer id "
                                f"'{t.id}' (also pd.trainers[{seen[t.id]}])"))
        seen.setdefault(t.id, i)
        if t.region is not None and t.region not in regions:
            issues.append(Issue(("pd", "trainers", i, "region"), t.region,
                                f"trainer '{t.id}' serves region '{t.region}', where the plan has "
                                f"no site (regions: {', '.join(sorted(regions))})"))
    return issues


def _approval_issues(approvals: Approvals) -> list[Issue]:
    return [Issue(("approvals", "state_approval_required_for", i), stage.value,
                  "Exploration is where every site starts; its entry cannot wait for an approval")
            for i, stage in enumerate(approvals.state_approval_required_for)
            if stage is Stage.EXPLORATION]
