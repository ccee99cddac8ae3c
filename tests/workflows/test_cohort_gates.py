"""Issue 15: every cohort gate kind through the real workflows on the dev server, time compressed.

Each test launches a small light plan (1-2 sites a cohort), lets simulated districts answer it to
the end, then reads the event store: the CohortStarted events of the initiative's stream (with
the gate's own words, `gate_evidence`), each site's SiteEnrolled, and for a share gate the
previous cohort's StageEntered times. A cohort must start exactly when its gate opens:

- immediate: at launch;
- date: on the first school day on or after the gate's date, not before;
- share: once the share of the previous cohort has reached the stage (from its StageEntered
  times), not before;
- decision: once a state admin's `approve_cohort` Update has been sent, not before.

"Exactly" is up to the time the workflows take to react: a few real seconds (`LAG_S`), which the
compressed clock turns into school time. The dates are printed at the end of the run
(tests/workflows/conftest.py) and written to test-artifacts/cohort_gates.json.

Every drive has a budget of its own: a rollout that will not finish fails within it, naming the
workflows that have not completed and their last history events, and a workflow that has failed
fails the test at once (tests/workflows/harness.py, `drive_within`).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time as clock_time, timedelta, timezone

import pytest
from temporalio import workflow
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from domain import events as ev
from domain.actors import Actor, Role
from domain.calendar import next_school_day
from domain.cohorts import describe_gate
from domain.plan import Plan
from domain.school_clock import SchoolClock
from domain.stages import Stage
from simulation.playthrough import launch, simulate
from store.eventstore import EventStore
from tests.workflows.harness import (
    GATE_FIGURES, STATE_ADMIN, drive_within, gated_plan, result_within, rollout_workflow_ids,
)
from worker import running_worker
from workflows.ids import initiative_workflow_id
from workflows.initiative import InitiativeWorkflow
from workflows.models import CohortDecisionRequest, ControlRequest, InitiativeOptions

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres, pytest.mark.temporal,
              pytest.mark.timeout(180)]

SPEEDUP = 86_400.0
"""One calendar day of school time a real second: a light rollout takes about a week of school
time (a few seconds), a date gate a fortnight away about 14 s."""
LAG_S = 4.0
"""How long the workflows may take to react to a gate that opened (real seconds)."""
BUDGET_S = 90.0
"""Each rollout's budget (real seconds); quiet, the longest here takes about 30."""
SCHOOL_DAY = date(2026, 9, 2)
"""A Wednesday, 16 days after the plan's first school day (Monday 17 Aug 2026)."""
NOT_A_SCHOOL_DAY = date(2026, 9, 5)
"""A Saturday; Monday 7 Sep is a blackout date (Labor Day): the first school day on or after it
is Tuesday 8 Sep."""
UTC = timezone.utc


def immediate() -> dict:
    return {"kind": "immediate"}


def on(day: date) -> dict:
    return {"kind": "date", "on": day.isoformat()}


def share(stage: Stage, percent: float) -> dict:
    return {"kind": "share", "stage": stage.value, "percent": percent}


def decision() -> dict:
    return {"kind": "decision"}


def plan_for(name: str, cohorts: list[tuple[dict, int]]) -> Plan:
    return gated_plan(f"gates-{name}-{uuid.uuid4().hex[:6]}", cohorts)


# --- the record -----------------------------------------------------------------------------

@dataclass
class Record:
    """What the event store holds about an initiative and its sites."""

    initiative: list
    sites: dict[str, list]

    @property
    def launched(self):
        return next(e for e in self.initiative if e.type == "InitiativeLaunched")

    @property
    def clock(self) -> SchoolClock:
        return self.launched.payload.school_clock

    def cohorts_started(self) -> list:
        return [e for e in self.initiative if e.type == "CohortStarted"]

    def started(self, cohort_id: str):
        found = [e for e in self.cohorts_started() if e.payload.cohort_id == cohort_id]
        assert len(found) == 1, f"cohort {cohort_id}: {len(found)} CohortStarted events"
        return found[0]

    def enrolled(self, site_id: str):
        found = [e for e in self.sites[site_id] if e.type == "SiteEnrolled"]
        assert len(found) == 1, f"site {site_id}: {len(found)} SiteEnrolled events"
        return found[0]

    def reached(self, site_id: str, stage: Stage) -> datetime | None:
        """When the site first entered `stage` or a later one."""
        return next((e.occurred_at for e in self.sites[site_id]
                     if e.type == "StageEntered" and e.payload.stage.index >= stage.index), None)


