"""Where an initiative or a site stands, for people, read from the event store and its read models.

Never from a workflow query: a query is answered by whichever worker holds the workflow, and one
sent to a worker that has just taken over from a crashed one made the SDK run that workflow's
next task with a stale time. The record is what people act on anyway; it is written in the same
transaction as the read models, so a view is never behind what a person was told was recorded.
Narrowing to a district happens here, with the sites projection saying which district each site
belongs to.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timezone
from typing import Literal

import asyncpg
from pydantic import BaseModel, Field

from domain import events as ev
from domain.board import column
from domain.initiative import fold as fold_initiative
from domain.school_clock import SchoolClock
from domain.site_state import fold
from domain.stages import Stage
from domain.plan import Plan
from store import board_queries, district_queries
from store.eventstore import EventStore
from workflows.models import InitiativeStatus, SiteProgress, SiteStatus

Source = Literal["event store"]
FINISHED = ("completed", "cancelled")


class SiteView(SiteStatus):
    """A site's standing (the fields of the workflow's own status) and where it belongs."""

    initiative_id: str
    kind: str
    district_id: str
    source: Source = "event store"


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
    source: Source = "event store"


async def site_view(pool: asyncpg.Pool, site_row: asyncpg.Record, *,
                    now: datetime | None = None) -> SiteView:
    """`site_row`: the site's row in the sites projection (already checked to be in scope).
    `now`: the real time to read the school day at (default: this moment)."""
    initiative_id, site_id = site_row["initiative_id"], site_row["site_id"]
    store = EventStore(pool)
    state = fold(await store.read_stream(ev.site_stream(initiative_id, site_id)))
    today = None
    if state.status not in FINISHED:
        clock = await school_clock(store, initiative_id)
        today = clock.today(now or datetime.now(timezone.utc)) if clock else None
    return SiteView(**SiteStatus.of(state, today).model_dump(), initiative_id=initiative_id,
                    kind=site_row["kind"], district_id=site_row["district_id"])


async def school_clock(store: EventStore, initiative_id: str) -> SchoolClock | None:
    """The initiative's school clock, as its launch recorded it (None for launches before it was
    recorded)."""
    launch = await store.read_stream(ev.initiative_stream(initiative_id), limit=1)
    return launch[0].payload.school_clock if launch else None


async def initiative_view(pool: asyncpg.Pool, initiative_id: str,
                          district: str | None = None) -> InitiativeView | None:
    """The initiative as a whole, or only the district's sites; None when nothing is known."""
    rows = await district_queries.initiative_sites(pool, initiative_id)
    if not rows:
        return None
    sites = [SiteProgressView(site_id=r["site_id"], district_id=r["district_id"],
                              cohort_id=r["cohort_id"], region=r["region"],
                              stage=r["stage"], status=r["status"]) for r in rows]
    overall = await _recorded_status(pool, initiative_id, sites)
    if district is not None:
        sites = [s for s in sites if s.district_id == district]
        if not sites:
            return None
    sites.sort(key=lambda s: (s.region, s.site_id))
    return InitiativeView(initiative_id=initiative_id, status=overall, total_sites=len(sites),
                          by_stage=dict(Counter(column(s.stage, s.status) for s in sites)),
                          sites=sites)


async def _recorded_status(pool: asyncpg.Pool, initiative_id: str,
                           sites: list[SiteProgressView]) -> str:
    state = fold_initiative(await EventStore(pool).read_stream(ev.initiative_stream(initiative_id)))
    if state.status == "active" and sites and all(s.status in FINISHED for s in sites):
        return "completed"
    return state.status


async def initiative_board(pool: asyncpg.Pool, plan: Plan) -> InitiativeStatus:
    """The initiative's board as its status query would draw it, from the read models: the
    simulated teams and the demo read this, never the running workflow."""
    initiative_id = plan.initiative.id
    state = fold_initiative(await EventStore(pool).read_stream(ev.initiative_stream(initiative_id)))
    sites = {r.site_id: SiteProgress(site_id=r.site_id, cohort_id=r.cohort_id, region=r.region,
                                     stage=r.stage, status=r.status, version=r.version)
             for r in await board_queries.site_progress(pool, initiative_id)}
    return InitiativeStatus.of(plan, state, sites)
