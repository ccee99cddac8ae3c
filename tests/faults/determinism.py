"""After a rollout through faults: did any workflow task fail to replay, and did the watchdog
reset anything? Issue 15's goals are zero of each."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from temporalio.client import Client

from domain.plan import Plan
from runtime.watchdog import RESET_LOGGED, STUCK_LOGGED
from store.audit_queries import stream_ids
from store.eventstore import EventStore
from tests.sdk.nondeterminism import describe_nondeterminism, nondeterminism_failures
from workflows.ids import coaching_workflow_id, initiative_workflow_id, site_workflow_id


async def workflow_ids(client: Client, pool: asyncpg.Pool, plan: Plan) -> list[str]:
    """The initiative's workflow, its groups, its sites' rollouts and every coaching cycle."""
    initiative = plan.initiative.id
    ids = [initiative_workflow_id(initiative)]
    ids += [site_workflow_id(initiative, s.id) for s in plan.sites]
    groups = {w.id async for w in client.list_workflows("WorkflowType = 'SiteGroupWorkflow'")
              if w.id.startswith(f"site-group:{initiative}:")}
    store = EventStore(pool)
    for stream in await stream_ids(pool, initiative):
        ids += [coaching_workflow_id(e.payload.cycle_id) for e in await store.read_stream(stream)
                if e.type == "CoachingCycleStarted"]
    return ids + sorted(groups)


async def replay_health(client: Client, pool: asyncpg.Pool, plan: Plan, log: Path) -> dict:
    """Nondeterminism failures in every history and in the workers' log, resets and reports by
    the watchdog; `details` says where any failure was."""
    ids = await workflow_ids(client, pool, plan)
    failures = await nondeterminism_failures(client, ids)
    text = log.read_text(errors="replace") if log.exists() else ""
    return {"workflows_checked": len(ids), "nondeterminism_in_histories": len(failures),
            "nondeterminism_in_logs": text.count("Nondeterminism"),
            "resets": text.count(RESET_LOGGED), "stuck_reported": text.count(STUCK_LOGGED),
            "details": await describe_nondeterminism(client, ids) if failures else ""}
