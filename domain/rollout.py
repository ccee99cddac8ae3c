"""The site rollout aggregate: `state = fold(events)`, `decide(state, command) -> events`.

`decide` either returns the new events (possibly none, when the command was already carried out:
retries are harmless) or raises a DomainError whose message says what to do instead.
"""

from __future__ import annotations

from domain import action_items
from domain import commands as cmd
from domain import events as ev
from domain.actors import Actor, Role
from domain.criteria import evaluate_exit, fidelity_collapsed
from domain.errors import DomainError
from domain.instruments import (
    SCALES, DefinedAssessment, FidelityAssessment, Instrument, score,
)
from domain.reviews import STATE_TEAM, review_findings
from domain.site_state import SiteRolloutState, TaskState, apply, counts_as_failure, fold
from domain.stages import STAGE_ORDER, Stage, is_advance, is_regression

__all__ = ["decide", "fold", "apply", "SiteRolloutState", "INSTRUMENT_STAGES"]

INSTRUMENT_STAGES: dict[Instrument, tuple[Stage, ...]] = {
    Instrument.FIT_READINESS: (Stage.EXPLORATION,),
    Instrument.ADOPTION_DECISION: (Stage.EXPLORATION,),
    Instrument.INSTALLATION_CHECKLIST: (Stage.INSTALLATION,),
    Instrument.CAPACITY: STAGE_ORDER,
    Instrument.FIDELITY: (Stage.INITIAL_IMPLEMENTATION, Stage.FULL_IMPLEMENTATION),
    Instrument.STAGE_ANALYSIS: STAGE_ORDER,
}

ENGINE_ROLES = (Role.SYSTEM, Role.STATE_ADMIN)


def decide(state: SiteRolloutState, command: cmd.Command) -> list[ev.Event]:
    """Decide what happens; raise DomainError when the rules refuse."""
    handler = _HANDLERS[type(command)]
    if not isinstance(command, cmd.EnrollSite):
        _require_enrolled(state)
    payloads = handler(state, command)
    return ev.envelope(
        payloads, stream_id=state.stream_id or _stream_for(command), after=state.version,
        occurred_at=command.at, actor=command.actor)


def execute(state: SiteRolloutState, command: cmd.Command) -> tuple[SiteRolloutState, list[ev.Event]]:
    """Decide, then fold the new events in: the usual step of an application service."""
    events = decide(state, command)
    return fold(events, state), events


# --- guards ---------------------------------------------------------------------------------

def _stream_for(command: cmd.Command) -> str:
    assert isinstance(command, cmd.EnrollSite)
    return ev.site_stream(command.initiative_id, command.site_id)


def _require_enrolled(state: SiteRolloutState) -> None:
    if state.status == "not_enrolled":
        raise DomainError("This site is not enrolled in the initiative yet.")


def _require_active(state: SiteRolloutState) -> None:
    if state.status == "paused":
        raise DomainError(
            f"The rollout at {state.site_name} is paused; ask the state team to resume it first.",
            field="status", value="paused")
    if state.status in ("cancelled", "completed"):
        raise DomainError(
            f"The rollout at {state.site_name} is {state.status}; nothing more can be recorded.",
            field="status", value=state.status)


def _require_role(actor: Actor, allowed: tuple[Role, ...], doing: str) -> None:
    if actor.role not in allowed:
        names = " or ".join(r.value.replace("_", " ") for r in allowed if r is not Role.SYSTEM)
        raise DomainError(f"Only a {names} may {doing}; {actor.id} is a {actor.role.value}.",
                          field="actor.role", value=actor.role.value)


def _require_district(state: SiteRolloutState, actor: Actor) -> None:
    if actor.role is Role.DISTRICT_COORDINATOR and not actor.may_act_for(state.district_id):
        raise DomainError(
            f"{actor.id} coordinates district '{actor.district}', not '{state.district_id}', "
            f"so cannot act for {state.site_name}.", field="actor.district", value=actor.district)


def _task(state: SiteRolloutState, task_id: str) -> TaskState:
    task = state.tasks.get(task_id)
    if task is None:
        raise DomainError(f"There is no task '{task_id}' for {state.site_name}.",
                          field="task_id", value=task_id)
    return task


# --- handlers -------------------------------------------------------------------------------

