"""Audit reads: a site's history with why it moved, an initiative's record, one actor's actions, a
window of time. JSON or CSV (`format=csv`, the same columns as `rollout audit --format csv`), with
counts of people under the plan's minimum cell size suppressed, as the initiative's launch recorded
it (`audit.export.min_cell_for`); `min_cell` may raise it, never lower it, and never below 10.

A site's or an initiative's record is a resource (404 when unknown, or outside a coordinator's
district); actor and window reads are searches (an empty list when nothing matches). A
coordinator's searches see their district's site streams only; the initiative record, which holds
state-level decisions, is for state admins and auditors.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Literal, Sequence

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from api.auth import Principal, allow, district_of, resources
from api.errors import Invalid, NotFound, responses
from api.models import (
    SLUG, TEXT_ID, Moment, AuditedEvent, AuditEvents, InitiativeAudit, InitiativeAuditSite, SiteAudit, StageMoveView,
)
from api.routes.sites import InitiativeId, SiteId, site_in_scope
from audit.export import initiatives_of, min_cell_for, write_csv
from domain import events as ev
from domain.actors import Role
from domain.privacy import RAISED_MIN_CELL_RANGE, redact
from audit.wording import min_cell, names_in, stage_moves, summarize
from store import audit_queries, district_queries
from store.audit_queries import AuditedEvent as StoredEvent

router = APIRouter(prefix="/audit", tags=["audit"])
Reader = Annotated[Principal, Depends(allow(Role.STATE_ADMIN, Role.AUDITOR, Role.DISTRICT_COORDINATOR))]
StateReader = Annotated[Principal, Depends(allow(Role.STATE_ADMIN, Role.AUDITOR))]
Format = Annotated[Literal["json", "csv"], Query(description="json (default) or csv")]
MinCell = Annotated[int | None, Query(
    alias="min_cell", ge=RAISED_MIN_CELL_RANGE[0], le=RAISED_MIN_CELL_RANGE[1],
    description="suppress counts of people below this: raises the plan's minimum cell size "
                "(as recorded at launch), never lowers it")]
Limit = Annotated[int, Query(ge=1, le=audit_queries.DEFAULT_LIMIT)]
CSV = {200: {"content": {"text/csv": {"schema": {"type": "string"}}},
             "description": "The events as JSON, or as CSV when format=csv"}}


@router.get("/sites/{initiative_id}/{site_id}", response_model=SiteAudit,
            responses={**CSV, **responses(401, 403, 404, 422, 503)})
async def site_audit(request: Request, who: Reader, initiative_id: InitiativeId, site_id: SiteId,
                     format: Format = "json", min_cell_size: MinCell = None):
    """Every event of one site's rollout, and why it moved from stage to stage."""
    if district_of(who) is not None:
        await site_in_scope(request, who, initiative_id, site_id)
    pool = await resources(request).pool()
    stored = await audit_queries.stream_events(pool, ev.site_stream(initiative_id, site_id))
    if not stored:
        raise NotFound(f"There is no site '{site_id}' in initiative '{initiative_id}'.")
    min_cell.set(await min_cell_for(pool, [initiative_id], min_cell_size))
    if format == "csv":
        return _csv(stored, f"audit-{initiative_id}-{site_id}.csv")
    moves = [StageMoveView(sequence=m.entered.sequence, from_stage=m.entered.payload.from_stage,
                           to_stage=m.entered.payload.stage, reason=m.entered.payload.reason,
                           trigger=m.trigger, evidence=m.evidence,
                           checks=[c.model_dump(mode="json") for c in m.checks])
             for m in stage_moves([s.event for s in stored])]
    return SiteAudit(initiative_id=initiative_id, site_id=site_id, events=_json(stored),
                     moves=moves)


@router.get("/initiatives/{initiative_id}", response_model=InitiativeAudit,
            responses={**CSV, **responses(401, 403, 404, 422, 503)})
