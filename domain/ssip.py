"""The state's SSIP as work: the rules over its record, phase by phase and year by year.

One stream per initiative's SSIP (`ssip/<initiative id>`, domain/events.py says why) holds every
Phase I and II record, each federal fiscal year's Phase III figures, and the state team's yearly
tasks. `fold` reads the stream into an `SsipState`; `decide` rules on one command and answers with
the events to append (none when the command changes nothing, so entering the same figure twice
records it once). Refusals are DomainErrors naming the field and value.

The yearly cycle: the SPP/APR holding the SSIP report for FFY Y (the school year Y to Y+1) is due
on 1 February of Y+2. On 1 November of Y+1 the state team is given its tasks for FFY Y (enter the
SiMR actual, record stakeholder engagement, answer the five reflection questions), due 31 January
of Y+2. Recording what a task asks completes it; a task still open when its due date has passed
is marked overdue. A change to what was recorded before (the SiMR, a target, a plan part, a
year's figures) needs a reason, and is a change to the plan the report lists with it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Iterable, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain import events as ev
from domain.actors import Actor, Role, require_state_admin
from domain.errors import DomainError
from domain.ssip_records import (
    PART_NAMES, PHASE_PARTS, QUESTIONS, EvaluationPlan, Ffy, ImplementationPlan,
    ImprovementStrategies, InfrastructureActivities, Percent, PlanPart, Question, SimrDefinition,
    StakeholderGroup, Text, TheoryOfAction,
)

TASK_KINDS: tuple[ev.SsipTaskKind, ...] = ("simr_actual", "stakeholder_engagement", "reflection")
TASK_TITLES = {
    "simr_actual": "Enter the SiMR actual for FFY {ffy} ({label})",
    "stakeholder_engagement": "Record stakeholder engagement for FFY {ffy} ({label}): meetings "
                              "and participants by group",
    "reflection": "Answer the five reflection questions for FFY {ffy} ({label})",
}


# --- the federal fiscal year and its report ----------------------------------------------------

def ffy_of(day: date) -> int:
    """The FFY a day falls in: FFY 2026 runs from 1 July 2026 to 30 June 2027."""
    return day.year if day.month >= 7 else day.year - 1


def ffy_first_day(ffy: int) -> date:
    return date(ffy, 7, 1)


def ffy_last_day(ffy: int) -> date:
    return date(ffy + 1, 6, 30)


def ffy_label(ffy: int) -> str:
    """'2026-27': the school year the FFY holds."""
    return f"{ffy}-{(ffy + 1) % 100:02d}"


def report_due(ffy: int) -> date:
    """The SPP/APR holding FFY Y's SSIP report is due on 1 February of Y+2."""
    return date(ffy + 2, 2, 1)


def tasks_assigned_on(ffy: int) -> date:
    """When the state team is given FFY Y's tasks: 1 November of Y+1, three months ahead."""
    return date(ffy + 1, 11, 1)


def task_due(ffy: int) -> date:
    """The day before the report is due."""
    return date(ffy + 2, 1, 31)


def task_id(initiative_id: str, ffy: int, kind: str) -> str:
    return f"ssip:{initiative_id}:ffy{ffy}:{kind.replace('_', '-')}"


# --- state -------------------------------------------------------------------------------------

class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Actual(_Frozen):
    percent: float
    source: str
    data_source: str
    note: str
    recorded_at: datetime


class Change(_Frozen):
    """A change to the plan with its reason: a revision of something recorded, or one the state
    team wrote down for the year."""

    at: datetime
    ffy: int
    what: str
    reason: str
    by: str


class Completion(_Frozen):
    completed_on: date
    note: str


class SsipTask(_Frozen):
    task_id: str
    kind: str
    title: str
    ffy: int
    due: date
    status: Literal["open", "completed"] = "open"
    overdue: bool = False


