"""Commands: what someone (or the engine) asks the site rollout to do.

Time arrives with the command (`at`), never from a clock, so deciding is deterministic.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, Union

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.actors import Actor
from domain.criteria import ExitCriteria
from domain.events import TaskKind
from domain.instruments import Assessment, Instrument
from domain.stages import Stage

Outcome = dict[str, Union[str, int, float, bool]]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: AwareDatetime
    actor: Actor


class EnrollSite(_Command):
    command: Literal["enroll_site"] = "enroll_site"
    initiative_id: str
    site_id: str
    site_name: str
    kind: Literal["district", "school"]
    region: str
    district: str | None = None
    cohort_id: str
    practitioners: int = Field(ge=1)
    criteria: ExitCriteria = ExitCriteria()
    approval_required_for: list[Stage] = Field(default_factory=list)


class AssignTask(_Command):
    command: Literal["assign_task"] = "assign_task"
    task_id: str
    kind: TaskKind
    title: str
    assignee_role: str
    due: date
    instrument: Instrument | None = None
    ref: str | None = None


class SubmitAssessment(_Command):
    command: Literal["submit_assessment"] = "submit_assessment"
    assessment_id: str = Field(min_length=1, max_length=200)
    assessment: Assessment
    task_id: str | None = None
    action_due: date | None = Field(default=None, description="when the action items it proposes "
                                    "fall due (a school day); default: the plan's weeks ahead")


class AcceptActionItem(_Command):
    """The team takes a proposed action item on, with its owner and due date (defaults: as
    proposed)."""

    command: Literal["accept_action_item"] = "accept_action_item"
    action_id: str = Field(min_length=1, max_length=300)
    owner: str | None = Field(default=None, min_length=1, max_length=200)
    due: date | None = None
    note: str = Field(default="", max_length=2000)


class MergeActionItems(_Command):
    """Fold several action items into one (the same problem named by several items)."""

    command: Literal["merge_action_items"] = "merge_action_items"
    into: str = Field(min_length=1, max_length=300)
    merged: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(min_length=1,
                                                                               max_length=200)
    title: str | None = Field(default=None, min_length=3, max_length=300)
    reason: str = Field(min_length=3, max_length=2000)


class DismissActionItem(_Command):
    command: Literal["dismiss_action_item"] = "dismiss_action_item"
    action_id: str = Field(min_length=1, max_length=300)
    reason: str = Field(min_length=3, max_length=2000)


class CompleteTask(_Command):
    command: Literal["complete_task"] = "complete_task"
    task_id: str = Field(min_length=1, max_length=200)
    outcome: Outcome = Field(default_factory=dict)


class RemindTask(_Command):
    command: Literal["remind_task"] = "remind_task"
    task_id: str


class MarkTaskOverdue(_Command):
    command: Literal["mark_task_overdue"] = "mark_task_overdue"
    task_id: str


class EscalateTask(_Command):
    command: Literal["escalate_task"] = "escalate_task"
    task_id: str
    reason: str


class EvaluateExit(_Command):
    """Judge the stage's exit; when held, ask for the missing evidence by `follow_up_due`."""

    command: Literal["evaluate_exit"] = "evaluate_exit"
    follow_up_due: date | None = None
    escalate_after_failures: int = Field(default=2, ge=1, le=20)


class ApproveStageMove(_Command):
    command: Literal["approve_stage_move"] = "approve_stage_move"
    to_stage: Stage
    note: str = Field(default="", max_length=2000)


class OverrideStageMove(_Command):
    command: Literal["override_stage_move"] = "override_stage_move"
    to_stage: Stage
    reason: str = Field(min_length=10, max_length=2000)


class RegressSite(_Command):
    command: Literal["regress_site"] = "regress_site"
    to_stage: Stage
    reason: str = Field(min_length=10, max_length=2000)


class PdSessionPlan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    session_id: str
    title: str
    on: date
    trainer_id: str
    hours: float
    capacity: int


class SchedulePdSessions(_Command):
    command: Literal["schedule_pd_sessions"] = "schedule_pd_sessions"
    sessions: list[PdSessionPlan]


class RecordPdSessionHeld(_Command):
    command: Literal["record_pd_session_held"] = "record_pd_session_held"
    session_id: str
    attendees: int = Field(ge=0, le=10_000)


class StartCoachingCycle(_Command):
    command: Literal["start_coaching_cycle"] = "start_coaching_cycle"
    cycle_id: str
    number: int = Field(ge=1)
    coach_id: str


class CompleteCoachingCycle(_Command):
    command: Literal["complete_coaching_cycle"] = "complete_coaching_cycle"
    cycle_id: str
    practitioners_observed: int = Field(ge=0, le=10_000)
    feedback_given: bool = True


class HoldReview(_Command):
    command: Literal["hold_review"] = "hold_review"
    review_id: str
    number: int = Field(ge=1)
    action_due: date


class PauseRollout(_Command):
    command: Literal["pause"] = "pause"
    reason: str = Field(min_length=3, max_length=2000)


class ResumeRollout(_Command):
    command: Literal["resume"] = "resume"
    note: str = Field(default="", max_length=2000)


class CancelRollout(_Command):
    command: Literal["cancel"] = "cancel"
    reason: str = Field(min_length=3, max_length=2000)


Command = Annotated[
    Union[
        EnrollSite, AssignTask, SubmitAssessment, CompleteTask, RemindTask, MarkTaskOverdue,
        EscalateTask, EvaluateExit, ApproveStageMove, OverrideStageMove, RegressSite,
        SchedulePdSessions, RecordPdSessionHeld, StartCoachingCycle, CompleteCoachingCycle,
        HoldReview, PauseRollout, ResumeRollout, CancelRollout, AcceptActionItem,
        MergeActionItems, DismissActionItem,
    ],
    Field(discriminator="command"),
]
