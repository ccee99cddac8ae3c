"""The API against real servers: the session's PostgreSQL and Temporal dev server, a worker, and
rollouts launched in real time (speedup 1: school time stands nearly still, so a site stays in the
stage the test put it in while requests are made).

`api` is the application itself (lifespan and all) behind an httpx client; `world` launches an
initiative and moves sites along through the API, as districts would.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from runtime.settings import Settings
from domain.actors import Role
from domain.plan import Plan
from domain.stages import Stage
from simulation.playthrough import launch
from runtime.temporal import connect
from store import tokens
from tests.domain.builders import adoption, capacity, checklist, readiness
from tests.workflows.harness import STATE_ADMIN, fresh_database, small_plan
from worker import running_worker
from workflows.models import InitiativeOptions

DISTRICT_A, DISTRICT_B = "cedar-falls-sd", "prairie-ridge-sd"
"""Two districts of examples/small.yaml, each with one school."""
WAIT_SECONDS = 60.0


@dataclass
class Api:
    http: httpx.AsyncClient
    pool: object
    app: object
    _tokens: dict = field(default_factory=dict)

    async def token(self, role: Role, district: str | None = None, **extra) -> str:
        created = await tokens.create(self.pool, role=role, district=district,
                                      created_by="tests", **extra)
        return created.token

    async def headers(self, role: Role, district: str | None = None) -> dict[str, str]:
        """A bearer header for this role (and district), one token per pair for the session."""
        key = (role, district)
        if key not in self._tokens:
            self._tokens[key] = await self.token(role, district)
        return {"Authorization": f"Bearer {self._tokens[key]}"}


@pytest_asyncio.fixture(scope="session")
async def api_database(postgres):
    pool, dsn = await fresh_database(postgres)
    yield pool, dsn
    await pool.close()


@pytest_asyncio.fixture(scope="session")
async def temporal_client(temporal_dev):
    return await connect(temporal_dev.address)


@pytest.fixture(scope="session")
def api_queue() -> str:
    """The task queue the session's worker polls, and the one the API launches initiatives on."""
    return f"api-{uuid.uuid4().hex[:8]}"


@pytest_asyncio.fixture(scope="session")
async def api_worker(temporal_client, api_database, api_queue):
    async with running_worker(temporal_client, api_database[0], task_queue=api_queue):
        yield api_queue


@pytest_asyncio.fixture(scope="session")
async def api(api_database, temporal_dev, api_queue):
    pool, dsn = api_database
    app = create_app(Settings(database_url=dsn, temporal_address=temporal_dev.address,
                              task_queue=api_queue))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=60) as http:
            yield Api(http=http, pool=pool, app=app)


def plan_for(initiative_id: str, districts: tuple[str, ...] | None = None) -> Plan:
    """The small example under a fresh id, optionally only some districts (and their schools)."""
    plan = small_plan()
    data = plan.model_dump(mode="json")
    data["initiative"]["id"] = initiative_id
    if districts is not None:
        sites = [s for s in data["sites"] if (s.get("district") or s["id"]) in districts]
        data["sites"] = sites
        for cohort in data["cohorts"]:
            cohort["members"] = [m for m in cohort["members"] if m in {s["id"] for s in sites}]
        regions = {s["region"] for s in sites}
        data["pd"]["trainers"] = [t for t in data["pd"]["trainers"]
                                  if t.get("region") in (None, *regions)]
    return Plan.model_validate(data)


@dataclass
class World:
    api: Api
    client: object
    queue: str

    async def launch(self, prefix: str, districts: tuple[str, ...] | None = None) -> str:
        initiative_id = f"{prefix}-{uuid.uuid4().hex[:6]}"
        await launch(self.client, plan_for(initiative_id, districts), STATE_ADMIN,
                     task_queue=self.queue, options=InitiativeOptions(speedup=1.0))
        return initiative_id

    async def site(self, initiative_id: str, site_id: str, until, what: str) -> dict:
        """Poll the site's status (as the state admin) until `until(status)` holds."""
        headers = await self.api.headers(Role.STATE_ADMIN)
        deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
        last = None
        while asyncio.get_running_loop().time() < deadline:
            answer = await self.api.http.get(f"/sites/{initiative_id}/{site_id}", headers=headers)
            if answer.status_code == 200:
                last = answer.json()
                if until(last):
                    return last
            await asyncio.sleep(0.2)
        raise AssertionError(f"{site_id} never reached {what}; last status: {last}")

    async def in_stage(self, initiative_id: str, site_id: str, stage: Stage,
                       instruments: tuple[str, ...] = ()) -> dict:
        """Wait until the site is in `stage` with its tasks out (those asking for `instruments`)."""
        def ready(s: dict) -> bool:
            asked = {t["instrument"] for t in s["open_tasks"]}
            return s["stage"] == stage.value and all(i in asked for i in instruments)
        return await self.site(initiative_id, site_id, ready, f"{stage} with {instruments} asked")

    async def submit(self, initiative_id: str, site_id: str, assessment, headers: dict,
                     assessment_id: str | None = None) -> httpx.Response:
        body = {"assessment": assessment.model_dump(mode="json")}
        if assessment_id:
            body["assessment_id"] = assessment_id
        return await self.api.http.post(f"/sites/{initiative_id}/{site_id}/assessments",
                                        json=body, headers=headers)

    async def to_initial_implementation(self, initiative_id: str, site_id: str,
                                        headers: dict) -> dict:
        """Answer Exploration and Installation through the API, as the district would."""
        await self.in_stage(initiative_id, site_id, Stage.EXPLORATION,
                            ("fit_readiness", "adoption_decision"))
        for answers in (readiness(4), adoption()):
            assert (await self.submit(initiative_id, site_id, answers, headers)).status_code == 200
        await self.in_stage(initiative_id, site_id, Stage.INSTALLATION,
                            ("installation_checklist", "capacity"))
        for answers in (checklist(), capacity(1)):
            assert (await self.submit(initiative_id, site_id, answers, headers)).status_code == 200
        return await self.site(
            initiative_id, site_id,
            lambda s: s["stage"] == Stage.INITIAL_IMPLEMENTATION.value and any(
                t["kind"] == "coaching_step" for t in s["open_tasks"]) and any(
                t["kind"] == "hold_pd_session" for t in s["open_tasks"]),
            "Initial Implementation with coaching and PD tasks")


@pytest_asyncio.fixture(scope="session")
async def world(api, temporal_client, api_worker) -> World:
    return World(api=api, client=temporal_client, queue=api_worker)
