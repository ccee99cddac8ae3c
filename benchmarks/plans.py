"""Plans for the rollout benchmarks: N districts in one cohort that starts at launch.

The state-scale example's regions, practice and defaults, with N districts cycled from its own
and enough PD trainers that training capacity is not what the benchmark measures.
"""

from __future__ import annotations

from pathlib import Path

from domain.plan import Plan
from domain.plan_yaml import parse_plan

STATE_SCALE = Path(__file__).resolve().parents[1] / "examples" / "state-scale.yaml"
SITES_PER_TRAINER = 10

BRISK = {
    "exit_criteria": {"initial_implementation": {"fidelity_assessments_min": 1},
                      "full_implementation": {"consecutive_assessments": 1}},
    "deadlines": {"remeasure_school_days": 30},
    "coaching": {"initial_every_weeks": 8, "full_every_weeks": 16},
    "reviews": {"initial_every_weeks": 13, "default_every_weeks": 26},
}
"""The `brisk` pace: every gate and instrument of the example, but one fidelity assessment where
it asks for two, re-measurement after 30 school days instead of 60, and coaching and reviews half
as often, so a site's four stages take about one school year instead of two. The rollout is
still whole (every stage, gate, task, Update and record); there is only less of it per site."""

SPRINT = {
    **BRISK,
    "deadlines": {"remeasure_school_days": 10, "assessment_school_days": 60,
                  "task_school_days": 60, "escalate_after_school_days": 20},
    "coaching": {"initial_every_weeks": 26, "full_every_weeks": 26},
    "reviews": {"initial_every_weeks": 52, "default_every_weeks": 52},
}
"""The `sprint` pace: `brisk`, with evidence re-measured after 10 school days, coaching cycles and
reviews as rare as a plan allows, and one PD session per stage: a site's four stages take months
and its work is mostly the gates themselves (assessments, tasks, Updates and records). Tasks are
due in 60 school days: the benchmark's teams answer at once (benchmarks/rollouts.py), and the long
deadline keeps a loaded machine, whose compressed clock runs ahead of the answers, from turning
every task overdue and escalated (which multiplied the work per site twentyfold when tried)."""

PACES = {"sprint": SPRINT, "brisk": BRISK, "state": {}}


def benchmark_plan(sites: int, initiative_id: str, pace: str = "sprint") -> Plan:
    """N districts of the state-scale example in one cohort, at the `sprint` or `brisk` pace or
    at the example's own (`state`)."""
    if pace not in PACES:
        raise ValueError(f"pace must be one of {', '.join(PACES)}, not {pace!r}")
    base = parse_plan(STATE_SCALE.read_text()).model_dump(mode="json")
    for section, fields in PACES[pace].items():
        _merge(base[section], fields)
    if pace == "sprint":
        base["pd"]["sessions"] = {stage: sessions[:1] for stage, sessions
                                  in base["pd"]["sessions"].items() if stage != "Full Implementation"}
    districts = [s for s in base["sites"] if s["kind"] == "district"]
    chosen = []
    for n in range(sites):
        site = dict(districts[n % len(districts)])
        site["id"], site["name"] = f"{site['id']}-{n:04d}", f"{site['name']} {n:04d}"
        chosen.append(site)
    regions = sorted({s["region"] for s in chosen})
    per_region = max(1, sites // (SITES_PER_TRAINER * len(regions)))
    base["pd"]["trainers"] = [
        {"id": f"{region.lower()}-trainer-{k}", "name": f"{region} trainer {k}",
         "sessions_per_day": 4, "region": region}
        for region in regions for k in range(per_region)]
    base["initiative"]["id"] = initiative_id
    base["sites"] = chosen
    base["cohorts"] = [{"id": "cohort-1", "name": "Benchmark cohort",
                        "members": [s["id"] for s in chosen], "gate": {"kind": "immediate"}}]
    return Plan.model_validate(base)


def _merge(into: dict, fields: dict) -> None:
    for key, value in fields.items():
        if isinstance(value, dict):
            _merge(into[key], value)
        else:
            into[key] = value
