"""The API's own request and response shapes. Workflow requests and domain instruments are reused
as they are (an assessment body is domain.instruments.Assessment), so the API validates exactly
what the workflow would."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.actors import PersonRole
from domain.commands import ASSIGNEE_PATTERN, Outcome
from domain.errors import DomainError
from domain.instruments import Assessment, WholeNumber
from domain.stages import Stage
from domain.storable import MOST_KEYS, require_storable
from rollouts.escalations import EscalatedTask
from store.board_queries import BoardCell
from store.tokens import refuse_reserved
from workflows.models import UpdateOutcome

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
TEXT_ID = r"^[^\x00-\x1f\x7f]+$"
"""An id in a path or query: any printable text."""
TaskStatus = Literal["open", "completed", "withdrawn", "waived"]


def _moment(value: datetime) -> datetime:
    """A moment the store can hold; without a zone it is UTC (as the CLI reads it)."""
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not 1900 <= value.year <= 2200:
        raise ValueError(f"must be between the years 1900 and 2200, not {value.year}")
    return value


Moment = Annotated[datetime, AfterValidator(_moment)]


class _Body(BaseModel):
    """A request body, refused with a 422 naming the field when the event store could not hold
    it (domain/storable.py): the workflow would accept it and then fail to record it."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _storable(self) -> "_Body":
        try:
            require_storable(self.model_dump(mode="python"))
        except DomainError as refused:
            raise ValueError(refused.message) from None
        return self


class Task(BaseModel):
    task_id: str
    initiative_id: str
    site_id: str | None = Field(description="None for the state team's SSIP tasks (kind "
                                            "'ssip_...'), which belong to no site")
    district_id: str | None
    kind: str
    title: str
    stage: Stage | None
    assignee_role: str
    instrument: str | None
    ref: str | None
    due: date
    status: TaskStatus
    reminded: bool
    overdue: bool
    escalated: bool
    escalated_to: str | None
    assigned_at: datetime
    completed_at: datetime | None
    completed_by: str | None
    assignee: str | None = Field(default=None, description="the person or team the state team "
                                 "reassigned it to (`team:...`, `person:...`), if any")
    escalated_at: datetime | None = None
    waived_at: datetime | None = None
    waived_by: str | None = None
    waived_reason: str | None = None


class TaskPage(BaseModel):
    tasks: list[Task]
    limit: int
    offset: int


class CompleteTask(_Body):
    outcome: Outcome = Field(default_factory=dict, max_length=MOST_KEYS,
                             description="what was done, e.g. {\"attendees\": 24} for a PD session")


class SubmitAssessment(_Body):
    assessment_id: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="your id for this submission; sending the same id again records nothing new "
                    "(safe retries). Generated when omitted.")
    task_id: str | None = Field(default=None, min_length=1, max_length=200,
                                description="the task it answers (default: the open one asking "
                                            "for this instrument)")
    assessment: Assessment


class ActionResult(BaseModel):
    initiative_id: str
    site_id: str
    task_id: str | None = None
    assessment_id: str | None = None
    outcome: UpdateOutcome


class EscalationLinks(BaseModel):
    site: str = Field(description="the site's status in this API")
    page: str = Field(description="the site's web page")


class Escalation(EscalatedTask):
    links: EscalationLinks


class EscalationPage(BaseModel):
    escalations: list[Escalation]
    limit: int
    offset: int


Reason = Annotated[str, Field(min_length=3, max_length=2000,
                              description="why: recorded with the decision in the audit trail")]


class ReassignTask(_Body):
    assignee: str = Field(pattern=ASSIGNEE_PATTERN, max_length=200,
                          description="the person or team it goes to, with its kind: "
                                      "`team:district:cedar-falls-sd`, `person:ann@example.org`")
    reason: Reason


class ExtendTask(_Body):
    due: date = Field(description="the new due date: a school day after today and after the "
                                  "current due date")
    reason: Reason


class WaiveTask(_Body):
    reason: Reason


class Board(BaseModel):
    initiative_id: str
    district: str | None = Field(description="the district the board is narrowed to, if any")
    moments: list[datetime]
    cells: list[BoardCell]


class AuditedEvent(BaseModel):
    position: int
    recorded_at: datetime
    summary: str
    event: dict[str, Any] = Field(description="the event as stored, small cells suppressed")


class StageMoveView(BaseModel):
    sequence: int
    from_stage: Stage | None
    to_stage: Stage
    reason: str
    trigger: str
    evidence: list[str]
    checks: list[dict[str, Any]]


class SiteAudit(BaseModel):
    initiative_id: str
    site_id: str
    events: list[AuditedEvent]
    moves: list[StageMoveView]


class InitiativeAuditSite(BaseModel):
    site_id: str
    name: str
    district_id: str
    region: str
    cohort_id: str
    stage: Stage | None
    status: str


class InitiativeAudit(BaseModel):
    initiative_id: str
    events: list[AuditedEvent]
    sites: list[InitiativeAuditSite]


class AuditEvents(BaseModel):
    count: int
    events: list[AuditedEvent]


class TokenRequest(_Body):
    role: PersonRole
    district: str | None = Field(default=None, pattern=SLUG, max_length=64,
                                 description="required for coordinators and coaches")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    actor_id: str | None = Field(default=None, min_length=1, max_length=200,
                                 description="the staff account recorded as acting; never one "
                                             "the engine keeps for itself (rollout-engine, "
                                             "rollout-...)")
    expires_in_days: WholeNumber = Field(default=90, ge=1, le=3650)

    @field_validator("actor_id")
    @classmethod
    def _a_person(cls, actor_id: str | None) -> str | None:
        if actor_id is not None:
            refuse_reserved(actor_id, "actor_id")
        return actor_id


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    database: str
    temporal: str


class StageDecision(_Body):
    """A state admin's decision about a site's stage (rollouts/decisions.py)."""

    decision: Literal["approve", "decline", "override", "send_back"] = Field(
        description="approve or decline the move waiting for the state; override a failed gate "
                    "(one stage forward); send the site back to an earlier stage")
    reason: str = Field(default="", max_length=2000,
                        description="why: required to decline, override or send back (at least "
                                    "10 characters); an approval's note is optional")
    to_stage: Stage | None = Field(default=None, description="default: the move waiting "
                                   "(approve, decline), the next stage (override), the one before "
                                   "(send back)")


class Control(_Body):
    """Pause, resume or cancel, with the reason recorded beside the person."""

    action: Literal["pause", "resume", "cancel"]
    reason: str = Field(min_length=3, max_length=2000, description="why; recorded with the decision")


class CohortOpening(_Body):
    reason: str = Field(min_length=10, max_length=2000,
                        description="why the state opens the cohort; recorded with its start")


class PlanText(BaseModel):
    """A plan's text: not a record of its own (the parsed plan is checked as `rollout plan
    validate` checks it), so not held to a recorded answer's size."""

    model_config = ConfigDict(extra="forbid")

    plan_yaml: str = Field(min_length=1, max_length=900_000, description="the plan, as YAML text")
    source: str = Field(default="plan.yaml", min_length=1, max_length=200,
                        description="the name problems are reported under (e.g. the file name)")


class Launch(PlanText):
    initiative_id: str | None = Field(default=None, description="launch under this id instead "
                                      "of the plan's")
    speedup: float = Field(default=1.0, ge=1.0, le=10_000_000,
                           description="school time this many times faster than real time")
