"""The escalation queue as a page: escalated open tasks, oldest escalation first, filtered by
region, district, kind and age in school days, each with a link to its site and, for a state
administrator, the three things the state team does with it: reassign, extend, waive.

The same queue and the same Updates as the API (rollouts/escalations.py, rollouts/task_actions.py)
and the same rule about who: state administrators see and work every district's queue; a district
coordinator sees their own district's, read-only. Forms are POST/redirect/GET; input the API
would refuse, or a refusal by the rollout's rules, re-shows the queue with the sentence next to
that task's form and what was entered kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from api.auth import Principal, district_of
from api.models import ExtendTask, ReassignTask, WaiveTask
from api.pages.connections import pool_of, temporal_of
from api.pages.rendering import PageProblem, render
from api.pages.session import CSRF_FIELD, PREFIX, csrf_ok, viewer
from api.pages.urls import site_url
from domain.actors import Role
from domain.events import TaskKind
from rollouts import escalations, task_actions
from rollouts.task_actions import ActionFailed
from store import inbox_queries

router = APIRouter()
QUEUE_ROLES = (Role.STATE_ADMIN, Role.DISTRICT_COORDINATOR)
ACTIONS = {"reassign": ReassignTask, "extend": ExtendTask, "waive": WaiveTask}
DONE = {"reassign": "reassigned", "extend": "given a later due date", "waive": "waived"}
STATUS_OF_FAILURE = {"invalid": 422, "forbidden": 403, "finished": 409, "unavailable": 503}
KINDS = TaskKind.__args__
QUEUE_LIMIT = 500
FILTERS = ("region", "district", "kind", "older_than_days")


@dataclass
class Posted:
    """A form as it was sent back: the action, what was entered, and what went wrong."""

    action: str
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    refusal: str = ""


def escalations_url(**query: str) -> str:
    given = urlencode({k: v for k, v in query.items() if v})
    return f"{PREFIX}/escalations" + (f"?{given}" if given else "")


def action_url(task_id: str, action: str) -> str:
    return f"{PREFIX}/escalations/{quote(task_id, safe='')}/{action}"


def _require_queue_role(who: Principal) -> None:
    if who.role not in QUEUE_ROLES:
        raise PageProblem(403, "The escalation queue is for state and district staff",
                          f"A {who.role.value.replace('_', ' ')} token cannot open the escalation "
                          "queue; it needs a state admin or district coordinator token.")


def _filters(query) -> tuple[dict[str, str], dict[str, str]]:
    """The filters as given (for the form and the links), and the problems with them."""
    given = {k: (query.get(k) or "").strip() for k in FILTERS}
    problems = {}
    if given["kind"] and given["kind"] not in KINDS:
        problems["kind"] = f"Choose one of: {', '.join(KINDS)}."
    age = given["older_than_days"]
    if age and not (age.isdigit() and int(age) <= escalations.MAX_AGE):
        problems["older_than_days"] = f"A whole number of school days from 0 to {escalations.MAX_AGE:,}."
    return given, problems


async def queue_page(request: Request, who: Principal, *, posted: dict[str, Posted] | None = None,
                     notice: str = "", status: int = 200):
    _require_queue_role(who)
    given, problems = _filters(request.query_params)
    own = district_of(who)
    rows = []
    if not problems and (own is None or given["district"] in ("", own)):
        rows = await escalations.queue(
            await pool_of(request), district=own or given["district"] or None,
            region=given["region"] or None, kind=given["kind"] or None,
            older_than_days=int(given["older_than_days"]) if given["older_than_days"] else None,
            limit=QUEUE_LIMIT)
    return render(request, "escalations.html", {
        "rows": rows, "given": given, "problems": problems, "kinds": KINDS, "own": own,
        "may_act": who.role is Role.STATE_ADMIN, "posted": posted or {}, "notice": notice,
        "limit": QUEUE_LIMIT, "site_url": site_url, "action_url": action_url,
        "back": escalations_url(**given)}, who=who, status=status)


@router.get("/escalations")
async def queue(request: Request, who: Principal = Depends(viewer), done: str = "",
                action: str = ""):
    notice = ""
    if done and action in DONE and who.role in QUEUE_ROLES:
        task = await inbox_queries.task(await pool_of(request), done, district=district_of(who))
        notice = f"Recorded: '{task['title']}' was {DONE[action]}." if task else ""
    return await queue_page(request, who, notice=notice)


@router.post("/escalations/{task_id}/{action}")
async def act(task_id: str, action: str, request: Request, who: Principal = Depends(viewer)):
    values = {k: str(v) for k, v in (await request.form()).items()}
    if not csrf_ok(request, values.pop(CSRF_FIELD, None)):
        raise PageProblem(403, "The form has expired",
                          "This form was not sent from your current session; open the escalation "
                          "queue again and resubmit.")
    _require_queue_role(who)
    if who.role is not Role.STATE_ADMIN:
        raise PageProblem(403, "Only the state team works the queue",
                          "A district coordinator sees their district's escalations; the state "
                          "team reassigns, extends or waives them. Ask it for more time.")
    if action not in ACTIONS:
        raise PageProblem(404, "No such action", f"'{action}' is not reassign, extend or waive.")
    task = await inbox_queries.task(await pool_of(request), task_id, district=district_of(who))
    if task is None:
        raise PageProblem(404, "No such task", f"There is no task '{task_id}'.")
    posted = Posted(action, {k: values.get(k, "") for k in ("assignee", "due", "reason")})
    try:
        body = ACTIONS[action].model_validate(
            {k: v.strip() for k, v in posted.values.items() if k in ACTIONS[action].model_fields})
    except ValidationError as problem:
        for error in problem.errors():
            name = str(error["loc"][0]) if error["loc"] else "reason"
            posted.errors.setdefault(name, _said(error))
        return await queue_page(request, who, posted={task_id: posted}, status=422)
    try:
        await task_actions.manage_task(
            await temporal_of(request), initiative_id=task["initiative_id"],
            site_id=task["site_id"], task_id=task_id, actor=who.actor, action=action,
            reason=body.reason, assignee=getattr(body, "assignee", None),
            due=getattr(body, "due", None))
    except ActionFailed as failure:
        posted.refusal = failure.message
        return await queue_page(request, who, posted={task_id: posted},
                                status=STATUS_OF_FAILURE.get(failure.kind, 422))
    filters = {k: values.get(k, "") for k in FILTERS}
    return RedirectResponse(escalations_url(**filters, done=task_id, action=action),
                            status_code=303)


def _said(error: dict) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "string_pattern_mismatch":
        return "Name a team or a person: team:KIND:ID or person:ID."
    if error["type"] == "missing":
        return "Required."
    if error["type"] == "string_too_short":
        return "Say why, in at least 3 characters: it is recorded with the decision."
    return message[0].upper() + message[1:] + "."
