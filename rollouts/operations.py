"""What an operator does to initiatives on a running stack, over the Temporal client: launch one
from a plan, list them, read one's board, pause, resume or cancel it or one of its sites.

Every failure becomes an `OperationError` carrying one sentence for the person at the terminal
(or the HTTP caller) and an exit code: 1 refused or not found, 2 unavailable.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import (
    Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from workflows.search_attributes import INITIATIVE_ID, SEARCH_ATTRIBUTES
from domain.actors import Actor, reserved_actor_id
from domain.errors import DomainError
from domain.issues import Invalid
from domain.plan import Plan, require_whole
from domain.storable import require_storable
from rollouts.refusals import explain_refusal
from runtime.temporal import connect
from domain.school_clock import SchoolClock
from workflows.ids import initiative_workflow_id, site_workflow_id, ssip_cycle_workflow_id
from workflows.initiative import InitiativeWorkflow
from workflows.models import (
    ControlRequest, InitiativeInput, InitiativeOptions, InitiativeStatus, UpdateOutcome,
)
from workflows.site_rollout import SiteRolloutWorkflow
from workflows.ssip_cycle import SsipCycleInput, SsipCycleWorkflow

REFUSED, UNAVAILABLE = 1, 2
CONNECT_TIMEOUT = 10.0
QUERY_TIMEOUT = timedelta(seconds=15)
UPDATE_TIMEOUT = 30.0
PAST_TENSE = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}
TARGET = {"pause": "paused", "resume": "active", "cancel": "cancelled"}


class OperationError(Exception):
    def __init__(self, message: str, code: int = REFUSED) -> None:
        super().__init__(message)
        self.message, self.code = message, code


class InitiativeRun(BaseModel):
    """One initiative as Temporal's visibility lists it (no worker needed to read it)."""

    initiative_id: str
    workflow_id: str
    workflow_status: str
    started: datetime | None
    closed: datetime | None
    task_queue: str


class Launched(BaseModel):
    initiative_id: str
    workflow_id: str
    run_id: str | None
    task_queue: str
    speedup: float
    sites: int
    cohorts: int
    worker_polling: bool
    ssip_cycle: str | None = None
    """The SSIP cycle's workflow id; None: it could not be started (`rollout ssip start-cycle`)."""


async def reach(address: str, namespace: str = "default") -> Client:
    try:
        return await asyncio.wait_for(connect(address, namespace), CONNECT_TIMEOUT)
    except (RuntimeError, OSError, ValueError, asyncio.TimeoutError):
        raise OperationError(f"Cannot reach Temporal at {address}; is `rollout up` running?",
                             UNAVAILABLE) from None


def address_of(client: Client) -> str:
    return client.service_client.config.target_host


# --- launching ------------------------------------------------------------------------------

async def launch_initiative(client: Client, plan: Plan, launched_by: Actor, *, task_queue: str,
                            speedup: float) -> Launched:
    """Start the plan's InitiativeWorkflow, an initiative id never twice, and beside it the yearly
    SSIP cycle giving the state team its report tasks (every plan is an SSIP's work: its
    `initiative.ssip` is required, and the SPP/APR is due each 1 February whatever the phase).
    A plan that does not hold as a whole (domain.plan.require_whole) never starts, and no one
    launches under an id the engine keeps for itself."""
    try:
        require_whole(plan)
    except Invalid as problem:
        raise OperationError(f"The plan cannot be started: {problem}") from None
    if reserved_actor_id(launched_by.id):
        raise OperationError(f"'{launched_by.id}' is the engine's own id (as is every id starting "
                             "'rollout-'); launch under your staff account.")
    initiative_id, workflow_id = plan.initiative.id, initiative_workflow_id(plan.initiative.id)
    searchable = await _search_attributes_registered(client)
    try:
        handle = await client.start_workflow(
            InitiativeWorkflow.run,
            InitiativeInput(plan=plan, launched_by=launched_by, options=InitiativeOptions(
                speedup=speedup, search_attributes=searchable)),
            id=workflow_id, task_queue=task_queue,
            # A closed initiative's id stays taken: its events already fill the store's streams.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes([SearchAttributePair(INITIATIVE_ID, initiative_id)])
            if searchable else None)
    except WorkflowAlreadyStartedError:
        state = await _workflow_status(client, workflow_id)
        raise OperationError(already_started(initiative_id, f"workflow {workflow_id} is {state}")) from None
    except RPCError as problem:
        raise _rpc_failure(client, problem) from None
    try:
        cycle: str | None = await start_ssip_cycle(client, initiative_id, task_queue=task_queue)
    except RPCError:
        cycle = None
    return Launched(initiative_id=initiative_id, workflow_id=workflow_id,
                    run_id=handle.first_execution_run_id, task_queue=task_queue, speedup=speedup,
                    sites=len(plan.sites), cohorts=len(plan.cohorts),
                    worker_polling=await worker_polling(client, task_queue), ssip_cycle=cycle)


