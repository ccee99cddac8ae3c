"""`verify`: is the event store exactly what the workflows decided?

Two independent checks. The hash chain: every stream's events are recomputed and linked, so a
changed, removed or reordered row shows at its version. The workflow histories: every batch a
workflow sent to the `record_events` activity is in its Temporal history, so each stored event
is compared with the one the workflow decided, reporting gaps, extras and altered rows. Histories
are kept only for the namespace's retention period; streams whose history is gone are listed as
not cross-checked rather than as failures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import asyncpg
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError

from activities.events import RecordEventsInput
from domain.events import Event
from store.audit_queries import stored_versions
from store.eventstore import AppendResult, EventStore
from workflows.ids import initiative_workflow_id, site_workflow_id


@dataclass(frozen=True)
class Finding:
    stream_id: str
    version: int | None
    problem: str


@dataclass
class Verification:
    streams: int
    findings: list[Finding]
    cross_checked: int = 0
    not_cross_checked: list[str] | None = None

    @property
    def clean(self) -> bool:
        return not self.findings


def writer_of(stream_id: str) -> str:
    """The id of the workflow that appends to a stream."""
    kind, _, rest = stream_id.partition("/")
    if kind == "initiative":
        return initiative_workflow_id(rest)
    initiative_id, _, site_id = rest.rpartition("/")
    return site_workflow_id(initiative_id, site_id)


async def verify_chains(pool: asyncpg.Pool, streams: Iterable[str]) -> list[Finding]:
    store, findings = EventStore(pool), []
    for stream_id in streams:
        broken = await store.verify(stream_id)
        if broken is not None:
            findings.append(Finding(stream_id, broken, "hash chain broken: the row was changed, "
                                                       "removed or reordered after it was written"))
    return findings


async def decided_events(client: Client, workflow_id: str) -> dict[str, dict[int, Event]]:
    """Events each run of a workflow sent to the event store, by stream and version (all runs,
    newest back to the first, following continue-as-new). Where the store answered a batch with
    events the workflow had stored before (it decided a reset task again), those are what it
    adopted, and so what it decided."""
    decided: dict[str, dict[int, Event]] = {}
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        for batch, result in _recorded_batches(client, history.events):
            adopted = result.adopted if result is not None else []
            stream = decided.setdefault(batch.stream_id, {})
            for event in adopted or batch.events:
                stream[event.sequence] = event
        run_id = history.events[0].workflow_execution_started_event_attributes \
            .continued_execution_run_id or None
        if run_id is None:
            return decided


def _recorded_batches(client: Client, events) -> Iterator[tuple[RecordEventsInput, AppendResult | None]]:
    """Each `record_events` batch of a run with its result (None while it has none), in order."""
    converter = client.data_converter.payload_converter
    batches: dict[int, RecordEventsInput] = {}
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = e.activity_task_scheduled_event_attributes
            if attributes.activity_type.name == "record_events":
                (batches[e.event_id],) = converter.from_payloads(attributes.input.payloads,
                                                                 [RecordEventsInput])
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            completed = e.activity_task_completed_event_attributes
            if completed.scheduled_event_id in batches:
                (result,) = converter.from_payloads(completed.result.payloads, [AppendResult])
                yield batches.pop(completed.scheduled_event_id), result
    for batch in batches.values():
        yield batch, None


async def compare(pool: asyncpg.Pool, stream_id: str, decided: dict[int, Event]) -> list[Finding]:
    stored: dict[int, Event | None] = {}
    findings = []
    for row in await stored_versions(pool, stream_id):
        stored[row.version] = row.event
        if row.unreadable is not None:
            findings.append(Finding(stream_id, row.version,
                                    f"unreadable: {row.unreadable.errors()[0]['msg']}"))
    for version in sorted(set(decided) | set(stored)):
        mine, theirs = stored.get(version, ...), decided.get(version)
        if theirs is None:
            findings.append(Finding(stream_id, version, "stored but never decided by the workflow"))
        elif mine is ...:
            findings.append(Finding(stream_id, version, f"missing: the workflow decided "
                                                        f"{theirs.type} but it is not stored"))
        elif mine is not None and mine != theirs:
            findings.append(Finding(stream_id, version, f"{theirs.type} differs from what the "
                                                        "workflow decided"))
    return findings


async def cross_check(client: Client, pool: asyncpg.Pool, workflows: dict[str, str]
                      ) -> tuple[list[Finding], int, list[str]]:
    """`workflows`: stream id -> the id of the workflow that writes it."""
    findings, checked, unavailable = [], 0, []
    for stream_id, workflow_id in workflows.items():
        try:
            decided = await decided_events(client, workflow_id)
        except RPCError:
            unavailable.append(stream_id)
            continue
        findings += await compare(pool, stream_id, decided.get(stream_id, {}))
        checked += 1
    return findings, checked, unavailable
