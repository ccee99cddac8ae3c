"""Importing results scored elsewhere (a CSV file in the request body), and the instrument
definitions a client needs to send assessments of its own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from api.auth import Principal, allow, district_of, resources
from api.errors import FieldProblem, Invalid, NotFound, responses
from domain.actors import Role
from domain.instrument_definitions import InstrumentDefinition, scoring_key
from domain.instruments import ScoringKey
from pydantic import BaseModel
from rollouts.imports import ImportOutcome, ImportRefused, import_results

router = APIRouter(tags=["instruments"])
Importer = Annotated[Principal, Depends(allow(Role.STATE_ADMIN, Role.DISTRICT_COORDINATOR))]
Reader = Annotated[Principal, Depends(allow(
    Role.STATE_ADMIN, Role.DISTRICT_COORDINATOR, Role.COACH, Role.AUDITOR))]
CSV_TYPES = ("text/csv", "text/plain", "application/csv")


class DefinitionWithKey(BaseModel):
    definition: InstrumentDefinition
    key: ScoringKey
    """What a submission of this instrument carries as `assessment.key` (the definition's own
    mark; a plan's mark is applied by the rollout)."""


@router.post("/imports", response_model=ImportOutcome,
             responses=responses(400, 401, 403, 413, 422, 503),
             openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {
                 "schema": {"type": "string"}}}}})
async def import_file(request: Request, who: Importer) -> ImportOutcome:
    """Import fidelity and capacity results from a CSV body (columns: initiative, site,
    instrument, version, item, score, date; facilitator, participants as 'role:count; role:count'
    and resolution where a team scored by consensus). Every row is checked, and each assessment
    against its site's rules, before anything is recorded: a bad row refuses the whole file with
    422, every bad row named with its line and field. The same rows imported again record
    nothing. A coordinator imports for their district's sites only."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in CSV_TYPES:
        raise Invalid(f"Send the CSV file as the request body with Content-Type text/csv, not "
                      f"'{kind or 'none'}'.", [FieldProblem(path="header.content-type",
                                                            message="must be text/csv", value=kind)])
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("The CSV file is not UTF-8 text.") from None
    where = resources(request)
    try:
        return await import_results(await where.pool(), await where.temporal(), where.instruments,
                                    text, who.actor, district=district_of(who), source="the upload")
    except ImportRefused as refused:
        raise Invalid(f"{len(refused.lines)} bad row(s); nothing was imported.", [
            FieldProblem(path=f"line {p.line}.{p.field}", message=p.message, value=p.value)
            for p in refused.problems]) from None


@router.get("/instruments", response_model=list[str], responses=responses(401, 403, 503))
async def instruments(request: Request, who: Reader) -> list[str]:
    """The instrument definitions this server knows, as id@version."""
    return resources(request).instruments.refs()


@router.get("/instruments/{definition_id}/{version}", response_model=DefinitionWithKey,
            responses=responses(401, 403, 404, 422))
async def instrument(request: Request, who: Reader,
                     definition_id: Annotated[str, Path(max_length=64)],
                     version: Annotated[str, Path(max_length=20)]) -> DefinitionWithKey:
    """One definition: items, scale, scoring, thresholds, who completes it and when; and the
    scoring key its submissions carry."""
    definition = resources(request).instruments.get(definition_id, version)
    if definition is None:
        raise NotFound(f"There is no instrument definition '{definition_id}' version '{version}'.")
    return DefinitionWithKey(definition=definition, key=scoring_key(definition))
