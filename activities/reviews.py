"""Continuous-improvement reviews: read the site's latest capacity and fidelity data, name the
barriers, and turn them into action-item tasks (system barriers escalated to the state team)."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, BaseModel
from temporalio import activity

from activities.refusals import domain_refusal
from domain.actors import SYSTEM
from domain.commands import HoldReview
from domain.errors import DomainError
from domain.events import Event
from domain.rollout import decide
from domain.site_state import SiteRolloutState


class ReviewInput(BaseModel):
    state: SiteRolloutState
    at: AwareDatetime
    review_id: str
    number: int
    action_due: date


@activity.defn
async def hold_review(request: ReviewInput) -> list[Event]:
    command = HoldReview(at=request.at, actor=SYSTEM, review_id=request.review_id,
                         number=request.number, action_due=request.action_due)
    try:
        return decide(request.state, command)
    except DomainError as refused:
        raise domain_refusal(refused) from None
