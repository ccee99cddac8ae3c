"""Helpers for the workflow tests: plans, a fresh database per module, and a driver that plays
the districts week by week on the time-skipping server."""

from __future__ import annotations

import secrets
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
