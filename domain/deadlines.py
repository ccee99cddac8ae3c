"""Task deadlines in school days: remind before the due date, flag overdue after it, escalate
to the state team when a task stays overdue."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from domain import commands as cmd
from domain.actors import SYSTEM
from domain.calendar import SchoolCalendar, add_school_days, is_school_day, school_days_between
from domain.site_state import SiteRolloutState, TaskState


class DeadlinePolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    remind_school_days_before: int = 3
    escalate_after_school_days: int = 5


def deadline_commands(
    state: SiteRolloutState, *, today: date, at: datetime, calendar: SchoolCalendar,
    policy: DeadlinePolicy,
) -> list[cmd.Command]:
    """The reminders, overdue flags and escalations due today for the site's open tasks."""
    commands: list[cmd.Command] = []
    for task in state.open_tasks():
        common = dict(at=at, actor=SYSTEM, task_id=task.task_id)
        if not task.reminded and today <= task.due and \
                school_days_between(calendar, today, task.due) <= policy.remind_school_days_before:
            commands.append(cmd.RemindTask(**common))
        if not task.overdue and today > task.due:
            commands.append(cmd.MarkTaskOverdue(**common))
        if not task.escalated and today > task.due and \
                school_days_between(calendar, task.due, today) >= policy.escalate_after_school_days:
            commands.append(cmd.EscalateTask(**common, reason=f"overdue since {task.due:%d %b %Y}"))
    return commands


def next_deadline(state: SiteRolloutState, *, today: date, calendar: SchoolCalendar,
                  policy: DeadlinePolicy) -> date | None:
    """The next day after `today` on which some open task needs a reminder, flag or escalation."""
    upcoming = [d for task in state.open_tasks() for d in _milestones(task, calendar, policy)
                if d > today]
    return min(upcoming, default=None)


def _milestones(task: TaskState, calendar: SchoolCalendar, policy: DeadlinePolicy) -> list[date]:
    dates = []
    if not task.reminded:
        dates.append(_school_days_before(calendar, task.due, policy.remind_school_days_before))
    if not task.overdue:
        dates.append(task.due + timedelta(days=1))
    if not task.escalated:
        dates.append(add_school_days(calendar, task.due, policy.escalate_after_school_days))
    return dates


def _school_days_before(calendar: SchoolCalendar, due: date, n: int) -> date:
    """The latest day from which `due` is at most `n` school days away: the day on which the
    school days from it up to `due` (inclusive) first number n + 1."""
    back = n if is_school_day(calendar, due) else n + 1
    return due if back == 0 else add_school_days(calendar, due, -back)
