"""Plain-language reading of a rollout's events, for auditors.

Auditors ask who did what, when, and why a site moved from one stage to the next. The events hold
all of it, but as typed payloads; this module turns each event into one line and each stage move
into its trigger, its checks and the assessments behind it. It is pure (events in, text out) so
the `rollout audit` commands and any later report share the same wording and tests need no
database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from contextvars import ContextVar
from datetime import datetime
from typing import Callable, Sequence

from domain import events as ev
from domain.actors import Actor
from domain.criteria import Check
from domain.instruments import AdoptionDecision, DefinedAssessment, Instrument
from domain.privacy import MIN_CELL, cell, part_of_whole

min_cell: ContextVar[int] = ContextVar("min_cell", default=MIN_CELL)
"""Small-cell threshold for the counts summaries show (set per report by the command)."""

Names = dict[tuple[str, str], str]
"""("task" | "session", id) -> title, so later events about a task or session can name it."""


def when(moment: datetime) -> str:
    """Date and time as recorded (school time in the workflows), with its zone."""
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname() or ''}".rstrip()


def who(actor: Actor) -> str:
    where = f", {actor.district}" if actor.district else ""
    return f"{actor.id} ({actor.role.value}{where})"


def names_in(events: Sequence[ev.Event]) -> Names:
    names: Names = {}
    for e in events:
        if e.type == "TaskAssigned":
            names[("task", e.payload.task_id)] = e.payload.title
        elif e.type == "PdSessionScheduled":
            names[("session", e.payload.session_id)] = e.payload.title
    return names


def summarize(event: ev.Event, names: Names | None = None) -> str:
    """One line saying what the event records; unknown types fall back to their payload."""
    describe = _SUMMARIES.get(event.type)
    if describe is None:
        text = json.dumps(event.payload.model_dump(mode="json"), sort_keys=True)
        return f"{event.type}: {text if len(text) <= 160 else text[:157] + '...'}"
    return describe(event.payload, names or {})


def score_text(p: ev.AssessmentSubmittedPayload) -> str:
    """The computed score of an assessment, in the instrument's own terms."""
    s, answers = p.score, p.answers
    if isinstance(answers, DefinedAssessment):
        return defined_text(answers, s)
    if isinstance(answers, AdoptionDecision):
        return (f"decision '{answers.decision}' signed by {answers.signed_by}, "
                f"implementation team of {answers.implementation_team_members}")
    text = {
        Instrument.FIT_READINESS: lambda: f"mean rating {s.mean_rating:g} of 5",
        Instrument.INSTALLATION_CHECKLIST:
            lambda: f"{s.points} of {s.possible_points} items in place ({s.percent:g}%)",
        Instrument.CAPACITY: lambda: f"{s.percent:g}% of capacity points",
        Instrument.FIDELITY: lambda: _fidelity(s.points, s.possible_points, s.percent),
        Instrument.STAGE_ANALYSIS: lambda: f"{s.percent:g}% of stage items in place",
    }[s.instrument]()
    if s.gaps:
        text += f"; gaps: {some(s.gaps)}"
    return text


def defined_text(answers: DefinedAssessment, s) -> str:
    """An instrument defined as data: its version, total and each subscale or tier, how the
    team reached its scores, and the items under the mark."""
    key = answers.key
    if s.rule == "share":
        text = f"{key.ref}: " + _fidelity(s.points, s.possible_points, s.percent)
    else:
        unit = "" if s.rule == "mean" else "%"
        total = (f"mean rating {s.mean_rating:g} of 5" if s.rule == "mean"
                 else f"{s.points} of {s.possible_points} items in place ({s.percent:g}%)"
                 if key.scale == "yes-no" else f"{s.percent:g}% of points")
        labels = {g.id: g.label for g in key.groups}
        parts = ", ".join(f"{g.label} {s.parts[g.id]:g}{unit}" for g in key.groups
                          if g.id in s.parts)  # the definition's order (a stored map is sorted)
        text = f"{key.ref}: {total}" + (f" ({parts})" if parts and len(key.groups) > 1 else "")
        if s.unanswered:
            text += f"; not run: {', '.join(labels.get(g, g) for g in s.unanswered)}"
    if answers.consensus is not None:
        text += "; " + consensus_text(answers)
    if s.below_mark:
        text += f"; under the mark ({key.action_mark}): {some(s.below_mark)}"
    if answers.taken_on:
        text += f"; taken {answers.taken_on}"
    return text


def consensus_text(answers: DefinedAssessment) -> str:
    """Who reached the scores: roles with counts (small counts suppressed), the facilitator, and
    how many items needed their disagreement resolved."""
    c, shown = answers.consensus, min_cell.get()
    roles = ", ".join(f"{role} {cell(n, shown)}" for role, n in c.participants.items())
    text = f"consensus of {cell(c.voting_members, shown)} voting ({roles})"
    if c.facilitator:
        text += f", facilitated by {c.facilitator} (not voting)"
    resolved = [a.item for a in answers.items if a.resolution]
    if resolved:
        text += f"; {count(len(resolved), 'disagreement')} resolved ({some(resolved)})"
    return text


