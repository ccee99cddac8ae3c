"""Where an initiative or a site stands, for people: asked of the running workflow, or, once the
workflow has closed (or its history is gone), read from the event store and its projections.

The views carry `source` so a reader knows which it was. Narrowing to a district happens here,
with the sites projection saying which district each site belongs to.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Literal

import asyncpg
from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from domain import events as ev
from domain.board import column
from domain.criteria import Check
from domain.initiative import fold as fold_initiative
from domain.site_state import TaskState, fold
from domain.stages import Stage
from store import district_queries
from store.eventstore import EventStore
from workflows.ids import initiative_workflow_id, site_workflow_id
from workflows.initiative import InitiativeWorkflow
from workflows.models import InitiativeStatus, OpenTask, SiteStatus
from workflows.site_rollout import SiteRolloutWorkflow

QUERY_TIMEOUT = timedelta(seconds=10)
Source = Literal["workflow", "event store"]


class SiteView(BaseModel):
    initiative_id: str
    site_id: str
    site_name: str
    kind: str
    region: str
    district_id: str
    cohort_id: str
    stage: Stage | None
    status: str
    pending_move: Stage | None = None
    version: int
    regressions: int
    school_today: date | None = Field(default=None, description="the rollout's school day, while it runs")
    open_tasks: list[OpenTask]
    last_checks: list[Check]
    source: Source


class SiteProgressView(BaseModel):
    site_id: str
    district_id: str | None
    cohort_id: str
    region: str
    stage: Stage | None
    status: str


class InitiativeView(BaseModel):
    initiative_id: str
    status: str
    total_sites: int = Field(description="sites shown (a coordinator sees their district's only)")
    by_stage: dict[str, int] = Field(description="sites per stage; finished or paused sites by status")
    sites: list[SiteProgressView]
    source: Source


class StatusUnavailable(Exception):
    """Temporal did not answer; the message says so in one sentence."""


async def site_view(client: Client, pool: asyncpg.Pool, site_row: asyncpg.Record) -> SiteView:
    """`site_row`: the site's row in the sites projection (already checked to be in scope)."""
    initiative_id, site_id = site_row["initiative_id"], site_row["site_id"]
    common = dict(initiative_id=initiative_id, site_id=site_id, kind=site_row["kind"],
                  district_id=site_row["district_id"])
    handle = client.get_workflow_handle(site_workflow_id(initiative_id, site_id))
    if await _running(handle):
        status: SiteStatus = await _query(handle, SiteRolloutWorkflow.status)
        return SiteView(**common, **status.model_dump(
            include={"site_name", "region", "cohort_id", "stage", "status", "pending_move",
                     "version", "regressions", "school_today"}),
            open_tasks=status.open_tasks, last_checks=status.last_checks, source="workflow")
    state = fold(await EventStore(pool).read_stream(ev.site_stream(initiative_id, site_id)))
    return SiteView(**common, site_name=state.site_name, region=state.region,
                    cohort_id=state.cohort_id, stage=state.stage, status=state.status,
                    pending_move=state.pending_move, version=state.version,
                    regressions=state.regressions, open_tasks=[open_task(t) for t in state.open_tasks()],
                    last_checks=list(state.last_checks), source="event store")


async def initiative_view(client: Client, pool: asyncpg.Pool, initiative_id: str,
                          district: str | None = None) -> InitiativeView | None:
    """The initiative as a whole, or only the district's sites; None when nothing is known."""
    rows = await district_queries.initiative_sites(pool, initiative_id)
    districts = {r["site_id"]: r["district_id"] for r in rows}
    handle = client.get_workflow_handle(initiative_workflow_id(initiative_id))
    if await _running(handle):
        status: InitiativeStatus = await _query(handle, InitiativeWorkflow.status)
        sites = [SiteProgressView(site_id=p.site_id, district_id=districts.get(p.site_id),
                                  cohort_id=p.cohort_id, region=p.region, stage=p.stage,
                                  status=p.status) for p in status.sites.values()]
        overall, source = status.status, "workflow"
    else:
        if not rows:
            return None
        sites = [SiteProgressView(site_id=r["site_id"], district_id=r["district_id"],
                                  cohort_id=r["cohort_id"], region=r["region"],
                                  stage=r["stage"], status=r["status"]) for r in rows]
        overall, source = await _recorded_status(pool, initiative_id, sites), "event store"
    if district is not None:
        sites = [s for s in sites if s.district_id == district]
        if not sites:
            return None
    sites.sort(key=lambda s: (s.region, s.site_id))
    return InitiativeView(initiative_id=initiative_id, status=overall, total_sites=len(sites),
                          by_stage=dict(Counter(column(s.stage, s.status) for s in sites)), sites=sites,
                          source=source)


def open_task(task: TaskState) -> OpenTask:
    return OpenTask(task_id=task.task_id, kind=task.kind, title=task.title, stage=task.stage,
                    assignee_role=task.assignee_role, due=task.due,
                    instrument=task.instrument.value if task.instrument else None, ref=task.ref,
                    overdue=task.overdue, escalated=task.escalated)


async def _recorded_status(pool: asyncpg.Pool, initiative_id: str,
                           sites: list[SiteProgressView]) -> str:
    state = fold_initiative(await EventStore(pool).read_stream(ev.initiative_stream(initiative_id)))
    if state.status == "active" and sites and all(s.status in ("completed", "cancelled") for s in sites):
        return "completed"
    return state.status


async def _running(handle) -> bool:
    try:
        description = await handle.describe(rpc_timeout=QUERY_TIMEOUT)
    except RPCError as problem:
        if problem.status is RPCStatusCode.NOT_FOUND:
            return False
        raise StatusUnavailable(f"Temporal cannot be reached: {problem.message}") from None
    except RuntimeError as problem:
        raise StatusUnavailable(f"Temporal cannot be reached: {str(problem).splitlines()[0]}") from None
    return description.status is WorkflowExecutionStatus.RUNNING


async def _query(handle, query):
    try:
        return await handle.query(query, rpc_timeout=QUERY_TIMEOUT)
    except RPCError as problem:
        raise StatusUnavailable(
            f"Temporal did not answer the status query ({problem.message}); check that a worker "
            "is running.") from None
    except RuntimeError as problem:
        raise StatusUnavailable(f"Temporal cannot be reached: {str(problem).splitlines()[0]}") from None
