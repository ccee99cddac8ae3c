"""Coaching cycles: who coaches a site, and the three steps of each cycle with their days.

A cycle is plan (pre-conference) → observe → debrief with feedback. Each step is a task for the
coach, due a fixed number of school days after the cycle starts.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain import commands as cmd
from domain.actors import SYSTEM
from domain.calendar import SchoolCalendar, add_school_days

STEP_SCHOOL_DAYS = {"plan": 3, "observe": 8, "debrief": 12}
"""Each step is due this many school days after the cycle starts."""


class CoachingStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: Literal["plan", "observe", "debrief"]
    task_id: str
    due: date


class CoachingCycleInput(BaseModel):
    """One cycle as its workflow runs it: the steps it waits for, and where it reports."""

    model_config = ConfigDict(extra="forbid")

    cycle_id: str
    coach_id: str
    steps: list[CoachingStep]
    report_to: str | None = Field(default=None, description="the site workflow the outcome is "
                                  "signalled to (None: only returned to the run that started it)")


def choose_coach(site_id: str, region: str, trainers) -> str:
    """A trainer of the site's own region (any trainer when the region has none), spread over
    the sites by a stable hash of the site's id; a regional placeholder when there are none."""
    local = [t for t in trainers if t.region == region] or list(trainers)
    if not local:
        return f"coach:{region}"
    return local[sum(map(ord, site_id)) % len(local)].id


def step_dues(calendar: SchoolCalendar, start: date) -> dict[str, date]:
    """When each step of a cycle starting on `start` is due."""
    return {step: add_school_days(calendar, start, days) for step, days in STEP_SCHOOL_DAYS.items()}


def cycle_commands(*, cycle_id: str, number: int, coach_id: str, dues: dict[str, date],
                   at: datetime) -> list[cmd.Command]:
    """Start cycle `number` and give its coach one task per step."""
    return [
        cmd.StartCoachingCycle(at=at, actor=SYSTEM, cycle_id=cycle_id, number=number,
                               coach_id=coach_id),
        *[cmd.AssignTask(at=at, actor=SYSTEM, task_id=step_task_id(cycle_id, step),
                         kind="coaching_step", title=f"Coaching cycle {number}: {step}",
                         assignee_role="coach", due=due, ref=cycle_id)
          for step, due in dues.items()]]


def step_task_id(cycle_id: str, step: str) -> str:
    return f"{cycle_id}:{step}"
