"""A small initiative's 2026-27 school year, decided by the domain (never hand-made events) and
appended to a real event store the way the workflows append: one batch per command.

Six sites in three regions and two cohorts end the year in different places (completed, Initial
Implementation, Installation, paused, cancelled, Exploration); some events come after the year's
end, so the report must tell the year-end state, not today's. PD attendee and fidelity counts are
chosen so some are small cells (under 10) and some are not.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from domain import commands as c
from domain import events as ev
from domain import initiative as agg
from domain.actors import SYSTEM, Actor, Role
from domain.drivers import Driver
from domain.instruments import CapacityAssessment, CapacityItem
from domain.plan import Plan
from domain.plan_yaml import parse_plan
from domain.rollout import execute
from domain.school_clock import SchoolClock
from domain.site_state import SiteRolloutState
from domain.stages import Stage
from store.eventstore import EventStore
from tests.domain.builders import STATE, adoption, checklist, fidelity, readiness

ROOT = Path(__file__).resolve().parents[2]
COACH = Actor(id="coach.report", role=Role.COACH)


def report_plan(initiative_id: str) -> Plan:
    """The small example under a new id, plus an eastern district, in two cohorts (the second
    opened by a state decision)."""
    plan = parse_plan((ROOT / "examples" / "small.yaml").read_text())
    data = plan.model_dump(mode="json")
    data["initiative"]["id"] = initiative_id
    data["sites"].append({"id": "east-valley-sd", "name": "East Valley School District",
                          "kind": "district", "region": "East", "practitioners": 31})
    data["cohorts"] = [
        {"id": "c1", "name": "Cohort 1", "gate": {"kind": "immediate"},
         "members": ["cedar-falls-sd", "lakeview-usd", "cedar-falls-lincoln-es",
                     "prairie-ridge-sd"]},
        {"id": "c2", "name": "Cohort 2", "gate": {"kind": "decision"},
         "members": ["prairie-ridge-central-es", "east-valley-sd"]},
    ]
    return Plan.model_validate(data)


def at(day: date, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, 15, 0, tzinfo=timezone.utc) + \
        timedelta(minutes=minute)


def capacity(low: dict[Driver, int] | None = None, score: int = 2) -> CapacityAssessment:
    low = low or {}
    return CapacityAssessment(
        items=[CapacityItem(item=f"{d.name.lower()}-{n}", driver=d, score=low.get(d, score))
               for d in Driver for n in (1, 2)],
        facilitator="regional facilitator", participants={"district_team": 5})


@dataclass
class Story:
    """One site's rollout, command by command, each decided by the domain."""

    plan: Plan
    site_id: str
    state: SiteRolloutState = field(default_factory=SiteRolloutState)
    batches: list[tuple[int, list[ev.Event]]] = field(default_factory=list)
    minute: int = 0

    def run(self, command_type, day: date, **fields) -> list[ev.Event]:
        self.minute += 1
        before = self.state.version
        self.state, events = execute(self.state, command_type(at=at(day, self.minute), **fields))
        if events:
            self.batches.append((before, events))
        return events

    @property
    def coordinator(self) -> Actor:
        district = self.plan.site(self.site_id).district or self.site_id
        return Actor(id=f"coordinator.{district}", role=Role.DISTRICT_COORDINATOR,
                     district=district)

    def enroll(self, day: date, cohort: str) -> Story:
        site = self.plan.site(self.site_id)
        self.run(c.EnrollSite, day, actor=SYSTEM, initiative_id=self.plan.initiative.id,
                 site_id=site.id, site_name=site.name, kind=site.kind, region=site.region,
                 district=site.district, cohort_id=cohort, practitioners=site.practitioners,
                 criteria=self.plan.exit_criteria,
                 approval_required_for=self.plan.approvals.state_approval_required_for)
        return self

    def submit(self, day: date, answers, actor: Actor | None = None) -> None:
        self.run(c.SubmitAssessment, day, actor=actor or self.coordinator,
                 assessment_id=f"{self.site_id}-a{self.state.version}", assessment=answers)

    def evaluate(self, day: date) -> None:
        self.run(c.EvaluateExit, day, actor=SYSTEM, follow_up_due=day + timedelta(days=30))

    def explore(self, day: date, rating: int = 4) -> Story:
        self.submit(day, readiness(rating))
        self.submit(day, adoption())
        self.evaluate(day)
        return self

    def install(self, day: date, attendees: list[int], low: dict[Driver, int] | None = None,
                baseline: bool = True) -> Story:
        """Checklist, capacity baseline (unless not), PD held three days later, then the exit
        is judged the day after."""
        self.submit(day, checklist())
        if baseline:
            self.submit(day, capacity(low))
        self.pd(day, attendees)
        self.evaluate(day + timedelta(days=4))
        return self

    def pd(self, day: date, attendees: list[int]) -> None:
        ids = [self.state.key("pd", len(self.state.pd_sessions) + n + 1)
               for n in range(len(attendees))]
        self.run(c.SchedulePdSessions, day, actor=SYSTEM, sessions=[c.PdSessionPlan(
            session_id=i, title=f"Session {i}", on=day + timedelta(days=3), trainer_id="t1",
            hours=3, capacity=40) for i in ids])
        for session_id, people in zip(ids, attendees):
            self.run(c.RecordPdSessionHeld, day + timedelta(days=3), actor=self.coordinator,
                     session_id=session_id, attendees=people)

    def coaching(self, day: date, observed: int) -> None:
        cycle = self.state.key("coaching", len(self.state.coaching_cycles) + 1)
        self.run(c.StartCoachingCycle, day, actor=SYSTEM, cycle_id=cycle,
                 number=len(self.state.coaching_cycles) + 1, coach_id="coach.report")
        self.run(c.CompleteCoachingCycle, day + timedelta(days=12), actor=COACH, cycle_id=cycle,
                 practitioners_observed=observed)

    def fidelity(self, day: date, meeting: int, assessed: int) -> None:
        self.submit(day, fidelity(meeting, assessed), actor=COACH)

    def review(self, day: date) -> list[str]:
        """Hold a review; the ids of the action items it assigned."""
        number = len(self.state.reviews) + 1
        events = self.run(c.HoldReview, day, actor=SYSTEM,
                          review_id=self.state.key("review", number), number=number,
                          action_due=day + timedelta(days=14))
        return [e.payload.task_id for e in events if e.type == "TaskAssigned"]

    def complete(self, day: date, task_id: str) -> None:
        self.run(c.CompleteTask, day, actor=self.coordinator, task_id=task_id,
                 outcome={"done": True})


