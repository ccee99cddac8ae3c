"""A district's inbox: the open tasks of its sites, grouped by site, each with the form doing it.

Assessment tasks get the instrument's form (api/pages/instrument_forms.py); other tasks a
completion form with the outcome figures their kind reports (api/pages/outcome_forms.py). The
tasks come from the tasks projection, narrowed as the API narrows its inbox: a coordinator's
district, a coach's coaching work, the whole state (or one district) for a state administrator.
Posted forms are handled in api/pages/task_form.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

import asyncpg
from fastapi import APIRouter, Depends, Request

from api.auth import Principal, assignee_role_of, district_of
from api.pages.connections import instruments_of, pool_of
from api.pages.form_fields import Form
from api.pages.instrument_forms import Defined, assessment_form
from api.pages.outcome_forms import completion_form
from api.pages.rendering import PageProblem, render
from api.pages.session import viewer
from api.pages.urls import site_url, task_url
from domain.actors import Role
from domain.instrument_definitions import Catalogue
from rollouts.instruments import chosen_definition, site_choices
from store import district_queries, inbox_queries

router = APIRouter()
INBOX_LIMIT = 500
"""Open tasks shown at once; a state administrator narrows by district beyond that."""
ACTING_ROLES = (Role.STATE_ADMIN, Role.DISTRICT_COORDINATOR, Role.COACH)


@dataclass
class TaskCard:
    task: Mapping
    form: Form | None
    nonce: str
    may_act: bool

    @property
    def anchor(self) -> str:
        return "task-" + "".join(c if c.isalnum() else "-" for c in self.task["task_id"])


@dataclass
class SiteGroup:
    initiative_id: str
    site_id: str
    name: str
    stage: str | None
    status: str
    cards: list[TaskCard] = field(default_factory=list)


def blank_form(task: Mapping, defined: Defined | None = None) -> Form:
    if task["kind"] == "submit_assessment" and task["instrument"]:
        return assessment_form(task["instrument"], defined)
    return completion_form(task["kind"])


async def task_definition(pool: asyncpg.Pool, catalogue: Catalogue, task: Mapping,
                          known: dict | None = None) -> Defined | None:
    """The definition an assessment task is answered with, as the site's plan chose it (None for
    other tasks and for evidence without one); `known` caches each site's choices."""
    if task["kind"] != "submit_assessment" or not task["instrument"]:
        return None
    key = (task["initiative_id"], task["site_id"])
    known = {} if known is None else known
    if key not in known:
        known[key] = await site_choices(pool, *key)
    return chosen_definition(catalogue, known[key], task["instrument"])


def may_act(who: Principal, task: Mapping) -> bool:
    """Whether to offer the form: coaching steps are the coach's; auditors only read. The
    workflow's own rules still judge every submission."""
    if who.role not in ACTING_ROLES:
        return False
    return task["kind"] != "coaching_step" or who.role in (Role.COACH, Role.STATE_ADMIN)


def require_inbox_role(who: Principal) -> None:
    if who.role not in ACTING_ROLES:
        raise PageProblem(403, "No inbox for this role",
                          "An auditor's token reads the audit record; it has no tasks to do. "
                          "The audit record and each site's timeline are open to you.")


async def _groups(pool: asyncpg.Pool, catalogue: Catalogue, who: Principal, district: str | None,
                  replaced: dict[str, TaskCard]) -> list[SiteGroup]:
    rows = await inbox_queries.tasks(pool, district=district, assignee_role=assignee_role_of(who),
                                     status="open", limit=INBOX_LIMIT)
    groups: dict[tuple[str, str], SiteGroup] = {}
    choices: dict = {}
    for task in rows:
        if task["site_id"] is None:
            continue  # the state team's SSIP tasks: `rollout ssip show`, `rollout tasks`, /tasks
        key = (task["initiative_id"], task["site_id"])
        if key not in groups:
            site = await district_queries.site(pool, *key, district)
            groups[key] = SiteGroup(*key, name=site["name"] if site else task["site_id"],
                                    stage=site["stage"] if site else None,
                                    status=site["status"] if site else "unknown")
        card = replaced.get(task["task_id"]) or TaskCard(
            task, blank_form(task, await task_definition(pool, catalogue, task, choices)),
            uuid.uuid4().hex[:12], may_act(who, task))
        groups[key].cards.append(card)
    return sorted(groups.values(), key=lambda g: (g.name.lower(), g.initiative_id))


async def inbox_page(request: Request, who: Principal, *,
                     replaced: dict[str, TaskCard] | None = None, notice: str = "",
                     status: int = 200):
    """The inbox; `replaced` shows a task's form as it was posted (answers and errors kept)."""
    require_inbox_role(who)
    own = district_of(who)
    chosen = request.query_params.get("district") or None
    district = own if own is not None else chosen
    pool = await pool_of(request)
    groups = await _groups(pool, instruments_of(request), who, district, replaced or {})
    return render(request, "inbox.html", {
        "groups": groups, "district": district, "notice": notice, "limit": INBOX_LIMIT,
        "count": sum(len(g.cards) for g in groups), "site_url": site_url, "task_url": task_url,
        "state_wide": own is None}, who=who, status=status)


@router.get("/inbox")
async def inbox(request: Request, who: Principal = Depends(viewer), recorded: str = ""):
    notice = ""
    if recorded and who.role in ACTING_ROLES:
        done = await inbox_queries.task(await pool_of(request), recorded, district=district_of(who),
                                        assignee_role=assignee_role_of(who))
        notice = f"Recorded: '{done['title']}' is {done['status']}." if done else ""
    return await inbox_page(request, who, notice=notice)