async def read_record(pool, plan: Plan) -> Record:
    store = EventStore(pool)
    initiative = await store.read_stream(ev.initiative_stream(plan.initiative.id))
    sites = {s.id: await store.read_stream(ev.site_stream(plan.initiative.id, s.id))
             for s in plan.sites}
    return Record(initiative, sites)


async def school_clock(pool, plan: Plan) -> SchoolClock:
    """The initiative's school clock, as its launch recorded it."""
    store = EventStore(pool)
    for _ in range(200):
        launched = await store.read_stream(ev.initiative_stream(plan.initiative.id), limit=1)
        if launched:
            return launched[0].payload.school_clock
        await asyncio.sleep(0.05)
    raise AssertionError(f"{plan.initiative.id} was never launched")


def school_now(clock: SchoolClock) -> datetime:
    return clock.school_now(datetime.now(UTC))


def shown(moment: datetime) -> str:
    return f"{moment:%a %Y-%m-%d %H:%M}"


async def refused(handle, request: CohortDecisionRequest, words: str) -> None:
    """The approve_cohort Update is refused by its validator, in these words."""
    with pytest.raises(WorkflowUpdateFailedError) as refusal:
        await handle.execute_update(InitiativeWorkflow.approve_cohort, request)
    message = str(refusal.value.cause)
    assert words in message, message


# --- what a gate must have done -------------------------------------------------------------

def gate_opened(plan: Plan, record: Record, index: int,
                decided_at: datetime | None) -> tuple[datetime | None, str]:
    """When the cohort's gate opened, by the record (None: it did not), and in words."""
    gate = plan.cohorts[index].gate
    match gate.kind:
        case "immediate":
            opened = record.launched.occurred_at
            return opened, f"at launch {shown(opened)}"
        case "date":
            first_day = next_school_day(plan.calendar, gate.on)
            return (datetime.combine(first_day, clock_time(0), tzinfo=UTC),
                    f"gate date {gate.on:%a %Y-%m-%d}, first school day on or after it "
                    f"{first_day:%a %Y-%m-%d}")
        case "share":
            previous = plan.cohorts[index - 1]
            reached = reached_times(plan, record, index)
            needed = math.ceil(gate.percent * len(previous.members) / 100 - 1e-9)
            opened = reached[needed - 1] if len(reached) >= needed else None
            return opened, (f"{needed} of {len(previous.members)} of {previous.id} at "
                            f"{gate.stage} or beyond at {shown(opened) if opened else 'never'} "
                            f"(reached: {[shown(t) for t in reached]})")
        case "decision":
            return decided_at, f"approve_cohort sent {shown(decided_at) if decided_at else 'never'}"
    raise AssertionError(f"unknown gate {gate}")


def reached_times(plan: Plan, record: Record, index: int) -> list[datetime]:
    """When each site of the cohort before `index` reached the share gate's stage, in order."""
    gate, previous = plan.cohorts[index].gate, plan.cohorts[index - 1]
    return sorted(t for t in (record.reached(m, gate.stage) for m in previous.members)
                  if t is not None)


