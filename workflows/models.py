"""Inputs, update requests, signals and query results of the workflows (pydantic, versioned by
adding fields with defaults only: running multi-year workflows must keep decoding them)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Actor
from domain.board import NOT_STARTED, column
from domain.calendar import SchoolCalendar
from domain.coaching import CoachingCycleInput, CoachingStep
from domain.cohorts import describe_gate
from domain.commands import Outcome
from domain.criteria import Check, ExitCriteria
from domain.initiative import InitiativeState
from domain.instruments import Assessment
from domain.plan import PdSession, Plan, Trainer
from domain.site_state import SiteRolloutState, TaskState
from domain.stages import Stage
from domain.school_clock import SchoolClock


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Cadences(_Model):
    coaching_initial_weeks: int = 4
    coaching_full_weeks: int = 8
    review_initial_weeks: int = 4
    review_default_weeks: int = 13
    assessment_school_days: int = 20
    remeasure_school_days: int = Field(default=60, description="a term: when unmet evidence is asked again")
    task_school_days: int = 10
    reminder_school_days_before: int = 3
    escalate_after_school_days: int = 5
    escalate_after_failures: int = 2


class RolloutSettings(_Model):
    """What every site of an initiative shares: rules, PD plan, cadences, calendar, clock."""

    initiative_id: str
    initiative_workflow_id: str
    criteria: ExitCriteria = ExitCriteria()
    approval_required_for: list[Stage] = Field(default_factory=list)
    pd_sessions: dict[Stage, list[PdSession]] = Field(default_factory=dict)
    trainers: list[Trainer] = Field(default_factory=list)
    cadences: Cadences = Cadences()
    calendar: SchoolCalendar
    clock: SchoolClock
    search_attributes: bool = False


class SiteRef(_Model):
    """One site as its rollout knows it: small, so 10,000 sites stay cheap."""

    site_id: str
    site_name: str
    kind: Literal["district", "school"]
    region: str
    district: str | None = None
    cohort_id: str
    practitioners: int
    coach_id: str


class SiteContext(_Model):
    settings: RolloutSettings
    site: SiteRef


class CycleOutcome(_Model):
    cycle_id: str
    practitioners_observed: int
    feedback_given: bool
    steps_completed: int
    withdrawn: bool = False


class Routine(_Model):
    """The site workflow's own bookkeeping, carried across continue-as-new."""

    setup_entry: int = Field(default=0, description="stage entry whose setup has run")
    next_review_on: date | None = None
    reviews_held: int = 0
    next_cycle_on: date | None = None
    cycles_started: int = 0
    active_cycle: str | None = None


class SiteRolloutInput(_Model):
    context: SiteContext
    state: SiteRolloutState | None = None
    routine: Routine = Routine()


class SubmitAssessmentRequest(_Model):
    actor: Actor
    site_id: str
    assessment_id: str = Field(min_length=1, max_length=200)
    assessment: Assessment
    task_id: str | None = None


class CompleteTaskRequest(_Model):
    actor: Actor
    site_id: str
    task_id: str = Field(min_length=1, max_length=200)
    outcome: Outcome = Field(default_factory=dict)


class StageDecisionRequest(_Model):
    actor: Actor
    site_id: str
    decision: Literal["approve", "override", "regress", "decline"]
    to_stage: Stage
    reason: str = Field(default="", max_length=2000)


class ControlRequest(_Model):
    actor: Actor
    action: Literal["pause", "resume", "cancel"]
    reason: str = Field(default="", max_length=2000)
    site_id: str | None = Field(default=None, description="one site; None for the whole initiative")


class TaskManagementRequest(_Model):
    """The state team works a task (an escalated one, usually): hand it to another person or team
    (`assignee`, e.g. `team:district:cedar-falls-sd` or `person:ann@example.org`), give it a later
    due date (`due`), or waive it (closed, not completed); always with the reason."""

    actor: Actor
    site_id: str
    task_id: str = Field(min_length=1, max_length=200)
    action: Literal["reassign", "extend", "waive"]
    reason: str = Field(default="", max_length=2000)
    assignee: str | None = Field(default=None, max_length=200, description="reassign: to whom")
    due: date | None = Field(default=None, description="extend: the new due date (a school day)")


class UpdateOutcome(_Model):
    """What a person sees after acting: what was recorded and where the site now stands."""

    accepted: bool = True
    already_done: bool = False
    recorded: list[str] = Field(default_factory=list, description="event types recorded")
    stage: Stage | None
    status: str
    explanation: str = ""


class OpenTask(_Model):
    task_id: str
    kind: str
    title: str
    stage: Stage
    assignee_role: str
    due: date
    instrument: str | None = None
    ref: str | None = None
    overdue: bool = False
    escalated: bool = False
    assignee: str | None = None

    @classmethod
    def of(cls, task: TaskState) -> "OpenTask":
        return cls(task_id=task.task_id, kind=task.kind, title=task.title, stage=task.stage,
                   assignee_role=task.assignee_role, due=task.due,
                   instrument=task.instrument.value if task.instrument else None, ref=task.ref,
                   overdue=task.overdue, escalated=task.escalated, assignee=task.assignee)