def _enroll(state: SiteRolloutState, c: cmd.EnrollSite) -> list:
    _require_role(c.actor, ENGINE_ROLES, "enroll a site")
    if state.status != "not_enrolled":
        if state.site_id == c.site_id and state.initiative_id == c.initiative_id:
            return []
        raise DomainError(f"This stream already belongs to site '{state.site_id}'.")
    if Stage.EXPLORATION in c.approval_required_for:
        raise DomainError("Exploration is where every site starts; it needs no approval.",
                          field="approval_required_for", value=Stage.EXPLORATION.value)
    return [
        ev.SiteEnrolledPayload(**c.model_dump(exclude={"at", "actor", "command"})),
        ev.StageEnteredPayload(stage=Stage.EXPLORATION, reason="enrolled"),
    ]


def _assign(state: SiteRolloutState, c: cmd.AssignTask) -> list:
    _require_role(c.actor, ENGINE_ROLES, "assign tasks")
    if c.task_id in state.tasks:
        return []
    _require_active(state)
    return [ev.TaskAssignedPayload(stage=state.stage, **c.model_dump(exclude={"at", "actor", "command"}))]


def _submit(state: SiteRolloutState, c: cmd.SubmitAssessment) -> list:
    if c.assessment_id in state.assessment_ids:
        return []
    _require_active(state)
    instrument = c.assessment.instrument
    allowed = (Role.DISTRICT_COORDINATOR, *ENGINE_ROLES)
    if instrument is Instrument.FIDELITY:
        allowed += (Role.COACH,)
    _require_role(c.actor, allowed, f"submit a {instrument.value.replace('_', ' ')}")
    _require_district(state, c.actor)
    if state.stage not in INSTRUMENT_STAGES[instrument]:
        stages = ", ".join(INSTRUMENT_STAGES[instrument])
        raise DomainError(
            f"A {instrument.value.replace('_', ' ')} is taken in {stages}; "
            f"{state.site_name} is in {state.stage}.", field="assessment.instrument",
            value=instrument.value)
    answers = c.assessment
    if isinstance(answers, DefinedAssessment):
        answers = _as_the_plan_uses(state, answers)
    task = _task_for_assessment(state, c)
    result = score(answers)
    payloads: list = [ev.AssessmentSubmittedPayload(
        assessment_id=c.assessment_id, stage=state.stage, answers=answers, score=result,
        task_id=task.task_id if task else None)]
    if isinstance(answers, FidelityAssessment) or (
            isinstance(answers, DefinedAssessment) and result.rule == "share"
            and instrument is Instrument.FIDELITY):
        payloads.append(ev.FidelityAssessedPayload(
            assessment_id=c.assessment_id, stage=state.stage, percent=result.percent,
            practitioners_assessed=answers.practitioners_assessed,
            practitioners_meeting=answers.practitioners_meeting))
    if task:
        payloads.append(ev.TaskCompletedPayload(task_id=task.task_id, assessment_id=c.assessment_id))
    if isinstance(answers, DefinedAssessment):
        due = c.action_due or action_items.default_due(
            c.at.date(), state.criteria.instruments.action_due_weeks)
        proposed = action_items.propose(state, c.assessment_id, answers, result, due)
        payloads += [proposed] if proposed else []
    return payloads


def _as_the_plan_uses(state: SiteRolloutState, answers: DefinedAssessment) -> DefinedAssessment:
    """Answers to the definition the site's plan chose for this evidence, keyed with the plan's
    action mark where it sets one (the key recorded is the one applied)."""
    use = state.criteria.instruments.for_evidence(answers.instrument)
    key = answers.key
    if use is None or (use.id, use.version) != (key.definition_id, key.version):
        chosen = use.ref if use else "no instrument defined as data"
        raise DomainError(
            f"{state.site_name}'s plan takes its {answers.instrument.value.replace('_', ' ')} "
            f"from {chosen}, not {key.ref}.", field="assessment.key.definition_id",
            value=key.definition_id)
    if use.mark is None or use.mark == key.action_mark:
        return answers
    if use.mark not in [level.value for level in SCALES[key.scale]]:
        raise DomainError(f"The plan's mark '{use.mark}' for {key.ref} is not a level of its "
                          f"{key.scale} scale.", field="criteria.instruments.mark", value=use.mark)
    return answers.model_copy(update={"key": key.model_copy(update={"action_mark": use.mark})})


