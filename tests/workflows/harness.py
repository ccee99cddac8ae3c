"""Helpers for the workflow tests: plans, a fresh database per module, and a driver that plays
the districts week by week on the time-skipping server."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.actors import Actor, Role
from domain.plan import Plan
from domain.plan_yaml import parse_plan
from simulation.playthrough import play, simulate
from simulation.districts import SimulatedDistricts
from devstack.local_stack import migrate_as_owner
from store.db import connect
from store.roles import ensure_login_role, hand_over_database
from workflows.initiative import InitiativeWorkflow
from workflows.models import InitiativeStatus

ROOT = Path(__file__).resolve().parents[2]
STATE_ADMIN = Actor(id="sam.state", role=Role.STATE_ADMIN)


def small_plan(**cohort_overrides) -> Plan:
    return parse_plan((ROOT / "examples" / "small.yaml").read_text())


def two_cohort_plan(sites: int = 3) -> Plan:
    """The small example's first districts, split into two cohorts; the second opens when half
    of the first reaches Initial Implementation."""
    plan = small_plan()
    districts = [s for s in plan.sites if s.kind == "district"][:sites]
    first, second = districts[:-1], districts[-1:]
    data = plan.model_dump(mode="json")
    data["sites"] = [s.model_dump(mode="json") for s in districts]
    data["cohorts"] = [
        {"id": "c1", "name": "Cohort 1", "members": [s.id for s in first], "gate": {"kind": "immediate"}},
        {"id": "c2", "name": "Cohort 2", "members": [s.id for s in second],
         "gate": {"kind": "share", "stage": "Initial Implementation", "percent": 50}},
    ]
    return Plan.model_validate(data)


def one_cohort_plan(sites: int = 1) -> Plan:
    plan = small_plan()
    districts = [s for s in plan.sites if s.kind == "district"][:sites]
    data = plan.model_dump(mode="json")
    data["sites"] = [s.model_dump(mode="json") for s in districts]
    regions = {s.region for s in districts}
    data["pd"]["trainers"] = [t for t in data["pd"]["trainers"] if t.get("region") in (None, *regions)]
    data["cohorts"] = [{"id": "c1", "name": "Cohort 1", "members": [s.id for s in districts],
                        "gate": {"kind": "immediate"}}]
    return Plan.model_validate(data)


OWNERS: dict[str, str] = {}
"""The owner's DSN of each database made here, by database name: for the tests that tamper with
the record as only an owner (or a superuser) could."""


async def fresh_database(server_dsn: str) -> tuple[asyncpg.Pool, str]:
    """A new database with roles of its own, migrated by its owner: a pool and DSN of its
    application role, which may append events and read them, and nothing the product does not
    (store/privileges.py), so every test using it runs the product under least privilege."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    owner_dsn, app_dsn = await database_with_roles(server_dsn, name)
    await migrate_as_owner(owner_dsn, app_role=role_name(app_dsn))
    return await connect(app_dsn), app_dsn


async def owner_dsn(pool_or_dsn: asyncpg.Pool | str) -> str:
    """The owner's DSN of a database made here, from a DSN or a pool of it."""
    if isinstance(pool_or_dsn, str):
        return OWNERS[urlsplit(pool_or_dsn).path.lstrip("/")]
    return OWNERS[await pool_or_dsn.fetchval("SELECT current_database()")]


async def database_with_roles(server_dsn: str, name: str) -> tuple[str, str]:
    """Create database `name`, owned by a new role `<name>_owner`, that a new role `<name>_app`
    may connect to; return their DSNs. `server_dsn` is a superuser's."""
    server = urlsplit(server_dsn)
    roles = {f"{name}_owner": secrets.token_urlsafe(18), f"{name}_app": secrets.token_urlsafe(18)}
    owner, app = roles
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')  # a generated identifier, not a value
        for role, password in roles.items():
            await ensure_login_role(admin, role, password)
    finally:
        await admin.close()
    inside = await asyncpg.connect(server._replace(path=f"/{name}").geturl())
    try:
        await hand_over_database(inside, owner=owner, app=app)
    finally:
        await inside.close()
    owner_dsn, app_dsn = (f"postgresql://{role}:{password}@{server.hostname}:{server.port}/{name}"
                          for role, password in roles.items())
    OWNERS[name] = owner_dsn
    return owner_dsn, app_dsn


def role_name(dsn: str) -> str:
    return urlsplit(dsn).username


def simulated(env: WorkflowEnvironment, pool: asyncpg.Pool, plan: Plan, profiles=None) -> SimulatedDistricts:
    """Simulated teams living in the time-skipping server's time."""
    return simulate(env.client, pool, plan, profiles, now=env.get_current_time)


async def drive(
    env: WorkflowEnvironment, handle: WorkflowHandle, sim: SimulatedDistricts, *,
    weeks: int, step_days: int = 3, until=None, on_step=None,
) -> InitiativeStatus:
    """Play the districts on the time-skipping server: `step_days` of school time per round."""
    return await play(sim, rounds=weeks * 7 // step_days, on_round=on_step, until=until,
                      wait=lambda: env.sleep(timedelta(days=step_days)))