class SsipState(_Frozen):
    initiative_id: str
    stream_id: str
    version: int = 0
    simr: SimrDefinition | None = None
    targets: dict[int, float] = Field(default_factory=dict)
    actuals: dict[int, Actual] = Field(default_factory=dict)
    parts: dict[str, PlanPart] = Field(default_factory=dict)
    done: dict[str, Completion] = Field(default_factory=dict)
    stakeholders: dict[int, tuple[StakeholderGroup, ...]] = Field(default_factory=dict)
    reflections: dict[int, dict[Question, str]] = Field(default_factory=dict)
    changes: tuple[Change, ...] = ()
    tasks: dict[str, SsipTask] = Field(default_factory=dict)
    last_recorded_at: datetime | None = None

    def missing(self, phase: str) -> list[str]:
        """The parts of a planning phase ('I' or 'II') not recorded yet, in plain words."""
        have = set(self.parts) | ({"simr"} if self.simr else set()) | \
            ({"targets"} if self.targets else set())
        return [PART_NAMES[p] for p in PHASE_PARTS[phase] if p not in have]

    def strategies(self) -> dict[str, str]:
        """Strategy id -> title, as recorded in Phase I."""
        part = self.parts.get("improvement_strategies")
        return {s.id: s.title for s in part.strategies} if isinstance(
            part, ImprovementStrategies) else {}

    def open_tasks(self) -> list[SsipTask]:
        return sorted((t for t in self.tasks.values() if t.status == "open"),
                      key=lambda t: (t.due, t.task_id))


def empty(initiative_id: str) -> SsipState:
    return SsipState(initiative_id=initiative_id, stream_id=ev.ssip_stream(initiative_id))


def fold(events: Iterable[ev.Event], state: SsipState) -> SsipState:
    for e in events:
        state = state.model_copy(update={"version": e.sequence, "last_recorded_at": e.occurred_at,
                                         **_changes(state, e)})
    return state


def _changes(s: SsipState, e: ev.Event) -> dict:
    p = e.payload
    match e.type:
        case "SimrDefined":
            out: dict = {"simr": p.simr}
            return out | _revision(s, e, "the SiMR and its baseline", p.reason, s.simr is not None)
        case "SimrTargetSet":
            return {"targets": {**s.targets, p.ffy: p.percent}} | _revision(
                s, e, f"the SiMR target for FFY {p.ffy}: {p.previous:.1f}% to {p.percent:.1f}%"
                if p.previous is not None else "", p.reason, p.previous is not None)
        case "SimrActualRecorded":
            actual = Actual(percent=p.percent, source=p.source, data_source=p.data_source,
                            note=p.note, recorded_at=e.occurred_at)
            return {"actuals": {**s.actuals, p.ffy: actual}} | _revision(
                s, e, f"the SiMR actual for FFY {p.ffy}: {p.previous:.1f}% to {p.percent:.1f}%"
                if p.previous is not None else "", p.reason, p.previous is not None, p.ffy)
        case "SsipPartRecorded":
            part = p.record.part
            return {"parts": {**s.parts, part: p.record}} | _revision(
                s, e, PART_NAMES[part], p.reason, p.revised)
        case "InfrastructureActivityCompleted":
            return {"done": {**s.done, p.activity_id: Completion(completed_on=p.completed_on,
                                                                 note=p.note)}}
        case "StakeholderEngagementRecorded":
            return {"stakeholders": {**s.stakeholders, p.ffy: tuple(p.groups)}} | _revision(
                s, e, f"stakeholder engagement for FFY {p.ffy}", p.reason, p.revised, p.ffy)
        case "ReflectionAnswered":
            merged = {**s.reflections.get(p.ffy, {}), **p.answers}
            return {"reflections": {**s.reflections, p.ffy: merged}}
        case "PlanChangeRecorded":
            return {"changes": s.changes + (Change(at=e.occurred_at, ffy=p.ffy, what=p.change,
                                                   reason=p.reason, by=e.actor.id),)}
        case "SsipTaskAssigned":
            task = SsipTask(task_id=p.task_id, kind=p.kind, title=p.title, ffy=p.ffy, due=p.due)
            return {"tasks": {**s.tasks, p.task_id: task}}
        case "SsipTaskCompleted":
            return _task_update(s, p.task_id, status="completed")
        case "SsipTaskOverdue":
            return _task_update(s, p.task_id, overdue=True)
    return {}


def _revision(s: SsipState, e: ev.Event, what: str, reason: str, revised: bool,
              ffy: int | None = None) -> dict:
    if not revised:
        return {}
    change = Change(at=e.occurred_at, ffy=ffy if ffy is not None else ffy_of(e.occurred_at.date()),
                    what=f"Changed {what}", reason=reason, by=e.actor.id)
    return {"changes": s.changes + (change,)}


