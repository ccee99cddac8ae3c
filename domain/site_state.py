"""The site rollout aggregate's state, and how each event changes it.

`fold(events)` is the only way state comes to be: `apply` never decides, it only records.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain import events as ev
from domain.criteria import Check, ExitCriteria, InstrumentResult, StageEvidence
from domain.instruments import DefinedAssessment, Instrument
from domain.stages import Stage

Status = Literal["not_enrolled", "active", "paused", "cancelled", "completed"]


class TaskState(BaseModel):
    model_config = ConfigDict(frozen=True)

    task_id: str
    kind: ev.TaskKind
    title: str
    stage: Stage
    assignee_role: str
    due: date
    instrument: Instrument | None = None
    ref: str | None = None
    status: Literal["open", "completed", "withdrawn"] = "open"
    reminded: bool = False
    overdue: bool = False
    escalated: bool = False

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class ActionItemState(BaseModel):
    """An action item still in play: proposed from an instrument's item, or accepted."""

    model_config = ConfigDict(frozen=True)

    action_id: str
    definition: str
    item: str
    title: str
    owner: str
    due: date
    status: Literal["proposed", "accepted"] = "proposed"

    @property
    def definition_id(self) -> str:
        return self.definition.split("@", 1)[0]


class SiteRolloutState(BaseModel):
    """Everything the rules need to know about one site's rollout of one initiative."""

    model_config = ConfigDict(frozen=True)

    stream_id: str = ""
    version: int = 0
    status: Status = "not_enrolled"
    initiative_id: str = ""
    site_id: str = ""
    site_name: str = ""
    kind: Literal["district", "school"] = "district"
    region: str = ""
    district: str | None = None
    cohort_id: str = ""
    practitioners: int = 0
    criteria: ExitCriteria = ExitCriteria()
    approval_required_for: tuple[Stage, ...] = ()
    stage: Stage | None = None
    stage_entries: int = Field(default=0, description="stage entries so far; keys per-entry work")
    stage_entered_at: datetime | None = None
    pending_move: Stage | None = None
    evidence: StageEvidence = StageEvidence()
    last_checks: tuple[Check, ...] = ()
    tasks: dict[str, TaskState] = Field(default_factory=dict)
    assessment_ids: frozenset[str] = frozenset()
    pd_sessions: dict[str, bool] = Field(default_factory=dict, description="session id -> held")
    coaching_cycles: dict[str, bool] = Field(default_factory=dict, description="id -> completed")
    reviews: frozenset[str] = frozenset()
    failures: dict[str, int] = Field(default_factory=dict, description="check -> failed "
                                     "measurements this stage entry")
    fresh: frozenset[Instrument] = Field(default=frozenset(), description="instruments submitted "
                                         "since the last evaluation")
    regressions: int = 0
    action_items: dict[str, ActionItemState] = Field(
        default_factory=dict, description="proposed and accepted action items, by id")
    closed_action_items: dict[str, str] = Field(
        default_factory=dict, description="merged or dismissed action items: id -> how")
    paused_status: Status | None = None
    completed_at: datetime | None = None

    @property
    def district_id(self) -> str:
        """The district that answers for this site: itself, or a school's parent district."""
        return self.district or self.site_id

    def open_tasks(self) -> list[TaskState]:
        return [t for t in self.tasks.values() if t.is_open]

    def key(self, *parts: object) -> str:
        """A globally unique, deterministic id for work in the current stage entry."""
        return ":".join([self.initiative_id, self.site_id, f"e{self.stage_entries}",
                         *map(str, parts)])


def fold(events: Iterable[ev.Event], state: SiteRolloutState | None = None) -> SiteRolloutState:
    state = state or SiteRolloutState()
    for event in events:
        state = apply(state, event)
    return state


def apply(state: SiteRolloutState, event: ev.Event) -> SiteRolloutState:
    if event.sequence != state.version + 1:
        raise ValueError(
            f"event {event.type} #{event.sequence} does not follow version {state.version} "
            f"of {state.stream_id or 'a new stream'}")
    changes = _APPLY[type(event)](state, event) if type(event) in _APPLY else {}
    return state.model_copy(update={
        **changes, "version": event.sequence, "stream_id": event.stream_id})


def _enrolled(s: SiteRolloutState, e: ev.SiteEnrolled) -> dict:
    p = e.payload
    return dict(
        status="active", initiative_id=p.initiative_id, site_id=p.site_id, site_name=p.site_name,
        kind=p.kind, region=p.region, district=p.district, cohort_id=p.cohort_id,
        practitioners=p.practitioners, criteria=p.criteria,
        approval_required_for=tuple(p.approval_required_for),
    )


