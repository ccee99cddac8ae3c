"""Initiatives from a plan: check a plan's YAML exactly as `rollout plan validate` does (the same
problems in the same words, rollouts/plans.py), and launch its initiative as `rollout start`
does, on the task queue the API is configured with."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import ValidationError

from api.auth import StateAdmin, resources
from api.errors import Conflict, FieldProblem, Invalid, Unavailable, responses
from api.models import Launch, PlanText
from rollouts import operations as ops
from rollouts import plans
from rollouts.plans import PlanCheck

router = APIRouter(tags=["initiatives"])


@router.post("/plans/check", response_model=PlanCheck,
             responses=responses(400, 401, 403, 413, 422, 503))
async def check_plan(request: Request, who: StateAdmin, body: PlanText) -> PlanCheck:
    """Validate a plan without starting anything: `valid` with its summary, or every problem
    with its line, field path and value, as `rollout plan validate --json` prints them (against
    the instrument definitions the API was started with)."""
    _, verdict = plans.check_plan(body.plan_yaml, body.source, resources(request).instruments)
    return verdict


@router.post("/initiatives", response_model=ops.Launched, status_code=201,
             responses=responses(400, 401, 403, 409, 413, 422, 503))
async def launch(request: Request, who: StateAdmin, body: Launch) -> ops.Launched:
    """Validate the plan and launch its initiative, recorded as launched by you. An invalid plan
    is a 422 listing each problem as `rollout plan validate` words it; an id already started
    (running, or held by the event store) is a 409."""
    plan, verdict = plans.check_plan(body.plan_yaml, body.source, resources(request).instruments)
    if plan is None:
        raise Invalid(f"{verdict.problem}: " + "; ".join(
            plans.issue_line(i) for i in verdict.errors[:3]) + (
            f" (and {len(verdict.errors) - 3} more)" if len(verdict.errors) > 3 else ""),
            [FieldProblem(path=f"body.plan_yaml {i.path}".rstrip(), message=plans.issue_line(i),
                          value=i.value or None) for i in verdict.errors])
    try:
        plan = plans.renamed(plan, body.initiative_id)
    except ValidationError as problem:
        message = problem.errors()[0]["msg"]
        raise Invalid(f"Invalid initiative_id {body.initiative_id!r}: {message}.",
                      [FieldProblem(path="body.initiative_id", message=message,
                                    value=body.initiative_id)]) from None
    settings = resources(request).settings
    try:
        return await plans.launch(await resources(request).temporal(),
                                  await resources(request).pool(), plan, who.actor,
                                  task_queue=settings.task_queue, speedup=body.speedup)
    except ops.OperationError as refused:
        raise operation_failure(refused) from None


def operation_failure(refused: ops.OperationError) -> Unavailable | Conflict:
    """An operation Temporal could not carry out: unreachable (503), or refused (409: the
    initiative is already started, or no longer running)."""
    return (Unavailable if refused.code == ops.UNAVAILABLE else Conflict)(refused.message)
