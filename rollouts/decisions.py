"""Stage decisions by people: the sites waiting for the state's decision, and approving, declining,
overriding a failed gate or sending a site back a stage.

Each decision is one Update, the site workflow's `decide_stage_move`, sent the way every person's
action is (rollouts/task_actions.py). Its validator runs the domain's rules, so the API, the web
pages and the CLI refuse alike and record alike: the person, the decision and the reason land in
the site's event stream, where `rollout audit site` and the site's page read them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import asyncpg
from pydantic import BaseModel, ValidationError
from temporalio.client import Client

from domain.actors import Actor
from domain.criteria import Check
from domain.errors import shown
from domain.stages import STAGE_ORDER, Stage
from rollouts.task_actions import ActionFailed, send_site_update
from rollouts.views import site_view
from store.decision_queries import waiting_moves
from workflows.models import StageDecisionRequest, UpdateOutcome
from workflows.site_rollout import SiteRolloutWorkflow

Decision = Literal["approve", "decline", "override", "send_back"]
DECISIONS: tuple[Decision, ...] = ("approve", "decline", "override", "send_back")
WORKFLOW_DECISION = {"approve": "approve", "decline": "decline", "override": "override",
                     "send_back": "regress"}
"""The workflow's word for each decision (a site sent back is a regression)."""
REASON_ASKED = {"decline": "why the move is declined",
                "override": "the rationale for moving past the failed gate",
                "send_back": "why the site goes back (staff turnover, lost funding...)"}
"""What the reason of each decision must say; an approval's note is optional."""
QUEUE_LIMIT = 500


class WaitingDecision(BaseModel):
    """A site whose move waits for the state, with the evidence the rules weighed."""

    initiative_id: str
    site_id: str
    name: str
    kind: str
    region: str
    district_id: str
    cohort_id: str
    stage: Stage | None
    status: str
    to_stage: Stage
    explanation: str
    asked_at: datetime
    """School time, as the request was recorded."""
    checks: list[Check]


class Decided(BaseModel):
    initiative_id: str
    site_id: str
    decision: Decision
    to_stage: Stage
    reason: str
    outcome: UpdateOutcome


async def waiting(pool: asyncpg.Pool, *, initiative_id: str | None = None,
                  district: str | None = None, limit: int = QUEUE_LIMIT) -> list[WaitingDecision]:
    """The queue, longest waiting first: every site (of one initiative, of one district) whose
    stage move waits for the state."""
    rows = await waiting_moves(pool, initiative_id=initiative_id, district=district, limit=limit)
    return [WaitingDecision(
        initiative_id=r.initiative_id, site_id=r.site_id, name=r.name, kind=r.kind,
        region=r.region, district_id=r.district_id, cohort_id=r.cohort_id, stage=r.stage,
        status=r.status, to_stage=r.to_stage, explanation=r.explanation, asked_at=r.asked_at,
        checks=[Check.model_validate(c) for c in r.checks]) for r in rows]


def target_of(decision: Decision, stage: Stage | None, pending: Stage | None,
              to_stage: Stage | None) -> Stage:
    """The stage a decision is about: the one named, else the move waiting (approve, decline),
    the next stage (override) or the one before (send back)."""
    if to_stage is not None:
        return to_stage
    if decision in ("approve", "decline"):
        if pending is None:
            raise ActionFailed("invalid", f"The site has no stage move waiting for a decision; "
                               f"there is nothing to {decision}.", "to_stage", None)
        return pending
    if stage is None:
        raise ActionFailed("invalid", "The site has not entered a stage yet.", "to_stage", None)
    step = 1 if decision == "override" else -1
    index = stage.index + step
    if not 0 <= index < len(STAGE_ORDER):
        where = "last" if step == 1 else "first"
        raise ActionFailed("invalid", f"{stage} is the {where} stage; name the stage with to_stage.",
                           "to_stage", None)
    return STAGE_ORDER[index]


def checked_reason(decision: Decision, reason: str) -> str:
    """The reason, trimmed; a decision that needs one and has none is refused here, naming the
    field, before anything is sent (the rules then hold it to at least 10 characters)."""
    reason = reason.strip()
    if decision in REASON_ASKED and not reason:
        raise ActionFailed("invalid", f"To {decision.replace('_', ' ')} a stage move, give a "
                           f"reason: {REASON_ASKED[decision]}.", "reason", reason)
    return reason


def request_for(decision: Decision, *, site_id: str, actor: Actor, to_stage: Stage,
                reason: str) -> StageDecisionRequest:
    """The Update's request, or an ActionFailed naming the field that cannot be sent."""
    reason = checked_reason(decision, reason)
    try:
        return StageDecisionRequest(actor=actor, site_id=site_id, to_stage=to_stage,
                                    decision=WORKFLOW_DECISION[decision], reason=reason)
    except ValidationError as problem:
        error = problem.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "request"
        raise ActionFailed("invalid", f"{field}: {error['msg']} (got {shown(error.get('input'))}).",
                           field, str(error.get("input"))[:200]) from None


async def decide(client: Client, pool: asyncpg.Pool, site_row: asyncpg.Record, *, actor: Actor,
                 decision: Decision, reason: str, to_stage: Stage | None = None) -> Decided:
    """Send one decision about the site (`site_row`: its row in the sites projection, already
    checked to be the person's to see)."""
    initiative_id, site_id = site_row["initiative_id"], site_row["site_id"]
    if to_stage is None:
        standing = await site_view(pool, site_row)
        to_stage = target_of(decision, standing.stage, standing.pending_move, None)
    request = request_for(decision, site_id=site_id, actor=actor, to_stage=to_stage, reason=reason)
    outcome = await send_site_update(client, initiative_id, site_id,
                                     SiteRolloutWorkflow.decide_stage_move, request)
    return Decided(initiative_id=initiative_id, site_id=site_id, decision=decision,
                   to_stage=to_stage, reason=request.reason, outcome=outcome)
