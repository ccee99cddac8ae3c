"""A task's form, posted from the inbox: parsed by the domain's models, sent to the site's workflow
as an Update (rollouts/task_actions.py, the same path as the API), POST/redirect/GET.

Bad input re-shows the inbox with each problem next to its field; a refusal by the workflow's
rules shows its one sentence above the form; the answers entered are kept either way. Success
redirects to the site's page (a coach, who has no site pages, back to the inbox).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from api.auth import Principal, assignee_role_of, district_of
from api.pages.connections import instruments_of, pool_of, temporal_of
from api.pages.inbox import TaskCard, inbox_page, may_act, require_inbox_role, task_definition
from api.pages.instrument_forms import parse_assessment
from api.pages.outcome_forms import parse_completion
from api.pages.rendering import PageProblem
from api.pages.session import CSRF_FIELD, csrf_ok, viewer
from api.pages.urls import inbox_url, site_url
from domain.actors import Role
from rollouts import task_actions
from rollouts.task_actions import ActionFailed
from store import inbox_queries

router = APIRouter()
STATUS_OF_FAILURE = {"invalid": 422, "forbidden": 403, "finished": 409, "unavailable": 503}
NONCE = re.compile(r"^[0-9a-f]{8,32}$")


@router.post("/tasks/{task_id}")
async def act_on_task(task_id: str, request: Request, who: Principal = Depends(viewer)):
    posted = {k: str(v) for k, v in (await request.form()).items()}
    if not csrf_ok(request, posted.get(CSRF_FIELD)):
        raise PageProblem(403, "The form has expired",
                          "This form was not sent from your current session; open the inbox again "
                          "and resubmit.")
    require_inbox_role(who)
    task = await inbox_queries.task(await pool_of(request), task_id, district=district_of(who),
                                    assignee_role=assignee_role_of(who))
    if task is None:
        raise PageProblem(404, "No such task", f"There is no task '{task_id}' in your inbox.")
    if task["status"] != "open":
        return await inbox_page(request, who, status=409, notice=(
            f"'{task['title']}' is already {task['status']}; nothing was sent."))
    nonce = posted.get("nonce", "")
    nonce = nonce if NONCE.match(nonce) else uuid.uuid4().hex[:12]
    defined = await task_definition(await pool_of(request), instruments_of(request), task)
    outcome, form = _parse(task, posted, defined)
    status = 422
    if outcome is not None:
        try:
            await _send(request, who, task, outcome, nonce)
        except ActionFailed as failure:
            form.errors.append(failure.message)
            status = STATUS_OF_FAILURE.get(failure.kind, 422)
        else:
            back = (inbox_url() if who.role is Role.COACH
                    else site_url(task["initiative_id"], task["site_id"]))
            return RedirectResponse(f"{back}?recorded={quote(task_id, safe='')}", status_code=303)
    card = TaskCard(task, form, nonce, may_act(who, task))
    return await inbox_page(request, who, replaced={task_id: card}, status=status)


def _parse(task: Mapping, posted: dict[str, str], defined=None):
    if task["kind"] == "submit_assessment" and task["instrument"]:
        return parse_assessment(task["instrument"], posted, defined)
    return parse_completion(task["kind"], posted)


async def _send(request: Request, who: Principal, task: Mapping, outcome, nonce: str) -> None:
    client = await temporal_of(request)
    where = dict(initiative_id=task["initiative_id"], site_id=task["site_id"], actor=who.actor)
    if task["kind"] == "submit_assessment" and task["instrument"]:
        await task_actions.submit_assessment(
            client, **where, assessment_id=assessment_id(task["task_id"], nonce),
            assessment=outcome, task_id=task["task_id"])
    else:
        await task_actions.complete_task(client, **where, task_id=task["task_id"], outcome=outcome)


def assessment_id(task_id: str, nonce: str) -> str:
    """One id per filled-in form (its nonce): a double click or a resent form records the
    assessment once."""
    wanted = f"{task_id}:web:{nonce}"
    if len(wanted) <= 200:
        return wanted
    return f"web:{nonce}:{uuid.uuid5(uuid.NAMESPACE_URL, task_id).hex}"