def school_year_stories(plan: Plan, clock: SchoolClock | None = None
                        ) -> tuple[list[Story], list[ev.Event]]:
    """The sites' stories and the initiative's own events (launch, cohorts started), each
    site's commands in the order of their dates; `clock`, when given, is the launch's school
    clock (what the SSIP's entries are stamped by)."""
    d = date
    cedar = Story(plan, "cedar-falls-sd").enroll(d(2026, 8, 17), "c1")
    cedar.explore(d(2026, 8, 31)).install(d(2026, 9, 21), [24, 22])   # -> Initial, 25 Sep
    cedar.coaching(d(2026, 10, 5), observed=6)
    cedar.pd(d(2026, 10, 19), [21])
    cedar.coaching(d(2026, 11, 2), observed=6)
    cedar.fidelity(d(2026, 11, 16), 18, 30)
    cedar.coaching(d(2026, 12, 1), observed=6)
    cedar.fidelity(d(2027, 1, 11), 20, 30)
    cedar.evaluate(d(2027, 1, 12))                     # met; Full needs the state's approval
    cedar.run(c.ApproveStageMove, d(2027, 2, 1), actor=STATE, to_stage=Stage.FULL_IMPLEMENTATION)
    cedar.fidelity(d(2027, 3, 8), 21, 30)
    cedar.fidelity(d(2027, 4, 12), 22, 30)
    cedar.evaluate(d(2027, 4, 13))                     # -> completed

    lakeview = Story(plan, "lakeview-usd").enroll(d(2026, 8, 17), "c1")
    lakeview.explore(d(2026, 9, 14)).install(
        d(2026, 10, 12), [25, 23], low={Driver.SYSTEMS_INTERVENTION: 0, Driver.COACHING: 1})
    items = lakeview.review(d(2026, 12, 7))            # Coaching, Systems Intervention (escalated)
    lakeview.complete(d(2027, 1, 15), items[0])
    lakeview.coaching(d(2027, 1, 20), observed=5)
    lakeview.fidelity(d(2027, 2, 15), 16, 30)
    lakeview.complete(d(2027, 7, 20), items[1])        # after the year's end: open at year end
    lakeview.run(c.PauseRollout, d(2027, 7, 21), actor=STATE, reason="summer staffing review")

    lincoln = Story(plan, "cedar-falls-lincoln-es").enroll(d(2026, 8, 17), "c1")
    lincoln.explore(d(2026, 9, 28), rating=2)          # not ready: stays in Exploration
    lincoln.run(c.CancelRollout, d(2027, 3, 1), actor=STATE,
                reason="school merged into Cedar Falls")

    prairie = Story(plan, "prairie-ridge-sd").enroll(d(2026, 8, 17), "c1")
    prairie.explore(d(2026, 8, 31)).install(d(2026, 9, 28), [6])
    prairie.coaching(d(2026, 11, 2), observed=4)
    prairie.fidelity(d(2026, 12, 7), 6, 20)            # 6 of 20 meeting: a small cell

    central = Story(plan, "prairie-ridge-central-es").enroll(d(2027, 1, 11), "c2")
    central.explore(d(2027, 2, 8)).install(d(2027, 3, 8), [3], baseline=False)  # stays
    central.run(c.PauseRollout, d(2027, 5, 3), actor=STATE, reason="principal on leave")

    east = Story(plan, "east-valley-sd").enroll(d(2027, 1, 11), "c2")
    east.explore(d(2027, 3, 15)).install(d(2027, 4, 19), [30])

    state = agg.InitiativeState()
    launched = [*agg.decide(state, agg.LaunchInitiative(
        at=at(d(2026, 8, 17)), actor=SYSTEM, payload=ev.InitiativeLaunchedPayload(
            initiative_id=plan.initiative.id, name=plan.initiative.name,
            practice=plan.initiative.practice.name, ssip_phase=plan.initiative.ssip.phase,
            simr=plan.initiative.ssip.simr, site_count=len(plan.sites),
            cohort_ids=[co.id for co in plan.cohorts],
            plan_digest=hashlib.sha256(plan.model_dump_json().encode()).hexdigest(),
            school_clock=clock)))]
    state = agg.fold(launched, state)
    for cohort, day, decided in (("c1", d(2026, 8, 17), None), ("c2", d(2027, 1, 11), STATE.id)):
        gate = next(co.gate for co in plan.cohorts if co.id == cohort)
        new = agg.decide(state, agg.StartCohort(
            at=at(day), actor=SYSTEM, cohort_id=cohort, site_count=2, gate=gate, today=day,
            decided_by=decided))
        state = agg.fold(new, state)
        launched += new
    return [cedar, lakeview, lincoln, prairie, central, east], launched


async def store_year(pool, plan: Plan, clock: SchoolClock | None = None) -> list[Story]:
    stories, initiative_events = school_year_stories(plan, clock)
    store = EventStore(pool)
    await store.append(initiative_events[0].stream_id, initiative_events, expected_version=0,
                       workflow_id=f"initiative-{plan.initiative.id}")
    for story in stories:
        for expected, batch in story.batches:
            await store.append(batch[0].stream_id, batch, expected_version=expected,
                               workflow_id=f"site-{story.site_id}")
    return stories
