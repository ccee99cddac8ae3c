"""The state team gets its SSIP report tasks in time: on the time-skipping server, over the report
year of FFY 2026 (the 2026-27 school year, reported in the SPP/APR due 1 February 2028).

Nothing on 31 October 2027; on 1 November 2027 three open tasks in the inbox, due 31 January
2028 (before the report is due) and told to the state team; entering the SiMR actual and the
stakeholder counts completes two of them; on 1 February 2028 the one left open is overdue; the
cycle goes on to FFY 2027 and stops when the initiative's record ended before that year began.
The launch (rollouts/operations.py) starts the cycle beside the initiative, and the cycle reads
the school clock the initiative's launch recorded.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from temporalio.client import WorkflowExecutionStatus

from domain.ssip_records import StakeholderGroup
from rollouts import operations as ops
from rollouts import ssip as service
from store import inbox_queries
from tests.ssip.builders import (
    ACTUAL, SIMR, STAKEHOLDERS, STATE_TEAM, TARGET, school_clock, store_launch,
)
from tests.workflows.harness import STATE_ADMIN, one_cohort_plan, record_histories
from workflows.ids import ssip_cycle_workflow_id
from workflows.initiative import InitiativeWorkflow
from workflows.models import ControlRequest
from workflows.ssip_cycle import SsipCycleInput, SsipCycleWorkflow

pytestmark = pytest.mark.asyncio

SCHOOL_START = datetime(2026, 8, 17, 8, tzinfo=timezone.utc)


async def sleep_until(env, clock, moment: datetime) -> None:
    now = clock.school_now(await env.get_current_time())
    assert moment > now, (moment, now)
    await env.sleep(moment - now)


async def ssip_tasks(pool, initiative_id: str) -> dict[str, dict]:
    rows = await inbox_queries.tasks(pool, initiative_id=initiative_id)
    return {r["kind"]: dict(r) for r in rows}


async def outbox_subjects(pool, initiative_id: str) -> list[str]:
    rows = await pool.fetch("SELECT recipient, subject FROM outbox WHERE stream_id = $1 "
                            "ORDER BY created_at, subject", f"ssip/{initiative_id}")
    return [f"{r['recipient']}: {r['subject']}" for r in rows]


async def test_the_state_team_gets_its_february_tasks_in_time(env, worker, pool):
    plan = one_cohort_plan(1)
    initiative_id = f"ssip-cycle-{uuid.uuid4().hex[:6]}"
    plan = plan.model_copy(update={"initiative": plan.initiative.model_copy(
        update={"id": initiative_id})})
    clock = school_clock(await env.get_current_time(), SCHOOL_START)
    await store_launch(pool, plan, clock)
    handle = await env.client.start_workflow(
        SsipCycleWorkflow.run, SsipCycleInput(initiative_id=initiative_id, clock=clock, ffy=2026),
        id=ssip_cycle_workflow_id(initiative_id), task_queue=worker)
    first_run = (await handle.describe()).run_id
    await service.define_simr(pool, initiative_id, STATE_TEAM, now=await env.get_current_time(),
                              **SIMR)
    await service.set_target(pool, initiative_id, STATE_TEAM, ffy=2026, percent=TARGET,
                             now=await env.get_current_time())

    await sleep_until(env, clock, datetime(2027, 10, 31, 20, tzinfo=timezone.utc))
    assert await ssip_tasks(pool, initiative_id) == {}, "not given before 1 November"
    status = await handle.query(SsipCycleWorkflow.status)
    assert (status.ffy, status.step, status.at) == (2026, "assign", date(2027, 11, 1))

    await sleep_until(env, clock, datetime(2027, 11, 1, 12, tzinfo=timezone.utc))
    tasks = await ssip_tasks(pool, initiative_id)
    assert set(tasks) == {"ssip_simr_actual", "ssip_stakeholder_engagement", "ssip_reflection"}
    for task in tasks.values():
        assert task["status"] == "open" and task["assignee_role"] == "state"
        assert task["due"] == date(2028, 1, 31) < date(2028, 2, 1), "due before the report"
        assert task["assigned_at"].date() == date(2027, 11, 1), "given three months ahead"
        assert (task["site_id"], task["district_id"], task["stage"]) == (None, None, None)
        assert task["ref"] == "FFY 2026"
    assert "Enter the SiMR actual for FFY 2026 (2026-27)" == tasks["ssip_simr_actual"]["title"]
    told = await outbox_subjects(pool, initiative_id)
    assert len(told) == 3 and all(s.startswith("state-team: SSIP task: ") for s in told)
    coordinator = await inbox_queries.tasks(pool, district="cedar-falls-sd",
                                            initiative_id=initiative_id)
    assert coordinator == [], "a district's inbox never lists the state team's SSIP tasks"

    now = await env.get_current_time()
    entered = await service.record_actual(pool, initiative_id, STATE_TEAM, ffy=2026,
                                          percent=ACTUAL, now=now)
    assert entered.recorded == ["SimrActualRecorded", "SsipTaskCompleted"]
    await service.act(pool, initiative_id, lambda s, at: [service.ssip.RecordStakeholders(
        at=at, actor=STATE_TEAM, ffy=2026, groups=[StakeholderGroup(**g) for g in STAKEHOLDERS])],
        now=now)
    tasks = await ssip_tasks(pool, initiative_id)
    assert tasks["ssip_simr_actual"]["status"] == "completed"
    assert tasks["ssip_simr_actual"]["completed_by"] == STATE_TEAM.id
    assert tasks["ssip_stakeholder_engagement"]["status"] == "completed"
    assert tasks["ssip_reflection"]["status"] == "open"

    await sleep_until(env, clock, datetime(2028, 1, 31, 20, tzinfo=timezone.utc))
    assert not (await ssip_tasks(pool, initiative_id))["ssip_reflection"]["overdue"]
    await sleep_until(env, clock, datetime(2028, 2, 1, 12, tzinfo=timezone.utc))
    tasks = await ssip_tasks(pool, initiative_id)
    assert tasks["ssip_reflection"]["overdue"] and tasks["ssip_reflection"]["status"] == "open"
    assert not tasks["ssip_simr_actual"]["overdue"], "a completed task is never overdue"
    assert (await outbox_subjects(pool, initiative_id))[-1] == \
        "state-team: Overdue: Answer the five reflection questions for FFY 2026 (2026-27)"

    status = await handle.query(SsipCycleWorkflow.status)
    assert (status.ffy, status.step) == (2027, "assign"), "continued as new for the next year"
    await sleep_until(env, clock, datetime(2028, 11, 1, 12, tzinfo=timezone.utc))
    last = await handle.result()
    assert (last.ffy, last.step) == (2027, "over"), \
        "the record ended before FFY 2027 began: no report is due for it"
    assert len(await ssip_tasks(pool, initiative_id)) == 3
    await record_histories(env.client, {
        "ssip-cycle-first-year": (ssip_cycle_workflow_id(initiative_id), first_run),
        "ssip-cycle-over": (ssip_cycle_workflow_id(initiative_id), None)})


async def test_the_launch_starts_the_ssip_cycle_beside_the_initiative(env, worker, pool):
    plan = one_cohort_plan(1)
    initiative_id = f"ssip-launch-{uuid.uuid4().hex[:6]}"
    plan = plan.model_copy(update={"initiative": plan.initiative.model_copy(
        update={"id": initiative_id})})
    launched = await ops.launch_initiative(env.client, plan, STATE_ADMIN, task_queue=worker,
                                           speedup=1)
    assert launched.ssip_cycle == ssip_cycle_workflow_id(initiative_id)
    cycle = env.client.get_workflow_handle(launched.ssip_cycle)
    for _ in range(100):
        status = await cycle.query(SsipCycleWorkflow.status)
        if status.step != "clock":
            break
        await env.sleep(timedelta(minutes=10))
    else:
        raise AssertionError("the cycle never read the clock of the initiative's launch")
    assert (status.ffy, status.step, status.at) == (2026, "assign", date(2027, 11, 1)), \
        "launched in the 2026-27 school year: FFY 2026 is the first to report"
    first_run = (await cycle.describe()).run_id
    assert await ops.start_ssip_cycle(env.client, initiative_id, task_queue=worker) == \
        launched.ssip_cycle
    assert (await cycle.describe()).run_id == first_run, "a running cycle is left as it is"
    handle = env.client.get_workflow_handle(launched.workflow_id)
    await handle.execute_update(InitiativeWorkflow.control, ControlRequest(
        actor=STATE_ADMIN, action="cancel", reason="the state withdrew the initiative"))
    await handle.result()
    description = await cycle.describe()
    assert description.status == WorkflowExecutionStatus.RUNNING, \
        "the cycle outlasts the rollout: the year's report is still due"
    await record_histories(env.client, {
        "initiative-launched-beside-ssip-cycle": (launched.workflow_id, None),
        "ssip-cycle-reads-launch-clock": (launched.ssip_cycle, None)})
    await cycle.terminate(reason="test over")