def _task_update(s: SsipState, task: str, **fields) -> dict:
    if task not in s.tasks:
        return {}
    return {"tasks": {**s.tasks, task: s.tasks[task].model_copy(update=fields)}}


# --- commands ----------------------------------------------------------------------------------

class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: AwareDatetime
    """School time (the initiative's clock), as every other event of the initiative."""
    actor: Actor


class _Revisable(_Command):
    reason: str = Field(default="", max_length=2000,
                        description="why: required when it changes what was recorded before")


class DefineSimr(_Revisable):
    simr: SimrDefinition


class SetTarget(_Revisable):
    ffy: Ffy
    percent: Percent


class RecordActual(_Revisable):
    ffy: Ffy
    percent: Percent
    source: Literal["entered", "imported"] = "entered"
    data_source: str = Field(default="", max_length=2000)
    note: str = Field(default="", max_length=2000)


class RecordPart(_Revisable):
    record: PlanPart


class CompleteActivity(_Command):
    activity_id: str
    completed_on: date
    note: str = Field(default="", max_length=2000)


class RecordStakeholders(_Revisable):
    ffy: Ffy
    groups: list[StakeholderGroup] = Field(max_length=100)


class AnswerReflection(_Command):
    ffy: Ffy
    answers: dict[Question, Text]


class RecordPlanChange(_Command):
    ffy: Ffy
    change: Text
    reason: Text


class AssignYearTasks(_Command):
    """The engine (or a state admin) gives the state team its tasks for a year's report."""

    ffy: Ffy


class MarkOverdue(_Command):
    ffy: Ffy


Command = (DefineSimr | SetTarget | RecordActual | RecordPart | CompleteActivity |
           RecordStakeholders | AnswerReflection | RecordPlanChange | AssignYearTasks |
           MarkOverdue)


def decide(state: SsipState, command: Command) -> list[ev.Event]:
    """The events recording the command (none when nothing changes); a DomainError naming the
    field when the rules refuse it."""
    if isinstance(command, (AssignYearTasks, MarkOverdue)):
        if command.actor.role not in (Role.SYSTEM, Role.STATE_ADMIN):
            raise DomainError(f"Only the engine or a state admin may assign the SSIP's tasks; "
                              f"{command.actor.id} is a {command.actor.role.value}.",
                              field="actor.role", value=command.actor.role.value)
    else:
        require_state_admin(command.actor, "record the SSIP")
    payloads = _decide(state, command)
    return ev.envelope(payloads, stream_id=state.stream_id, after=state.version,
                       occurred_at=command.at, actor=command.actor)


def execute(state: SsipState, commands: Iterable[Command]) -> tuple[SsipState, list[ev.Event]]:
    """Several commands in order, each decided on the state the ones before left: all of them
    stand or (a DomainError) none."""
    recorded: list[ev.Event] = []
    for command in commands:
        events = decide(state, command)
        state = fold(events, state)
        recorded += events
    return state, recorded


def _decide(s: SsipState, c: Command) -> list:
    match c:
        case DefineSimr():
            return _define(s, c)
        case SetTarget():
            return _target(s, c)
        case RecordActual():
            return _actual(s, c)
        case RecordPart():
            return _part(s, c)
        case CompleteActivity():
            return _activity_done(s, c)
        case RecordStakeholders():
            return _stakeholders(s, c)
        case AnswerReflection():
            return _reflection(s, c)
        case RecordPlanChange():
            return _plan_change(s, c)
        case AssignYearTasks():
            return _assign(s, c)
        case MarkOverdue():
            return _overdue(s, c)
    raise TypeError(f"not an SSIP command: {c!r}")


def _need_reason(c: _Revisable, what: str) -> None:
    if not c.reason.strip():
        raise DomainError(f"{what} is already recorded differently; changing it is a change to "
                          "the plan: give the reason (--reason).", field="reason", value=c.reason)


