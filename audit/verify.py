"""`verify`: is the event store exactly what the workflows decided, all of it?

Three checks, from the weakest to the one that cannot be fooled from inside the database.

1. The hash chains. Every stream's events are recomputed and linked, and its head row must name
   its last event, so a row changed, removed or reordered by hand shows at its version. Anyone
   who can rewrite a row can recompute a chain, though: this catches slips, not intent.
2. The store accounts for itself. Every stream a head row or an event names is checked (a stream
   whose head row is gone included), every cohort an initiative started must have as many site
   streams enrolled in it as it started sites (every site the initiatives enrolled), and every
   site on the board (the `sites` projection) must still have its stream. Enrolment takes a
   moment after a cohort starts, so a shortfall younger than ENROLMENT_GRACE is only noted.
3. The workflow histories: the anchor outside the database. Every batch a workflow sent to the
   `record_events` activity is in its Temporal history, written by another system under other
   credentials. Every stream-writing workflow Temporal knows (listed from its visibility store,
   not from our tables) and the writer of every stream in the store are read, and each decided
   event is compared with the stored one: a payload or actor changed with the chain recomputed,
   an event forged, removed, reordered or duplicated, a whole stream deleted with its head row,
   and a site whose events never got stored (its recording still failing) all show by stream and
   version. A stream no workflow Temporal knows has written is a finding while its events are
   younger than the namespace's retention (its writer's history would still be kept); older,
   it is listed as not cross-checked, as are streams whose writer's history has expired.

Why this and not a ledger in the database (a global hash chain over every event, or every global
position accounted for): whoever can delete a stream from the database can recompute any chain
kept in that same database, and positions have gaps anyway (a rolled-back append spends its
identity values); a global chain would also make every append, across all streams, queue on one
row, which is the throughput issue 19 measures. The histories cost the append nothing, are
already written, and are out of a database owner's reach. So `rollout audit verify` exits
non-zero when it could not reach Temporal, unless told `--chains-only` (checks 1 and 2 alone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Iterator

import asyncpg
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.events import RecordEventsInput
from domain.events import Event
from store.audit_queries import stored_versions
from store.eventstore import AppendResult, EventStore
from store.ledger_queries import StreamCount, boarded_sites, cohort_starts, stream_counts
from workflows.ids import initiative_workflow_id, initiative_workflows_query, site_workflow_id
from workflows.initiative import InitiativeWorkflow
from workflows.site_group import SiteGroupWorkflow
from workflows.site_rollout import SiteRolloutWorkflow

ENROLMENT_GRACE = timedelta(minutes=10)
"""How long after a cohort starts a missing site stream is taken for one still enrolling."""
STREAM_WRITERS = (InitiativeWorkflow.__name__, SiteRolloutWorkflow.__name__)


@dataclass(frozen=True)
class Finding:
    stream_id: str
    version: int | None
    problem: str

    def line(self) -> str:
        """One line naming the stream and version in full, whatever the terminal's width."""
        return f"{self.stream_id}  version {self.version if self.version is not None else '-'}  " \
               f"{self.problem}"


@dataclass
class Verification:
    streams: int
    findings: list[Finding]
    cross_checked: int = 0
    not_cross_checked: list[str] | None = None
    notes: list[Finding] = field(default_factory=list)
    """Not findings: a site still enrolling, an event still being recorded."""
    workflows: int = 0
    remarks: list[str] = field(default_factory=list)
    """How the cross-check went, in sentences."""

    @property
    def clean(self) -> bool:
        return not self.findings


class CrossCheckFailed(RuntimeError):
    """Temporal answered the listing or a history with an error other than 'not found'."""


def writer_of(stream_id: str) -> str:
    """The id of the workflow that appends to a stream."""
    kind, _, rest = stream_id.partition("/")
    if kind == "initiative":
        return initiative_workflow_id(rest)
    initiative_id, _, site_id = rest.rpartition("/")
    return site_workflow_id(initiative_id, site_id)


# --- 1 and 2: the store on its own ----------------------------------------------------------

async def verify_chains(pool: asyncpg.Pool, streams: Iterable[str]) -> list[Finding]:
    store, findings = EventStore(pool), []
    for stream_id in streams:
        broken = await store.verify(stream_id)
        if broken is not None:
            findings.append(Finding(stream_id, broken, "hash chain broken: the row was changed, "
                                                       "removed or reordered after it was written"))
    return findings


