"""Pause, resume or cancel an initiative or one site, with a reason: the workflows' control
Updates through rollouts/operations.py, exactly as `rollout pause|resume|cancel` sends them."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.auth import StateAdmin, resources
from api.errors import Conflict, responses
from api.models import Control
from api.routes.cohorts import recorded
from api.routes.launches import operation_failure
from api.routes.sites import InitiativeId, SiteId, site_in_scope
from rollouts import operations as ops
from workflows.models import ControlRequest

router = APIRouter(tags=["initiatives"])
FINISHED = ("completed", "cancelled")


@router.post("/initiatives/{initiative_id}/control", response_model=ops.ControlResult,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
async def control_initiative(request: Request, who: StateAdmin, initiative_id: InitiativeId,
                             body: Control) -> ops.ControlResult:
    """Pause, resume or cancel the whole initiative (every site follows); `changed` is false
    when it was so already (its sites are still asked)."""
    await recorded(request, initiative_id)
    return await _send(request, initiative_id, ControlRequest(
        actor=who.actor, action=body.action, reason=body.reason.strip()))


@router.post("/sites/{initiative_id}/{site_id}/control", response_model=ops.ControlResult,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
async def control_site(request: Request, who: StateAdmin, initiative_id: InitiativeId,
                       site_id: SiteId, body: Control) -> ops.ControlResult:
    """Pause, resume or cancel one site's rollout; a finished rollout is a 409."""
    row = await site_in_scope(request, who, initiative_id, site_id)
    if row["status"] in FINISHED:
        raise Conflict(f"The rollout of site '{site_id}' is {row['status']}; there is nothing to "
                       f"{body.action}.")
    return await _send(request, initiative_id, ControlRequest(
        actor=who.actor, action=body.action, reason=body.reason.strip(), site_id=site_id))


async def _send(request: Request, initiative_id: str, control: ControlRequest) -> ops.ControlResult:
    try:
        return await ops.control(await resources(request).temporal(), initiative_id, control)
    except ops.OperationError as refused:
        raise operation_failure(refused) from None