def _stage_entered(s: SiteRolloutState, e: ev.StageEntered) -> dict:
    latest = {r.definition_id: r for r in s.evidence.results}
    carried = StageEvidence(
        capacity_baseline_taken=s.evidence.capacity_baseline_taken,
        capacity_percent=s.evidence.capacity_percent,
        capacity_per_driver=s.evidence.capacity_per_driver,
        results=tuple(sorted(latest.values(), key=s.evidence.results.index)),
    )
    return dict(
        stage=e.payload.stage, stage_entries=s.stage_entries + 1, stage_entered_at=e.occurred_at,
        pending_move=None, evidence=carried, last_checks=(), failures={}, fresh=frozenset(),
    )


def _assessed(s: SiteRolloutState, e: ev.AssessmentSubmitted) -> dict:
    p, score = e.payload, e.payload.score
    evidence = s.evidence
    match score.instrument:
        case Instrument.FIT_READINESS:
            evidence = evidence.model_copy(update=dict(readiness_mean=score.mean_rating))
        case Instrument.ADOPTION_DECISION:
            evidence = evidence.model_copy(update=dict(
                adoption_decision=p.answers.decision,
                implementation_team_members=p.answers.implementation_team_members))
        case Instrument.INSTALLATION_CHECKLIST:
            evidence = evidence.model_copy(update=dict(
                checklist_percent=score.percent, checklist_gaps=tuple(score.gaps)))
        case Instrument.CAPACITY:
            evidence = evidence.model_copy(update=dict(
                capacity_baseline_taken=True, capacity_percent=score.percent,
                capacity_per_driver=score.per_driver))
        case Instrument.FIDELITY if isinstance(p.answers, DefinedAssessment) and \
                score.rule != "share" and score.headline is not None:
            # A team-scored fidelity instrument (the TFI): its headline part is the site's
            # fidelity figure. A share of practitioners arrives as FidelityAssessed instead.
            evidence = evidence.model_copy(update=dict(
                fidelity_percents=evidence.fidelity_percents + (score.headline,)))
    if isinstance(p.answers, DefinedAssessment):
        result = InstrumentResult(
            assessment_id=p.assessment_id, definition=score.definition or p.answers.key.ref,
            definition_id=p.answers.key.definition_id, instrument=score.instrument,
            total=score.mean_rating if score.rule == "mean" else score.percent,
            parts=score.parts, headline=score.headline, taken_on=p.answers.taken_on)
        evidence = evidence.model_copy(update=dict(results=evidence.results + (result,)))
    return dict(evidence=evidence, assessment_ids=s.assessment_ids | {p.assessment_id},
                fresh=s.fresh | {score.instrument})


def _fidelity(s: SiteRolloutState, e: ev.FidelityAssessed) -> dict:
    percents = s.evidence.fidelity_percents + (e.payload.percent,)
    return dict(evidence=s.evidence.model_copy(update=dict(fidelity_percents=percents)))


def _evaluated(s: SiteRolloutState, e: ev.CriteriaEvaluated) -> dict:
    failures = dict(s.failures)
    for check in e.payload.checks:
        if counts_as_failure(s, check):
            failures[check.name] = failures.get(check.name, 0) + 1
    return dict(last_checks=tuple(e.payload.checks), failures=failures, fresh=frozenset())


def counts_as_failure(s: SiteRolloutState, check: Check) -> bool:
    """A new measurement fell short: not merely waiting for evidence, not an old result."""
    return not check.met and not check.pending and check.instrument in s.fresh


def _move_requested(s: SiteRolloutState, e: ev.StageMoveRequested) -> dict:
    return dict(pending_move=e.payload.to_stage)


def _pd_scheduled(s: SiteRolloutState, e: ev.PdSessionScheduled) -> dict:
    evidence = s.evidence
    if e.payload.stage == s.stage:
        evidence = evidence.model_copy(
            update=dict(pd_sessions_scheduled=evidence.pd_sessions_scheduled + 1))
    return dict(pd_sessions={**s.pd_sessions, e.payload.session_id: False}, evidence=evidence)


def _pd_held(s: SiteRolloutState, e: ev.PdSessionHeld) -> dict:
    return dict(pd_sessions={**s.pd_sessions, e.payload.session_id: True})