def unheaded(counts: Iterable[StreamCount]) -> list[Finding]:
    return [Finding(c.stream_id, c.last_version, f"{c.events} event(s) stored but the stream's "
                                                 "head row is gone")
            for c in counts if c.head_version is None and c.events]


async def account(pool: asyncpg.Pool, streams: set[str], initiative_id: str | None,
                  now: datetime) -> tuple[list[Finding], list[Finding]]:
    """Findings and notes: cohorts short of (or over) their sites, sites gone from the store."""
    findings, notes = [], []
    for cohort in await cohort_starts(pool, initiative_id):
        if cohort.enrolled == cohort.site_count:
            continue
        problem = (f"cohort {cohort.cohort_id} started {cohort.site_count} site(s) but the store "
                   f"holds the stream of {cohort.enrolled} enrolled in it")
        if cohort.enrolled > cohort.site_count:
            findings.append(Finding(cohort.stream_id, cohort.version, problem))
        elif now - cohort.recorded_at < ENROLMENT_GRACE:
            notes.append(Finding(cohort.stream_id, cohort.version, problem + " (still enrolling)"))
        else:
            findings.append(Finding(cohort.stream_id, cohort.version,
                                    problem + ": a site's stream is gone"))
    for stream_id in await boarded_sites(pool, initiative_id):
        if stream_id not in streams:
            findings.append(Finding(stream_id, 1, "the site is on the board (sites projection) "
                                                  "but the store holds no stream for it"))
    return findings, notes


# --- 3: the workflow histories --------------------------------------------------------------

@dataclass
class Unsettled:
    """An event of a `record_events` batch that has not completed."""

    event: Event
    why: str | None
    """None while it is in flight; else why it is not stored (a finding if it is not)."""


@dataclass
class Decided:
    """What one workflow (all its runs) sent to the event store, and the stream-writing
    workflows (and site groups) it started."""

    settled: dict[str, dict[int, Event]] = field(default_factory=dict)
    unsettled: dict[str, dict[int, Unsettled]] = field(default_factory=dict)
    children: set[str] = field(default_factory=set)

    @property
    def streams(self) -> set[str]:
        return set(self.settled) | set(self.unsettled)


async def decided_events(client: Client, workflow_id: str) -> Decided:
    """Events each run of a workflow sent to the event store, by stream and version (all runs,
    newest back to the first, following continue-as-new). Where the store answered a batch with
    events the workflow had stored before (it decided a reset task again), those are what it
    adopted, and so what it decided. A batch without a result is unsettled: in flight, still
    failing (the running activity says how often and why), or failed for good."""
    decided, run_id, latest = Decided(), None, True
    while True:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        history = await handle.fetch_history()
        decided.children |= _started_children(history.events)
        batches = list(_recorded_batches(client, history.events))
        running, pending = False, {}
        if latest and any(result is None and outcome is None for _, result, outcome, _ in batches):
            running, pending = await _pending_recordings(handle)
        for batch, result, outcome, activity_id in batches:
            if result is not None:
                for event in result.adopted or batch.events:
                    decided.settled.setdefault(batch.stream_id, {})[event.sequence] = event
                continue
            if outcome is not None:
                why = outcome
            elif running:
                why = pending.get(activity_id)
            else:
                why = "the workflow closed before it was recorded"
            for event in batch.events:
                decided.unsettled.setdefault(batch.stream_id, {})[event.sequence] = \
                    Unsettled(event, why)
        run_id = history.events[0].workflow_execution_started_event_attributes \
            .continued_execution_run_id or None
        latest = False
        if run_id is None:
            for stream_id, events in decided.unsettled.items():
                for version in list(events):
                    if version in decided.settled.get(stream_id, {}):
                        del events[version]  # a later batch (a retry after a failure) settled it
            return decided


async def _pending_recordings(handle) -> tuple[bool, dict[str, str | None]]:
    """Whether the workflow runs, and its running `record_events` activities by activity id:
    None while the first attempt runs, else how often it has failed and the last failure."""
    description = await handle.describe()
    if description.status != WorkflowExecutionStatus.RUNNING:
        return False, {}
    found = {}
    for activity in description.raw_description.pending_activities:
        if activity.activity_type.name != "record_events":
            continue
        failed = activity.attempt > 1 or activity.HasField("last_failure")
        found[activity.activity_id] = (
            f"record_events has failed {max(activity.attempt - 1, 1)} time(s), last: "
            f"{activity.last_failure.message or 'no message'}") if failed else None
    return True, found


