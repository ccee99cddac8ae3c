"""Site rollout histories for the benchmarks, decided by the domain itself (never hand-made).

A school walks all four stages the way tests/store/scenario.py's `site_history` does (tasks
assigned, reminded, overdue and escalated, a review, PD, a pause, fidelity measured), and then,
like a real multi-year rollout, runs `cycles` rounds of Full Implementation work before it
completes: a coaching cycle, a PD session scheduled and held, a review, and a fidelity check just
under the goal (which the domain answers with follow-up tasks and, when it keeps failing, an
escalation). Every event comes out of `domain.rollout.execute`, so the histories are as valid as
the engine's own and every projection accepts them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from domain import commands as c
from domain import events as ev
from domain.actors import SYSTEM, Actor, Role
from domain.drivers import Driver
from domain.instruments import (
    DEFAULT_CHECKLIST_ITEMS, HEXAGON_INDICATORS, AdoptionDecision, CapacityAssessment,
    CapacityItem, ChecklistItem, FidelityAssessment, FitReadinessReview, IndicatorRating,
    Instrument, InstallationChecklist,
)
from domain.rollout import execute
from domain.site_state import SiteRolloutState

START = datetime(2026, 8, 17, 14, 0, tzinfo=timezone.utc)
STATE = Actor(id="sam.state", role=Role.STATE_ADMIN)
REGIONS = ("North", "South", "East", "West", "Central")


@dataclass(frozen=True)
class SiteSpec:
    """Who the site is; `cycles` is how many rounds of Full Implementation work it records."""

    initiative_id: str
    site_id: str
    district: str
    region: str
    practitioners: int
    cycles: int

    @property
    def stream_id(self) -> str:
        return ev.site_stream(self.initiative_id, self.site_id)


def site_spec(initiative_id: str, index: int, rng: random.Random, mean_cycles: int) -> SiteSpec:
    """The index-th school of an initiative: one of ~20 schools of its district, with between 0
    and 2 x `mean_cycles` rounds of Full Implementation work."""
    district = f"district-{index // 20:04d}"
    return SiteSpec(
        initiative_id=initiative_id, site_id=f"school-{index:06d}", district=district,
        region=REGIONS[(index // 20) % len(REGIONS)], practitioners=rng.randint(12, 40),
        cycles=rng.randint(0, 2 * mean_cycles))


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def tick(self, days: int = 1) -> datetime:
        self.now += timedelta(days=days)
        return self.now


def _readiness(rating: int) -> FitReadinessReview:
    return FitReadinessReview(ratings=[IndicatorRating(indicator=i, rating=rating)
                                       for i in HEXAGON_INDICATORS])


def _checklist() -> InstallationChecklist:
    return InstallationChecklist(items=[ChecklistItem(item=name, in_place=True)
                                        for name in DEFAULT_CHECKLIST_ITEMS])


def _capacity(score: int) -> CapacityAssessment:
    return CapacityAssessment(
        items=[CapacityItem(item=f"{d.name.lower()}-1", driver=d, score=score) for d in Driver],
        facilitator="regional facilitator", participants={"district_team": 5})


def site_history(spec: SiteSpec, start: datetime = START) -> list[ev.Event]:
    """The site's whole history, oldest first (its sequence numbers run 1..len)."""
    clock = _Clock(start)
    coordinator = Actor(id=f"coord.{spec.district}", role=Role.DISTRICT_COORDINATOR,
                        district=spec.district)
    coach = Actor(id=f"coach.{spec.district}", role=Role.COACH)
    state, events = execute(SiteRolloutState(), c.EnrollSite(
        at=clock.tick(), actor=SYSTEM, initiative_id=spec.initiative_id, site_id=spec.site_id,
        site_name=f"School {spec.site_id.rsplit('-', 1)[-1]}", kind="school",
        district=spec.district, region=spec.region, cohort_id=f"c{1 + int(spec.site_id[-1]) % 3}",
        practitioners=spec.practitioners))
    history = list(events)

    def run(command: c._Command) -> None:
        nonlocal state
        state, new = execute(state, command)
        history.extend(new)

    def task(name: str, instrument: Instrument, role: str = "district", days: int = 10) -> None:
        run(c.AssignTask(at=clock.tick(), actor=SYSTEM, task_id=state.key(name),
                         kind="submit_assessment", title=f"Submit the {instrument.value}",
                         assignee_role=role, due=(clock.now + timedelta(days=days)).date(),
                         instrument=instrument))

    def submit(answers, actor: Actor = coordinator, days: int = 1) -> None:
        run(c.SubmitAssessment(at=clock.tick(days), actor=actor, assessment_id=f"a{state.version}",
                               assessment=answers))

    def fidelity(share: float, days: int = 1) -> None:
        assessed = spec.practitioners
        submit(FidelityAssessment(practitioners_assessed=assessed,
                                  practitioners_meeting=round(assessed * share)), coach, days)

    def evaluate() -> None:
        run(c.EvaluateExit(at=clock.tick(), actor=SYSTEM,
                           follow_up_due=(clock.now + timedelta(days=30)).date()))

    task("readiness", Instrument.FIT_READINESS)
    run(c.RemindTask(at=clock.tick(), actor=SYSTEM, task_id=state.key("readiness")))
    submit(_readiness(4))
    submit(AdoptionDecision(decision="adopt", signed_by=f"supt.{spec.district}",
                            implementation_team_members=4))
    evaluate()                                                    # -> Installation
    task("checklist", Instrument.INSTALLATION_CHECKLIST)
    run(c.MarkTaskOverdue(at=clock.tick(12), actor=SYSTEM, task_id=state.key("checklist")))
    run(c.EscalateTask(at=clock.tick(), actor=SYSTEM, task_id=state.key("checklist"),
                       reason="checklist two days late"))
    submit(_checklist())
    submit(_capacity(1))
    run(c.SchedulePdSessions(at=clock.tick(), actor=SYSTEM, sessions=[c.PdSessionPlan(
        session_id=state.key("pd", 1), title="Tier 1 launch", on=clock.now.date() + timedelta(14),
        trainer_id=f"trainer-{spec.region.lower()}", hours=6, capacity=30)]))
    evaluate()                                                    # -> Initial Implementation
    run(c.HoldReview(at=clock.tick(), actor=SYSTEM, review_id=state.key("review", 1), number=1,
                     action_due=clock.now.date() + timedelta(30)))
    run(c.PauseRollout(at=clock.tick(), actor=STATE, reason="winter break staffing"))
    run(c.ResumeRollout(at=clock.tick(14), actor=STATE, note="back"))
    task("fidelity", Instrument.FIDELITY, role="coach")
    submit(_capacity(2))
    fidelity(0.30)
    fidelity(0.45, days=30)
    evaluate()                                                    # -> Full Implementation
    for n in range(1, spec.cycles + 1):                           # a month of work each
        cycle_id = state.key("coaching", n)
        run(c.StartCoachingCycle(at=clock.tick(), actor=SYSTEM, cycle_id=cycle_id, number=n,
                                 coach_id=coach.id))
        run(c.SchedulePdSessions(at=clock.tick(), actor=SYSTEM, sessions=[c.PdSessionPlan(
            session_id=state.key("pd", n), title=f"Booster {n}", on=clock.now.date() + timedelta(7),
            trainer_id=f"trainer-{spec.region.lower()}", hours=3, capacity=30)]))
        run(c.RecordPdSessionHeld(at=clock.tick(7), actor=coordinator,
                                  session_id=state.key("pd", n),
                                  attendees=spec.practitioners - n % 3))
        run(c.CompleteCoachingCycle(at=clock.tick(14), actor=coach, cycle_id=cycle_id,
                                    practitioners_observed=spec.practitioners // 2))
        run(c.HoldReview(at=clock.tick(), actor=SYSTEM, review_id=state.key("review", n),
                         number=n, action_due=clock.now.date() + timedelta(30)))
        fidelity(0.35 + 0.1 * (n % 2), days=7)                    # under the 50% goal
        evaluate()                                                # not met: follow-up work
    fidelity(0.55, days=30)
    fidelity(0.60, days=30)
    evaluate()                                                    # -> completed
    if state.status != "completed":
        raise AssertionError(f"{spec.stream_id} ended {state.status} in {state.stage}")
    return history
