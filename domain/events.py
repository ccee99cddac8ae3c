"""Domain events: small immutable facts, a versioned discriminated union on `type`.

Every event carries the same envelope (event id, stream id, sequence, type, schema version,
occurred_at, actor) and a typed payload. Event ids are derived from stream id and sequence, so
re-appending the same decision after a retry is recognisably the same event.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal, Union

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from domain.actors import Actor
from domain.calendar import SchoolCalendar
from domain.criteria import Check, ExitCriteria, StageEvidence
from domain.drivers import Driver
from domain.instruments import Assessment, AssessmentScore, Instrument
from domain.school_clock import SchoolClock
from domain.ssip_records import (
    Ffy, Percent, PlanPart, Question, SimrDefinition, StakeholderGroup, Text,
)
from domain.stages import Stage

EVENT_NAMESPACE = uuid.UUID("6f1c3c2e-8b7a-4a59-9a53-3f0e1c9b7d21")


def event_id_for(stream_id: str, sequence: int) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{stream_id}#{sequence}"))


SITE_STREAM_PREFIX = "site-rollout/"


def site_stream(initiative_id: str, site_id: str) -> str:
    return f"{SITE_STREAM_PREFIX}{initiative_id}/{site_id}"


def site_streams_of(initiative_id: str) -> str:
    """What the stream id of every site of the initiative starts with."""
    return f"{SITE_STREAM_PREFIX}{initiative_id}/"


def is_site_stream(stream_id: str) -> bool:
    """Site rollouts and initiatives share some event types (paused, resumed, cancelled)."""
    return stream_id.startswith(SITE_STREAM_PREFIX)


def initiative_stream(initiative_id: str) -> str:
    return f"initiative/{initiative_id}"


SSIP_STREAM_PREFIX = "ssip/"


def ssip_stream(initiative_id: str) -> str:
    """The SSIP of the initiative's plan (its `initiative.ssip` section): Phase I and II records,
    each year's Phase III figures, and the state team's SSIP tasks. Keyed by the initiative, as the
    plan declares its SSIP inside the initiative and the annual report is one initiative's."""
    return f"{SSIP_STREAM_PREFIX}{initiative_id}"


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- payloads -------------------------------------------------------------------------------

class InitiativeLaunchedPayload(_Payload):
    initiative_id: str
    name: str
    practice: str
    ssip_phase: str
    simr: str
    site_count: int
    cohort_ids: list[str]
    plan_digest: str = Field(description="sha256 of the plan as launched")
    school_clock: SchoolClock | None = Field(
        default=None, description="how real time maps to the plan's school time (recorded since "
        "the main-loop shape of the initiative workflow; None before)")
    calendar: SchoolCalendar | None = Field(
        default=None, description="the plan's school calendar, so the record can count school "
        "days (an escalation's age); None in launches recorded before it was kept")
    min_cell_size: int | None = Field(
        default=None, description="the plan's privacy.min_cell_size, so audit reads suppress counts "
        "of people below it (recorded since issue 18; None before: the default applies)")


class CohortStartedPayload(_Payload):
    cohort_id: str
    site_count: int
    gate: str
    gate_evidence: str
    decided_by: str | None = Field(default=None, description="who opened a decision gate")
    reason: str = Field(default="", description="why they opened it (recorded since people open "
                        "cohorts through the API, the web pages and the CLI)")


class SiteEnrolledPayload(_Payload):
    initiative_id: str
    site_id: str
    site_name: str
    kind: Literal["district", "school"]
    region: str
    district: str | None
    cohort_id: str
    practitioners: int
    criteria: ExitCriteria
    approval_required_for: list[Stage] = Field(default_factory=list)


class StageEnteredPayload(_Payload):
    stage: Stage
    from_stage: Stage | None = None
    reason: Literal["enrolled", "criteria_met", "approved", "override", "regression"]
    evaluation: list[Check] = Field(default_factory=list, description="the checks behind the move")


class AssessmentSubmittedPayload(_Payload):
    assessment_id: str
    stage: Stage
    answers: Assessment
    score: AssessmentScore
    task_id: str | None = None


class CriteriaEvaluatedPayload(_Payload):
    stage: Stage
    met: bool
    checks: list[Check]
    evidence: StageEvidence
    explanation: str


class StageMoveRequestedPayload(_Payload):
    from_stage: Stage
    to_stage: Stage
    explanation: str


class StageMoveApprovedPayload(_Payload):
    from_stage: Stage
    to_stage: Stage
    note: str = ""