async def wait_until(env: WorkflowEnvironment, handle: WorkflowHandle, predicate, *,
                     step: timedelta = timedelta(hours=1), attempts: int = 48) -> InitiativeStatus:
    """Let time pass in small steps, answering nothing, until the initiative's status satisfies
    `predicate`."""
    for _ in range(attempts):
        status = await handle.query(InitiativeWorkflow.status)
        if predicate(status):
            return status
        await env.sleep(step)
    raise AssertionError(f"the initiative never reached the expected state: {status}")


HISTORIES = ROOT / "tests" / "histories"


async def record_histories(client: Client, runs: dict[str, tuple[str, str | None]]) -> None:
    """Save workflow histories for the replay tests when ROLLOUT_RECORD_HISTORIES=1.

    `runs`: file name -> (workflow id, run id or None for the latest run)."""
    import json
    import os

    if os.environ.get("ROLLOUT_RECORD_HISTORIES") != "1":
        return
    HISTORIES.mkdir(exist_ok=True)
    for name, (workflow_id, run_id) in runs.items():
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        history = await handle.fetch_history()
        description = await handle.describe()
        record = {"workflow_id": workflow_id, "workflow_type": description.workflow_type,
                  "history": json.loads(history.to_json())}
        (HISTORIES / f"{name}.json").write_text(json.dumps(record, indent=1))


# --- cohort gates on the dev server ---------------------------------------------------------

def gated_plan(initiative_id: str, cohorts: list[tuple[dict, int]]) -> Plan:
    """The light plan of the fault tests (tests/faults/light_plan.py: a four-stage rollout in a
    few dozen school days) with its sites split into cohorts in order: `cohorts` lists (gate,
    number of sites); cohort k is 'c<k>' and its sites 'c<k>-s<j>-sd', alternately North and
    South."""
    from tests.faults.light_plan import REGIONS, light_plan

    data = light_plan(2, initiative_id).model_dump(mode="json")
    data["sites"], data["cohorts"] = [], []
    for k, (gate, size) in enumerate(cohorts, start=1):
        members = [f"c{k}-s{j}-sd" for j in range(1, size + 1)]
        data["sites"] += [{"id": m, "name": f"Cohort {k} district {j}", "kind": "district",
                           "region": REGIONS[(j - 1) % len(REGIONS)], "practitioners": 20}
                          for j, m in enumerate(members, start=1)]
        data["cohorts"].append({"id": f"c{k}", "name": f"Cohort {k}", "members": members,
                                "gate": gate})
    regions = {s["region"] for s in data["sites"]}
    data["pd"]["trainers"] = [t for t in data["pd"]["trainers"] if t["region"] in regions]
    return Plan.model_validate(data)