def check_cohort(test: str, plan: Plan, record: Record, cohort_id: str, *,
                 decided_at: datetime | None = None) -> dict:
    """Assert that the cohort started exactly when its gate opened, and its sites enrolled then;
    the figures go to the summary first, whatever the outcome."""
    index = next(i for i, c in enumerate(plan.cohorts) if c.id == cohort_id)
    cohort, gate = plan.cohorts[index], plan.cohorts[index].gate
    event = record.started(cohort_id)
    started, words = event.occurred_at, event.payload.gate_evidence
    enrolled = {m: record.enrolled(m) for m in cohort.members}
    opened, opened_words = gate_opened(plan, record, index, decided_at)
    woke = opened + timedelta(hours=7) if gate.kind == "date" else opened  # the workflow's timer
    row = dict(test=test, initiative=plan.initiative.id, cohort=cohort_id,
               gate=describe_gate(gate), opened=opened_words, started=shown(started),
               lag_real_s=(started - woke).total_seconds() / SPEEDUP if opened else None,
               enrolled=", ".join(f"{m} {shown(e.occurred_at)}" for m, e in enrolled.items()),
               evidence=words)
    GATE_FIGURES.append(row)
    print(row)

    lag = timedelta(seconds=LAG_S * SPEEDUP)
    assert event.payload.gate == describe_gate(gate)
    assert event.payload.site_count == len(cohort.members)
    assert opened is not None, f"cohort {cohort_id} started {shown(started)}; its gate never opened: {opened_words}"
    assert started >= opened, (
        f"cohort {cohort_id} started {shown(started)}, before its gate opened: {opened_words} "
        f"(its evidence: {words})")
    match gate.kind:
        case "immediate":
            assert words == "no gate: the cohort starts at launch", words
            assert started - opened <= lag
        case "date":
            first = next_school_day(plan.calendar, gate.on)
            assert words == f"school date {started:%Y-%m-%d}; gate date {gate.on:%Y-%m-%d}" + (
                f", first school day {first:%Y-%m-%d}" if first != gate.on else ""), words
            assert started - opened <= timedelta(days=1) + lag, (
                f"cohort {cohort_id} started {shown(started)}, long after its gate opened: "
                f"{opened_words}")
        case "share":
            assert started - opened <= lag, (
                f"cohort {cohort_id} started {shown(started)}, long after its gate opened: "
                f"{opened_words}")
            counted = re.fullmatch(r"(\d+) of (\d+) sites of the previous cohort .*", words)
            assert counted, words
            assert int(counted[2]) == len(plan.cohorts[index - 1].members), words
            reached = reached_times(plan, record, index)
            needed = math.ceil(gate.percent * len(plan.cohorts[index - 1].members) / 100 - 1e-9)
            assert needed <= int(counted[1]) <= sum(t <= started for t in reached), (
                f"{words}; but by then per the store: {opened_words}")
        case "decision":
            assert words == f"state decision by {STATE_ADMIN.id}", words
            assert started - opened <= lag
    for member, enrolment in enrolled.items():
        assert enrolment.payload.cohort_id == cohort_id
        assert started <= enrolment.occurred_at <= started + lag, (
            f"site {member} enrolled {shown(enrolment.occurred_at)}; its cohort started "
            f"{shown(started)}")
    return row


def check_order(plan: Plan, record: Record) -> None:
    """Every cohort started once, in plan order."""
    assert [e.payload.cohort_id for e in record.cohorts_started()] == [c.id for c in plan.cohorts]
    times = [e.occurred_at for e in record.cohorts_started()]
    assert times == sorted(times)


def check_completed(plan: Plan, record: Record, result) -> None:
    assert result.completed_sites == len(plan.sites), result
    for site in plan.sites:
        events = record.sites[site.id]
        assert [e.payload.stage for e in events if e.type == "StageEntered"] == list(Stage), site.id
        assert events[-1].type == "SiteCompleted", site.id


async def run_to_the_end(client, pool, plan: Plan, *, state_team=None, before=None):
    """Launch the plan, drive it to the end within the budget, return (record, result).
    `before(handle, clock, sim)`: run once the launch is recorded, before the drive."""
    queue = f"gates-{uuid.uuid4().hex[:6]}"
    async with running_worker(client, pool, task_queue=queue):
        handle = await launch(client, plan, STATE_ADMIN, task_queue=queue,
                              options=InitiativeOptions(speedup=SPEEDUP))
        sim = simulate(client, pool, plan, act_days_before_due=60)
        if before is not None:
            await before(handle, await school_clock(pool, plan), sim)
        await drive_within(client, sim, plan, budget_s=BUDGET_S, state_team=state_team)
        result = await result_within(client, handle, plan, budget_s=30)
    return await read_record(pool, plan), result


# --- each gate alone ------------------------------------------------------------------------

async def test_an_immediate_gate_opens_at_launch(client, database, temporal_dev):
    pool, _ = database
    plan = plan_for("immediate", [(immediate(), 2)])
    record, result = await run_to_the_end(client, pool, plan)
    check_order(plan, record)
    row = check_cohort("immediate alone", plan, record, "c1")
    assert record.started("c1").occurred_at.date() == record.launched.occurred_at.date() == \
        date(2026, 8, 17), row
    check_completed(plan, record, result)