class StageMoveDeclinedPayload(_Payload):
    """The state said no to a move the rules asked it to approve; `checks` are the evidence it
    weighed (the evaluation behind the request)."""

    from_stage: Stage
    to_stage: Stage
    reason: str
    checks: list[Check] = Field(default_factory=list)


class StageMoveOverriddenPayload(_Payload):
    from_stage: Stage
    to_stage: Stage
    reason: str
    unmet: list[Check]


class PdSessionScheduledPayload(_Payload):
    session_id: str
    stage: Stage
    title: str
    on: date
    trainer_id: str
    hours: float
    capacity: int


class PdSessionHeldPayload(_Payload):
    session_id: str
    attendees: int


class CoachingCycleStartedPayload(_Payload):
    cycle_id: str
    number: int
    stage: Stage
    coach_id: str


class CoachingCycleCompletedPayload(_Payload):
    cycle_id: str
    practitioners_observed: int
    feedback_given: bool


class FidelityAssessedPayload(_Payload):
    assessment_id: str
    stage: Stage
    practitioners_assessed: int
    practitioners_meeting: int
    percent: float


class ActionItem(_Payload):
    action_id: str
    title: str
    driver: Driver | None = None
    owner_role: str
    due: date
    system_barrier: bool = False
    barrier: str | None = Field(
        default=None, description="what the item is about, the same from review to review "
        "('driver:Coaching', 'fidelity', 'capacity-assessment'): while an item for it is open, "
        "later reviews name it instead of adding another (None in reviews recorded before)")


class ReviewHeldPayload(_Payload):
    review_id: str
    number: int
    stage: Stage
    capacity_percent: float | None
    fidelity_percent: float | None
    low_drivers: dict[Driver, float]
    findings: list[str]
    action_items: list[ActionItem]


TaskKind = Literal[
    "submit_assessment", "hold_pd_session", "coaching_step", "join_review", "action_item"
]


class TaskAssignedPayload(_Payload):
    task_id: str
    kind: TaskKind
    title: str
    stage: Stage
    assignee_role: str
    due: date
    instrument: Instrument | None = None
    ref: str | None = Field(default=None, description="session, cycle, review or action id")


class TaskCompletedPayload(_Payload):
    task_id: str
    outcome: dict[str, str | int | float | bool] = Field(default_factory=dict)
    assessment_id: str | None = None


class TaskWithdrawnPayload(_Payload):
    task_id: str
    reason: str


class TaskReminderSentPayload(_Payload):
    task_id: str
    due: date


class TaskOverduePayload(_Payload):
    task_id: str
    due: date


class TaskEscalatedPayload(_Payload):
    task_id: str
    escalated_to: str
    reason: str


class TaskReassignedPayload(_Payload):
    """The state team hands an (escalated) task to another person or team, e.g.
    `team:district:cedar-falls-sd` or `person:ann@example.org`."""

    task_id: str
    from_assignee: str = Field(description="who had it: the previous assignee, else its role")
    to_assignee: str
    reason: str


class TaskDueDateExtendedPayload(_Payload):
    """A new due date, with why: the task's reminder, overdue and escalation flags start afresh
    from it."""

    task_id: str
    from_due: date
    to_due: date
    reason: str


class TaskWaivedPayload(_Payload):
    """The task no longer needs doing: closed, not completed."""

    task_id: str
    reason: str


class TaskShift(_Payload):
    task_id: str
    from_due: date
    to_due: date


class TaskDueDatesShiftedPayload(_Payload):
    """On resuming a paused site, its open tasks' due dates move by the school days it was
    paused, so deadlines count only the school days the site was active."""

    paused_on: date
    resumed_on: date
    school_days: int = Field(ge=1)
    shifts: list[TaskShift]


class RolloutPausedPayload(_Payload):
    reason: str


class RolloutResumedPayload(_Payload):
    note: str = ""


class RolloutCancelledPayload(_Payload):
    reason: str


class ProposedActionItem(_Payload):
    """An item of an instrument scored under the plan's mark, proposed as an action item."""

    action_id: str
    definition: str = Field(description="id@version of the instrument")
    item: str
    label: str
    group: str | None = None
    driver: Driver | None = None
    value: str = Field(description="the level the team agreed on")
    mark: str = Field(description="the level under which an item is proposed")
    title: str
    owner: str
    due: date


class ActionItemsProposedPayload(_Payload):
    assessment_id: str
    items: list[ProposedActionItem]


class ActionItemAcceptedPayload(_Payload):
    action_id: str
    owner: str
    due: date
    note: str = ""


