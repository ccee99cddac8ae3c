"""Small builders for valid domain inputs, so tests read as scenarios."""

from datetime import datetime, timedelta, timezone

from domain import commands as c
from domain.actors import SYSTEM, Actor, Role
from domain.drivers import Driver
from domain.instruments import (
    HEXAGON_INDICATORS, AdoptionDecision, CapacityAssessment, CapacityItem, ChecklistItem,
    DEFAULT_CHECKLIST_ITEMS, FidelityAssessment, FitReadinessReview, IndicatorRating,
    InstallationChecklist,
)
from domain.rollout import execute
from domain.site_state import SiteRolloutState

START = datetime(2026, 9, 1, 14, 0, tzinfo=timezone.utc)
STATE = Actor(id="sam.state", role=Role.STATE_ADMIN)
COORDINATOR = Actor(id="ann.adams", role=Role.DISTRICT_COORDINATOR, district="adams")
OTHER_COORDINATOR = Actor(id="bob.baker", role=Role.DISTRICT_COORDINATOR, district="baker")
COACH = Actor(id="cora.coach", role=Role.COACH)
AUDITOR = Actor(id="ada.audit", role=Role.AUDITOR)


def readiness(rating: int = 4) -> FitReadinessReview:
    return FitReadinessReview(ratings=[IndicatorRating(indicator=i, rating=rating)
                                       for i in HEXAGON_INDICATORS])


def adoption(decision: str = "adopt", members: int = 4) -> AdoptionDecision:
    return AdoptionDecision(decision=decision, signed_by="supt.adams",
                            implementation_team_members=members)


def checklist(in_place: int = len(DEFAULT_CHECKLIST_ITEMS)) -> InstallationChecklist:
    return InstallationChecklist(items=[ChecklistItem(item=name, in_place=i < in_place)
                                        for i, name in enumerate(DEFAULT_CHECKLIST_ITEMS)])


def capacity(score: int = 2) -> CapacityAssessment:
    return CapacityAssessment(
        items=[CapacityItem(item=f"{d.name.lower()}-1", driver=d, score=score) for d in Driver],
        facilitator="regional facilitator", participants={"district_team": 5})


def fidelity(meeting: int, assessed: int = 20) -> FidelityAssessment:
    return FidelityAssessment(practitioners_assessed=assessed, practitioners_meeting=meeting)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def tick(self, days: int = 1) -> datetime:
        self.now += timedelta(days=days)
        return self.now


def enrolled(**overrides) -> SiteRolloutState:
    fields = dict(initiative_id="pbis", site_id="adams", site_name="Adams County SD",
                  kind="district", region="North", cohort_id="c1", practitioners=20)
    fields.update(overrides)
    state, _ = execute(SiteRolloutState(), c.EnrollSite(at=START, actor=SYSTEM, **fields))
    return state
