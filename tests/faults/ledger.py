"""After a rollout through faults: is the record exactly what the workflows decided?

Per site: the rollout completed; its stream holds versions 1..n without a gap, each event id
once, every stage entered once in order, no task assigned or closed twice, one PD booking per
scheduled session. Across the store: every stored event is one a workflow decided (its Temporal
history says so, `rollout audit verify`'s cross-check) and every decided event is stored; every
hash chain verifies; the inbox and the notification feed hold nothing twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

import asyncpg
from temporalio.client import Client

from domain.plan import Plan
from domain.stages import Stage
from audit.verify import cross_check, verify_chains, writer_of
from store import projections
from store.audit_queries import stream_ids
from store.eventstore import EventStore
from workflows.ids import site_workflow_id
from workflows.site_rollout import SiteRolloutWorkflow


@dataclass
class Ledger:
    sites: int = 0
    sites_completed: int = 0
    streams: int = 0
    events_stored: int = 0
    events_decided: int = 0
    events_lost: int = 0
    events_duplicated: int = 0
    events_altered: int = 0
    chains_broken: int = 0
    pd_bookings: int = 0
    notifications_sent: int = 0
    problems: list[str] = field(default_factory=list)

    def figures(self) -> dict:
        figures = asdict(self)
        figures["problems"] = len(self.problems)
        return figures


async def audit(client: Client, pool: asyncpg.Pool, plan: Plan) -> Ledger:
    ledger = Ledger(sites=len(plan.sites))
    initiative_id = plan.initiative.id
    for site in plan.sites:
        await _audit_site(client, pool, initiative_id, site.id, ledger)
    streams = await stream_ids(pool, initiative_id)
    ledger.streams = len(streams)
    findings, checked, unavailable = await cross_check(
        client, pool, {s: writer_of(s) for s in streams})
    if checked != len(streams) or unavailable:
        ledger.problems.append(f"cross-checked {checked} of {len(streams)} streams "
                               f"(history unavailable: {unavailable[:3]})")
    for finding in findings:
        if finding.problem.startswith("missing"):
            ledger.events_lost += 1
        elif finding.problem.startswith("stored but never decided"):
            ledger.events_duplicated += 1
        else:
            ledger.events_altered += 1
        ledger.problems.append(f"{finding.stream_id} v{finding.version}: {finding.problem}")
    ledger.events_decided = ledger.events_stored - ledger.events_duplicated + ledger.events_lost
    broken = await verify_chains(pool, streams)
    ledger.chains_broken = len(broken)
    ledger.problems += [f"{b.stream_id} v{b.version}: {b.problem}" for b in broken]
    await _audit_read_models(pool, initiative_id, ledger)
    return ledger


async def _audit_site(client: Client, pool: asyncpg.Pool, initiative_id: str, site_id: str,
                      ledger: Ledger) -> None:
    result = await client.get_workflow_handle_for(
        SiteRolloutWorkflow.run, site_workflow_id(initiative_id, site_id)).result()
    stream_id = f"site-rollout/{initiative_id}/{site_id}"
    events = await EventStore(pool).read_stream(stream_id)
    ledger.events_stored += len(events)
    problems = []
    if result.status == "completed":
        ledger.sites_completed += 1
    else:
        problems.append(f"ended {result.status}")
    if [e.sequence for e in events] != list(range(1, result.version + 1)):
        problems.append(f"versions {[e.sequence for e in events][:5]}... "
                        f"are not 1..{result.version}")
    if len({e.event_id for e in events}) != len(events):
        problems.append("an event id stored twice")
    if [e.payload.stage for e in events if e.type == "StageEntered"] != list(Stage):
        problems.append("stages not entered once each, in order")
    if not events or events[-1].type != "SiteCompleted":
        problems.append("the stream does not end with SiteCompleted")
    assigned = Counter(e.payload.task_id for e in events if e.type == "TaskAssigned")
    closed = Counter(e.payload.task_id for e in events
                     if e.type in ("TaskCompleted", "TaskWithdrawn"))
    if set(assigned.values()) - {1} or set(closed.values()) - {1}:
        problems.append("a task assigned or closed twice")
    scheduled = sum(e.type == "PdSessionScheduled" for e in events)
    booked = await pool.fetchval("SELECT count(*) FROM pd_bookings WHERE initiative_id = $1 AND "
                                 "site_id = $2", initiative_id, site_id)
    ledger.pd_bookings += booked
    if booked != scheduled:
        problems.append(f"{booked} PD bookings for {scheduled} scheduled sessions")
    inbox = await pool.fetchval("SELECT count(*) FROM tasks WHERE stream_id = $1", stream_id)
    if inbox != len(assigned):
        problems.append(f"{inbox} inbox rows for {len(assigned)} assigned tasks")
    ledger.problems += [f"{site_id}: {p}" for p in problems]


async def _audit_read_models(pool: asyncpg.Pool, initiative_id: str, ledger: Ledger) -> None:
    board = await pool.fetch("SELECT status, count(*) AS n FROM sites WHERE initiative_id = $1 "
                             "GROUP BY status", initiative_id)
    if {r["status"]: r["n"] for r in board} != {"completed": ledger.sites}:
        ledger.problems.append(f"the stage board says {[dict(r) for r in board]}")
    behind = [f"{p.name} ({p.state}, {p.behind} behind)" for p in await projections.status(pool)
              if p.behind or p.state != "live"]
    if behind:
        ledger.problems.append(f"read models not caught up: {behind}")
    sent = await pool.fetchval("SELECT count(*) FROM outbox WHERE status = 'sent'")
    undelivered = await pool.fetchval(
        "SELECT count(*) FROM outbox o WHERE status = 'sent' AND NOT EXISTS "
        "(SELECT 1 FROM notification_feed f WHERE f.notification_id = o.notification_id)")
    strays = await pool.fetchval(
        "SELECT count(*) FROM notification_feed f WHERE NOT EXISTS "
        "(SELECT 1 FROM outbox o WHERE o.notification_id = f.notification_id)")
    failed = await pool.fetchval("SELECT count(*) FROM outbox WHERE status = 'failed'")
    orphans = await pool.fetchval(
        "SELECT count(*) FROM outbox o WHERE NOT EXISTS "
        "(SELECT 1 FROM events e WHERE e.event_id = o.event_id)")
    ledger.notifications_sent = sent
    if undelivered or strays or failed or orphans:
        ledger.problems.append(
            f"outbox: {undelivered} sent but not in the feed, {strays} in the feed but not in "
            f"the outbox, {failed} failed, {orphans} for no event")
