"""Initiatives in the browser, for state administrators: upload a plan, check it and start it (the
same checks and words as `rollout plan validate` and `rollout start`, rollouts/plans.py); and an
initiative's page with its cohorts (opening a decision-gated one with a reason) and pause, resume
and cancel with a reason, as `rollout cohort open` and `rollout pause|resume|cancel` do.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.auth import Principal
from api.pages.connections import pool_of, temporal_of
from api.pages.decisions import control_problem, decisions_url
from api.pages.rendering import PageProblem, render
from api.pages.session import CSRF_FIELD, PREFIX, csrf_ok, viewer
from api.pages.urls import board_url
from domain.actors import Role
from rollouts import operations as ops
from rollouts import plans
from rollouts.cohort_gates import cohort_gates, open_cohort
from rollouts.task_actions import ActionFailed
from rollouts.views import initiative_view
from store.initiative_queries import initiative_recorded, initiatives_with_sites
from workflows.models import ControlRequest

router = APIRouter()
LARGEST_PLAN = 900_000
"""Bytes of an uploaded plan (the state-scale example is 65 kB)."""


def initiative_url(initiative_id: str) -> str:
    return f"{PREFIX}/initiatives/{quote(initiative_id, safe='')}"


def require_state_admin(who: Principal) -> None:
    if who.role is not Role.STATE_ADMIN:
        raise PageProblem(403, "Initiatives are run by the state",
                          f"A {who.role.value.replace('_', ' ')} token cannot start, pause, resume "
                          "or cancel an initiative, nor open a cohort.")


async def _form(request: Request) -> dict:
    form = await request.form()
    if not csrf_ok(request, str(form.get(CSRF_FIELD) or "")):
        raise PageProblem(403, "The form has expired",
                          "This form was not sent from your current session; open the page again "
                          "and resubmit.")
    return dict(form)


@router.get("/initiatives")
async def initiatives_page(request: Request, who: Principal = Depends(viewer)):
    require_state_admin(who)
    return await _initiatives(request, who)


async def _initiatives(request: Request, who: Principal, *, check: plans.PlanCheck | None = None,
                       failure: str = "", posted: dict | None = None, status: int = 200):
    found = await initiatives_with_sites(await pool_of(request), None)
    return render(request, "initiatives.html", {
        "initiatives": found, "initiative_url": initiative_url, "board_url": board_url,
        "check": check, "issue_line": plans.issue_line, "failure": failure,
        "posted": posted or {}}, who=who, status=status)


@router.post("/initiatives")
async def check_or_start(request: Request, who: Principal = Depends(viewer)):
    """The upload form's two buttons: check the plan, or check and start it."""
    require_state_admin(who)
    form = await _form(request)
    kept = {k: str(form.get(k) or "") for k in ("initiative_id", "speedup", "plan_yaml")}
    text, source = await _plan_text(form)
    if not text.strip():
        return await _initiatives(request, who, failure="Choose a plan file or paste the plan's "
                                  "YAML.", posted=kept, status=422)
    plan, check = plans.check_plan(text, source, request.app.state.resources.instruments)
    kept["plan_yaml"] = text
    if plan is None or form.get("action") != "start":
        return await _initiatives(request, who, check=check, posted=kept,
                                  status=200 if plan is not None else 422)
    try:
        plan = plans.renamed(plan, kept["initiative_id"].strip() or None)
        speedup = float(kept["speedup"] or 1)
        if not 1 <= speedup <= 10_000_000:
            raise ValueError
    except ValidationError as problem:
        return await _initiatives(request, who, check=check, posted=kept, status=422, failure=(
            f"Initiative id {kept['initiative_id']!r}: {problem.errors()[0]['msg']}."))
    except ValueError:
        return await _initiatives(request, who, check=check, posted=kept, status=422, failure=(
            f"Speed-up must be a number from 1 (real time) to 10,000,000, not {kept['speedup']!r}."))
    try:
        await plans.launch(await temporal_of(request), await pool_of(request), plan, who.actor,
                           task_queue=request.app.state.resources.settings.task_queue,
                           speedup=speedup)
    except ops.OperationError as refused:
        return await _initiatives(request, who, check=check, posted=kept, failure=refused.message,
                                  status=409 if refused.code == ops.REFUSED else 503)
    return RedirectResponse(f"{initiative_url(plan.initiative.id)}?started=1", status_code=303)


