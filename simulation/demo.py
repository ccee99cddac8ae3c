"""The demo's story: one initiative played through by simulated districts, time compressed.

Most sites progress steadily; one sees its fidelity collapse, slips back to Installation and
recovers; one never reaches readiness, is escalated, and the simulated state team withdraws it.
The demo's screen lives in `cli.demo_command`; this module only runs the rollout and reports.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

import asyncpg
from temporalio.client import Client, WorkflowHandle

from domain.actors import Actor, Role
from domain.plan import Plan
from domain.stages import Stage
from domain.events import site_stream
from simulation.playthrough import launch, play, simulate
from simulation.districts import Profile
from rollouts.trouble import Trouble, troubles
from rollouts.views import site_view
from store import district_queries
from store.eventstore import EventStore
from store.initiative_queries import recorded_counts
from workflows.ids import site_workflow_id
from workflows.models import ControlRequest, InitiativeOptions, InitiativeStatus
from workflows.site_rollout import SiteRolloutWorkflow

STATE_TEAM = Actor(id="state.implementation.team", role=Role.STATE_ADMIN)
TROUBLE_CHECK_S = 5.0
"""How often the demo asks Temporal whether a workflow of the initiative has stopped."""
SCHOOL_DAY_SECONDS = 0.1
SPEEDUP = 86_400 / SCHOOL_DAY_SECONDS
"""One calendar day of school time every tenth of a second (×864,000)."""


def demo_plan(plan: Plan, run_stamp: str) -> Plan:
    """The plan under a fresh initiative id, so every demo run has its own record."""
    initiative = plan.initiative.model_copy(update={"id": f"{plan.initiative.id}-{run_stamp}"})
    return plan.model_copy(update={"initiative": initiative})


def profiles_for(plan: Plan) -> dict[str, Profile]:
    """Steady sites, plus one whose fidelity collapses and one that never becomes ready."""
    sites = [s.id for s in plan.sites]
    profiles = {site: Profile.STEADY for site in sites}
    if len(sites) >= 3:
        profiles[sites[1]] = Profile.FIDELITY_COLLAPSES
        profiles[sites[-1]] = Profile.READINESS_FAILS
    return profiles


class RolloutStopped(Exception):
    """A workflow of the demo's initiative failed or cannot go on: the demo stops and says so."""

    def __init__(self, found: list[Trouble]) -> None:
        super().__init__("; ".join(t.line() for t in found))
        self.troubles = found


@dataclass
class Round:
    """What the screen shows after each round."""

    status: InitiativeStatus
    school_day: date | None
    elapsed: float
    withdrawn: list[str]


@dataclass
class StateTeam:
    """The simulated state team: withdraws a site once its readiness has been escalated."""

    client: Client
    pool: asyncpg.Pool
    initiative_id: str
    profiles: dict[str, Profile]
    withdrawn: list[str] = field(default_factory=list)
    school_day: date | None = None

    async def act(self, status: InitiativeStatus) -> None:
        for site_id, progress in status.sites.items():
            if progress.status != "active":
                continue
            handle = self.client.get_workflow_handle(site_workflow_id(self.initiative_id, site_id))
            row = await district_queries.site(self.pool, self.initiative_id, site_id)
            site = await site_view(self.pool, row)
            if site.school_today:
                self.school_day = max(self.school_day or site.school_today, site.school_today)
            if self.profiles.get(site_id) is Profile.READINESS_FAILS and \
                    any(t.escalated for t in site.open_tasks):
                await handle.execute_update(SiteRolloutWorkflow.control, ControlRequest(
                    actor=STATE_TEAM, action="cancel", site_id=site_id,
                    reason="Readiness not reached after escalation; the district re-applies next year"))
                self.withdrawn.append(site_id)


async def run_demo(client: Client, pool: asyncpg.Pool, plan: Plan, *, task_queue: str, on_round,
                   max_seconds: float,
                   search_attributes: bool = True) -> tuple[WorkflowHandle, InitiativeStatus]:
    """Launch the initiative and play it until every site has finished (or time runs out)."""
    profiles = profiles_for(plan)
    handle = await launch(client, plan, STATE_TEAM, task_queue=task_queue, options=InitiativeOptions(
        speedup=SPEEDUP, search_attributes=search_attributes))
    sim = simulate(client, pool, plan, profiles)
    team = StateTeam(client, pool, plan.initiative.id, profiles)
    started = time.monotonic()

    def show(status: InitiativeStatus) -> None:
        on_round(Round(status, team.school_day, time.monotonic() - started, list(team.withdrawn)))

    def overdue(status: InitiativeStatus) -> bool:
        return time.monotonic() - started > max_seconds

    checked = time.monotonic()

    async def act(status: InitiativeStatus) -> None:
        nonlocal checked
        await team.act(status)
        if time.monotonic() - checked >= TROUBLE_CHECK_S:
            checked = time.monotonic()
            if found := await troubles(client, plan.initiative.id):
                raise RolloutStopped(found)

    status = await play(sim, rounds=10**9, wait=lambda: asyncio.sleep(SCHOOL_DAY_SECONDS),
                        on_round=show, until=overdue, state_team=act)
    show(status)
    return handle, status


@dataclass
class SiteReport:
    site_id: str
    name: str
    final: str
    stages: list[str]
    regressions: int
    escalations: int
    started: date | None
    finished: date | None


@dataclass
class Totals:
    events: int
    tasks: int
    notifications: int
    pd_sessions: int
    sites: list[SiteReport]


async def totals(pool: asyncpg.Pool, plan: Plan, status: InitiativeStatus) -> Totals:
    """Figures for the closing summary, read back from the event store and read models."""
    store, reports = EventStore(pool), []
    for site in plan.sites:
        events = await store.read_stream(site_stream(plan.initiative.id, site.id))
        entered = [e for e in events if e.type == "StageEntered"]
        progress = status.sites.get(site.id)
        reports.append(SiteReport(
            site_id=site.id, name=site.name,
            final=_final(progress.status if progress else "not started",
                         progress.stage if progress else None),
            stages=[e.payload.stage.value for e in entered],
            regressions=sum(1 for e in events if e.type == "SiteRegressed"),
            escalations=sum(1 for e in events if e.type == "TaskEscalated"),
            started=_day(entered[0].occurred_at) if entered else None,
            finished=_day(events[-1].occurred_at) if events and events[-1].type in (
                "SiteCompleted", "RolloutCancelled") else None))
    return Totals(**asdict(await recorded_counts(pool, plan.initiative.id)), sites=reports)


def _final(status: str, stage: Stage | None) -> str:
    if status == "completed":
        return "Completed"
    if status == "cancelled":
        return f"Cancelled in {stage.value}" if stage else "Cancelled"
    return f"{status} in {stage.value}" if stage else status


def _day(moment: datetime) -> date:
    return moment.date()
