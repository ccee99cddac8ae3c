"""A five-year stall in Initial Implementation, with coaching every four weeks: every run of the
site's workflow stays short, because it continues as new long before histories grow (a coaching
cycle under way does not hold a run open: cycles outlive the run that starts them)."""

import pytest

from domain.stages import Stage
from simulation.districts import Profile
from tests.workflows.harness import drive, one_cohort_plan, simulated
from tests.workflows.test_rollout_lifecycle import start, stream_types
from workflows.ids import site_workflow_id
from workflows.site_rollout import SiteRolloutWorkflow
from workflows.site_work import RUN_EVENT_BUDGET

pytestmark = pytest.mark.asyncio

YEARS = 5


async def run_lengths(client, workflow_id: str) -> list[int]:
    """Event counts of every run of a workflow, newest first."""
    lengths, run_id = [], None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        lengths.append(len(history.events))
        run_id = history.events[0].workflow_execution_started_event_attributes.continued_execution_run_id
        if not run_id:
            return lengths


async def test_a_five_year_rollout_keeps_every_run_short(env, worker, pool):
    plan, handle = await start(env, worker, one_cohort_plan(), "lit-five-years")
    site = plan.sites[0].id
    sim = simulated(env, pool, plan, {site: Profile.CAPACITY_STALLS})
    await drive(env, handle, sim, weeks=YEARS * 52, step_days=7)
    site_handle = env.client.get_workflow_handle(site_workflow_id(plan.initiative.id, site))
    status = await site_handle.query(SiteRolloutWorkflow.status)
    assert (status.stage, status.status) == (Stage.INITIAL_IMPLEMENTATION, "active")
    events, types = await stream_types(pool, plan.initiative.id, site)
    years = (events[-1].occurred_at - events[0].occurred_at).days / 365
    assert years > YEARS - 1
    assert types.count("CoachingCycleStarted") >= 12 * (YEARS - 1), "monthly coaching went on"
    lengths = await run_lengths(env.client, site_handle.id)
    assert len(lengths) > 4 and max(lengths) <= RUN_EVENT_BUDGET + 200, lengths
