"""The SSIP's yearly cycle for one initiative: the state team gets its report tasks in time.

The SPP/APR holding the SSIP report for FFY Y is due on 1 February of Y+2 (domain/ssip.py). Each
run of this workflow is one FFY: it sleeps in the initiative's school time until 1 November of
Y+1, gives the state team its three tasks for FFY Y (SiMR actual, stakeholder engagement, the five
reflection questions; due 31 January), sleeps until 1 February of Y+2 and marks what is still open
overdue, then continues as new for FFY Y+1. A year that begins after the initiative's record ended
is not reported on: the cycle stops there.

It is one main loop of timers and activities with no Update or signal (nothing for a handler to
hand over; its query only reads), so a worker that picks it up cold replays one sequence of
commands, and each run's history stays a handful of events. It runs beside the initiative, not as
its child: the launch (rollouts/operations.py `launch_initiative`) starts it right after the
initiative, and `rollout ssip start-cycle` starts one for an initiative launched before. Started
at launch, it knows no clock yet: its first run reads the one the initiative's launch recorded
(an activity, retried until the initiative has recorded it) and reports first on the FFY of the
initiative's first school day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.ssip import SsipCycleWork, SsipYear, SsipYearOutcome
    from domain import ssip
    from domain.school_clock import SchoolClock
    from workflows.activity_options import RECORD


class SsipCycleInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    initiative_id: str
    clock: SchoolClock | None = None
    """The initiative's school clock (recorded in its launch), so the cycle keeps its time; None:
    read it from the recorded launch first."""
    ffy: int | None = None
    """The FFY this run gives tasks for; None: the FFY of the initiative's first school day."""


class SsipCycleStatus(BaseModel):
    initiative_id: str
    ffy: int
    ffy: int | None
    step: str
    """What the run waits for: 'clock' (the initiative's recorded launch), 'assign' (1 November),
    'overdue' (1 February) or 'over'."""
    at: date | None
    """The school day of that step (None while it waits for the clock)."""
    assigned: list[str] = []


def first_ffy(launched_on: date) -> int:
    """The FFY an initiative launched on that school day reports on first."""
    return ssip.ffy_of(launched_on)


@workflow.defn
class SsipCycleWorkflow:
    @workflow.init
    def __init__(self, input: SsipCycleInput) -> None:
        self._input = input
        self._step, self._at = ("clock", None) if input.ffy is None else \
            ("assign", ssip.tasks_assigned_on(input.ffy))
        self._assigned: list[str] = []

    @workflow.run
    async def run(self, input: SsipCycleInput) -> SsipCycleStatus:
        if input.clock is None or input.ffy is None:
            input = await self._read_clock(input)
        while True:
            await self._sleep_until(self._at)
            outcome = await self._carry_out_step()
            if self._step == "assign":
                if outcome.initiative_over:
                    self._step = "over"
                    return self.status()
                self._assigned = outcome.recorded
                self._step, self._at = "overdue", ssip.report_due(input.ffy)
                continue
            workflow.continue_as_new(SsipCycleInput(
                initiative_id=input.initiative_id, clock=input.clock, ffy=input.ffy + 1))

    async def _read_clock(self, input: SsipCycleInput) -> SsipCycleInput:
        clock = input.clock or await workflow.execute_activity_method(
            SsipCycleWork.initiative_school_clock, input.initiative_id, **RECORD)
        ffy = input.ffy if input.ffy is not None else first_ffy(clock.origin_school.date())
        self._input = SsipCycleInput(initiative_id=input.initiative_id, clock=clock, ffy=ffy)
        self._step, self._at = "assign", ssip.tasks_assigned_on(ffy)
        return self._input

    async def _carry_out_step(self) -> SsipYearOutcome:
        year = SsipYear(initiative_id=self._input.initiative_id, ffy=self._input.ffy,
                        at=self._school_now())
        work = SsipCycleWork.assign_ssip_tasks if self._step == "assign" else \
            SsipCycleWork.mark_ssip_tasks_overdue
        return await workflow.execute_activity_method(work, year, **RECORD)

    async def _sleep_until(self, day: date) -> None:
        """Until the start of the school day (several timers when the server caps one)."""
        while (delay := self._input.clock.real_delay_until(workflow.now(), day)) > _ALMOST_NOW:
            await workflow.sleep(delay)

    def _school_now(self) -> datetime:
        return self._input.clock.school_now(workflow.now())

    @workflow.query
    def status(self) -> SsipCycleStatus:
        return SsipCycleStatus(initiative_id=self._input.initiative_id, ffy=self._input.ffy,
                               step=self._step, at=self._at, assigned=self._assigned)


_ALMOST_NOW = timedelta(milliseconds=100)
"""A delay this short is the clock's shortest timer: the day has come."""