async def initiative_audit(request: Request, who: StateReader, initiative_id: InitiativeId,
                           format: Format = "json", min_cell_size: MinCell = None):
    """The initiative's own events (launch, cohorts, pauses) and where each of its sites stands."""
    pool = await resources(request).pool()
    stored = await audit_queries.stream_events(pool, ev.initiative_stream(initiative_id))
    sites = await district_queries.initiative_sites(pool, initiative_id)
    if not stored and not sites:
        raise NotFound(f"There is no initiative '{initiative_id}'.")
    min_cell.set(await min_cell_for(pool, [initiative_id], min_cell_size))
    if format == "csv":
        return _csv(stored, f"audit-{initiative_id}.csv")
    return InitiativeAudit(
        initiative_id=initiative_id, events=_json(stored),
        sites=[InitiativeAuditSite(site_id=s["site_id"], name=s["name"], district_id=s["district_id"],
                                   region=s["region"], cohort_id=s["cohort_id"], stage=s["stage"],
                                   status=s["status"]) for s in sites])


@router.get("/actors/{actor_id}", response_model=AuditEvents,
            responses={**CSV, **responses(401, 403, 422, 503)})
async def actor_audit(
    request: Request, who: Reader,
    actor_id: Annotated[str, Path(pattern=TEXT_ID, max_length=200,
                                  description="a person's id, or 'rollout-engine'")],
    initiative: Annotated[str | None, Query(pattern=SLUG, max_length=64)] = None,
    since: Moment | None = None, until: Moment | None = None,
    format: Format = "json", min_cell_size: MinCell = None, limit: Limit = 10_000,
):
    """Everything one person did, oldest first (a coordinator: within their district)."""
    since, until = _window(since, until)
    pool, district = await resources(request).pool(), district_of(who)
    if district is None:
        stored = await audit_queries.actor_events(pool, actor_id, since=since, until=until,
                                                  initiative_id=initiative, limit=limit)
    else:
        stored = await district_queries.events_in_district(
            pool, district, actor_id=actor_id, since=since, until=until, initiative_id=initiative,
            limit=limit)
    await _suppressing(pool, stored, min_cell_size)
    return _csv(stored, f"audit-actor-{actor_id}.csv") if format == "csv" else _events(stored)


@router.get("/window", response_model=AuditEvents,
            responses={**CSV, **responses(401, 403, 422, 503)})
async def window_audit(
    request: Request, who: Reader, since: Moment, until: Moment,
    initiative: Annotated[str | None, Query(pattern=SLUG, max_length=64)] = None,
    format: Format = "json", min_cell_size: MinCell = None, limit: Limit = 10_000,
):
    """Everything recorded as happening in [since, until) (a coordinator: within their district)."""
    since, until = _window(since, until)
    pool, district = await resources(request).pool(), district_of(who)
    if district is None:
        stored = await audit_queries.window_events(pool, since, until, initiative_id=initiative,
                                                   limit=limit)
    else:
        stored = await district_queries.events_in_district(
            pool, district, since=since, until=until, initiative_id=initiative, limit=limit)
    await _suppressing(pool, stored, min_cell_size)
    return _csv(stored, "audit-window.csv") if format == "csv" else _events(stored)


def _window(since: datetime | None, until: datetime | None):
    """The window must not be empty (api.models.Moment has made both times UTC if zoneless)."""
    if since and until and until <= since:
        raise Invalid(f"until ({until.isoformat()}) must be after since ({since.isoformat()}).")
    return since, until


async def _suppressing(pool, stored: Sequence[StoredEvent], asked: int | None) -> None:
    """A search spans initiatives: it is told with the strictest of their plans' minimums."""
    min_cell.set(await min_cell_for(pool, initiatives_of(s.event for s in stored), asked))


def _json(stored: Sequence[StoredEvent]) -> list[AuditedEvent]:
    names = names_in([s.event for s in stored])
    out = []
    for s in stored:
        data = s.event.model_dump(mode="json")
        data["payload"] = redact(s.event.type, data["payload"], min_cell.get())
        out.append(AuditedEvent(position=s.position, recorded_at=s.recorded_at,
                                summary=summarize(s.event, names), event=data))
    return out


def _events(stored: Sequence[StoredEvent]) -> AuditEvents:
    return AuditEvents(count=len(stored), events=_json(stored))


def _csv(stored: Sequence[StoredEvent], filename: str) -> Response:
    out = io.StringIO()
    write_csv([s.event for s in stored], out)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{_safe(filename)}"'})


def _safe(name: str) -> str:
    """ASCII only: a header cannot carry anything else."""
    return "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in name)