def _define(s: SsipState, c: DefineSimr) -> list:
    if s.simr == c.simr:
        return []
    early = sorted(ffy for ffy in s.targets if ffy <= c.simr.baseline_ffy)
    if early:
        raise DomainError(
            f"The baseline year FFY {c.simr.baseline_ffy} would come after the targets already "
            f"set for FFY {', '.join(map(str, early))}: targets follow the baseline.",
            field="simr.baseline_ffy", value=c.simr.baseline_ffy)
    if s.simr is not None:
        _need_reason(c, "The SiMR")
    return [ev.SimrDefinedPayload(simr=c.simr, reason=c.reason.strip())]


def _require_simr(s: SsipState, field: str, value: object) -> SimrDefinition:
    if s.simr is None:
        raise DomainError("The SiMR and its baseline are not recorded yet; record them first "
                          "(`rollout ssip simr set`, or `simr:` in the Phase I document).",
                          field=field, value=value)
    return s.simr


def _target(s: SsipState, c: SetTarget) -> list:
    simr = _require_simr(s, "ffy", c.ffy)
    if c.ffy <= simr.baseline_ffy:
        raise DomainError(f"FFY {c.ffy} is not after the baseline year FFY {simr.baseline_ffy}; "
                          "targets are set for the years after it.", field="ffy", value=c.ffy)
    previous = s.targets.get(c.ffy)
    if previous == c.percent:
        return []
    if previous is not None:
        _need_reason(c, f"The target for FFY {c.ffy} ({previous:.1f}%)")
    return [ev.SimrTargetSetPayload(ffy=c.ffy, percent=c.percent, previous=previous,
                                    reason=c.reason.strip())]


def _actual(s: SsipState, c: RecordActual) -> list:
    simr = _require_simr(s, "ffy", c.ffy)
    if c.ffy <= simr.baseline_ffy:
        raise DomainError(f"FFY {c.ffy} is not after the baseline year FFY {simr.baseline_ffy} "
                          f"({simr.baseline:.1f}%); a new baseline is a change of the SiMR "
                          "(`rollout ssip simr set` with a reason).", field="ffy", value=c.ffy)
    if c.at.date() <= ffy_last_day(c.ffy):
        raise DomainError(f"FFY {c.ffy} runs until {ffy_last_day(c.ffy):%-d %B %Y}; its SiMR "
                          "actual can be entered once the year is over.", field="ffy", value=c.ffy)
    known = s.actuals.get(c.ffy)
    same = known is not None and (known.percent, known.data_source, known.note) == (
        c.percent, c.data_source.strip(), c.note.strip())
    payloads: list = []
    if not same:
        if known is not None and known.percent != c.percent:
            _need_reason(c, f"The SiMR actual for FFY {c.ffy} ({known.percent:.1f}%)")
        payloads.append(ev.SimrActualRecordedPayload(
            ffy=c.ffy, percent=c.percent, source=c.source, data_source=c.data_source.strip(),
            note=c.note.strip(), previous=known.percent if known and known.percent != c.percent
            else None, reason=c.reason.strip()))
    return payloads + _complete(s, c.ffy, "simr_actual")


def _part(s: SsipState, c: RecordPart) -> list:
    record, part = c.record, c.record.part
    if s.parts.get(part) == record:
        return []
    _check_strategies(s, record)
    revised = part in s.parts
    if revised:
        _need_reason(c, f"The {PART_NAMES[part]}")
    return [ev.SsipPartRecordedPayload(record=record, revised=revised, reason=c.reason.strip())]


def _check_strategies(s: SsipState, record: PlanPart) -> None:
    """Theory of action strands, links, activities and measures name strategies recorded."""
    named: list[tuple[str, str]] = []
    if isinstance(record, TheoryOfAction):
        named = [(f"strands[{i}].strategy", x.strategy) for i, x in enumerate(record.strands)]
    elif isinstance(record, ImplementationPlan):
        named = [(f"links[{i}].strategy", x.strategy) for i, x in enumerate(record.links)]
    elif isinstance(record, InfrastructureActivities):
        named = [(f"activities[{i}].strategy", x.strategy) for i, x in enumerate(record.activities)
                 if x.strategy]
    elif isinstance(record, EvaluationPlan):
        named = [(f"measures[{i}].strategy", x.strategy) for i, x in enumerate(record.measures)
                 if x.strategy]
    known = s.strategies()
    for field, strategy in named:
        if strategy not in known:
            listed = f"the strategies recorded are {', '.join(sorted(known))}" if known else \
                "no improvement strategies are recorded yet (Phase I)"
            raise DomainError(f"Strategy '{strategy}' is not one of the SSIP's improvement "
                              f"strategies: {listed}.", field=f"{record.part}.{field}",
                              value=strategy)


