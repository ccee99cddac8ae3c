"""A deliberately light plan, so hundreds of full four-stage rollouts fit in a few minutes.

Every site still walks Exploration -> Installation -> Initial -> Full Implementation through the
real workflows, answered by simulated districts with real Updates; only the amount of work per
stage is small: assessments due within three school days (so teams answer at once), one PD
session in Installation (trainers enough that every site gets one), one coaching cycle per
coaching stage, no review before a stage ends, no state approval to wait for, and exit rules
that one good measurement satisfies.
"""

from __future__ import annotations

from domain.plan import Plan
from tests.workflows.harness import small_plan

REGIONS = ("North", "South")
TRAINERS_PER_REGION = 10


def light_plan(sites: int, initiative_id: str) -> Plan:
    data = small_plan().model_dump(mode="json")
    data["initiative"]["id"] = initiative_id
    data["sites"] = [{"id": f"fault-{n:04d}-sd", "name": f"Fault District {n:04d}",
                      "kind": "district", "region": REGIONS[n % len(REGIONS)], "practitioners": 20}
                     for n in range(sites)]
    data["cohorts"] = [{"id": "c1", "name": "Cohort 1", "members": [s["id"] for s in data["sites"]],
                        "gate": {"kind": "immediate"}}]
    data["exit_criteria"] = {
        "initial_implementation": {"fidelity_assessments_min": 1},
        "full_implementation": {"fidelity_min_percent": 50, "consecutive_assessments": 1}}
    data["pd"] = {
        "trainers": [{"id": f"{r.lower()}-trainer-{k}", "name": f"{r} trainer {k}",
                      "sessions_per_day": 4, "region": r}
                     for r in REGIONS for k in range(TRAINERS_PER_REGION)],
        "sessions": {"Installation": [{"title": "Foundations", "hours": 3, "capacity": 30}]}}
    data["coaching"] = {"initial_every_weeks": 26, "full_every_weeks": 26}
    data["reviews"] = {"initial_every_weeks": 52, "default_every_weeks": 52}
    data["deadlines"] = {"assessment_school_days": 3, "task_school_days": 10,
                         "reminder_school_days_before": 0, "escalate_after_school_days": 10,
                         "remeasure_school_days": 20}
    data["approvals"] = {"state_approval_required_for": []}
    return Plan.model_validate(data)
