"""Bring each site of a launched plan to a chosen point, answering its tasks at once the way a
district would (the same Updates the simulated districts and the API send).

A site is answered while it is short of its target stage; once there, only the instruments named
in `also` are answered, so the rest of that stage's tasks stay open for the test (and the
browser) to do. PD sessions and coaching steps are never answered here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from domain.actors import Actor, Role
from domain.plan import Plan
from domain.stages import Stage
from tests.domain.builders import adoption, capacity, checklist, fidelity, readiness
from workflows.ids import site_workflow_id
from workflows.models import SiteStatus, SubmitAssessmentRequest
from workflows.site_rollout import SiteRolloutWorkflow

ANSWERS = {"fit_readiness": lambda: readiness(4), "adoption_decision": adoption,
           "installation_checklist": checklist, "capacity": lambda: capacity(2),
           "fidelity": lambda: fidelity(16)}


@dataclass(frozen=True)
class Target:
    stage: Stage
    also: frozenset[str] = frozenset()
    """instruments to answer in the target stage too"""
    done: Callable[[SiteStatus], bool] | None = None
    """when the site is where it is wanted (default: in `stage` with only other tasks open)"""
    answers: Mapping[str, Callable[[], object]] = field(default_factory=dict)
    """instead of ANSWERS, for these instruments"""

    def reached(self, status: SiteStatus) -> bool:
        if self.done is not None:
            return self.done(status)
        if status.stage is not self.stage:
            return False
        asked = {t.instrument for t in status.open_tasks if t.kind == "submit_assessment"}
        return bool(asked) and not asked & self.also


def coordinator_of(district: str) -> Actor:
    return Actor(id=f"coordinator.{district}", role=Role.DISTRICT_COORDINATOR, district=district)


async def bring_sites(client: Client, plan: Plan, targets: dict[str, Target], *,
                      timeout: float = 60.0) -> dict[str, SiteStatus]:
    """Answer tasks until every site has reached its target; the statuses at that moment."""
    districts = {s.id: s.district or s.id for s in plan.sites}
    reached: dict[str, SiteStatus] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: dict[str, SiteStatus] = {}
    while len(reached) < len(targets):
        if loop.time() > deadline:
            raise AssertionError(f"sites never reached their targets: {last}")
        for site_id, target in targets.items():
            if site_id in reached:
                continue
            handle = client.get_workflow_handle(site_workflow_id(plan.initiative.id, site_id))
            try:
                status: SiteStatus = await handle.query(SiteRolloutWorkflow.status)
            except RPCError:
                continue  # not started yet
            last[site_id] = status
            if target.reached(status):
                reached[site_id] = status
                continue
            for task in status.open_tasks:
                if task.kind != "submit_assessment" or task.instrument not in ANSWERS:
                    continue
                if status.stage is target.stage and task.instrument not in target.also:
                    continue
                answer = target.answers.get(task.instrument, ANSWERS[task.instrument])
                request = SubmitAssessmentRequest(
                    actor=coordinator_of(districts[site_id]), site_id=site_id,
                    assessment_id=f"{task.task_id}:setup", assessment=answer(),
                    task_id=task.task_id)
                try:
                    await handle.execute_update(SiteRolloutWorkflow.submit_assessment, request)
                except WorkflowUpdateFailedError:
                    pass  # the site moved on meanwhile; the next round reads it again
        await asyncio.sleep(0.2)
    return reached
