"""An initiative as a whole: its status (a coordinator sees their district's sites only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.auth import Principal, allow, district_of, resources
from api.errors import NotFound, responses
from api.routes.sites import InitiativeId
from domain.actors import Role
from rollouts.views import InitiativeView, initiative_view

router = APIRouter(tags=["initiatives"])
Overseer = Annotated[Principal, Depends(allow(Role.STATE_ADMIN, Role.DISTRICT_COORDINATOR))]


@router.get("/initiatives/{initiative_id}/status", response_model=InitiativeView,
            responses=responses(401, 403, 404, 422, 503))
async def initiative_status(request: Request, who: Overseer,
                            initiative_id: InitiativeId) -> InitiativeView:
    """Sites per stage and each site's stage and status, from the read models."""
    view = await initiative_view(await resources(request).pool(), initiative_id, district_of(who))
    if view is None:
        raise NotFound(f"There is no initiative '{initiative_id}'.")
    return view
