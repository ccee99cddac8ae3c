"""Pausing a site for 10 school days moves every open task's due date by 10 school days, through
the workflows on the time-skipping server: the site's own state, the event store and the inbox
agree, and a task whose old due date passes while it waits is not flagged overdue. The state
team then works a task through the `manage_task` Update.

With ROLLOUT_RECORD_HISTORIES=1 the site's history is saved for the replay tests
(`site-rollout-resumed-with-the-shift`).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain import events as ev
from domain.calendar import add_school_days, school_days_between
from domain.stages import Stage
from store import inbox_queries
from store.eventstore import EventStore
from tests.workflows.harness import STATE_ADMIN, one_cohort_plan, record_histories
from workflows.ids import initiative_workflow_id, site_workflow_id
from workflows.initiative import InitiativeWorkflow
from workflows.models import ControlRequest, InitiativeInput, TaskManagementRequest
from workflows.site_rollout import SiteRolloutWorkflow

pytestmark = pytest.mark.asyncio
PAUSED_SCHOOL_DAYS = 10


async def launched_site(env, worker, initiative_id: str):
    """A one-site initiative, its site in Exploration with its two assessment tasks open."""
    plan = one_cohort_plan(sites=1)
    plan = plan.model_copy(update={"initiative": plan.initiative.model_copy(update={"id": initiative_id})})
    await env.client.start_workflow(
        InitiativeWorkflow.run, InitiativeInput(plan=plan, launched_by=STATE_ADMIN),
        id=initiative_workflow_id(initiative_id), task_queue=worker)
    site_id = plan.sites[0].id
    site = env.client.get_workflow_handle(site_workflow_id(initiative_id, site_id))
    for _ in range(96):
        await env.sleep(timedelta(hours=1))
        try:
            status = await site.query(SiteRolloutWorkflow.status)
        except Exception:  # not started yet
            continue
        if status.stage is Stage.EXPLORATION and len(status.open_tasks) == 2:
            return plan, site_id, site, status
    raise AssertionError("the site never reached Exploration with its tasks out")


async def school_today(env, pool, initiative_id: str) -> date:
    """The initiative's school day now, by the clock its launch recorded (a paused workflow's
    own time stands still until something wakes it)."""
    launch = await EventStore(pool).read_stream(ev.initiative_stream(initiative_id), limit=1)
    return launch[0].payload.school_clock.today(await env.get_current_time())


async def sleep_until(env, pool, initiative_id: str, day: date) -> None:
    """Let school time run (speedup 1) until the initiative's school day is `day`."""
    today = await school_today(env, pool, initiative_id)
    if day > today:
        await env.sleep(timedelta(days=(day - today).days))
    assert await school_today(env, pool, initiative_id) == day


async def control(site, site_id: str, action: str, reason: str):
    return await site.execute_update(SiteRolloutWorkflow.control, ControlRequest(
        actor=STATE_ADMIN, action=action, reason=reason, site_id=site_id))


async def test_a_ten_school_day_pause_moves_every_open_due_date_by_ten_school_days(env, worker, pool):
    initiative_id = "shift-pause"
    plan, site_id, site, before = await launched_site(env, worker, initiative_id)
    calendar = plan.calendar
    due_before = {t.task_id: t.due for t in before.open_tasks}

    assert (await control(site, site_id, "pause", "superintendent change")).status == "paused"
    stream = await EventStore(pool).read_stream(ev.site_stream(initiative_id, site_id))
    paused_on = next(e for e in stream if e.type == "RolloutPaused").occurred_at.date()
    resume_on = add_school_days(calendar, paused_on, PAUSED_SCHOOL_DAYS)
    await sleep_until(env, pool, initiative_id, resume_on)
    outcome = await control(site, site_id, "resume", "new superintendent in post")
    assert outcome.recorded == ["RolloutResumed", "TaskDueDatesShifted"]

    after = await site.query(SiteRolloutWorkflow.status)
    due_after = {t.task_id: t.due for t in after.open_tasks}
    assert due_after.keys() == due_before.keys()
    for task_id, due in due_before.items():
        assert school_days_between(calendar, due, due_after[task_id]) == PAUSED_SCHOOL_DAYS, task_id

    stream = await EventStore(pool).read_stream(ev.site_stream(initiative_id, site_id))
    (shifted,) = [e for e in stream if e.type == "TaskDueDatesShifted"]
    assert (shifted.payload.paused_on, shifted.payload.resumed_on, shifted.payload.school_days) == (
        paused_on, resume_on, PAUSED_SCHOOL_DAYS)
    assert shifted.actor == STATE_ADMIN
    inbox = await inbox_queries.tasks(pool, site_id=site_id, initiative_id=initiative_id,
                                      status="open")
    assert {r["task_id"]: r["due"] for r in inbox} == due_after

    # Past the old due dates, nothing is overdue: the deadlines count only active school days.
    old_due = max(due_before.values())
    await sleep_until(env, pool, initiative_id, add_school_days(calendar, old_due, 2))
    now = await site.query(SiteRolloutWorkflow.status)
    assert not any(t.overdue for t in now.open_tasks)
    stream = await EventStore(pool).read_stream(ev.site_stream(initiative_id, site_id))
    assert not [e for e in stream if e.type == "TaskOverdue"]

    # The state team works the tasks through the site's own Update.
    first, second = sorted(due_after)
    extended_to = add_school_days(calendar, due_after[first], 5)
    outcome = await site.execute_update(SiteRolloutWorkflow.manage_task, TaskManagementRequest(
        actor=STATE_ADMIN, site_id=site_id, task_id=first, action="extend", due=extended_to,
        reason="the district board meets later"))
    assert outcome.recorded == ["TaskDueDateExtended"]
    outcome = await site.execute_update(SiteRolloutWorkflow.manage_task, TaskManagementRequest(
        actor=STATE_ADMIN, site_id=site_id, task_id=second, action="reassign",
        assignee=f"team:district:{site_id}", reason="the district team owns it now"))
    assert outcome.recorded == ["TaskReassigned"]
    final = {t.task_id: t for t in (await site.query(SiteRolloutWorkflow.status)).open_tasks}
    assert final[first].due == extended_to and final[second].assignee == f"team:district:{site_id}"

    await control(site, site_id, "cancel", "end of the test")
    await site.result()
    await record_histories(env.client, {
        "site-rollout-resumed-with-the-shift": (site_workflow_id(initiative_id, site_id), None)})
