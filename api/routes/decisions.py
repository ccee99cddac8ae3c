"""Stage decisions: the queue of sites waiting for the state, and a state admin's decision about
one site (approve, decline, override a failed gate, send back), each one Update to the site's
rollout through rollouts/decisions.py, as the web pages and `rollout decide` send it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from api.auth import Principal, StateAdmin, allow, district_of, resources
from api.errors import NotFound, responses
from api.models import SLUG, StageDecision
from api.routes.sites import InitiativeId, SiteId, site_in_scope
from domain.actors import Role
from rollouts import decisions
from rollouts.decisions import Decided, WaitingDecision

router = APIRouter(tags=["decisions"])
QueueReader = Annotated[Principal, Depends(allow(Role.STATE_ADMIN, Role.DISTRICT_COORDINATOR))]


class DecisionQueue(BaseModel):
    district: str | None = Field(description="the district the queue is narrowed to, if any")
    decisions: list[WaitingDecision]


@router.get("/decisions", response_model=DecisionQueue, responses=responses(401, 403, 404, 422, 503))
async def decision_queue(
    request: Request, who: QueueReader,
    initiative: Annotated[str | None, Query(pattern=SLUG, max_length=64)] = None,
    district: Annotated[str | None, Query(pattern=SLUG, max_length=64, description=(
        "one district's sites (a coordinator's own district is the only one they see)"))] = None,
    limit: Annotated[int, Query(ge=1, le=decisions.QUEUE_LIMIT)] = 200,
) -> DecisionQueue:
    """Sites whose stage move waits for the state's decision, longest waiting first, each with
    the checks the rules weighed. A coordinator sees their district's queue; another district's
    answers 404, as a district that does not exist would for them."""
    own = district_of(who)
    if own is not None and district not in (None, own):
        raise NotFound(f"There is no decision queue for district '{district}'.")
    scope = own if own is not None else district
    waiting = await decisions.waiting(await resources(request).pool(), initiative_id=initiative,
                                      district=scope, limit=limit)
    return DecisionQueue(district=scope, decisions=waiting)


@router.post("/sites/{initiative_id}/{site_id}/decision", response_model=Decided,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
async def decide(request: Request, who: StateAdmin, initiative_id: InitiativeId, site_id: SiteId,
                 body: StageDecision) -> Decided:
    """Approve or decline the move waiting for the state, override a failed gate with a
    rationale, or send the site back a stage with a reason. The site's rollout decides (a 422
    names what its rules refused); the person and the reason are recorded in its events."""
    row = await site_in_scope(request, who, initiative_id, site_id)
    return await decisions.decide(await resources(request).temporal(),
                                  await resources(request).pool(), row, actor=who.actor,
                                  decision=body.decision, reason=body.reason,
                                  to_stage=body.to_stage)