def rollout_workflow_ids(plan: Plan, started, group_size: int = 200) -> list[str]:
    """The initiative's workflow id, then the group and site workflow ids of the cohorts in
    `started` (cohort ids): every workflow of the rollout that should exist by now."""
    from workflows.ids import group_workflow_id, initiative_workflow_id, site_workflow_id

    initiative_id = plan.initiative.id
    ids = [initiative_workflow_id(initiative_id)]
    for cohort in plan.cohorts:
        if cohort.id not in started:
            continue
        regions: dict[str, int] = {}
        for member in cohort.members:
            region = plan.site(member).region
            regions[region] = regions.get(region, 0) + 1
        ids += [group_workflow_id(initiative_id, cohort.id, region, chunk)
                for region, count in sorted(regions.items())
                for chunk in range((count + group_size - 1) // group_size)]
        ids += [site_workflow_id(initiative_id, m) for m in cohort.members]
    return ids


BROKEN = ("FAILED", "TERMINATED", "TIMED_OUT", "CANCELED")
"""Closed otherwise than by completing (or continuing as new): the rollout will not finish."""


def _event_type(event) -> str:
    from temporalio.api.enums.v1 import EventType

    return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")


def _why(events) -> str | None:
    """The last failure a history tells of: the run's own failure or termination, else the last
    failed workflow task (a workflow stuck on a bug keeps running, retrying its task)."""
    for event in reversed(events):
        for field_name in ("workflow_execution_failed_event_attributes",
                           "workflow_task_failed_event_attributes",
                           "activity_task_failed_event_attributes"):
            if event.HasField(field_name):
                failure = getattr(event, field_name).failure
                cause = f" (cause: {failure.cause.message})" if failure.HasField("cause") else ""
                return f"{_event_type(event)}: {failure.message}{cause}"
        if event.HasField("workflow_execution_terminated_event_attributes"):
            return f"terminated: {event.workflow_execution_terminated_event_attributes.reason}"
        if event.HasField("workflow_execution_timed_out_event_attributes"):
            return "timed out"
    return None


async def workflow_standing(client: Client, workflow_id: str, *, last: int = 8) -> str:
    """One line: the workflow's status, its last `last` history event types and the last
    failure its history tells of."""
    from temporalio.service import RPCError, RPCStatusCode

    handle = client.get_workflow_handle(workflow_id)
    try:
        description = await handle.describe()
        events = [e async for e in handle.fetch_history_events()]
    except RPCError as problem:
        if problem.status == RPCStatusCode.NOT_FOUND:
            return f"{workflow_id}: not found (never started)"
        return f"{workflow_id}: could not be described: {problem}"
    status = description.status.name if description.status else "UNKNOWN"
    line = (f"{workflow_id}: {status}, {len(events)} events, last "
            f"{[_event_type(e) for e in events[-last:]]}")
    why = _why(events)
    return line + (f"; last failure: {why}" if why else "")


async def stuck_report(client: Client, workflow_ids, *, last: int = 8) -> str:
    """For an assertion message: every workflow of `workflow_ids` that has not completed, with
    its status and last history events ('all completed' when none is left)."""
    from temporalio.client import WorkflowExecutionStatus
    from temporalio.service import RPCError

    lines = []
    for workflow_id in workflow_ids:
        try:
            description = await client.get_workflow_handle(workflow_id).describe()
            if description.status == WorkflowExecutionStatus.COMPLETED:
                continue
        except RPCError:
            pass  # not found, or the server is in trouble: workflow_standing says which
        lines.append("  " + await workflow_standing(client, workflow_id, last=last))
    return "\n".join(lines) if lines else "  all completed"


async def raise_if_broken(client: Client, workflow_ids, completed: set[str]) -> None:
    """Fail at once, naming the workflow and its failure, when any of `workflow_ids` has failed,
    been terminated, timed out or been cancelled. Ids found completed are added to `completed`
    and not described again; ids not found yet (a cohort's sites being started) are skipped."""
    from temporalio.client import WorkflowExecutionStatus
    from temporalio.service import RPCError, RPCStatusCode

    for workflow_id in workflow_ids:
        if workflow_id in completed:
            continue
        try:
            description = await client.get_workflow_handle(workflow_id).describe()
        except RPCError as problem:
            if problem.status == RPCStatusCode.NOT_FOUND:
                continue
            raise
        if description.status == WorkflowExecutionStatus.COMPLETED:
            completed.add(workflow_id)
        elif description.status and description.status.name in BROKEN:
            raise AssertionError("a workflow of the rollout will not finish:\n  "
                                 + await workflow_standing(client, workflow_id))


async def drive_within(client: Client, sim: SimulatedDistricts, plan: Plan, *, budget_s: float,
                       until=None, state_team=None, round_s: float = 0.2) -> InitiativeStatus:
    """Play the districts on the dev server (compressed time, real seconds between rounds) until
    every site has finished or `until(board)` holds. Each round reads the board from the read
    models, fails at once if a workflow of the rollout has failed, answers the active sites and
    lets `state_team(board)` act. Fails after `budget_s` seconds with the workflows that have not
    completed and their last events."""
    from simulation.playthrough import all_finished

    started_at = time.monotonic()
    completed: set[str] = set()
    status, ids = None, rollout_workflow_ids(plan, ())
    try:
        async with asyncio.timeout(budget_s):
            while True:
                status = await sim.board()
                ids = rollout_workflow_ids(plan, [c.cohort_id for c in status.cohorts if c.started])
                await raise_if_broken(client, ids, completed)
                if (until is not None and until(status)) or all_finished(status):
                    return status
                for site_id, progress in status.sites.items():
                    if progress.status == "active":
                        await sim.answer_site(site_id)
                if state_team is not None:
                    await state_team(status)
                await asyncio.sleep(round_s)
    except TimeoutError:
        board = status.by_stage if status else "never read"
        started = [c.cohort_id for c in status.cohorts if c.started] if status else []
        raise AssertionError(
            f"the rollout of {plan.initiative.id} did not get there within its budget of "
            f"{budget_s:.0f} s ({time.monotonic() - started_at:.1f} s): board {board}, cohorts "
            f"started {started}; workflows not completed:\n"
            + await stuck_report(client, ids)) from None


async def result_within(client: Client, handle: WorkflowHandle, plan: Plan, *, budget_s: float):
    """The initiative's result, or within `budget_s` a failure naming what has not completed."""
    try:
        async with asyncio.timeout(budget_s):
            return await handle.result()
    except TimeoutError:
        raise AssertionError(
            f"the initiative {handle.id} did not complete within {budget_s:.0f} s; workflows "
            "not completed:\n" + await stuck_report(
                client, rollout_workflow_ids(plan, [c.id for c in plan.cohorts]))) from None


GATE_FIGURES: list[dict] = []
"""What the cohort-gate tests saw (gate, when it opened, when the cohort started), printed at the
end of the run by tests/workflows/conftest.py and written to test-artifacts/cohort_gates.json."""
