"""Playing a rollout through: start an initiative and let simulated districts answer it.

The same loop serves the demo (real server, compressed time, `asyncio.sleep` between rounds)
and the tests (time-skipping server, `env.sleep`): read the board (from the read models, as the
state's page does), answer every active site's open tasks, let time pass, until every site has
finished.
"""

from __future__ import annotations

from typing import Awaitable, Callable

import asyncpg
from temporalio.client import Client, WorkflowHandle

from domain.actors import Actor
from domain.plan import Plan
from simulation.districts import Profile, SimulatedDistricts
from workflows.ids import initiative_workflow_id
from workflows.initiative import InitiativeWorkflow
from workflows.models import InitiativeInput, InitiativeOptions, InitiativeStatus

FINISHED = ("completed", "cancelled")


async def launch(client: Client, plan: Plan, launched_by: Actor, *, task_queue: str,
                 options: InitiativeOptions = InitiativeOptions()) -> WorkflowHandle:
    return await client.start_workflow(
        InitiativeWorkflow.run, InitiativeInput(plan=plan, launched_by=launched_by, options=options),
        id=initiative_workflow_id(plan.initiative.id), task_queue=task_queue)


def simulate(client: Client, pool: asyncpg.Pool, plan: Plan,
             profiles: dict[str, Profile] | None = None, **options) -> SimulatedDistricts:
    return SimulatedDistricts(client, pool, plan, profiles, **options)


def all_finished(status: InitiativeStatus) -> bool:
    return len(status.sites) == status.total_sites and all(
        p.status in FINISHED for p in status.sites.values())


async def play(sim: SimulatedDistricts, *, rounds: int,
               wait: Callable[[], Awaitable[None]],
               on_round: Callable[[InitiativeStatus], None] | None = None,
               until: Callable[[InitiativeStatus], bool] | None = None,
               state_team: Callable[[InitiativeStatus], Awaitable[None]] | None = None,
               ) -> InitiativeStatus:
    """Up to `rounds` rounds of: read the board, stop if done, answer the active sites (and let
    the state team act), wait."""
    for _ in range(rounds):
        status = await sim.board()
        if on_round:
            on_round(status)
        if (until and until(status)) or all_finished(status):
            return status
        for site_id, progress in status.sites.items():
            if progress.status == "active":
                await sim.answer_site(site_id)
        if state_team:
            await state_team(status)
        await wait()
    return await sim.board()
