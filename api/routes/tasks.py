"""The task inbox and completing a task (an Update to the site's rollout workflow)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from api.auth import Principal, allow, assignee_role_of, district_of, resources
from api.errors import Conflict, FieldProblem, Invalid, NotFound, responses
from api.models import SLUG, TEXT_ID, ActionResult, CompleteTask, Task, TaskPage, TaskStatus
from domain.actors import Role
from rollouts import task_actions
from store import inbox_queries

router = APIRouter(tags=["tasks"])
TaskWorker = Annotated[Principal, Depends(allow(
    Role.STATE_ADMIN, Role.DISTRICT_COORDINATOR, Role.COACH))]
TaskId = Annotated[str, Path(pattern=TEXT_ID, max_length=200, description="the task's id")]


@router.get("/tasks", response_model=TaskPage, responses=responses(401, 403, 422, 503))
async def list_tasks(
    request: Request, who: TaskWorker,
    site: Annotated[str | None, Query(pattern=SLUG, max_length=64, description="only this site's tasks")] = None,
    initiative: Annotated[str | None, Query(pattern=SLUG, max_length=64)] = None,
    status: Annotated[TaskStatus | None, Query(description="open, completed or withdrawn")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TaskPage:
    """The inbox: tasks within your scope (a coordinator's district, a coach's coaching work),
    earliest due first. A site outside your scope simply has no tasks for you."""
    pool = await resources(request).pool()
    rows = await inbox_queries.tasks(
        pool, district=district_of(who), assignee_role=assignee_role_of(who),
        initiative_id=initiative, site_id=site, status=status, limit=limit, offset=offset)
    return TaskPage(tasks=[Task(**dict(r)) for r in rows], limit=limit, offset=offset)


@router.get("/tasks/{task_id}", response_model=Task, responses=responses(401, 403, 404, 422, 503))
async def get_task(request: Request, who: TaskWorker, task_id: TaskId) -> Task:
    """One task of your scope."""
    return Task(**dict(await _task_in_scope(request, who, task_id)))


@router.post("/tasks/{task_id}/complete", response_model=ActionResult,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
async def complete_task(request: Request, who: TaskWorker, task_id: TaskId,
                        body: CompleteTask) -> ActionResult:
    """Mark a task done, with its outcome. The site's rollout decides: a task answered by an
    assessment is refused here (submit the assessment), and a task already completed answers 409
    (of several people completing it at once, exactly one is recorded; the others hear so)."""
    row = await _task_in_scope(request, who, task_id)
    if row["site_id"] is None:
        raise Invalid(f"Task '{task_id}' is the state team's SSIP task: it is completed by "
                      "recording what it asks for (`rollout ssip record` with the year's Phase "
                      "III document), not here.",
                      [FieldProblem(path="task_id", message="an SSIP task", value=task_id)])
    client = await resources(request).temporal()
    outcome = await task_actions.complete_task(
        client, initiative_id=row["initiative_id"], site_id=row["site_id"], task_id=task_id,
        actor=who.actor, outcome=body.outcome)
    if outcome.already_done:
        raise Conflict(f"Task '{task_id}' is already completed; nothing was recorded.",
                       [FieldProblem(path="task_id", message="already completed", value=task_id)])
    return ActionResult(initiative_id=row["initiative_id"], site_id=row["site_id"],
                        task_id=task_id, outcome=outcome)


async def _task_in_scope(request: Request, who: Principal, task_id: str):
    pool = await resources(request).pool()
    row = await inbox_queries.task(pool, task_id, district=district_of(who),
                                   assignee_role=assignee_role_of(who))
    if row is None:
        raise NotFound(f"There is no task '{task_id}'.")
    return row
