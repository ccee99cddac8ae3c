"""The rollout the web tests share: the small example plan launched on the session's Temporal dev
server with a real worker (in a thread of its own) and a fresh database, its sites brought to
chosen points, tokens for every role, and the application served by uvicorn."""

from __future__ import annotations

import uuid

from api.app import create_app
from runtime.settings import Settings
from domain.actors import Role
from domain.plan import Plan
from domain.stages import Stage
from simulation.playthrough import launch
from runtime.temporal import connect
from store import tokens
from tests.web.background_worker import BackgroundWorker
from tests.web.rollout_setup import Target, bring_sites
from tests.web.served import ServedApp
from tests.workflows.harness import STATE_ADMIN, fresh_database, small_plan
from workflows.models import InitiativeOptions

SPEEDUP = 43_200.0
"""Half a school day per real second: the board moves over days while the tests run, and the
capacity task (due 20 school days after Installation begins) stays open well past them."""
DISTRICT, OTHER_DISTRICT, COACHED_DISTRICT = "cedar-falls-sd", "lakeview-usd", "prairie-ridge-sd"
SCHOOL = "cedar-falls-lincoln-es"
"""A school of DISTRICT: its tasks are in the same coordinator's inbox."""
TARGETS = {
    DISTRICT: Target(Stage.INSTALLATION, also=frozenset({"installation_checklist"})),
    SCHOOL: Target(Stage.INSTALLATION),
    OTHER_DISTRICT: Target(Stage.EXPLORATION),
    COACHED_DISTRICT: Target(Stage.INITIAL_IMPLEMENTATION),
    "prairie-ridge-central-es": Target(Stage.INITIAL_IMPLEMENTATION),
}
"""cedar-falls-sd waits in Installation with only its capacity assessment still asked for."""
ROLES = {"coordinator": (Role.DISTRICT_COORDINATOR, DISTRICT),
         "other": (Role.DISTRICT_COORDINATOR, OTHER_DISTRICT),
         "coach": (Role.COACH, COACHED_DISTRICT), "auditor": (Role.AUDITOR, None),
         "state": (Role.STATE_ADMIN, None)}


def renamed(plan: Plan, initiative_id: str) -> Plan:
    initiative = plan.initiative.model_copy(update={"id": initiative_id})
    return plan.model_copy(update={"initiative": initiative})


def open_task(world: dict, site_id: str, instrument: str) -> str:
    """The id of an assessment task the setup left open at a site."""
    return next(t.task_id for t in world["statuses"][site_id].open_tasks
                if t.instrument == instrument)


async def shared_world(postgres: str, temporal_address: str):
    """Yield the world as a dict: plan, url, tokens (role name -> token), statuses, client, and
    the worker's task queue, the database and Temporal's address (for a test's own rollout)."""
    pool, dsn = await fresh_database(postgres)
    client = await connect(temporal_address)
    queue = f"web-{uuid.uuid4().hex[:8]}"
    plan = renamed(small_plan(), f"web-{uuid.uuid4().hex[:6]}")
    app = create_app(Settings(database_url=dsn, temporal_address=temporal_address,
                              task_queue=queue))
    try:
        with BackgroundWorker(temporal_address, dsn, queue):
            await launch(client, plan, STATE_ADMIN, task_queue=queue,
                         options=InitiativeOptions(speedup=SPEEDUP))
            statuses = await bring_sites(client, plan, TARGETS)
            issued = {name: (await tokens.create(pool, role=role, district=district,
                                                 created_by="tests/web")).token
                      for name, (role, district) in ROLES.items()}
            with ServedApp(app) as served:
                yield dict(plan=plan, url=served.url, tokens=issued, statuses=statuses,
                           client=client, queue=queue, dsn=dsn, address=temporal_address)
    finally:
        await pool.close()