async def _plan_text(form: dict) -> tuple[str, str]:
    """The uploaded file's text (or the pasted text) and the name its problems are told under."""
    upload = form.get("plan_file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(LARGEST_PLAN + 1)
        if len(data) > LARGEST_PLAN:
            return "", upload.filename
        try:
            return data.decode("utf-8"), upload.filename
        except UnicodeDecodeError:
            return "", upload.filename
    return str(form.get("plan_yaml") or ""), "pasted plan"


@router.get("/initiatives/{initiative_id}")
async def initiative_page(initiative_id: str, request: Request, who: Principal = Depends(viewer)):
    require_state_admin(who)
    return await _initiative(request, who, initiative_id)


async def _initiative(request: Request, who: Principal, initiative_id: str, *, failure: str = "",
                      posted: dict | None = None, status: int = 200):
    pool = await pool_of(request)
    if not await initiative_recorded(pool, initiative_id):
        raise PageProblem(404, "No such initiative",
                          f"There is no initiative '{initiative_id}' in the record.")
    view = await initiative_view(pool, initiative_id)
    cohorts, cohorts_problem = None, ""
    try:
        cohorts = await cohort_gates(await temporal_of(request), pool, initiative_id)
    except ActionFailed as unreadable:
        cohorts_problem = unreadable.message
    done = request.query_params.get("done", "")
    notice = ("Started: the initiative's first cohorts are enrolling."
              if request.query_params.get("started") else
              f"Recorded: {done}." if done in ("paused", "resumed", "cancelled") or
              done.startswith("opened ") else "")
    return render(request, "initiative.html", {
        "initiative_id": initiative_id, "view": view, "cohorts": cohorts,
        "cohorts_problem": cohorts_problem, "notice": notice, "failure": failure,
        "posted": posted or {}, "board_url": board_url(initiative_id),
        "decisions_url": decisions_url(initiative=initiative_id),
        "initiative_url": initiative_url(initiative_id)}, who=who, status=status)


@router.post("/initiatives/{initiative_id}/control")
async def control_initiative(initiative_id: str, request: Request,
                             who: Principal = Depends(viewer)):
    require_state_admin(who)
    form = await _form(request)
    action, reason = str(form.get("action") or ""), str(form.get("reason") or "").strip()
    failure = control_problem(action, reason)
    if not failure:
        try:
            await ops.control(await temporal_of(request), initiative_id, ControlRequest(
                actor=who.actor, action=action, reason=reason))
        except ops.OperationError as refused:
            failure = refused.message
    if failure:
        return await _initiative(request, who, initiative_id, failure=failure, status=422,
                                 posted={"reason": reason})
    return RedirectResponse(f"{initiative_url(initiative_id)}?done={ops.PAST_TENSE[action]}",
                            status_code=303)


@router.post("/initiatives/{initiative_id}/cohorts/{cohort_id}/open")
async def open_one(initiative_id: str, cohort_id: str, request: Request,
                   who: Principal = Depends(viewer)):
    require_state_admin(who)
    form = await _form(request)
    reason = str(form.get("reason") or "")
    try:
        opened = await open_cohort(await temporal_of(request), initiative_id, cohort_id,
                                   actor=who.actor, reason=reason, pool=await pool_of(request))
    except ActionFailed as refused:
        return await _initiative(request, who, initiative_id, failure=refused.message, status=422,
                                 posted={"cohort": cohort_id, "reason": reason})
    done = f"opened {cohort_id}" + ("" if opened.started else
                                    " (it starts once the cohorts before it have)")
    return RedirectResponse(f"{initiative_url(initiative_id)}?{urlencode({'done': done})}",
                            status_code=303)