class ActionItemsMergedPayload(_Payload):
    into: str = Field(description="the action item kept")
    merged: list[str] = Field(description="the action items folded into it")
    title: str = Field(description="the kept item's title after the merge")
    reason: str


class ActionItemDismissedPayload(_Payload):
    action_id: str
    reason: str


class SiteRegressedPayload(_Payload):
    from_stage: Stage
    to_stage: Stage
    reason: str
    evidence: StageEvidence | None = None


class SiteCompletedPayload(_Payload):
    stage: Stage
    checks: list[Check]


# --- the SSIP (domain/ssip.py) ---------------------------------------------------------------

class SimrDefinedPayload(_Payload):
    simr: SimrDefinition
    reason: str = Field(default="", max_length=2000,
                        description="why a SiMR already recorded was changed ('' the first time)")


class SimrTargetSetPayload(_Payload):
    ffy: Ffy
    percent: Percent
    previous: float | None = Field(default=None, description="the target it replaces, if any")
    reason: str = Field(default="", max_length=2000)


class SimrActualRecordedPayload(_Payload):
    ffy: Ffy
    percent: Percent
    source: Literal["entered", "imported"] = "entered"
    data_source: str = Field(default="", max_length=2000)
    note: str = Field(default="", max_length=2000)
    previous: float | None = Field(default=None, description="the figure it corrects, if any")
    reason: str = Field(default="", max_length=2000)


class SsipPartRecordedPayload(_Payload):
    record: PlanPart
    revised: bool = Field(default=False, description="whether it replaces one recorded before")
    reason: str = Field(default="", max_length=2000)


class InfrastructureActivityCompletedPayload(_Payload):
    activity_id: str
    completed_on: date
    note: str = Field(default="", max_length=2000)


class StakeholderEngagementRecordedPayload(_Payload):
    ffy: Ffy
    groups: list[StakeholderGroup]
    revised: bool = False
    reason: str = Field(default="", max_length=2000)


class ReflectionAnsweredPayload(_Payload):
    ffy: Ffy
    answers: dict[Question, Text]


class PlanChangeRecordedPayload(_Payload):
    ffy: Ffy
    change: Text
    reason: Text


SsipTaskKind = Literal["simr_actual", "stakeholder_engagement", "reflection"]


class SsipTaskAssignedPayload(_Payload):
    task_id: str
    kind: SsipTaskKind
    title: str
    ffy: Ffy
    due: date
    assignee_role: str = "state"


class SsipTaskCompletedPayload(_Payload):
    task_id: str


class SsipTaskOverduePayload(_Payload):
    task_id: str
    due: date


# --- events ---------------------------------------------------------------------------------

