"""The state's decisions in the browser: the queue of stage moves waiting for the state, each with
the checks the rules weighed and the forms that approve or decline it; and the forms of a site's
page (approve, decline, override a failed gate, send back; pause, resume, cancel), posted here.

Every form is one Update through the path the API and the CLI use (rollouts/decisions.py,
rollouts/operations.py), POST/redirect/GET: success goes back to the page it came from with a
sentence saying what was recorded; a refusal re-shows the site's page with the rules' one sentence
above the forms and the reason typed kept.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from api.auth import Principal, district_of
from api.pages.connections import pool_of, temporal_of
from api.pages.rendering import PageProblem, render
from api.pages.session import CSRF_FIELD, PREFIX, csrf_ok, viewer
from api.pages.site import site_page_response, site_row
from api.pages.urls import site_url
from domain.actors import Role
from domain.stages import Stage
from rollouts import decisions
from rollouts import operations as ops
from rollouts.task_actions import ActionFailed
from workflows.models import ControlRequest

router = APIRouter()
QUEUE_ROLES = (Role.STATE_ADMIN, Role.DISTRICT_COORDINATOR)
STATUS_OF_FAILURE = {"invalid": 422, "forbidden": 403, "finished": 409, "unavailable": 503}


def decisions_url(**query: str) -> str:
    given = urlencode({k: v for k, v in query.items() if v})
    return f"{PREFIX}/decisions" + (f"?{given}" if given else "")


@router.get("/decisions")
async def queue_page(request: Request, who: Principal = Depends(viewer), initiative: str = "",
                     decided: str = "", site: str = ""):
    if who.role not in QUEUE_ROLES:
        raise PageProblem(403, "Stage decisions are for state and district staff",
                          f"A {who.role.value.replace('_', ' ')} token cannot open the decision "
                          "queue.")
    waiting = await decisions.waiting(await pool_of(request), initiative_id=initiative or None,
                                      district=district_of(who))
    notice = f"Recorded: your decision ({decided.replace('_', ' ')}) about {site}." \
        if decided in decisions.DECISIONS and site else ""
    return render(request, "decisions.html", {
        "waiting": waiting, "initiative": initiative, "notice": notice, "site_url": site_url,
        "may_decide": who.role is Role.STATE_ADMIN, "district": district_of(who)}, who=who)


async def _posted(request: Request, who: Principal) -> dict[str, str]:
    posted = {k: str(v) for k, v in (await request.form()).items()}
    if not csrf_ok(request, posted.get(CSRF_FIELD)):
        raise PageProblem(403, "The form has expired",
                          "This form was not sent from your current session; open the page again "
                          "and resubmit.")
    if who.role is not Role.STATE_ADMIN:
        raise PageProblem(403, "Decisions are the state's",
                          f"A {who.role.value.replace('_', ' ')} token cannot decide a site's "
                          "stage or pause, resume or cancel its rollout.")
    return posted


@router.post("/initiatives/{initiative_id}/sites/{site_id}/decision")
async def decide(initiative_id: str, site_id: str, request: Request,
                 who: Principal = Depends(viewer)):
    posted = await _posted(request, who)
    row = await site_row(request, who, initiative_id, site_id)
    decision = posted.get("decision", "")
    if decision not in decisions.DECISIONS:
        return await site_page_response(request, who, initiative_id, site_id, status=422,
                                        failure=f"Choose a decision, not {decision!r}.",
                                        posted=posted)
    try:
        to_stage = Stage(posted["to_stage"]) if posted.get("to_stage") else None
    except ValueError:
        return await site_page_response(request, who, initiative_id, site_id, status=422,
                                        failure=f"There is no stage {posted['to_stage']!r}.",
                                        posted=posted)
    try:
        decided = await decisions.decide(await temporal_of(request), await pool_of(request), row,
                                         actor=who.actor, decision=decision,
                                         reason=posted.get("reason", ""), to_stage=to_stage)
    except ActionFailed as failure:
        return await site_page_response(request, who, initiative_id, site_id, posted=posted,
                                        failure=failure.message,
                                        status=STATUS_OF_FAILURE.get(failure.kind, 422))
    query = {"decided": decision, "to": decided.to_stage.value}
    if posted.get("back") == "queue":
        return RedirectResponse(decisions_url(decided=decision, site=row["name"]), status_code=303)
    return RedirectResponse(f"{site_url(initiative_id, site_id)}?{urlencode(query)}#standing",
                            status_code=303)


@router.post("/initiatives/{initiative_id}/sites/{site_id}/control")
async def control_site(initiative_id: str, site_id: str, request: Request,
                       who: Principal = Depends(viewer)):
    posted = await _posted(request, who)
    await site_row(request, who, initiative_id, site_id)
    action, reason = posted.get("action", ""), posted.get("reason", "").strip()
    failure = control_problem(action, reason)
    if not failure:
        try:
            await ops.control(await temporal_of(request), initiative_id, ControlRequest(
                actor=who.actor, action=action, reason=reason, site_id=site_id))
        except ops.OperationError as refused:
            failure = refused.message
    if failure:
        return await site_page_response(request, who, initiative_id, site_id, failure=failure,
                                        posted=posted, status=422)
    return RedirectResponse(f"{site_url(initiative_id, site_id)}?decided={action}#standing",
                            status_code=303)


def control_problem(action: str, reason: str) -> str:
    """What is wrong with a posted pause, resume or cancel before it is sent ('' if nothing)."""
    if action not in ops.PAST_TENSE:
        return f"Choose pause, resume or cancel, not {action!r}."
    if len(reason) < 3:
        return f"Say why you {action} it (at least 3 characters): the reason is recorded."
    if len(reason) > 2000:
        return f"A reason is at most 2,000 characters, not {len(reason):,}."
    return ""
