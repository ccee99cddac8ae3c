"""School time: real time, shifted so that an initiative launches on its plan's first school day,
and optionally compressed for demos.

A rollout spans years. Tests move time with the time-skipping server (speedup 1); the demo runs
the same workflows with time compressed by `speedup` and says so. Either way every date the rules
see comes from `workflow.now()`, so replay is deterministic.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


MIN_TIMER = timedelta(milliseconds=100)
"""Shortest sleep: a school day compressed for a demo still gets a real timer."""


class SchoolClock(BaseModel):
    model_config = ConfigDict(frozen=True)

    origin_real: AwareDatetime = Field(description="workflow time when the initiative launched")
    origin_school: AwareDatetime = Field(description="school time at that moment")
    speedup: float = Field(default=1.0, ge=1.0, description="school seconds per real second")

    def school_now(self, real_now: datetime) -> datetime:
        return self.origin_school + (real_now - self.origin_real) * self.speedup

    def today(self, real_now: datetime) -> date:
        return self.school_now(real_now).date()

    def real_delay_until(self, real_now: datetime, school_day: date) -> timedelta:
        """How long to sleep (in workflow time) until the start of `school_day`."""
        target = datetime.combine(school_day, time(7, 0), tzinfo=timezone.utc)
        return max(MIN_TIMER, (target - self.school_now(real_now)) / self.speedup)
