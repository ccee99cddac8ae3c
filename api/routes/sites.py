"""A site's rollout: where it stands, and submitting an assessment (an Update to its workflow)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from api.auth import Principal, allow, district_of, resources
from api.errors import FieldProblem, Invalid, NotFound, responses
from api.models import SLUG, ActionResult, SubmitAssessment
from domain.actors import Role
from domain.instrument_definitions import scoring_key
from domain.instruments import DefinedAssessment
from rollouts import task_actions
from rollouts.views import SiteView, site_view
from store import district_queries

router = APIRouter(tags=["sites"])
InitiativeId = Annotated[str, Path(pattern=SLUG, max_length=64, description="the initiative's id")]
SiteId = Annotated[str, Path(pattern=SLUG, max_length=64, description="the site's id")]
SiteReader = Annotated[Principal, Depends(allow(Role.STATE_ADMIN, Role.DISTRICT_COORDINATOR))]
Submitter = Annotated[Principal, Depends(allow(
    Role.STATE_ADMIN, Role.DISTRICT_COORDINATOR, Role.COACH))]


@router.get("/sites/{initiative_id}/{site_id}", response_model=SiteView,
            responses=responses(401, 403, 404, 422, 503))
async def site_status(request: Request, who: SiteReader, initiative_id: InitiativeId,
                      site_id: SiteId) -> SiteView:
    """Where the site's rollout stands: stage, status, open tasks and the last exit checks, as
    the event store records them."""
    row = await site_in_scope(request, who, initiative_id, site_id)
    return await site_view(await resources(request).pool(), row)


@router.post("/sites/{initiative_id}/{site_id}/assessments", response_model=ActionResult,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
async def submit_assessment(request: Request, who: Submitter, initiative_id: InitiativeId,
                            site_id: SiteId, body: SubmitAssessment) -> ActionResult:
    """Submit an assessment (fit/readiness review, adoption decision, installation checklist,
    capacity, fidelity or stage analysis; `assessment.instrument` says which). Scores are
    computed by the rollout; it refuses an instrument the site's stage does not take."""
    await site_in_scope(request, who, initiative_id, site_id)
    if isinstance(body.assessment, DefinedAssessment):
        _key_from_the_definition(request, body.assessment)
    assessment_id = body.assessment_id or f"api:{uuid.uuid4().hex}"
    outcome = await task_actions.submit_assessment(
        await resources(request).temporal(), initiative_id=initiative_id, site_id=site_id,
        actor=who.actor, assessment_id=assessment_id, assessment=body.assessment,
        task_id=body.task_id)
    return ActionResult(initiative_id=initiative_id, site_id=site_id, task_id=body.task_id,
                        assessment_id=assessment_id, outcome=outcome)


def _key_from_the_definition(request: Request, answers: DefinedAssessment) -> None:
    """A key sent with an assessment must be the definition's own (GET /instruments/{id}/{version}),
    apart from the action mark, which the rollout sets from the plan: items cannot be regrouped or
    rescaled by the sender."""
    key = answers.key
    definition = resources(request).instruments.get(key.definition_id, key.version)
    if definition is None:
        raise Invalid(f"There is no instrument definition '{key.definition_id}' version "
                      f"'{key.version}'.", [FieldProblem(path="body.assessment.key.definition_id",
                                                         message="unknown", value=key.definition_id)])
    if key.model_copy(update={"action_mark": ""}) != scoring_key(definition).model_copy(
            update={"action_mark": ""}):
        raise Invalid(f"assessment.key differs from the definition {key.ref}; send the key "
                      f"GET /instruments/{key.definition_id}/{key.version} gives.",
                      [FieldProblem(path="body.assessment.key", message="not the definition's key",
                                    value=key.ref)])


async def site_in_scope(request: Request, who: Principal, initiative_id: str, site_id: str):
    """The site's row, or 404 when it is unknown or outside the principal's district."""
    row = await district_queries.site(await resources(request).pool(), initiative_id, site_id,
                                      district_of(who))
    if row is None:
        raise NotFound(f"There is no site '{site_id}' in initiative '{initiative_id}'.")
    return row