def _activity_done(s: SsipState, c: CompleteActivity) -> list:
    activities = s.parts.get("infrastructure_activities")
    known = {a.id: a for a in activities.activities} if isinstance(
        activities, InfrastructureActivities) else {}
    if c.activity_id not in known:
        listed = ", ".join(sorted(known)) or "none recorded yet (Phase II)"
        raise DomainError(f"There is no infrastructure activity '{c.activity_id}' in the SSIP "
                          f"(activities: {listed}).", field="activity", value=c.activity_id)
    if c.completed_on > c.at.date():
        raise DomainError(f"Activity '{c.activity_id}' cannot be completed on "
                          f"{c.completed_on:%-d %B %Y}, a day still to come.",
                          field="completed_on", value=c.completed_on.isoformat())
    done = Completion(completed_on=c.completed_on, note=c.note.strip())
    if s.done.get(c.activity_id) == done:
        return []
    return [ev.InfrastructureActivityCompletedPayload(
        activity_id=c.activity_id, completed_on=c.completed_on, note=c.note.strip())]


def _stakeholders(s: SsipState, c: RecordStakeholders) -> list:
    names = [g.group.casefold() for g in c.groups]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise DomainError(f"Group '{c.groups[i].group}' is listed twice for FFY {c.ffy}.",
                              field=f"groups[{i}].group", value=c.groups[i].group)
    known = s.stakeholders.get(c.ffy)
    payloads: list = []
    if known != tuple(c.groups):
        if known is not None:
            _need_reason(c, f"Stakeholder engagement for FFY {c.ffy}")
        payloads.append(ev.StakeholderEngagementRecordedPayload(
            ffy=c.ffy, groups=c.groups, revised=known is not None, reason=c.reason.strip()))
    return payloads + _complete(s, c.ffy, "stakeholder_engagement")


def _reflection(s: SsipState, c: AnswerReflection) -> list:
    known = s.reflections.get(c.ffy, {})
    new = {q: a for q, a in c.answers.items() if known.get(q) != a}
    payloads: list = [ev.ReflectionAnsweredPayload(ffy=c.ffy, answers=new)] if new else []
    if set(known) | set(c.answers) >= set(QUESTIONS):
        payloads += _complete(s, c.ffy, "reflection")
    return payloads


def _plan_change(s: SsipState, c: RecordPlanChange) -> list:
    if any((x.ffy, x.what, x.reason) == (c.ffy, c.change, c.reason) for x in s.changes):
        return []
    return [ev.PlanChangeRecordedPayload(ffy=c.ffy, change=c.change, reason=c.reason)]


def _complete(s: SsipState, ffy: int, kind: str) -> list:
    task = s.tasks.get(task_id(s.initiative_id, ffy, kind))
    return [ev.SsipTaskCompletedPayload(task_id=task.task_id)] if task and \
        task.status == "open" else []


def done_for(s: SsipState, ffy: int, kind: str) -> bool:
    """Whether the year's figures a task would ask for are recorded already."""
    if kind == "simr_actual":
        return ffy in s.actuals
    if kind == "stakeholder_engagement":
        return ffy in s.stakeholders
    return set(s.reflections.get(ffy, {})) >= set(QUESTIONS)


def _assign(s: SsipState, c: AssignYearTasks) -> list:
    label = ffy_label(c.ffy)
    return [ev.SsipTaskAssignedPayload(
        task_id=task_id(s.initiative_id, c.ffy, kind), kind=kind,
        title=TASK_TITLES[kind].format(ffy=c.ffy, label=label), ffy=c.ffy, due=task_due(c.ffy))
        for kind in TASK_KINDS
        if task_id(s.initiative_id, c.ffy, kind) not in s.tasks and not done_for(s, c.ffy, kind)]


def _overdue(s: SsipState, c: MarkOverdue) -> list:
    today = c.at.date()
    return [ev.SsipTaskOverduePayload(task_id=t.task_id, due=t.due) for t in s.open_tasks()
            if t.ffy == c.ffy and t.due < today and not t.overdue]