async def start_ssip_cycle(client: Client, initiative_id: str, *, task_queue: str,
                           clock: SchoolClock | None = None, ffy: int | None = None) -> str:
    """Start the initiative's SSIP cycle beside it (not its child: the cycle outlasts the rollout
    by a report). Idempotent: a cycle of that id already running, or one that ended because the
    initiative did, is left as it is; only a failed or terminated one is started again. Without a
    clock the cycle reads the one the initiative's launch records."""
    workflow_id = ssip_cycle_workflow_id(initiative_id)
    try:
        await client.start_workflow(
            SsipCycleWorkflow.run, SsipCycleInput(initiative_id=initiative_id, clock=clock, ffy=ffy),
            id=workflow_id, task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY)
    except WorkflowAlreadyStartedError:
        pass
    return workflow_id


def already_started(initiative_id: str, evidence: str) -> str:
    return (f"Initiative '{initiative_id}' has already been started ({evidence}); "
            "give this run another id with --initiative-id.")


async def _search_attributes_registered(client: Client) -> bool:
    """Our search attributes are used only where the namespace has them (`rollout up` does)."""
    try:
        response = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace))
    except RPCError:
        return False
    return set(SEARCH_ATTRIBUTES) <= set(response.custom_attributes)


async def worker_polling(client: Client, task_queue: str) -> bool:
    try:
        response = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
    except RPCError:
        return False
    return bool(response.pollers)


# --- reading --------------------------------------------------------------------------------

async def list_initiatives(client: Client, limit: int = 100) -> list[InitiativeRun]:
    """Initiatives newest first, each once (its latest run after any continue-as-new)."""
    latest: dict[str, InitiativeRun] = {}
    try:
        async for execution in client.list_workflows("WorkflowType = 'InitiativeWorkflow'"):
            run = InitiativeRun(
                initiative_id=execution.id.removeprefix(initiative_workflow_id("")),
                workflow_id=execution.id, workflow_status=status_name(execution.status),
                started=execution.start_time, closed=execution.close_time,
                task_queue=execution.task_queue)
            known = latest.get(run.workflow_id)
            if known is None or (run.started and known.started and run.started > known.started):
                latest[run.workflow_id] = run
    except RPCError as problem:
        raise _rpc_failure(client, problem) from None
    newest = sorted(latest.values(), key=lambda r: r.started or datetime.min, reverse=True)
    return newest[:limit]


async def initiative_status(client: Client, initiative_id: str) -> tuple[str, InitiativeStatus]:
    """(the workflow's status, the board its status query returns)."""
    handle = client.get_workflow_handle(initiative_workflow_id(initiative_id))
    state = await _workflow_status(client, handle.id, initiative_id=initiative_id)
    try:
        return state, await handle.query(InitiativeWorkflow.status, rpc_timeout=QUERY_TIMEOUT)
    except WorkflowQueryFailedError as problem:
        raise OperationError(f"Initiative '{initiative_id}' could not answer its status query: "
                             f"{problem}") from None
    except RPCError as problem:
        if problem.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            raise OperationError(
                f"No worker answered for initiative '{initiative_id}' within "
                f"{QUERY_TIMEOUT.seconds} s; is `rollout up` running with workers on its task "
                "queue?", UNAVAILABLE) from None
        raise _rpc_failure(client, problem) from None


def site_counts(status: InitiativeStatus) -> dict[str, int]:
    """Sites by rollout status, with the plan's sites whose cohort has not started yet."""
    counts = Counter(p.status for p in status.sites.values())
    return {"total": status.total_sites,
            "not_started": status.total_sites - len(status.sites) + counts.pop("starting", 0),
            "active": counts.pop("active", 0), "paused": counts.pop("paused", 0),
            "completed": counts.pop("completed", 0), "cancelled": counts.pop("cancelled", 0),
            **counts}