class DomainEvent(BaseModel):
    """The envelope shared by every event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    stream_id: str
    sequence: int = Field(ge=1)
    schema_version: int = 1
    occurred_at: AwareDatetime
    actor: Actor


class InitiativeLaunched(DomainEvent):
    type: Literal["InitiativeLaunched"] = "InitiativeLaunched"
    payload: InitiativeLaunchedPayload


class CohortStarted(DomainEvent):
    type: Literal["CohortStarted"] = "CohortStarted"
    payload: CohortStartedPayload


class SiteEnrolled(DomainEvent):
    type: Literal["SiteEnrolled"] = "SiteEnrolled"
    payload: SiteEnrolledPayload


class StageEntered(DomainEvent):
    type: Literal["StageEntered"] = "StageEntered"
    payload: StageEnteredPayload


class AssessmentSubmitted(DomainEvent):
    type: Literal["AssessmentSubmitted"] = "AssessmentSubmitted"
    payload: AssessmentSubmittedPayload


class CriteriaEvaluated(DomainEvent):
    type: Literal["CriteriaEvaluated"] = "CriteriaEvaluated"
    payload: CriteriaEvaluatedPayload


class StageMoveRequested(DomainEvent):
    type: Literal["StageMoveRequested"] = "StageMoveRequested"
    payload: StageMoveRequestedPayload


class StageMoveApproved(DomainEvent):
    type: Literal["StageMoveApproved"] = "StageMoveApproved"
    payload: StageMoveApprovedPayload


class StageMoveDeclined(DomainEvent):
    type: Literal["StageMoveDeclined"] = "StageMoveDeclined"
    payload: StageMoveDeclinedPayload


class StageMoveOverridden(DomainEvent):
    type: Literal["StageMoveOverridden"] = "StageMoveOverridden"
    payload: StageMoveOverriddenPayload


class PdSessionScheduled(DomainEvent):
    type: Literal["PdSessionScheduled"] = "PdSessionScheduled"
    payload: PdSessionScheduledPayload


class PdSessionHeld(DomainEvent):
    type: Literal["PdSessionHeld"] = "PdSessionHeld"
    payload: PdSessionHeldPayload


class CoachingCycleStarted(DomainEvent):
    type: Literal["CoachingCycleStarted"] = "CoachingCycleStarted"
    payload: CoachingCycleStartedPayload


class CoachingCycleCompleted(DomainEvent):
    type: Literal["CoachingCycleCompleted"] = "CoachingCycleCompleted"
    payload: CoachingCycleCompletedPayload


class FidelityAssessed(DomainEvent):
    type: Literal["FidelityAssessed"] = "FidelityAssessed"
    payload: FidelityAssessedPayload


class ReviewHeld(DomainEvent):
    type: Literal["ReviewHeld"] = "ReviewHeld"
    payload: ReviewHeldPayload


class TaskAssigned(DomainEvent):
    type: Literal["TaskAssigned"] = "TaskAssigned"
    payload: TaskAssignedPayload


class TaskCompleted(DomainEvent):
    type: Literal["TaskCompleted"] = "TaskCompleted"
    payload: TaskCompletedPayload


class TaskWithdrawn(DomainEvent):
    type: Literal["TaskWithdrawn"] = "TaskWithdrawn"
    payload: TaskWithdrawnPayload


class TaskReminderSent(DomainEvent):
    type: Literal["TaskReminderSent"] = "TaskReminderSent"
    payload: TaskReminderSentPayload


class TaskOverdue(DomainEvent):
    type: Literal["TaskOverdue"] = "TaskOverdue"
    payload: TaskOverduePayload


class TaskEscalated(DomainEvent):
    type: Literal["TaskEscalated"] = "TaskEscalated"
    payload: TaskEscalatedPayload


class TaskReassigned(DomainEvent):
    type: Literal["TaskReassigned"] = "TaskReassigned"
    payload: TaskReassignedPayload


class TaskDueDateExtended(DomainEvent):
    type: Literal["TaskDueDateExtended"] = "TaskDueDateExtended"
    payload: TaskDueDateExtendedPayload


class TaskWaived(DomainEvent):
    type: Literal["TaskWaived"] = "TaskWaived"
    payload: TaskWaivedPayload


class TaskDueDatesShifted(DomainEvent):
    type: Literal["TaskDueDatesShifted"] = "TaskDueDatesShifted"
    payload: TaskDueDatesShiftedPayload


class RolloutPaused(DomainEvent):
    type: Literal["RolloutPaused"] = "RolloutPaused"
    payload: RolloutPausedPayload


class RolloutResumed(DomainEvent):
    type: Literal["RolloutResumed"] = "RolloutResumed"
    payload: RolloutResumedPayload


class RolloutCancelled(DomainEvent):
    type: Literal["RolloutCancelled"] = "RolloutCancelled"
    payload: RolloutCancelledPayload


class SiteRegressed(DomainEvent):
    type: Literal["SiteRegressed"] = "SiteRegressed"
    payload: SiteRegressedPayload


class SiteCompleted(DomainEvent):
    type: Literal["SiteCompleted"] = "SiteCompleted"
    payload: SiteCompletedPayload


class ActionItemsProposed(DomainEvent):
    type: Literal["ActionItemsProposed"] = "ActionItemsProposed"
    payload: ActionItemsProposedPayload


class ActionItemAccepted(DomainEvent):
    type: Literal["ActionItemAccepted"] = "ActionItemAccepted"
    payload: ActionItemAcceptedPayload


class ActionItemsMerged(DomainEvent):
    type: Literal["ActionItemsMerged"] = "ActionItemsMerged"
    payload: ActionItemsMergedPayload


class ActionItemDismissed(DomainEvent):
    type: Literal["ActionItemDismissed"] = "ActionItemDismissed"
    payload: ActionItemDismissedPayload


class SimrDefined(DomainEvent):
    type: Literal["SimrDefined"] = "SimrDefined"
    payload: SimrDefinedPayload


class SimrTargetSet(DomainEvent):
    type: Literal["SimrTargetSet"] = "SimrTargetSet"
    payload: SimrTargetSetPayload


class SimrActualRecorded(DomainEvent):
    type: Literal["SimrActualRecorded"] = "SimrActualRecorded"
    payload: SimrActualRecordedPayload


class SsipPartRecorded(DomainEvent):
    type: Literal["SsipPartRecorded"] = "SsipPartRecorded"
    payload: SsipPartRecordedPayload


class InfrastructureActivityCompleted(DomainEvent):
    type: Literal["InfrastructureActivityCompleted"] = "InfrastructureActivityCompleted"
    payload: InfrastructureActivityCompletedPayload


class StakeholderEngagementRecorded(DomainEvent):
    type: Literal["StakeholderEngagementRecorded"] = "StakeholderEngagementRecorded"
    payload: StakeholderEngagementRecordedPayload


class ReflectionAnswered(DomainEvent):
    type: Literal["ReflectionAnswered"] = "ReflectionAnswered"
    payload: ReflectionAnsweredPayload


class PlanChangeRecorded(DomainEvent):
    type: Literal["PlanChangeRecorded"] = "PlanChangeRecorded"
    payload: PlanChangeRecordedPayload


class SsipTaskAssigned(DomainEvent):
    type: Literal["SsipTaskAssigned"] = "SsipTaskAssigned"
    payload: SsipTaskAssignedPayload


class SsipTaskCompleted(DomainEvent):
    type: Literal["SsipTaskCompleted"] = "SsipTaskCompleted"
    payload: SsipTaskCompletedPayload


class SsipTaskOverdue(DomainEvent):
    type: Literal["SsipTaskOverdue"] = "SsipTaskOverdue"
    payload: SsipTaskOverduePayload


SSIP_EVENT_TYPES: tuple[type[DomainEvent], ...] = (
    SimrDefined, SimrTargetSet, SimrActualRecorded, SsipPartRecorded,
    InfrastructureActivityCompleted, StakeholderEngagementRecorded, ReflectionAnswered,
    PlanChangeRecorded, SsipTaskAssigned, SsipTaskCompleted, SsipTaskOverdue,
)

EVENT_TYPES: tuple[type[DomainEvent], ...] = (
    InitiativeLaunched, CohortStarted, SiteEnrolled, StageEntered, AssessmentSubmitted,
    CriteriaEvaluated, StageMoveRequested, StageMoveApproved, StageMoveOverridden,
    PdSessionScheduled, PdSessionHeld, CoachingCycleStarted, CoachingCycleCompleted,
    FidelityAssessed, ReviewHeld, TaskAssigned, TaskCompleted, TaskWithdrawn, TaskReminderSent,
    TaskOverdue, TaskEscalated, RolloutPaused, RolloutResumed, RolloutCancelled, SiteRegressed,
    SiteCompleted, StageMoveDeclined, TaskReassigned, TaskDueDateExtended, TaskWaived,
    TaskDueDatesShifted, ActionItemsProposed, ActionItemAccepted, ActionItemsMerged,
    ActionItemDismissed, *SSIP_EVENT_TYPES,
)

Event = Annotated[
    Union[
        InitiativeLaunched, CohortStarted, SiteEnrolled, StageEntered, AssessmentSubmitted,
        CriteriaEvaluated, StageMoveRequested, StageMoveApproved, StageMoveOverridden,
        PdSessionScheduled, PdSessionHeld, CoachingCycleStarted, CoachingCycleCompleted,
        FidelityAssessed, ReviewHeld, TaskAssigned, TaskCompleted, TaskWithdrawn, TaskReminderSent,
        TaskOverdue, TaskEscalated, RolloutPaused, RolloutResumed, RolloutCancelled, SiteRegressed,
        SiteCompleted, StageMoveDeclined, TaskReassigned, TaskDueDateExtended, TaskWaived,
        TaskDueDatesShifted, ActionItemsProposed, ActionItemAccepted, ActionItemsMerged,
        ActionItemDismissed, SimrDefined, SimrTargetSet, SimrActualRecorded, SsipPartRecorded,
        InfrastructureActivityCompleted, StakeholderEngagementRecorded, ReflectionAnswered,
        PlanChangeRecorded, SsipTaskAssigned, SsipTaskCompleted, SsipTaskOverdue,
    ],
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENTS_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[Event])

_EVENT_FOR_PAYLOAD: dict[type[_Payload], type[DomainEvent]] = {
    cls.model_fields["payload"].annotation: cls for cls in EVENT_TYPES  # type: ignore[misc]
}


def envelope(
    payloads: list[_Payload], *, stream_id: str, after: int, occurred_at, actor: Actor
) -> list[Event]:
    """Wrap payloads as the next events of a stream, numbered after version `after`."""
    events = []
    for offset, payload in enumerate(payloads, start=1):
        sequence = after + offset
        cls = _EVENT_FOR_PAYLOAD[type(payload)]
        events.append(cls(
            event_id=event_id_for(stream_id, sequence), stream_id=stream_id, sequence=sequence,
            occurred_at=occurred_at, actor=actor, payload=payload,
        ))
    return events