@pytest.mark.parametrize("gate_date", [
    SCHOOL_DAY, NOT_A_SCHOOL_DAY,
], ids=["on-a-school-day", "on-a-saturday-before-a-holiday"])
async def test_a_date_gate_opens_on_the_first_school_day_on_or_after_its_date(
        client, database, temporal_dev, gate_date):
    pool, _ = database
    plan = plan_for("date", [(on(gate_date), 1)])

    async def nothing_started_yet(handle, clock, sim) -> None:
        status = await sim.board()
        assert not any(c.started for c in status.cohorts), status

    record, result = await run_to_the_end(client, pool, plan, before=nothing_started_yet)
    check_order(plan, record)
    check_cohort(f"date alone ({gate_date:%a})", plan, record, "c1")
    check_completed(plan, record, result)


async def test_a_share_gate_opens_once_the_share_of_the_previous_cohort_reached_the_stage(
        client, database, temporal_dev):
    pool, _ = database
    plan = plan_for("share", [(immediate(), 2), (share(Stage.INITIAL_IMPLEMENTATION, 50), 1)])
    record, result = await run_to_the_end(client, pool, plan)
    check_order(plan, record)
    check_cohort("share alone", plan, record, "c1")
    check_cohort("share alone", plan, record, "c2")
    check_completed(plan, record, result)


async def test_a_decision_gate_opens_only_on_a_state_admins_approval(
        client, database, temporal_dev):
    pool, _ = database
    plan = plan_for("decision", [(decision(), 1)])
    decided: list[datetime] = []
    waited_until: list[date] = []

    async def decide_after_a_school_week(handle, clock, sim) -> None:
        coordinator = Actor(id="coordinator.c1-s1-sd", role=Role.DISTRICT_COORDINATOR,
                            district="c1-s1-sd")
        await refused(handle, CohortDecisionRequest(actor=coordinator, cohort_id="c1"),
                      "Only a state admin may open a cohort")
        await refused(handle, CohortDecisionRequest(actor=STATE_ADMIN, cohort_id="c9"),
                      "There is no cohort 'c9'")
        await drive_within(client, sim, plan, budget_s=BUDGET_S,
                           until=lambda _: clock.today(datetime.now(UTC)) >= date(2026, 8, 24))
        status = await sim.board()
        assert not any(c.started for c in status.cohorts), f"started without a decision: {status}"
        waited_until.append(clock.today(datetime.now(UTC)))
        decided.append(school_now(clock))
        status = await handle.execute_update(InitiativeWorkflow.approve_cohort, CohortDecisionRequest(
            actor=STATE_ADMIN, cohort_id="c1", note="the region is ready"))
        assert status.cohorts[0].started, status
        await refused(handle, CohortDecisionRequest(actor=STATE_ADMIN, cohort_id="c1"),
                      "Cohort 'c1' has already started")

    record, result = await run_to_the_end(client, pool, plan, before=decide_after_a_school_week)
    check_order(plan, record)
    assert not [e for e in record.initiative if e.occurred_at < decided[0]
                and e.type == "CohortStarted"], "a cohort started before the decision"
    check_cohort(f"decision alone (waited to {waited_until[0]})", plan, record, "c1",
                 decided_at=decided[0])
    check_completed(plan, record, result)


# --- chained over three cohorts -------------------------------------------------------------

async def test_three_cohorts_a_date_gate_then_a_share_gate_run_to_the_end(
        client, database, temporal_dev):
    """The acceptance line: a three-cohort plan with a date gate, then a share gate, runs to the
    end on the dev server; the cohorts start when their gates open."""
    pool, _ = database
    plan = plan_for("date-share", [(immediate(), 1), (on(SCHOOL_DAY), 2),
                                   (share(Stage.INITIAL_IMPLEMENTATION, 50), 1)])
    record, result = await run_to_the_end(client, pool, plan)
    check_order(plan, record)
    for cohort in ("c1", "c2", "c3"):
        check_cohort("immediate, date, share", plan, record, cohort)
    check_completed(plan, record, result)


