"""The SSIP cycle's work: read the initiative's school clock from its recorded launch, give the
state team its tasks for a year's report, and mark the ones left open overdue once the report was
due.

Both decide on the SSIP's stream (domain/ssip.py) and append through the event store with the
engine as the actor; both are idempotent (a task already assigned, or already marked, is not
recorded again), so a retry records nothing twice.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import AwareDatetime, BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain import ssip
from domain.actors import SYSTEM
from domain.school_clock import SchoolClock
from store import ssip_stream


class SsipYear(BaseModel):
    initiative_id: str
    ffy: int
    at: AwareDatetime
    """School time of the step, from the cycle's clock."""


class SsipYearOutcome(BaseModel):
    initiative_over: bool = False
    """The initiative's record ends before this FFY began: no report is due for it, or after."""
    recorded: list[str] = []
    """Task ids assigned (or marked overdue) by this step."""


class SsipCycleWork:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn
    async def initiative_school_clock(self, initiative_id: str) -> SchoolClock:
        """The clock the initiative's launch recorded. The cycle is started beside the initiative
        (rollouts/operations.py), so the launch may not be recorded yet: retried until it is."""
        launched = await ssip_stream.launched(self._pool, initiative_id)
        if launched is None or launched.school_clock is None:
            raise ApplicationError(f"Initiative '{initiative_id}' has not recorded its launch "
                                   "with a school clock yet.", type="LaunchNotRecorded")
        return launched.school_clock

    @activity.defn
    async def assign_ssip_tasks(self, year: SsipYear) -> SsipYearOutcome:
        last = await ssip_stream.last_rollout_event_at(self._pool, year.initiative_id)
        if last is None or last.date() < ssip.ffy_first_day(year.ffy):
            return SsipYearOutcome(initiative_over=True)
        command = ssip.AssignYearTasks(at=year.at, actor=SYSTEM, ffy=year.ffy)
        return await self._record(year, command)

    @activity.defn
    async def mark_ssip_tasks_overdue(self, year: SsipYear) -> SsipYearOutcome:
        return await self._record(year, ssip.MarkOverdue(at=year.at, actor=SYSTEM, ffy=year.ffy))

    async def _record(self, year: SsipYear, command: ssip.Command) -> SsipYearOutcome:
        _, events = await ssip_stream.record(
            self._pool, year.initiative_id, lambda state: ssip.decide(state, command),
            workflow_id=activity.info().workflow_id)
        return SsipYearOutcome(recorded=[e.payload.task_id for e in events])
