"""Realistic site histories for the store tests, decided by the domain itself (never hand-made),
as batches the way the workflow appends them: one batch per command."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from domain import commands as c
from domain import events as ev
from domain.actors import SYSTEM
from domain.rollout import execute
from domain.site_state import SiteRolloutState
from domain.instruments import Instrument
from tests.domain.builders import (
    COACH, COORDINATOR, STATE, Clock, adoption, capacity, checklist, fidelity, readiness,
)

Batch = tuple[int, list[ev.Event]]
"""(expected version, events)"""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def enroll(initiative_id: str, site_id: str, clock: Clock, **overrides) -> tuple[SiteRolloutState, list[ev.Event]]:
    fields = dict(initiative_id=initiative_id, site_id=site_id, site_name="Adams Elementary",
                  kind="school", district="adams", region="North", cohort_id="c1",
                  practitioners=20)
    fields.update(overrides)
    return execute(SiteRolloutState(), c.EnrollSite(at=clock.tick(), actor=SYSTEM, **fields))


def site_history(initiative_id: str | None = None, site_id: str = "adams-elem") -> list[Batch]:
    """A school of the Adams district walks all four stages: tasks assigned, reminded, overdue and
    escalated, a review with action items, PD, a pause, fidelity measured, then completion."""
    initiative_id = initiative_id or unique("pbis")
    clock = Clock()
    state, events = enroll(initiative_id, site_id, clock)
    batches: list[Batch] = [(0, events)]

    def run(command: c._Command) -> None:
        nonlocal state
        before = state.version
        state, new = execute(state, command)
        if new:
            batches.append((before, new))

    def task(task_id: str, instrument: Instrument, role: str = "district", days: int = 10) -> None:
        run(c.AssignTask(at=clock.tick(), actor=SYSTEM, task_id=state.key(task_id),
                         kind="submit_assessment", title=f"Submit the {instrument.value}",
                         assignee_role=role, due=(clock.now + timedelta(days=days)).date(),
                         instrument=instrument))

    def submit(answers, actor=COORDINATOR) -> None:
        run(c.SubmitAssessment(at=clock.tick(), actor=actor, assessment_id=f"a{state.version}",
                               assessment=answers))

    def evaluate() -> None:
        run(c.EvaluateExit(at=clock.tick(), actor=SYSTEM, follow_up_due=date(2027, 6, 1)))

    task("readiness", Instrument.FIT_READINESS)
    run(c.RemindTask(at=clock.tick(), actor=SYSTEM, task_id=state.key("readiness")))
    submit(readiness(4))
    submit(adoption())
    evaluate()                                                    # -> Installation
    task("checklist", Instrument.INSTALLATION_CHECKLIST)
    run(c.MarkTaskOverdue(at=clock.tick(12), actor=SYSTEM, task_id=state.key("checklist")))
    run(c.EscalateTask(at=clock.tick(), actor=SYSTEM, task_id=state.key("checklist"),
                       reason="checklist two days late"))
    submit(checklist())
    submit(capacity(1))
    run(c.SchedulePdSessions(at=clock.tick(), actor=SYSTEM, sessions=[c.PdSessionPlan(
        session_id=state.key("pd", 1), title="Tier 1 launch", on=date(2026, 10, 5),
        trainer_id="t1", hours=6, capacity=30)]))
    evaluate()                                                    # -> Initial Implementation
    run(c.HoldReview(at=clock.tick(), actor=SYSTEM, review_id=state.key("review", 1), number=1,
                     action_due=date(2026, 12, 1)))
    run(c.PauseRollout(at=clock.tick(), actor=STATE, reason="winter break staffing"))
    run(c.ResumeRollout(at=clock.tick(14), actor=STATE, note="back"))
    task("fidelity", Instrument.FIDELITY, role="coach")
    submit(capacity(2))
    submit(fidelity(6), actor=COACH)
    submit(fidelity(9), actor=COACH)
    evaluate()                                                    # -> Full Implementation
    submit(fidelity(11), actor=COACH)
    submit(fidelity(12), actor=COACH)
    evaluate()                                                    # -> completed
    assert state.status == "completed", state.status
    return batches