class SiteStatus(_Model):
    """Where a site's rollout stands: the workflow's status query, and the core of the site view
    people read (`rollouts.views.SiteView`)."""

    site_id: str
    site_name: str
    region: str
    cohort_id: str
    stage: Stage | None
    status: str
    pending_move: Stage | None = None
    version: int
    school_today: date | None = Field(default=None, description="the rollout's school day, while it runs")
    open_tasks: list[OpenTask]
    last_checks: list[Check]
    regressions: int

    @classmethod
    def of(cls, state: SiteRolloutState, school_today: date | None) -> "SiteStatus":
        return cls(site_id=state.site_id, site_name=state.site_name, region=state.region,
                   cohort_id=state.cohort_id, stage=state.stage, status=state.status,
                   pending_move=state.pending_move, version=state.version,
                   school_today=school_today, open_tasks=[OpenTask.of(t) for t in state.open_tasks()],
                   last_checks=list(state.last_checks), regressions=state.regressions)


class SiteProgress(_Model):
    """Sent by a site to its initiative whenever its stage or status changes."""

    site_id: str
    cohort_id: str
    region: str
    stage: Stage | None
    status: str
    version: int


class StepDone(_Model):
    task_id: str
    outcome: Outcome = Field(default_factory=dict)


class InitiativeOptions(_Model):
    speedup: float = Field(default=1.0, ge=1.0)
    search_attributes: bool = False
    group_size: int = Field(default=200, ge=1, le=500, description="sites per group workflow")


class InitiativeInput(_Model):
    plan: Plan
    launched_by: Actor
    options: InitiativeOptions = InitiativeOptions()
    carried: "InitiativeCarry | None" = None


class GroupInput(_Model):
    group_id: str
    settings: RolloutSettings
    sites: list[SiteRef] = Field(max_length=500)


class GroupOutcome(_Model):
    group_id: str
    by_status: dict[str, int]


class CohortDecisionRequest(_Model):
    actor: Actor
    cohort_id: str
    note: str = Field(default="", max_length=2000)


class CohortStatus(_Model):
    cohort_id: str
    started: bool
    gate: str
    sites: int
    by_stage: dict[str, int]


class InitiativeStatus(_Model):
    initiative_id: str
    status: str
    cohorts: list[CohortStatus]
    by_stage: dict[str, int]
    by_region: dict[str, dict[str, int]]
    sites: dict[str, SiteProgress]
    completed_sites: int
    total_sites: int

    @classmethod
    def of(cls, plan: Plan, state: InitiativeState, sites: dict[str, SiteProgress]) -> "InitiativeStatus":
        """The board of the initiative whose sites stand as `sites` (those enrolled so far): what
        the initiative workflow's query answers and what `rollouts.views` reads from the store."""
        def column_of(progress: SiteProgress | None) -> str:
            return NOT_STARTED if progress is None else column(progress.stage, progress.status)

        cohorts = [CohortStatus(
            cohort_id=c.id, started=c.id in state.cohorts_started, gate=describe_gate(c.gate),
            sites=len(c.members), by_stage=dict(Counter(column_of(sites.get(m)) for m in c.members)))
            for c in plan.cohorts]
        by_region: dict[str, Counter] = defaultdict(Counter)
        for progress in sites.values():
            by_region[progress.region][column_of(progress)] += 1
        all_started = len(state.cohorts_started) == len(plan.cohorts)
        everyone = all_started and len(sites) == len(plan.sites)
        finished = (everyone or state.status == "cancelled") and \
            all(p.status in ("completed", "cancelled") for p in sites.values())
        return cls(
            initiative_id=plan.initiative.id, cohorts=cohorts,
            status="completed" if state.status == "active" and finished else state.status,
            by_stage=dict(Counter(column_of(p) for p in sites.values())),
            by_region={r: dict(c) for r, c in sorted(by_region.items())}, sites=dict(sites),
            completed_sites=sum(1 for p in sites.values() if p.status == "completed"),
            total_sites=len(plan.sites))


class InitiativeCarry(_Model):
    """The initiative workflow's state, carried across continue-as-new."""

    clock: SchoolClock
    state: InitiativeState
    cohort_decisions: dict[str, str] = Field(default_factory=dict, description="cohort -> decided by")
    cohort_notes: dict[str, str] = Field(default_factory=dict,
                                         description="cohort -> why it was opened")
    sites: dict[str, SiteProgress] = Field(default_factory=dict)
    groups: dict[str, list[str]] = Field(default_factory=dict, description="cohort -> group ids")


InitiativeInput.model_rebuild()
