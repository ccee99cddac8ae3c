"""Playing one school year of an initiative on a real Temporal server, time compressed.

`simulation.playthrough.play` answers sites one after another, which is right for a handful of
sites; at state scale a round would then last many compressed school days and every task would
fall overdue. This driver answers the active sites concurrently, starts no answer in the last few
real seconds before the plan's school year closes (so none lands after it), then lets school time
run past the year's end with nobody acting: no stage move happens without someone acting, so the
board at the year's end is still the board when the test compares it with the workflows.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import date, datetime, time as clock_time, timedelta, timezone
from typing import Callable

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from domain.calendar import next_school_day
from domain.plan import Plan
from simulation.districts import SimulatedDistricts
from domain.school_clock import SchoolClock
from workflows.initiative import InitiativeWorkflow
from workflows.models import InitiativeStatus


@dataclass
class YearPlayed:
    status: InitiativeStatus
    last_answered: date | None
    """The last school day on which the simulated people started answering."""
    school_today: date
    rounds: int
    seconds: float
    round_seconds: list[float] = field(default_factory=list)


async def school_clock(handle: WorkflowHandle, plan: Plan, speedup: float) -> SchoolClock:
    """The initiative's school clock, rebuilt from outside: it started at the time of the
    initiative's first workflow task (its `workflow.now()` then) on the plan's first school day
    at 08:00. A site's status query cannot tell the time: a query answers with the time of the
    site's last workflow task, which is stale while the site sleeps."""
    for _ in range(100):
        history = await handle.fetch_history()
        started = next((e for e in history.events
                        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED), None)
        if started is not None:
            first_day = next_school_day(plan.calendar, plan.calendar.years[0].start)
            return SchoolClock(
                origin_real=started.event_time.ToDatetime(tzinfo=timezone.utc),
                origin_school=datetime.combine(first_day, clock_time(8), tzinfo=timezone.utc),
                speedup=speedup)
        await asyncio.sleep(0.1)
    raise AssertionError("the initiative's first workflow task never started")


def today(clock: SchoolClock) -> date:
    return clock.today(datetime.now(timezone.utc))


async def play_school_year(
    handle: WorkflowHandle, sim: SimulatedDistricts, clock: SchoolClock, *,
    year_end: date, guard_seconds: float = 10.0, concurrency: int = 64, pause: float = 0.1,
    on_round: Callable[[InitiativeStatus, date, float], None] | None = None,
) -> YearPlayed:
    """Answer every active site each round, starting no answer later than `guard_seconds` of
    real time before the close of `year_end` (so answers in flight land before it), then wait,
    answering nothing, until school time is past the year's end."""
    started, rounds, durations = time.monotonic(), 0, []
    gate = asyncio.Semaphore(concurrency)
    cutoff = close_of(year_end) - timedelta(seconds=guard_seconds * clock.speedup)
    answered: list[date] = []

    def open_for_answers() -> bool:
        return clock.school_now(datetime.now(timezone.utc)) < cutoff

    async def answer(site_id: str) -> None:
        async with gate:
            if open_for_answers():
                answered.append(today(clock))
                await sim.answer_site(site_id)

    while open_for_answers():
        round_started = time.monotonic()
        status = await handle.query(InitiativeWorkflow.status)
        await asyncio.gather(*(answer(site_id) for site_id, p in status.sites.items()
                               if p.status == "active"))
        rounds += 1
        durations.append(time.monotonic() - round_started)
        if on_round:
            on_round(status, today(clock), durations[-1])
        await asyncio.sleep(pause)
    while clock.school_now(datetime.now(timezone.utc)) < close_of(year_end):
        await asyncio.sleep(pause)
    status = await handle.query(InitiativeWorkflow.status)
    return YearPlayed(status, max(answered, default=None), today(clock), rounds,
                      time.monotonic() - started, durations)


def close_of(day: date) -> datetime:
    """The moment a school day is over: midnight at its end (school time is kept in UTC)."""
    return datetime.combine(day + timedelta(days=1), clock_time(0), tzinfo=timezone.utc)
