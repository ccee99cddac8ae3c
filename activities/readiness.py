"""Readiness checks: evaluate a stage's exit criteria and decide advance, hold or regress.

The verdict is computed here, in an activity, rather than in workflow code so it is recorded in
the workflow's history: a rule refined next year changes the next evaluation, never the replay of
a verdict already given.
"""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, BaseModel
from temporalio import activity

from activities.refusals import domain_refusal
from domain.actors import SYSTEM
from domain.commands import EvaluateExit
from domain.errors import DomainError
from domain.events import Event
from domain.rollout import decide
from domain.site_state import SiteRolloutState


class ReadinessInput(BaseModel):
    state: SiteRolloutState
    at: AwareDatetime
    follow_up_due: date | None = None
    escalate_after_failures: int = 2


@activity.defn
async def check_readiness(request: ReadinessInput) -> list[Event]:
    command = EvaluateExit(at=request.at, actor=SYSTEM, follow_up_due=request.follow_up_due,
                           escalate_after_failures=request.escalate_after_failures)
    try:
        return decide(request.state, command)
    except DomainError as refused:
        raise domain_refusal(refused) from None
