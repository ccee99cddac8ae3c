"""One way to reach Temporal: the pydantic data converter everywhere (client, worker, replayer)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from workflows.coaching_cycle import CoachingCycleWorkflow
from workflows.initiative import InitiativeWorkflow
from workflows.site_group import SiteGroupWorkflow
from workflows.site_rollout import SiteRolloutWorkflow

WORKFLOWS = [InitiativeWorkflow, SiteGroupWorkflow, SiteRolloutWorkflow, CoachingCycleWorkflow]
DEFAULT_TASK_QUEUE = "rollouts"


async def connect(address: str, namespace: str = "default", **tls) -> Client:
    return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter,
                                **tls)