def _task_for_assessment(state: SiteRolloutState, c: cmd.SubmitAssessment) -> TaskState | None:
    """The task this submission answers: the one named, or the open one for this instrument."""
    instrument = c.assessment.instrument
    if c.task_id is None:
        return next((t for t in state.open_tasks()
                     if t.kind == "submit_assessment" and t.instrument is instrument), None)
    task = _task(state, c.task_id)
    if task.kind != "submit_assessment" or task.instrument is not instrument:
        asked = task.instrument.value if task.instrument else "no assessment"
        raise DomainError(f"Task '{task.task_id}' asks for {asked.replace('_', ' ')}, "
                          f"not a {instrument.value.replace('_', ' ')}.",
                          field="assessment.instrument", value=instrument.value)
    if not task.is_open:
        raise DomainError(f"Task '{task.task_id}' is already {task.status}.",
                          field="task_id", value=task.task_id)
    return task


def _complete(state: SiteRolloutState, c: cmd.CompleteTask) -> list:
    task = _task(state, c.task_id)
    if task.status == "completed":
        return []
    _require_active(state)
    if task.status == "withdrawn":
        raise DomainError(f"Task '{task.task_id}' was withdrawn when the stage changed; "
                          "it no longer needs doing.", field="task_id", value=task.task_id)
    if task.kind == "submit_assessment":
        raise DomainError(
            f"Task '{task.task_id}' is done by submitting the "
            f"{task.instrument.value.replace('_', ' ')}, not by marking it complete.",
            field="task_id", value=task.task_id)
    if task.kind == "coaching_step":
        _require_role(c.actor, (Role.COACH, *ENGINE_ROLES), "complete a coaching step")
    else:
        _require_role(c.actor, (Role.DISTRICT_COORDINATOR, Role.COACH, *ENGINE_ROLES),
                      "complete this task")
        _require_district(state, c.actor)
    return [ev.TaskCompletedPayload(task_id=task.task_id, outcome=c.outcome)]


def _task_flag(flag: str, payload_for):
    def handler(state: SiteRolloutState, c) -> list:
        _require_role(c.actor, ENGINE_ROLES, "track task deadlines")
        task = _task(state, c.task_id)
        if not task.is_open or getattr(task, flag) or state.status != "active":
            return []
        return [payload_for(task, c)]
    return handler


def _evaluate(state: SiteRolloutState, c: cmd.EvaluateExit) -> list:
    _require_role(c.actor, ENGINE_ROLES, "evaluate exit criteria")
    _require_active(state)
    if state.pending_move is not None:
        return []
    verdict = evaluate_exit(state.stage, state.evidence, state.criteria)
    payloads: list = [ev.CriteriaEvaluatedPayload(
        stage=state.stage, met=verdict.met, checks=list(verdict.checks), evidence=state.evidence,
        explanation=verdict.explain())]
    if fidelity_collapsed(state.stage, state.evidence, state.criteria):
        # A collapse outweighs any other evidence: the site slips back even if the exit holds.
        back = STAGE_ORDER[state.stage.index - 1]
        rule = state.criteria.regression
        reason = (f"fidelity fell below {rule.fidelity_collapse_percent:g}% in "
                  f"{rule.consecutive_assessments} consecutive assessments")
        return payloads + [ev.SiteRegressedPayload(
            from_stage=state.stage, to_stage=back, reason=reason, evidence=state.evidence)
        ] + _move(state, back, "regression", list(verdict.checks))
    target = state.stage.next
    if verdict.met and target is None:
        return payloads + _withdraw_open(state, "the rollout is complete") + [
            ev.SiteCompletedPayload(stage=state.stage, checks=list(verdict.checks))]
    if verdict.met and target in state.approval_required_for:
        return payloads + [ev.StageMoveRequestedPayload(
            from_stage=state.stage, to_stage=target, explanation=verdict.explain())]
    if verdict.met:
        return payloads + _move(state, target, "criteria_met", list(verdict.checks))
    return payloads + _follow_up(state, c, verdict)


def _follow_up(state: SiteRolloutState, c: cmd.EvaluateExit, verdict) -> list:
    """Ask again for the evidence behind each unmet check; escalate checks that keep failing."""
    if c.follow_up_due is None:
        return []
    payloads: list = []
    open_by_instrument = {t.instrument: t for t in state.open_tasks() if t.kind == "submit_assessment"}
    for check in verdict.unmet():
        if check.instrument is None:
            continue
        task = open_by_instrument.get(check.instrument)
        if task is None:
            asked = sum(1 for t in state.tasks.values() if t.instrument is check.instrument)
            task_id = state.key(check.instrument.value, asked + 1)
            title = f"Submit a new {check.instrument.value.replace('_', ' ')}: {check.name} is " \
                    f"{check.actual}, needs {check.required}"
            payloads.append(ev.TaskAssignedPayload(
                task_id=task_id, kind="submit_assessment", title=title, stage=state.stage,
                assignee_role=_assignee_for(check.instrument), due=c.follow_up_due,
                instrument=check.instrument))
            open_by_instrument[check.instrument] = task = TaskState(
                task_id=task_id, kind="submit_assessment", title=title, stage=state.stage,
                assignee_role=_assignee_for(check.instrument), due=c.follow_up_due)
        if not counts_as_failure(state, check):
            continue
        failed = state.failures.get(check.name, 0) + 1
        if failed >= c.escalate_after_failures and not task.escalated:
            payloads.append(ev.TaskEscalatedPayload(
                task_id=task.task_id, escalated_to=STATE_TEAM,
                reason=f"{check.name} failed {failed} evaluations: {verdict.explain()}"))
            open_by_instrument[check.instrument] = task.model_copy(update={"escalated": True})
    return payloads


