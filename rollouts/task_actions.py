"""Acting on a site's rollout for a person: complete a task, submit an assessment, or (the state
team) reassign, extend or waive a task.

Each is an Update to the site's SiteRolloutWorkflow, whose validators run the domain's rules before
anything reaches history, so the API, the CLI and the web pages share one path and one set of
refusals. What the event store could not hold (domain/storable.py) is refused here, before it is
sent: the validators would refuse it too, but only after a round trip to a worker. A failure comes back as ActionFailed with a `kind` each edge maps to its own terms (an
HTTP status, an exit code) and one sentence saying what went wrong.
"""

from __future__ import annotations

import asyncio
import random
from datetime import date
from typing import Literal

from temporalio.client import (
    Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.actors import Actor
from domain.commands import Outcome
from domain.errors import DomainError
from domain.instruments import Assessment
from domain.storable import require_storable
from rollouts.refusals import explain_refusal
from workflows.ids import site_workflow_id
from workflows.models import (
    CompleteTaskRequest, SubmitAssessmentRequest, TaskManagementRequest, UpdateOutcome,
)
from workflows.site_rollout import SiteRolloutWorkflow

UPDATE_TIMEOUT = 30.0
"""Seconds to wait for a worker to take an Update before saying none is answering."""
BUSY_PAUSE, BUSY_PAUSE_MAX = 0.05, 1.0
"""Seconds between tries while the workflow has too many Updates in flight (doubling, jittered)."""

Kind = Literal["invalid", "forbidden", "finished", "unavailable"]


class ActionFailed(Exception):
    """Why an action was not carried out: `invalid` input or a rule said no, `forbidden` for
    this person, `finished` rollout, or Temporal `unavailable`."""

    def __init__(self, kind: Kind, message: str, field: str | None = None,
                 value: str | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.field, self.value = kind, message, field, value


async def complete_task(client: Client, *, initiative_id: str, site_id: str, task_id: str,
                        actor: Actor, outcome: Outcome) -> UpdateOutcome:
    request = CompleteTaskRequest(actor=actor, site_id=site_id, task_id=task_id, outcome=outcome)
    return await send_site_update(client, initiative_id, site_id,
                                  SiteRolloutWorkflow.complete_task, request)


async def submit_assessment(client: Client, *, initiative_id: str, site_id: str, actor: Actor,
                            assessment_id: str, assessment: Assessment,
                            task_id: str | None = None) -> UpdateOutcome:
    request = SubmitAssessmentRequest(actor=actor, site_id=site_id, assessment_id=assessment_id,
                                      assessment=assessment, task_id=task_id)
    return await send_site_update(client, initiative_id, site_id,
                                  SiteRolloutWorkflow.submit_assessment, request)


async def manage_task(client: Client, *, initiative_id: str, site_id: str, task_id: str,
                      actor: Actor, action: Literal["reassign", "extend", "waive"], reason: str,
                      assignee: str | None = None, due: date | None = None) -> UpdateOutcome:
    """Reassign the task to `assignee`, extend it to `due`, or waive it; always with the reason.
    Sending the same request again records nothing new (`already_done`)."""
    request = TaskManagementRequest(actor=actor, site_id=site_id, task_id=task_id, action=action,
                                    reason=reason, assignee=assignee, due=due)
    return await send_site_update(client, initiative_id, site_id, SiteRolloutWorkflow.manage_task,
                                  request)


async def send_site_update(client: Client, initiative_id: str, site_id: str, update,
                           request) -> UpdateOutcome:
    """Send one of the site workflow's Updates as a person's action (rollouts/decisions.py sends
    its stage decisions this way too); a failure is an ActionFailed. A request the store could
    not hold is refused before it is sent."""
    try:
        require_storable(request.model_dump(mode="python"))
    except DomainError as refused:
        raise ActionFailed("invalid", refused.message, refused.field, str(refused.value)) from None
    handle = client.get_workflow_handle(site_workflow_id(initiative_id, site_id))
    try:
        return await asyncio.wait_for(_send(handle, update, request), UPDATE_TIMEOUT)
    except WorkflowUpdateFailedError as refused:
        raise refused_action(refused) from None
    except RPCError as problem:
        if problem.status is RPCStatusCode.NOT_FOUND:
            raise ActionFailed("finished", f"The rollout of site '{site_id}' in initiative "
                               f"'{initiative_id}' is not running; nothing more can be recorded "
                               "for it.") from None
        raise unavailable(problem) from None
    except (asyncio.TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise ActionFailed("unavailable", f"No worker took the update within {UPDATE_TIMEOUT:g} s; "
                           "nothing was recorded. Check that a worker is running, then try "
                           "again.") from None
    except RuntimeError as problem:
        raise unavailable(problem) from None


async def _send(handle, update, request) -> UpdateOutcome:
    """Send the Update, and send it again while Temporal turns it away for being busy: the
    workflow already has as many Updates in flight as Temporal allows (10 by default), or
    Temporal aborted the Updates in flight when it dropped a workflow task (many people acting on
    one site at once). Either way the Update was not accepted, nothing was recorded, and Temporal
    marks the error retryable; the client library's own few retries run out when dozens wait, so
    this keeps trying, with growing jittered pauses, within the caller's timeout."""
    pause = BUSY_PAUSE
    while True:
        try:
            return await handle.execute_update(update, request)
        except RPCError as problem:
            if not _turned_away(problem):
                raise
        await asyncio.sleep(pause * random.uniform(0.5, 1.5))
        pause = min(pause * 2, BUSY_PAUSE_MAX)


def _turned_away(problem: RPCError) -> bool:
    return problem.status is RPCStatusCode.RESOURCE_EXHAUSTED or (
        problem.status is RPCStatusCode.UNAVAILABLE and "update was aborted" in problem.message)


def unavailable(problem: BaseException) -> ActionFailed:
    detail = getattr(problem, "message", None) or str(problem) or type(problem).__name__
    return ActionFailed("unavailable", f"Temporal cannot be reached: {detail.splitlines()[0]}")


def refused_action(refused: WorkflowUpdateFailedError) -> ActionFailed:
    """A validator's or handler's refusal: `forbidden` when the rule was about who acts."""
    cause = refused.cause
    field = value = None
    if isinstance(cause, ApplicationError) and cause.details and isinstance(cause.details[0], dict):
        field, value = cause.details[0].get("field"), cause.details[0].get("value")
    kind: Kind = "forbidden" if str(field or "").startswith("actor.") else "invalid"
    return ActionFailed(kind, explain_refusal(refused), field, value)
