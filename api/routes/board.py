"""The stage board: sites per cohort, region, stage and status, now and at past moments
(store/board_queries.py, from the stage-history projection)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.auth import district_of, resources
from api.errors import NotFound, responses
from api.models import Board, Moment
from api.routes.initiatives import Overseer
from api.routes.sites import InitiativeId
from store import board_queries

router = APIRouter(tags=["initiatives"])


@router.get("/initiatives/{initiative_id}/board", response_model=Board,
            responses=responses(401, 403, 404, 422, 503))
async def board(
    request: Request, who: Overseer, initiative_id: InitiativeId,
    points: Annotated[int, Query(ge=1, le=60, description="moments, evenly spaced from the "
                                 "first enrolment to the latest change (1: now only)")] = 8,
    at: Annotated[Moment | None, Query(description="the board at this one moment instead")] = None,
) -> Board:
    """Sites per stage over time (a coordinator's board counts their district's sites only)."""
    pool, district = await resources(request).pool(), district_of(who)
    span = await board_queries.history_span(pool, initiative_id, district)
    if span is None:
        raise NotFound(f"There is no stage board for initiative '{initiative_id}'.")
    if at is not None:
        moments = [at]
    else:
        moments = board_queries.moments_between(*span, points) if points > 1 else [span[1]]
    cells = await board_queries.board_at(pool, initiative_id, moments, district)
    return Board(initiative_id=initiative_id, district=district, moments=moments,
                 cells=cells)