def _assignee_for(instrument: Instrument) -> str:
    return "coach" if instrument is Instrument.FIDELITY else "district"


def _move(state: SiteRolloutState, target: Stage, reason: str, checks: list) -> list:
    return _withdraw_open(state, f"{state.stage} ended") + [ev.StageEnteredPayload(
        stage=target, from_stage=state.stage, reason=reason, evaluation=checks)]


def _withdraw_open(state: SiteRolloutState, why: str) -> list:
    return [ev.TaskWithdrawnPayload(task_id=t.task_id, reason=why) for t in state.open_tasks()]


def _approve(state: SiteRolloutState, c: cmd.ApproveStageMove) -> list:
    _require_role(c.actor, (Role.STATE_ADMIN,), "approve a stage move")
    if state.stage == c.to_stage and state.pending_move is None:
        return []
    _require_active(state)
    if state.pending_move != c.to_stage:
        waiting = state.pending_move or "no move"
        raise DomainError(f"{state.site_name} is waiting for approval of {waiting}, "
                          f"not {c.to_stage}.", field="to_stage", value=c.to_stage.value)
    checks = list(state.last_checks)
    return [ev.StageMoveApprovedPayload(from_stage=state.stage, to_stage=c.to_stage, note=c.note),
            *_move(state, c.to_stage, "approved", checks)]


def _override(state: SiteRolloutState, c: cmd.OverrideStageMove) -> list:
    _require_role(c.actor, (Role.STATE_ADMIN,), "override a stage move")
    _require_active(state)
    if not is_advance(state.stage, c.to_stage):
        allowed = state.stage.next or "nothing (completion needs the criteria to hold)"
        raise DomainError(f"An override moves one stage forward: from {state.stage} only to "
                          f"{allowed}, not {c.to_stage}.", field="to_stage", value=c.to_stage.value)
    verdict = evaluate_exit(state.stage, state.evidence, state.criteria)
    return [ev.StageMoveOverriddenPayload(
        from_stage=state.stage, to_stage=c.to_stage, reason=c.reason, unmet=verdict.unmet()),
        *_move(state, c.to_stage, "override", list(verdict.checks))]


def _regress(state: SiteRolloutState, c: cmd.RegressSite) -> list:
    _require_role(c.actor, ENGINE_ROLES, "record a regression")
    _require_active(state)
    if not is_regression(state.stage, c.to_stage):
        raise DomainError(f"A regression moves back from {state.stage} to an earlier stage, "
                          f"not to {c.to_stage}.", field="to_stage", value=c.to_stage.value)
    return [ev.SiteRegressedPayload(from_stage=state.stage, to_stage=c.to_stage, reason=c.reason,
                                    evidence=state.evidence),
            *_move(state, c.to_stage, "regression", [])]


def _schedule_pd(state: SiteRolloutState, c: cmd.SchedulePdSessions) -> list:
    _require_role(c.actor, ENGINE_ROLES, "schedule PD")
    _require_active(state)
    return [ev.PdSessionScheduledPayload(stage=state.stage, **s.model_dump())
            for s in c.sessions if s.session_id not in state.pd_sessions]


def _pd_held(state: SiteRolloutState, c: cmd.RecordPdSessionHeld) -> list:
    if c.session_id not in state.pd_sessions:
        raise DomainError(f"There is no PD session '{c.session_id}' for {state.site_name}.",
                          field="session_id", value=c.session_id)
    if state.pd_sessions[c.session_id]:
        return []
    _require_active(state)
    _require_district(state, c.actor)
    return [ev.PdSessionHeldPayload(session_id=c.session_id, attendees=c.attendees)]