def _proposed(p: ev.ActionItemsProposedPayload, _: Names) -> str:
    first = p.items[0]
    return (f"Proposed {count(len(p.items), 'action item')} from {first.definition} assessment "
            f"{p.assessment_id} (items under the mark {first.mark}: "
            f"{some([i.item for i in p.items])}), due {first.due}")


def _fidelity(meeting: int | None, assessed: int | None, percent: float | None) -> str:
    """Fidelity as a share; the counts only when neither those meeting nor the rest is small."""
    share = f"{percent:g}%" if percent is not None else "no share"
    if meeting is None or assessed is None or not part_of_whole(meeting, assessed, min_cell.get()):
        return f"{share} of practitioners at fidelity (counts under {min_cell.get()} suppressed)"
    return f"{meeting} of {assessed} practitioners at fidelity ({share})"


def some(items: Sequence[str], shown: int = 3) -> str:
    """The first few of a list and how many more: a table cell stays one or two lines."""
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def label(instrument: Instrument) -> str:
    return instrument.value.replace("_", " ")


def check_names(checks: Sequence[Check]) -> str:
    return ", ".join(c.name for c in checks) or "none"


def _task(names: Names, task_id: str) -> str:
    return f"'{names[('task', task_id)]}'" if ("task", task_id) in names else f"task {task_id}"


def _moved(p) -> str:
    return f"{p.from_stage} → {p.to_stage}"


def _entered(p: ev.StageEnteredPayload, _: Names) -> str:
    reason = p.reason.replace("_", " ")
    return f"{p.from_stage} → {p.stage} ({reason})" if p.from_stage else f"Entered {p.stage} ({reason})"


def _completed(p: ev.TaskCompletedPayload, names: Names) -> str:
    text = f"Completed {_task(names, p.task_id)}"
    if p.assessment_id:
        text += f" with assessment {p.assessment_id}"
    if p.outcome:
        text += ": " + ", ".join(f"{k}={v}" for k, v in p.outcome.items())
    return text


def _review(p: ev.ReviewHeldPayload, _: Names) -> str:
    figures = [f"{name} {value:g}%" for name, value in
               (("capacity", p.capacity_percent), ("fidelity", p.fidelity_percent)) if value is not None]
    low = some([f"{d} {v:g}%" for d, v in p.low_drivers.items()])
    return (f"Review {p.number} in {p.stage}: {', '.join(figures) or 'no scores yet'}; "
            f"{count(len(p.findings), 'finding')}, {count(len(p.action_items), 'action item')}"
            + (f"; low drivers: {low}" if low else ""))


_SUMMARIES: dict[str, Callable[[object, Names], str]] = {
    "InitiativeLaunched": lambda p, _: (
        f"Launched {p.name} ({p.practice}), SSIP Phase {p.ssip_phase}: {count(p.site_count, 'site')} "
        f"in cohorts {', '.join(p.cohort_ids)}"),
    "CohortStarted": lambda p, _: (
        f"Cohort {p.cohort_id} started with {count(p.site_count, 'site')} ({p.gate}): "
        f"{p.gate_evidence}"),
    "SiteEnrolled": lambda p, _: (
        f"Enrolled {p.site_name} ({p.kind}, {p.region} region"
        + (f", district {p.district}" if p.district else "")
        + f") in cohort {p.cohort_id}, {cell(p.practitioners, min_cell.get())} practitioner(s)"),
    "StageEntered": _entered,
    "CriteriaEvaluated": lambda p, _: f"{'met' if p.met else 'not met'}: {p.explanation}",
    "AssessmentSubmitted": lambda p, _: (
        f"{label(p.score.instrument).capitalize()} {p.assessment_id} in {p.stage}: {score_text(p)}"),
    "FidelityAssessed": lambda p, _: "Fidelity: " + _fidelity(
        p.practitioners_meeting, p.practitioners_assessed, p.percent),
    "StageMoveRequested": lambda p, _: f"Asked the state to approve {_moved(p)}: {p.explanation}",
    "StageMoveApproved": lambda p, _: f"Approved {_moved(p)}" + (f": {p.note}" if p.note else ""),
    "StageMoveOverridden": lambda p, _: (
        f"Overrode {_moved(p)}: {p.reason}; unmet checks: {check_names(p.unmet)}"),
    "SiteRegressed": lambda p, _: f"Regressed {_moved(p)}: {p.reason}",
    "SiteCompleted": lambda p, _: (
        f"Rollout complete in {p.stage}: {sum(c.met for c in p.checks)} of "
        f"{count(len(p.checks), 'check')} met"),
    "TaskAssigned": lambda p, _: f"Assigned '{p.title}' to {p.assignee_role}, due {p.due}",
    "TaskCompleted": _completed,
    "TaskReminderSent": lambda p, n: f"Reminder: {_task(n, p.task_id)} is due {p.due}",
    "TaskOverdue": lambda p, n: f"Overdue: {_task(n, p.task_id)} was due {p.due}",
    "TaskEscalated": lambda p, n: f"Escalated {_task(n, p.task_id)} to {p.escalated_to}: {p.reason}",
    "TaskWithdrawn": lambda p, n: f"Withdrew {_task(n, p.task_id)}: {p.reason}",
    "RolloutPaused": lambda p, _: f"Paused: {p.reason}",
    "RolloutResumed": lambda p, _: "Resumed" + (f": {p.note}" if p.note else ""),
    "RolloutCancelled": lambda p, _: f"Cancelled: {p.reason}",
    "PdSessionScheduled": lambda p, _: (
        f"PD session '{p.title}' ({p.session_id}) for {p.stage} on {p.on}, trainer {p.trainer_id}, "
        f"{p.hours:g} h, {p.capacity} seats"),
    "PdSessionHeld": lambda p, n: (
        f"PD session {n.get(('session', p.session_id), p.session_id)!r} held, "
        f"{cell(p.attendees, min_cell.get())} attended"),
    "CoachingCycleStarted": lambda p, _: (
        f"Coaching cycle {p.number} ({p.cycle_id}) started in {p.stage} with coach {p.coach_id}"),
    "CoachingCycleCompleted": lambda p, _: (
        f"Coaching cycle {p.cycle_id} completed: {cell(p.practitioners_observed, min_cell.get())} "
        "practitioners observed, "
        + ("feedback given" if p.feedback_given else "no feedback given")),
    "ReviewHeld": _review,
    "ActionItemsProposed": _proposed,
    "ActionItemAccepted": lambda p, _: (
        f"Accepted action item {p.action_id}: owner {p.owner}, due {p.due}"
        + (f" ({p.note})" if p.note else "")),
    "ActionItemsMerged": lambda p, _: (
        f"Merged {some(p.merged)} into action item {p.into} ('{p.title}'): {p.reason}"),
    "ActionItemDismissed": lambda p, _: f"Dismissed action item {p.action_id}: {p.reason}",
}


