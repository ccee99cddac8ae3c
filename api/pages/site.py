"""A site's page: its stage and status, its open tasks, and its audit timeline.

The status comes from the running workflow's query, or from the event store once the workflow
has closed (rollouts/views.py, shared with the API). The timeline is the site's event
stream read by the audit's own wording (audit/wording.py): every event with who and when, and
every stage move with what triggered it, the checks behind it and the assessments it rested on;
counts of people under the small-cell threshold are shown as "<10".
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request

from api.auth import Principal, district_of
from api.pages.connections import pool_of
from api.pages.urls import board_url, inbox_url
from api.pages.rendering import PageProblem, render
from api.pages.session import viewer
from domain import events as ev
from domain.actors import Role
from domain.instruments import DefinedAssessment
from domain.site_state import ActionItemState, fold
from audit.export import min_cell_for
from audit.wording import (
    consensus_text, min_cell, names_in, stage_moves, summarize, when, who as who_did,
)
from rollouts.views import site_view
from store import district_queries
from store.audit_queries import stream_events

router = APIRouter()


@dataclass(frozen=True)
class TimelineEntry:
    sequence: int
    when: str
    who: str
    type: str
    what: str
    is_move: bool


def timeline(events: list[ev.Event]) -> list[TimelineEntry]:
    names = names_in(events)
    return [TimelineEntry(e.sequence, when(e.occurred_at), who_did(e.actor), e.type,
                          summarize(e, names), e.type in ("StageEntered", "SiteRegressed"))
            for e in events]


@dataclass(frozen=True)
class LatestScore:
    """The latest assessment of one instrument defined as data, as the site page shows it."""

    instrument: str
    definition: str
    assessment_id: str
    when: str
    total: str
    parts: list[tuple[str, str]]
    consensus: str
    under_mark: int


def latest_scores(events: list[ev.Event]) -> list[LatestScore]:
    latest: dict[str, ev.AssessmentSubmitted] = {}
    for e in events:
        if e.type == "AssessmentSubmitted" and isinstance(e.payload.answers, DefinedAssessment):
            latest[e.payload.answers.key.ref] = e
    rows = []
    for ref, e in sorted(latest.items()):
        answers, s = e.payload.answers, e.payload.score
        unit = "" if s.rule == "mean" else "%"
        total = s.mean_rating if s.rule == "mean" else s.percent
        labels = {g.id: g.label for g in answers.key.groups}
        rows.append(LatestScore(
            instrument=s.instrument.value.replace("_", " "), definition=ref,
            assessment_id=e.payload.assessment_id,
            when=str(answers.taken_on) if answers.taken_on else when(e.occurred_at),
            total="" if total is None else f"{total:g}{unit}",
            parts=[(labels[g.id], f"{s.parts[g.id]:g}{unit}") for g in answers.key.groups
                   if g.id in s.parts],
            consensus=consensus_text(answers) if answers.consensus else "",
            under_mark=len(s.below_mark)))
    return rows


def action_items(events: list[ev.Event]) -> list[ActionItemState]:
    """Proposed and accepted action items, earliest due first."""
    return sorted(fold(events).action_items.values(), key=lambda a: (a.due, a.action_id))


STATUS_ROLES = (Role.STATE_ADMIN, Role.DISTRICT_COORDINATOR)
"""Who sees a site's live status and open tasks (as the API's site status)."""
AUDIT_ROLES = (*STATUS_ROLES, Role.AUDITOR)
"""Who sees its audit timeline (as the API's site audit); an auditor sees only that."""


@router.get("/initiatives/{initiative_id}/sites/{site_id}")
async def site_page(initiative_id: str, site_id: str, request: Request,
                    who: Principal = Depends(viewer)):
    if who.role not in AUDIT_ROLES:
        raise PageProblem(403, "Site pages are for district and state staff",
                          f"A {who.role.value} token cannot open a site's page; your coaching "
                          "tasks are in your inbox.")
    pool = await pool_of(request)
    row = await district_queries.site(pool, initiative_id, site_id, district_of(who))
    if row is None:
        raise PageProblem(404, "No such site",
                          f"There is no site '{site_id}' in initiative '{initiative_id}' that you "
                          "can see.")
    view, notice = None, ""
    if who.role in STATUS_ROLES:
        view = await site_view(pool, row)
    events = [a.event for a in await stream_events(pool, ev.site_stream(initiative_id, site_id))]
    min_cell.set(await min_cell_for(pool, [initiative_id]))  # the plan's, as the API's audit
    recorded = request.query_params.get("recorded", "")
    return render(request, "site.html", {
        "row": row, "view": view, "notice": notice, "timeline": timeline(events),
        "moves": stage_moves(events), "when": when, "who_did": who_did,
        "scores": latest_scores(events), "action_items": action_items(events),
        "recorded": names_in(events).get(("task", recorded), recorded) if recorded else "",
        "inbox_url": inbox_url(),
        "board_url": board_url(initiative_id) if who.role in STATUS_ROLES else ""}, who=who)
