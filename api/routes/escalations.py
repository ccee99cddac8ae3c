"""The escalation queue and what the state team does with an escalated task: reassign it to
another person or team, give it a later due date, or waive it (closed, not completed), each with
a reason, each an Update to the site's rollout workflow.

Who: a state admin sees every district's queue and acts on any task. A district coordinator
sees their own district's queue, read-only: an escalation is the district's work gone to the
level above, so the state team decides what becomes of it (a district asks it for more time).
Coaches and auditors have no queue (403). A coordinator asking for another district's queue gets
an empty one, as a search outside one's district does.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from api.auth import Principal, StateAdmin, allow, district_of, resources
from api.errors import NotFound, responses
from api.models import (
    SLUG, ActionResult, Escalation, EscalationLinks, EscalationPage, ExtendTask, ReassignTask,
    WaiveTask,
)
from api.pages.urls import site_url
from api.routes.tasks import TaskId
from domain.actors import Role
from domain.events import TaskKind
from rollouts import escalations, task_actions
from store import inbox_queries

router = APIRouter(tags=["escalations"])
QueueReader = Annotated[Principal, Depends(allow(Role.STATE_ADMIN, Role.DISTRICT_COORDINATOR))]


@router.get("/escalations", response_model=EscalationPage,
            responses=responses(401, 403, 422, 503))
async def escalation_queue(
    request: Request, who: QueueReader,
    region: Annotated[str | None, Query(min_length=1, max_length=100, description="only this region")] = None,
    district: Annotated[str | None, Query(pattern=SLUG, max_length=64, description="only this district (and its schools)")] = None,
    kind: Annotated[TaskKind | None, Query(description="only this kind of task")] = None,
    older_than_days: Annotated[int | None, Query(ge=0, le=escalations.MAX_AGE, description="only those escalated at least this many school days ago")] = None,
    initiative: Annotated[str | None, Query(pattern=SLUG, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> EscalationPage:
    """Escalated open tasks, oldest escalation first, each with its age in school days and a
    link to its site. A coordinator sees their own district's only."""
    own = district_of(who)
    if own is not None and district not in (None, own):
        return EscalationPage(escalations=[], limit=limit, offset=offset)
    rows = await escalations.queue(
        await resources(request).pool(), district=own or district, region=region, kind=kind,
        older_than_days=older_than_days, initiative_id=initiative, limit=limit, offset=offset)
    return EscalationPage(escalations=[Escalation(**r.model_dump(), links=_links(r)) for r in rows],
                          limit=limit, offset=offset)


def _links(task: escalations.EscalatedTask) -> EscalationLinks:
    return EscalationLinks(site=f"/sites/{task.initiative_id}/{task.site_id}",
                           page=site_url(task.initiative_id, task.site_id))


@router.post("/tasks/{task_id}/reassign", response_model=ActionResult,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
async def reassign_task(request: Request, who: StateAdmin, task_id: TaskId,
                        body: ReassignTask) -> ActionResult:
    """Hand the task to another person or team (`assignee`), with the reason."""
    return await _manage(request, who, task_id, "reassign", body.reason, assignee=body.assignee)


@router.post("/tasks/{task_id}/extend", response_model=ActionResult,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
async def extend_task(request: Request, who: StateAdmin, task_id: TaskId,
                      body: ExtendTask) -> ActionResult:
    """Give the task a later due date (a school day), with the reason: its escalation clears
    and reminders, the overdue flag and escalation run again from the new date."""
    return await _manage(request, who, task_id, "extend", body.reason, due=body.due)


@router.post("/tasks/{task_id}/waive", response_model=ActionResult,
             responses=responses(400, 401, 403, 404, 409, 413, 422, 503))
async def waive_task(request: Request, who: StateAdmin, task_id: TaskId,
                     body: WaiveTask) -> ActionResult:
    """Close the task without completing it, with the reason."""
    return await _manage(request, who, task_id, "waive", body.reason)


async def _manage(request: Request, who: Principal,
                  task_id: str, action: Literal["reassign", "extend", "waive"], reason: str,
                  **details) -> ActionResult:
    """Send the Update; a repeat of what is already recorded answers 200 with `already_done`."""
    row = await inbox_queries.task(await resources(request).pool(), task_id,
                                   district=district_of(who))
    if row is None:
        raise NotFound(f"There is no task '{task_id}'.")
    outcome = await task_actions.manage_task(
        await resources(request).temporal(), initiative_id=row["initiative_id"],
        site_id=row["site_id"], task_id=task_id, actor=who.actor, action=action, reason=reason,
        **details)
    return ActionResult(initiative_id=row["initiative_id"], site_id=row["site_id"],
                        task_id=task_id, outcome=outcome)
