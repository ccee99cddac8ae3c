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


def benchmark_plan(sites: int, initiative_id: str) -> Plan:
    base = parse_plan(STATE_SCALE.read_text()).model_dump(mode="json")
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
