"""The escalation queue a state team works: open tasks escalated to the level above, oldest
escalation first, each with its age in school days and where its site is.

Shared by the API (`GET /escalations`), the web page and `rollout escalations`. Who may see what
is the edges' call (a state admin: every district; a district coordinator: their own district's,
read-only); this module only narrows to the district it is given. Acting on an escalated task
(reassign, extend, waive) is an Update to the site's workflow (rollouts/task_actions.py).

Age is counted in school days on the initiative's calendar, as its launch recorded it, from the
school day the task was escalated to the initiative's school day today. An initiative launched
before the calendar was recorded counts weekdays instead (its breaks count as days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import asyncpg
from pydantic import BaseModel, Field

from domain import events as ev
from domain.calendar import SchoolCalendar, school_days_between
from domain.school_clock import SchoolClock
from domain.stages import Stage
from store import escalation_queries
from store.eventstore import EventStore

MAX_AGE = 2_000
"""The largest age filter: school days in about eleven years."""


class EscalatedTask(BaseModel):
    task_id: str
    initiative_id: str
    site_id: str
    site_name: str
    region: str
    district_id: str
    kind: str
    title: str
    stage: Stage
    assignee_role: str
    assignee: str | None = Field(description="the person or team it was reassigned to, if any")
    due: date
    overdue: bool
    escalated_to: str | None
    escalated_at: datetime | None = Field(description="when it was escalated (school time)")
    age_school_days: int | None = Field(description="school days since it was escalated")


@dataclass(frozen=True)
class SchoolTime:
    """An initiative's school day today and how it counts school days."""

    today: date
    calendar: SchoolCalendar | None

    def days_between(self, a: date, b: date) -> int:
        if self.calendar is not None:
            return school_days_between(self.calendar, a, b)
        return _weekdays_between(a, b)

    def escalated_by(self, n: int) -> date:
        """The latest day on which an escalation is at least `n` school days old today (counted
        as `days_between` counts them, weekends and breaks included)."""
        day = self.today - timedelta(days=n)  # n school days take at least n days
        while self.days_between(day, self.today) < n:
            day -= timedelta(days=1)
        return day


async def queue(pool: asyncpg.Pool, *, district: str | None = None, region: str | None = None,
                kind: str | None = None, older_than_days: int | None = None,
                initiative_id: str | None = None, site_id: str | None = None, limit: int = 100,
                offset: int = 0, now: datetime | None = None) -> list[EscalatedTask]:
    """Escalated open tasks in scope, oldest escalation first; `older_than_days` keeps those
    escalated at least that many school days ago. `now`: the real time to age them at."""
    scope = dict(district=district, region=region, kind=kind, initiative_id=initiative_id,
                 site_id=site_id)
    initiatives = await escalation_queries.escalated_initiatives(pool, **scope)
    times = {i: await school_time(pool, i, now) for i in initiatives}
    cutoffs = None
    if older_than_days:
        cutoffs = {i: t.escalated_by(older_than_days) for i, t in times.items()}
    rows = await escalation_queries.escalations(pool, **scope, escalated_by=cutoffs, limit=limit,
                                                offset=offset)
    return [_escalated(r, times.get(r["initiative_id"])) for r in rows]


def _escalated(row: asyncpg.Record, time: SchoolTime | None) -> EscalatedTask:
    fields = {k: row[k] for k in EscalatedTask.model_fields if k != "age_school_days"}
    at = row["escalated_at"]
    age = None
    if at is not None and time is not None:
        age = max(0, time.days_between(at.astimezone(timezone.utc).date(), time.today))
    return EscalatedTask(**fields, age_school_days=age)


async def school_time(pool: asyncpg.Pool, initiative_id: str,
                      now: datetime | None = None) -> SchoolTime:
    """The initiative's school day now, and its calendar, from its launch; an initiative without
    a recorded clock is read in real time."""
    launch = await EventStore(pool).read_stream(ev.initiative_stream(initiative_id), limit=1)
    payload = launch[0].payload if launch else None
    clock: SchoolClock | None = getattr(payload, "school_clock", None)
    real_now = now or datetime.now(timezone.utc)
    today = clock.today(real_now) if clock else real_now.date()
    return SchoolTime(today=today, calendar=getattr(payload, "calendar", None))


def _weekdays_between(a: date, b: date) -> int:
    """Weekdays after `a` up to and including `b` (negative when `b` is before `a`)."""
    if b < a:
        return -_weekdays_between(b, a)
    weeks, extra = divmod((b - a).days, 7)
    return weeks * 5 + sum(1 for i in range(1, extra + 1) if (a + timedelta(days=i)).weekday() < 5)