def _start_cycle(state: SiteRolloutState, c: cmd.StartCoachingCycle) -> list:
    _require_role(c.actor, ENGINE_ROLES, "start a coaching cycle")
    if c.cycle_id in state.coaching_cycles:
        return []
    _require_active(state)
    return [ev.CoachingCycleStartedPayload(
        cycle_id=c.cycle_id, number=c.number, stage=state.stage, coach_id=c.coach_id)]


def _complete_cycle(state: SiteRolloutState, c: cmd.CompleteCoachingCycle) -> list:
    _require_role(c.actor, (Role.COACH, *ENGINE_ROLES), "complete a coaching cycle")
    if c.cycle_id not in state.coaching_cycles:
        raise DomainError(f"There is no coaching cycle '{c.cycle_id}' for {state.site_name}.",
                          field="cycle_id", value=c.cycle_id)
    if state.coaching_cycles[c.cycle_id]:
        return []
    return [ev.CoachingCycleCompletedPayload(
        cycle_id=c.cycle_id, practitioners_observed=c.practitioners_observed,
        feedback_given=c.feedback_given)]


def _review(state: SiteRolloutState, c: cmd.HoldReview) -> list:
    _require_role(c.actor, ENGINE_ROLES, "hold a review")
    if c.review_id in state.reviews:
        return []
    _require_active(state)
    held = review_findings(state, review_id=c.review_id, number=c.number, action_due=c.action_due)
    tasks = [ev.TaskAssignedPayload(
        task_id=item.action_id, kind="action_item", title=item.title, stage=state.stage,
        assignee_role=item.owner_role, due=item.due, ref=c.review_id) for item in held.action_items]
    escalations = [ev.TaskEscalatedPayload(
        task_id=item.action_id, escalated_to=STATE_TEAM, reason="system barrier named in review")
        for item in held.action_items if item.system_barrier]
    return [held, *tasks, *escalations]


def _pause(state: SiteRolloutState, c: cmd.PauseRollout) -> list:
    _require_role(c.actor, ENGINE_ROLES, "pause a rollout")
    if state.status == "paused":
        return []
    _require_active(state)
    return [ev.RolloutPausedPayload(reason=c.reason)]


def _resume(state: SiteRolloutState, c: cmd.ResumeRollout) -> list:
    _require_role(c.actor, ENGINE_ROLES, "resume a rollout")
    if state.status == "active":
        return []
    if state.status != "paused":
        raise DomainError(f"The rollout at {state.site_name} is {state.status}, not paused.",
                          field="status", value=state.status)
    return [ev.RolloutResumedPayload(note=c.note)]


def _cancel(state: SiteRolloutState, c: cmd.CancelRollout) -> list:
    _require_role(c.actor, ENGINE_ROLES, "cancel a rollout")
    if state.status == "cancelled":
        return []
    if state.status == "completed":
        raise DomainError(f"The rollout at {state.site_name} is already complete.",
                          field="status", value=state.status)
    return _withdraw_open(state, "the rollout was cancelled") + [
        ev.RolloutCancelledPayload(reason=c.reason)]


_HANDLERS = {
    cmd.EnrollSite: _enroll,
    cmd.AssignTask: _assign,
    cmd.SubmitAssessment: _submit,
    cmd.CompleteTask: _complete,
    cmd.RemindTask: _task_flag(
        "reminded", lambda t, c: ev.TaskReminderSentPayload(task_id=t.task_id, due=t.due)),
    cmd.MarkTaskOverdue: _task_flag(
        "overdue", lambda t, c: ev.TaskOverduePayload(task_id=t.task_id, due=t.due)),
    cmd.EscalateTask: _task_flag("escalated", lambda t, c: ev.TaskEscalatedPayload(
        task_id=t.task_id, escalated_to=STATE_TEAM, reason=c.reason)),
    cmd.EvaluateExit: _evaluate,
    cmd.ApproveStageMove: _approve,
    cmd.OverrideStageMove: _override,
    cmd.RegressSite: _regress,
    cmd.SchedulePdSessions: _schedule_pd,
    cmd.RecordPdSessionHeld: _pd_held,
    cmd.StartCoachingCycle: _start_cycle,
    cmd.CompleteCoachingCycle: _complete_cycle,
    cmd.HoldReview: _review,
    cmd.PauseRollout: _pause,
    cmd.ResumeRollout: _resume,
    cmd.CancelRollout: _cancel,
    cmd.AcceptActionItem: action_items.accept,
    cmd.MergeActionItems: action_items.merge,
    cmd.DismissActionItem: action_items.dismiss,
}
