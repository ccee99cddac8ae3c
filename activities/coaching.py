"""Starting a coaching cycle: its own workflow, not a child of the site's run.

A site's workflow continues as new at every stage and whenever its history grows, and an
operator may reset it; a cycle lasts weeks and must outlive any one run. So the cycle is started
here, through the client, as a workflow of its own; it reports its outcome by a signal to the
site's workflow id, which reaches whichever run is current. Its id derives from the site's stage
entry and cycle number, so a retried start finds the cycle already running and starts nothing.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from pydantic import BaseModel

from domain.coaching import CoachingCycleInput

CYCLE_WORKFLOW = "CoachingCycleWorkflow"
"""The cycle's workflow type, by name: activities sit below the workflows and do not import them."""


class StartCycleInput(BaseModel):
    workflow_id: str
    cycle: CoachingCycleInput


class CycleStarter:
    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn
    async def start_coaching_cycle(self, request: StartCycleInput) -> None:
        cycle = request.cycle
        try:
            await self._client.start_workflow(
                CYCLE_WORKFLOW, cycle, id=request.workflow_id,
                task_queue=activity.info().task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL)
        except WorkflowAlreadyStartedError:
            activity.logger.info("coaching cycle %s already started (a retry)", cycle.cycle_id)