# --- controlling ----------------------------------------------------------------------------

class ControlResult(BaseModel):
    """What a pause, resume or cancel did: `changed` is False when it was so already."""

    initiative_id: str
    site_id: str | None
    action: str
    changed: bool
    status: str
    initiative: InitiativeStatus | None = None
    site: UpdateOutcome | None = None


async def control(client: Client, initiative_id: str, request: ControlRequest) -> ControlResult:
    """The initiative's control Update, or the site's when the request names a site; a request
    the event store could not hold (domain/storable.py) is refused before it is sent."""
    try:
        require_storable(request.model_dump(mode="python"))
    except DomainError as refused:
        raise OperationError(refused.message) from None
    await _workflow_status(client, initiative_workflow_id(initiative_id), initiative_id=initiative_id,
                           must_run=request.action)
    result = ControlResult(initiative_id=initiative_id, site_id=request.site_id,
                           action=request.action, changed=True, status="")
    if request.site_id is None:
        _, before = await initiative_status(client, initiative_id)
        handle = client.get_workflow_handle(initiative_workflow_id(initiative_id))
        after = await _update(client, handle, InitiativeWorkflow.control, request)
        return result.model_copy(update=dict(
            initiative=after, status=after.status, changed=before.status != TARGET[request.action]))
    handle = client.get_workflow_handle(site_workflow_id(initiative_id, request.site_id))
    await _site_running(client, handle, initiative_id, request)
    outcome = await _update(client, handle, SiteRolloutWorkflow.control, request)
    return result.model_copy(update=dict(site=outcome, status=outcome.status,
                                         changed=bool(outcome.recorded)))


async def _update(client: Client, handle: WorkflowHandle, update, request: ControlRequest):
    try:
        return await asyncio.wait_for(handle.execute_update(update, request), UPDATE_TIMEOUT)
    except WorkflowUpdateFailedError as refused:
        raise OperationError(explain_refusal(refused)) from None
    except asyncio.TimeoutError:
        raise OperationError(
            f"No worker took the {request.action} request within {UPDATE_TIMEOUT:g} s (is `rollout "
            "up` running?); Temporal may still apply it when a worker starts.", UNAVAILABLE) from None
    except RPCError as problem:
        raise _rpc_failure(client, problem) from None


async def _site_running(client: Client, handle: WorkflowHandle, initiative_id: str,
                        request: ControlRequest) -> None:
    try:
        description = await handle.describe()
    except RPCError as problem:
        if problem.status is RPCStatusCode.NOT_FOUND:
            raise OperationError(f"Site '{request.site_id}' has no rollout in initiative "
                                 f"'{initiative_id}' (not in the plan, or its cohort has not "
                                 "started).") from None
        raise _rpc_failure(client, problem) from None
    if description.status is not WorkflowExecutionStatus.RUNNING:
        raise OperationError(f"Site '{request.site_id}' has finished its rollout in initiative "
                             f"'{initiative_id}'; it cannot be {PAST_TENSE[request.action]}.")


async def _workflow_status(client: Client, workflow_id: str, *, initiative_id: str | None = None,
                           must_run: str | None = None) -> str:
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as problem:
        if problem.status is RPCStatusCode.NOT_FOUND and initiative_id is not None:
            raise OperationError(f"There is no initiative '{initiative_id}' on Temporal at "
                                 f"{address_of(client)}.") from None
        raise _rpc_failure(client, problem) from None
    state = status_name(description.status)
    if must_run and description.status is not WorkflowExecutionStatus.RUNNING:
        raise OperationError(f"Initiative '{initiative_id}' is no longer running (its workflow is "
                             f"{state}); it cannot be {PAST_TENSE[must_run]}.")
    return state


def status_name(status: WorkflowExecutionStatus | None) -> str:
    return status.name.replace("_", " ").capitalize() if status else "Unknown"


def _rpc_failure(client: Client, problem: RPCError) -> OperationError:
    if problem.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return OperationError(f"Cannot reach Temporal at {address_of(client)}; is `rollout up` "
                              "running?", UNAVAILABLE)
    return OperationError(f"Temporal refused the request: {problem.message}", REFUSED)