def _recorded_batches(client: Client, events) -> Iterator[
        tuple[RecordEventsInput, AppendResult | None, str | None, str]]:
    """Each `record_events` batch of a run, in order: its result (None while it has none), why
    it failed for good (if it did), and its activity id."""
    converter = client.data_converter.payload_converter
    batches: dict[int, tuple[RecordEventsInput, str]] = {}
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = e.activity_task_scheduled_event_attributes
            if attributes.activity_type.name == "record_events":
                (batch,) = converter.from_payloads(attributes.input.payloads, [RecordEventsInput])
                batches[e.event_id] = (batch, attributes.activity_id)
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            completed = e.activity_task_completed_event_attributes
            if completed.scheduled_event_id in batches:
                (result,) = converter.from_payloads(completed.result.payloads, [AppendResult])
                batch, activity_id = batches.pop(completed.scheduled_event_id)
                yield batch, result, None, activity_id
        elif e.event_type in _CLOSED_UNRECORDED:
            ended = getattr(e, _CLOSED_UNRECORDED[e.event_type])
            if ended.scheduled_event_id in batches:
                batch, activity_id = batches.pop(ended.scheduled_event_id)
                failure = getattr(ended, "failure", None)
                how = EventType.Name(e.event_type).removeprefix("EVENT_TYPE_ACTIVITY_TASK_").lower()
                yield batch, None, (f"record_events {how.replace('_', ' ')}: "
                                    f"{failure.message if failure is not None else ''}").rstrip(": "), \
                    activity_id
    for batch, activity_id in batches.values():
        yield batch, None, None, activity_id


def _started_children(events) -> set[str]:
    """The ids of the site groups and stream writers a run started as children."""
    started = set()
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            attributes = e.start_child_workflow_execution_initiated_event_attributes
            if attributes.workflow_type.name in (*STREAM_WRITERS, SiteGroupWorkflow.__name__):
                started.add(attributes.workflow_id)
    return started


_CLOSED_UNRECORDED = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}
"""How a batch's activity can end without a result (its retries exhausted or not retried)."""


async def compare(pool: asyncpg.Pool, stream_id: str, decided: dict[int, Event],
                  unsettled: dict[int, Unsettled] | None = None) -> tuple[list[Finding], list[Finding]]:
    """Findings and notes for one stream: what is stored against what its workflow decided."""
    unsettled = unsettled or {}
    stored: dict[int, Event | None] = {}
    findings, notes = [], []
    for row in await stored_versions(pool, stream_id):
        stored[row.version] = row.event
        if row.unreadable is not None:
            findings.append(Finding(stream_id, row.version,
                                    f"unreadable: {row.unreadable.errors()[0]['msg']}"))
    for version in sorted(set(decided) | set(stored) | set(unsettled)):
        mine, theirs = stored.get(version, ...), decided.get(version)
        pending = unsettled.get(version) if theirs is None else None
        if theirs is None and pending is not None:
            if mine is ...:
                said = f"{pending.event.type} decided but not stored"
                if pending.why is None:
                    notes.append(Finding(stream_id, version, said + ": being recorded now"))
                else:
                    findings.append(Finding(stream_id, version, f"{said}: {pending.why}"))
            elif mine is not None and mine != pending.event:
                findings.append(Finding(stream_id, version, f"{pending.event.type} differs from "
                                                            "what the workflow decided"))
        elif theirs is None:
            findings.append(Finding(stream_id, version, "stored but never decided by the workflow"))
        elif mine is ...:
            findings.append(Finding(stream_id, version, f"missing: the workflow decided "
                                                        f"{theirs.type} but it is not stored"))
        elif mine is not None and mine != theirs:
            findings.append(Finding(stream_id, version, f"{theirs.type} differs from what the "
                                                        "workflow decided"))
    return findings, notes


async def cross_check(client: Client, pool: asyncpg.Pool, workflows: dict[str, str]
                      ) -> tuple[list[Finding], int, list[str]]:
    """`workflows`: stream id -> the id of the workflow that writes it. Findings, how many
    streams were cross-checked, and those whose writer's history Temporal no longer has."""
    findings, checked, unavailable = [], 0, []
    for stream_id, workflow_id in workflows.items():
        try:
            decided = await decided_events(client, workflow_id)
        except RPCError:
            unavailable.append(stream_id)
            continue
        found, _ = await compare(pool, stream_id, decided.settled.get(stream_id, {}),
                                 decided.unsettled.get(stream_id, {}))
        findings += found
        checked += 1
    return findings, checked, unavailable


