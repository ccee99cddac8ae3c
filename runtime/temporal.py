"""One way to reach Temporal: the pydantic data converter everywhere (client, worker, replayer)."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter

from runtime.settings import Settings
from workflows.coaching_cycle import CoachingCycleWorkflow
from workflows.initiative import InitiativeWorkflow
from workflows.site_group import SiteGroupWorkflow
from workflows.site_rollout import SiteRolloutWorkflow
from workflows.ssip_cycle import SsipCycleWorkflow

WORKFLOWS = [InitiativeWorkflow, SiteGroupWorkflow, SiteRolloutWorkflow, CoachingCycleWorkflow,
             SsipCycleWorkflow]
DEFAULT_TASK_QUEUE = "rollouts"


async def connect(address: str, namespace: str = "default", **options) -> Client:
    return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter,
                                **options)


async def connect_with(settings: Settings) -> Client:
    """Connect as the settings say: the dev server, a self-hosted cluster (TLS or mTLS), or
    Temporal Cloud (API key), with no code change between them."""
    return await connect(settings.temporal_address, settings.temporal_namespace,
                         **connection_options(settings))


def connection_options(settings: Settings) -> dict:
    """TLS and API-key options for Client.connect from the ROLLOUT_TEMPORAL_* settings."""
    options: dict = {}
    if settings.temporal_tls or settings.temporal_api_key or settings.temporal_tls_cert:
        options["tls"] = TLSConfig(
            server_root_ca_cert=_read(settings.temporal_tls_ca),
            client_cert=_read(settings.temporal_tls_cert),
            client_private_key=_read(settings.temporal_tls_key))
    if settings.temporal_api_key:
        options["api_key"] = settings.temporal_api_key
    return options


def _read(path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as problem:
        raise ValueError(f"cannot read {path}: {problem.strerror}") from None