# --- why a site moved -----------------------------------------------------------------------

@dataclass(frozen=True)
class StageMove:
    """One move between stages: the event, what set it off, and the evidence gathered before it."""

    entered: ev.StageEntered
    trigger: str
    evidence: list[str]

    @property
    def checks(self) -> list[Check]:
        return self.entered.payload.evaluation


def stage_moves(events: Sequence[ev.Event]) -> list[StageMove]:
    """Every StageEntered with a from_stage, read against the events of the stage it ended."""
    moves, window = [], []
    for e in events:
        if e.type == "StageEntered":
            if e.payload.from_stage is not None:
                moves.append(StageMove(e, _trigger(e, window), _evidence(window)))
            window = []
        else:
            window.append(e)
    return moves


def _last(window: list[ev.Event], event_type: str) -> ev.Event | None:
    return next((e for e in reversed(window) if e.type == event_type), None)


def _trigger(entered: ev.StageEntered, window: list[ev.Event]) -> str:
    reason = entered.payload.reason
    evaluated = _last(window, "CriteriaEvaluated")
    if reason == "criteria_met" and evaluated:
        return (f"Exit criteria evaluated by {who(evaluated.actor)} on {when(evaluated.occurred_at)} "
                f"(#{evaluated.sequence}): {evaluated.payload.explanation}")
    if reason == "approved" and (approved := _last(window, "StageMoveApproved")):
        asked = _last(window, "StageMoveRequested")
        request = (f"Approval requested by {who(asked.actor)} on {when(asked.occurred_at)} "
                   f"(#{asked.sequence}); ") if asked else ""
        note = f": {approved.payload.note}" if approved.payload.note else ""
        return (f"{request}approved by {who(approved.actor)} on {when(approved.occurred_at)} "
                f"(#{approved.sequence}){note}")
    if reason == "override" and (overridden := _last(window, "StageMoveOverridden")):
        return (f"Overridden by {who(overridden.actor)} on {when(overridden.occurred_at)} "
                f"(#{overridden.sequence}): {overridden.payload.reason}; unmet checks: "
                f"{check_names(overridden.payload.unmet)}")
    if reason == "regression" and (regressed := _last(window, "SiteRegressed")):
        return (f"Regression recorded by {who(regressed.actor)} on {when(regressed.occurred_at)} "
                f"(#{regressed.sequence}): {regressed.payload.reason}")
    return f"{reason.replace('_', ' ')}, recorded by {who(entered.actor)} on {when(entered.occurred_at)}"


def _evidence(window: list[ev.Event]) -> list[str]:
    return [f"#{e.sequence} {when(e.occurred_at)} {who(e.actor)}: {label(e.payload.score.instrument)} "
            f"{e.payload.assessment_id}, {score_text(e.payload)}"
            for e in window if e.type == "AssessmentSubmitted"]