def writers_query(initiative_id: str | None) -> str:
    """Temporal's visibility query for every workflow that writes a stream (of one initiative)."""
    types = "(" + " OR ".join(f"WorkflowType = '{name}'" for name in STREAM_WRITERS) + ")"
    return types if initiative_id is None else f"{types} AND {initiative_workflows_query(initiative_id)}"


async def known_writers(client: Client, initiative_id: str | None) -> set[str] | None:
    """Every stream-writing workflow Temporal's visibility lists; None where the server cannot
    list workflows at all (the time-skipping test server): the initiatives' children are then
    all there is to follow."""
    try:
        return {execution.id async for execution in client.list_workflows(
            writers_query(initiative_id))}
    except RPCError as problem:
        if problem.status == RPCStatusCode.UNIMPLEMENTED:
            return None
        raise CrossCheckFailed(f"Temporal could not list the workflows: {problem.message}") from None


async def retention(client: Client) -> timedelta:
    """How long the namespace keeps a closed workflow's history (zero if it does not say)."""
    try:
        answer = await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=client.namespace))
    except RPCError:
        return timedelta(0)
    return answer.config.workflow_execution_retention_ttl.ToTimedelta()


async def against_histories(client: Client, pool: asyncpg.Pool, counts: dict[str, StreamCount],
                            initiative_id: str | None, now: datetime, result: Verification) -> None:
    """Check 3, into `result`: the writer of every stream of the store, every stream-writing
    workflow Temporal lists, and every one they started (initiatives start site groups, which
    start sites), each history against the store."""
    by_writer: dict[str, list[str]] = {}
    for stream_id in counts:
        by_writer.setdefault(writer_of(stream_id), []).append(stream_id)
    listed = await known_writers(client, initiative_id)
    if listed is None:
        result.remarks.append("This Temporal server cannot list workflows: the workflows read are "
                              "the store's writers and every workflow their initiatives started.")
    kept = await retention(client)
    result.not_cross_checked = []
    waiting, seen = set(by_writer) | (listed or set()), set()
    while waiting:
        workflow_id = waiting.pop()
        seen.add(workflow_id)
        try:
            decided = await decided_events(client, workflow_id)
        except RPCError as problem:
            if problem.status != RPCStatusCode.NOT_FOUND:
                raise CrossCheckFailed(f"Temporal could not give the history of {workflow_id}: "
                                       f"{problem.message}") from None
            for stream_id in by_writer.get(workflow_id, []):
                count = counts[stream_id]
                if count.last_recorded_at is not None and now - count.last_recorded_at < kept:
                    result.findings.append(Finding(
                        stream_id, count.last_version,
                        f"stored, but Temporal knows no workflow {workflow_id} that wrote it, though "
                        f"it keeps histories {kept} after they close"))
                else:
                    result.not_cross_checked.append(stream_id)
            continue
        waiting |= decided.children - seen
        streams = decided.streams | set(by_writer.get(workflow_id, []))
        result.workflows += bool(streams)
        for stream_id in sorted(streams):
            found, notes = await compare(pool, stream_id, decided.settled.get(stream_id, {}),
                                         decided.unsettled.get(stream_id, {}))
            result.findings += found
            result.notes += notes
            result.cross_checked += 1
    result.not_cross_checked.sort()


async def verify_store(pool: asyncpg.Pool, initiative_id: str | None = None,
                       client: Client | None = None, *, now: datetime | None = None) -> Verification:
    """All three checks (the first two alone without a client). Raises CrossCheckFailed when
    Temporal answers with an error, after nothing: the caller reports it."""
    now = now or datetime.now(timezone.utc)
    counts = {c.stream_id: c for c in await stream_counts(pool, initiative_id)}
    result = Verification(streams=len(counts), findings=await verify_chains(pool, counts))
    result.findings += unheaded(counts.values())
    findings, notes = await account(pool, set(counts), initiative_id, now)
    result.findings += findings
    result.notes += notes
    if client is not None:
        await against_histories(client, pool, counts, initiative_id, now, result)
    result.findings.sort(key=lambda f: (f.stream_id, f.version or 0))
    return result
