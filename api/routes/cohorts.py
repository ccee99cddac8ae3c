"""Cohort gates decided by the state: an initiative's cohorts with their gates and how far the
cohort before each closed one has come, and opening a decision-gated cohort with a reason
(rollouts/cohort_gates.py, as the web page and `rollout cohort open` do)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from api.auth import StateAdmin, resources
from api.errors import NotFound, responses
from api.models import SLUG, CohortOpening
from api.routes.sites import InitiativeId
from rollouts.cohort_gates import CohortBoard, CohortOpened, cohort_gates, open_cohort
from store.initiative_queries import initiative_recorded

router = APIRouter(tags=["initiatives"])
CohortId = Annotated[str, Path(pattern=SLUG, max_length=64, description="the cohort's id")]


async def recorded(request: Request, initiative_id: str) -> None:
    """404 unless the event store holds the initiative."""
    if not await initiative_recorded(await resources(request).pool(), initiative_id):
        raise NotFound(f"There is no initiative '{initiative_id}'.")


@router.get("/initiatives/{initiative_id}/cohorts", response_model=CohortBoard,
            responses=responses(401, 403, 404, 409, 422, 503))
async def cohorts(request: Request, who: StateAdmin, initiative_id: InitiativeId) -> CohortBoard:
    """Each cohort with its gate: who opened it and why, or, while closed, the earlier cohort's
    sites per stage and the share of it at or beyond each stage. `waiting_for_decision` marks
    the cohorts a state decision opens."""
    await recorded(request, initiative_id)
    return await cohort_gates(await resources(request).temporal(),
                              await resources(request).pool(), initiative_id)


@router.post("/initiatives/{initiative_id}/cohorts/{cohort_id}/open", response_model=CohortOpened,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
async def open_one(request: Request, who: StateAdmin, initiative_id: InitiativeId,
                   cohort_id: CohortId, body: CohortOpening) -> CohortOpened:
    """Open a cohort whose gate is a state decision, with the reason recorded beside your id in
    its CohortStarted event. `started` is false while a cohort before it is still closed: the
    decision is kept, and it starts when that one has."""
    await recorded(request, initiative_id)
    return await open_cohort(await resources(request).temporal(), initiative_id, cohort_id,
                             actor=who.actor, reason=body.reason,
                             pool=await resources(request).pool())