async def test_three_cohorts_a_date_gate_a_decision_then_a_share_gate_run_to_the_end(
        client, database, temporal_dev):
    """A date-gated first cohort; the second opens on a state decision taken once the first
    reached Initial Implementation; the third once all of the second reached Installation."""
    pool, _ = database
    plan = plan_for("date-decision-share", [(on(date(2026, 8, 20)), 1), (decision(), 2),
                                            (share(Stage.INSTALLATION, 100), 1)])
    clock: list[SchoolClock] = []
    decided: list[datetime] = []

    async def remember_the_clock(handle, school, sim) -> None:
        clock.append(school)

    async def state_team(status) -> None:
        first = status.sites.get("c1-s1-sd")
        if decided or first is None or first.stage is None or \
                (first.stage.index < Stage.INITIAL_IMPLEMENTATION.index and first.status != "completed"):
            return
        assert not status.cohorts[1].started, f"c2 started before its decision: {status}"
        await refused(handle(), CohortDecisionRequest(actor=STATE_ADMIN, cohort_id="c3"),
                      "needs no decision")
        decided.append(school_now(clock[0]))
        await handle().execute_update(InitiativeWorkflow.approve_cohort, CohortDecisionRequest(
            actor=STATE_ADMIN, cohort_id="c2", note="cohort 1 is implementing"))

    def handle():
        return client.get_workflow_handle(initiative_workflow_id(plan.initiative.id))

    record, result = await run_to_the_end(client, pool, plan, state_team=state_team,
                                          before=remember_the_clock)
    check_order(plan, record)
    check_cohort("date, decision, share", plan, record, "c1")
    check_cohort("date, decision, share", plan, record, "c2", decided_at=decided[0])
    check_cohort("date, decision, share", plan, record, "c3")
    check_completed(plan, record, result)


# --- failing fast ---------------------------------------------------------------------------

async def test_a_rollout_that_will_not_finish_fails_within_its_budget_naming_what_is_stuck(
        client, database, temporal_dev):
    """A second cohort waiting for a decision nobody takes: the drive fails within its budget,
    with the initiative's workflow id, its status and its last events in the message."""
    pool, _ = database
    plan = plan_for("stuck", [(immediate(), 1), (decision(), 1)])
    queue = f"gates-{uuid.uuid4().hex[:6]}"
    budget = 12.0
    async with running_worker(client, pool, task_queue=queue):
        handle = await launch(client, plan, STATE_ADMIN, task_queue=queue,
                              options=InitiativeOptions(speedup=SPEEDUP))
        sim = simulate(client, pool, plan, act_days_before_due=60)
        began = time.monotonic()
        with pytest.raises(AssertionError) as failure:
            await drive_within(client, sim, plan, budget_s=budget)
        took = time.monotonic() - began
        await handle.execute_update(InitiativeWorkflow.control, ControlRequest(
            actor=STATE_ADMIN, action="cancel", reason="test over"))
        await result_within(client, handle, plan, budget_s=30)
    message = str(failure.value)
    print(message)
    assert took < budget + 5, took
    assert f"within its budget of {budget:.0f} s" in message
    assert f"{initiative_workflow_id(plan.initiative.id)}: RUNNING" in message, message
    assert "last [" in message and "WORKFLOW_TASK_COMPLETED" in message, message
    listed = [line for line in message.splitlines() if line.startswith("  ")]
    assert listed and not [line for line in listed if ": COMPLETED" in line], message


@workflow.defn(name="BrokenGateWorkflow")
class BrokenGateWorkflow:
    @workflow.run
    async def run(self, reason: str) -> None:
        raise ApplicationError(reason, non_retryable=True)


async def test_a_failed_workflow_fails_the_drive_at_once(client, database, temporal_dev):
    """A workflow of the rollout that failed (here one standing in for the initiative's) fails
    the drive in its first round, with its id and failure message, not at the budget's end."""
    pool, _ = database
    plan = plan_for("failed", [(immediate(), 1)])
    queue = f"gates-{uuid.uuid4().hex[:6]}"
    workflow_id = rollout_workflow_ids(plan, ())[0]
    async with Worker(client, task_queue=queue, workflows=[BrokenGateWorkflow],
                      workflow_runner=UnsandboxedWorkflowRunner()):
        handle = await client.start_workflow(BrokenGateWorkflow.run, "the gate fell over",
                                             id=workflow_id, task_queue=queue)
        with pytest.raises(Exception):
            await handle.result()
    began = time.monotonic()
    with pytest.raises(AssertionError) as failure:
        await drive_within(client, simulate(client, pool, plan), plan, budget_s=120)
    assert time.monotonic() - began < 10
    message = str(failure.value)
    print(message)
    assert f"{workflow_id}: FAILED" in message, message
    assert "the gate fell over" in message, message
    assert "WORKFLOW_EXECUTION_FAILED" in message, message