def _cycle_started(s: SiteRolloutState, e: ev.CoachingCycleStarted) -> dict:
    return dict(coaching_cycles={**s.coaching_cycles, e.payload.cycle_id: False})


def _cycle_completed(s: SiteRolloutState, e: ev.CoachingCycleCompleted) -> dict:
    return dict(coaching_cycles={**s.coaching_cycles, e.payload.cycle_id: True})


def _review(s: SiteRolloutState, e: ev.ReviewHeld) -> dict:
    return dict(reviews=s.reviews | {e.payload.review_id})


def _task_assigned(s: SiteRolloutState, e: ev.TaskAssigned) -> dict:
    task = TaskState(**e.payload.model_dump())
    return dict(tasks={**s.tasks, task.task_id: task})


def _task_update(**fields):
    def change(s: SiteRolloutState, e) -> dict:
        task = s.tasks[e.payload.task_id].model_copy(update=fields)
        return dict(tasks={**s.tasks, task.task_id: task})
    return change


def _paused(s: SiteRolloutState, e: ev.RolloutPaused) -> dict:
    return dict(status="paused", paused_status=s.status)


def _resumed(s: SiteRolloutState, e: ev.RolloutResumed) -> dict:
    return dict(status=s.paused_status or "active", paused_status=None)


def _cancelled(s: SiteRolloutState, e: ev.RolloutCancelled) -> dict:
    return dict(status="cancelled", paused_status=None)


def _regressed(s: SiteRolloutState, e: ev.SiteRegressed) -> dict:
    return dict(regressions=s.regressions + 1)


def _actions_proposed(s: SiteRolloutState, e: ev.ActionItemsProposed) -> dict:
    added = {i.action_id: ActionItemState(action_id=i.action_id, definition=i.definition,
                                          item=i.item, title=i.title, owner=i.owner, due=i.due)
             for i in e.payload.items}
    return dict(action_items={**s.action_items, **added})


def _action_accepted(s: SiteRolloutState, e: ev.ActionItemAccepted) -> dict:
    p = e.payload
    item = s.action_items[p.action_id].model_copy(
        update=dict(status="accepted", owner=p.owner, due=p.due))
    return dict(action_items={**s.action_items, p.action_id: item})


def _actions_merged(s: SiteRolloutState, e: ev.ActionItemsMerged) -> dict:
    p = e.payload
    kept = s.action_items[p.into].model_copy(update=dict(title=p.title))
    items = {k: v for k, v in s.action_items.items() if k not in p.merged}
    return dict(action_items={**items, p.into: kept},
                closed_action_items={**s.closed_action_items, **{m: "merged" for m in p.merged}})


def _action_dismissed(s: SiteRolloutState, e: ev.ActionItemDismissed) -> dict:
    items = {k: v for k, v in s.action_items.items() if k != e.payload.action_id}
    return dict(action_items=items,
                closed_action_items={**s.closed_action_items, e.payload.action_id: "dismissed"})


def _completed(s: SiteRolloutState, e: ev.SiteCompleted) -> dict:
    return dict(status="completed", completed_at=e.occurred_at, last_checks=tuple(e.payload.checks))


_APPLY = {
    ev.SiteEnrolled: _enrolled,
    ev.StageEntered: _stage_entered,
    ev.AssessmentSubmitted: _assessed,
    ev.FidelityAssessed: _fidelity,
    ev.CriteriaEvaluated: _evaluated,
    ev.StageMoveRequested: _move_requested,
    ev.PdSessionScheduled: _pd_scheduled,
    ev.PdSessionHeld: _pd_held,
    ev.CoachingCycleStarted: _cycle_started,
    ev.CoachingCycleCompleted: _cycle_completed,
    ev.ReviewHeld: _review,
    ev.TaskAssigned: _task_assigned,
    ev.TaskCompleted: _task_update(status="completed"),
    ev.TaskWithdrawn: _task_update(status="withdrawn"),
    ev.TaskReminderSent: _task_update(reminded=True),
    ev.TaskOverdue: _task_update(overdue=True),
    ev.TaskEscalated: _task_update(escalated=True),
    ev.RolloutPaused: _paused,
    ev.RolloutResumed: _resumed,
    ev.RolloutCancelled: _cancelled,
    ev.SiteRegressed: _regressed,
    ev.SiteCompleted: _completed,
    ev.ActionItemsProposed: _actions_proposed,
    ev.ActionItemAccepted: _action_accepted,
    ev.ActionItemsMerged: _actions_merged,
    ev.ActionItemDismissed: _action_dismissed,
}
