"""An initiative's launch as the store holds it (with its school clock), and the SSIP figures of
the acceptance line: SiMR baseline 32.0% (FFY 2025), target 36.0% and actual 35.1% for FFY 2026."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from domain import events as ev
from domain import initiative as agg
from domain.actors import SYSTEM, Actor, Role
from domain.plan import Plan
from domain.school_clock import SchoolClock
from store.eventstore import EventStore

STATE_TEAM = Actor(id="pat.ssip-lead", role=Role.STATE_ADMIN)
BASELINE, TARGET, ACTUAL = 32.0, 36.0, 35.1
SIMR = dict(measure="Third graders with IEPs proficient in ELA, of those assessed",
            baseline=BASELINE, baseline_ffy=2025, data_source="State ELA assessment")
STAKEHOLDERS = [
    {"group": "Parents and families", "meetings": 4, "participants": 37},
    {"group": "Teachers", "meetings": 6, "participants": 58},
    {"group": "Advocacy organizations", "meetings": 2, "participants": 6},
]
"""Six advocates is a small cell; 37 parents is the smallest other cell, hidden beside it."""


def launch_events(plan: Plan, clock: SchoolClock | None, at: datetime | None = None
                  ) -> list[ev.Event]:
    payload = ev.InitiativeLaunchedPayload(
        initiative_id=plan.initiative.id, name=plan.initiative.name,
        practice=plan.initiative.practice.name, ssip_phase=plan.initiative.ssip.phase,
        simr=plan.initiative.ssip.simr, site_count=len(plan.sites),
        cohort_ids=[c.id for c in plan.cohorts],
        plan_digest=hashlib.sha256(plan.model_dump_json().encode()).hexdigest(),
        school_clock=clock, min_cell_size=plan.privacy.min_cell_size)
    moment = at or (clock.origin_school if clock else datetime(2026, 8, 17, 8, tzinfo=timezone.utc))
    return agg.decide(agg.InitiativeState(), agg.LaunchInitiative(at=moment, actor=SYSTEM,
                                                                   payload=payload))


async def store_launch(pool, plan: Plan, clock: SchoolClock | None = None) -> None:
    events = launch_events(plan, clock)
    await EventStore(pool).append(events[0].stream_id, events, expected_version=0,
                                  workflow_id=f"initiative:{plan.initiative.id}")


def school_clock(real_now: datetime, school_start: datetime, speedup: float = 1.0) -> SchoolClock:
    return SchoolClock(origin_real=real_now, origin_school=school_start, speedup=speedup)
