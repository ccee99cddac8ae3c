"""A group of at most a few hundred sites of one cohort and region.

Temporal caps pending children per workflow; a state can have 10,000 schools. The initiative
therefore starts groups, and each group starts its sites' rollouts and relays controls to them.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from temporalio import workflow
from temporalio.common import TypedSearchAttributes
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows import search_attributes as sa
    from workflows.ids import site_workflow_id
    from workflows.models import (
        ControlRequest, GroupInput, GroupOutcome, SiteContext, SiteRef, SiteRolloutInput,
    )
    from workflows.site_rollout import SiteRolloutWorkflow
    from workflows.relay import RELAY_PATCH, closed_target

MAIN_LOOP_PATCH = "group-controls-relayed-by-the-main-loop"
"""workflow.patched id: the control signal only leaves the request for the main loop, which relays
it to the sites (the handler relayed it itself before). Runs recorded before replay as they ran."""


@workflow.defn
class SiteGroupWorkflow:
    @workflow.init
    def __init__(self, input: GroupInput) -> None:
        self._input = input
        self._started = False
        self._controls: list[ControlRequest] = []

    @workflow.run
    async def run(self, input: GroupInput) -> GroupOutcome:
        by_main_loop = workflow.patched(MAIN_LOOP_PATCH)
        handles = await asyncio.gather(*[self._start(site) for site in input.sites])
        self._started = True
        if by_main_loop:
            while not all(h.done() for h in handles):
                await workflow.wait_condition(
                    lambda: bool(self._controls) or all(h.done() for h in handles))
                while self._controls:
                    await self._relay(self._controls.pop(0), skip_closed=True)
        results = await asyncio.gather(*handles, return_exceptions=True)
        statuses = Counter(r.status if not isinstance(r, BaseException) else "failed" for r in results)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return GroupOutcome(group_id=input.group_id, by_status=dict(statuses))

    async def _start(self, site: SiteRef):
        settings = self._input.settings
        attributes = None
        if settings.search_attributes:
            attributes = TypedSearchAttributes([
                sa.INITIATIVE_ID.value_set(settings.initiative_id), sa.SITE_ID.value_set(site.site_id),
                sa.REGION.value_set(site.region), sa.COHORT.value_set(site.cohort_id),
                sa.ROLLOUT_STAGE.value_set("Exploration")])
        return await workflow.start_child_workflow(
            SiteRolloutWorkflow.run,
            SiteRolloutInput(context=SiteContext(settings=settings, site=site)),
            id=site_workflow_id(settings.initiative_id, site.site_id),
            search_attributes=attributes,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON)

    @workflow.signal
    async def control(self, request: ControlRequest) -> None:
        """Relay an initiative-wide pause, resume or cancel to every site of the group."""
        if workflow.patched(MAIN_LOOP_PATCH):
            self._controls.append(request)
            return
        await workflow.wait_condition(lambda: self._started)
        await self._relay(request, skip_closed=workflow.patched(RELAY_PATCH))

    async def _relay(self, request: ControlRequest, *, skip_closed: bool) -> None:
        initiative_id = self._input.settings.initiative_id
        for site in self._input.sites:
            try:
                await workflow.get_external_workflow_handle(
                    site_workflow_id(initiative_id, site.site_id)
                ).signal(SiteRolloutWorkflow.initiative_control, request)
            except ApplicationError as failure:
                if not (skip_closed and closed_target(failure)):
                    raise  # a site already cancelled or completed needs no control
