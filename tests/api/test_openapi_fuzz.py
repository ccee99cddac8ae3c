"""The OpenAPI schema validates, and schemathesis, sending generated valid and invalid requests to
a live `uvicorn --factory api.app:create_app` with a state admin's token, finds no server error.

The server runs as `rollout up` runs it (a subprocess configured by ROLLOUT_* variables) over the
session's database, where a rollout is running; the session's worker keeps running meanwhile
(schemathesis runs in a thread), so requests that reach a workflow are answered.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from devstack.ports import free_port
from domain.actors import Role
from domain.stages import Stage
from store import tokens
from tests.api.conftest import DISTRICT_A

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

ROOT = Path(__file__).resolve().parents[2]
ANY_IDS = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}
REAL_IDS = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 10}
"""Examples per operation: with generated ids (mostly not found), then with the ids of real
resources in the running rollout (generated bodies and queries reach real workflows)."""
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest_asyncio.fixture(scope="module")
async def live_api(api_database, temporal_dev, world, tmp_path_factory):
    pool, dsn = api_database
    initiative = await world.launch("fuzz")
    status = await world.in_stage(initiative, DISTRICT_A, Stage.EXPLORATION, ("fit_readiness",))
    admin = await tokens.create(pool, role=Role.STATE_ADMIN, created_by="tests")
    spare = await tokens.create(pool, role=Role.AUDITOR, created_by="tests")
    real_ids = {"initiative_id": initiative, "site_id": DISTRICT_A,
                "task_id": status["open_tasks"][0]["task_id"], "actor_id": "rollout-engine",
                "token_id": spare.info.token_id}
    port = free_port()
    log = tmp_path_factory.mktemp("uvicorn") / "uvicorn.log"
    env = {**os.environ, "ROLLOUT_DATABASE_URL": dsn, "ROLLOUT_TEMPORAL_ADDRESS": temporal_dev.address,
           "ROLLOUT_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--host", "127.0.0.1",
         "--port", str(port)], cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(150):
                try:
                    if (await http.get(f"{base}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None, log.read_text()
                await asyncio.sleep(0.2)
            else:
                raise AssertionError(f"uvicorn did not become healthy:\n{log.read_text()}")
        yield base, admin.token, log, real_ids
    finally:
        server.terminate()
        server.wait(timeout=30)


async def test_the_openapi_schema_validates(api):
    schema = schemathesis.openapi.from_dict(api.app.openapi())
    schema.validate()
    broken = api.app.openapi() | {"paths": {"/tasks": {"get": {"responses": "none"}}}}
    with pytest.raises(Exception):
        schemathesis.openapi.from_dict(broken).validate()


async def test_schemathesis_finds_no_server_error(live_api):
    base, token, log, real_ids = live_api
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    schema.validate()
    headers = {"Authorization": f"Bearer {token}"}
    for examples, ids, least in ((ANY_IDS, None, 450), (REAL_IDS, real_ids, 200)):
        outcome = await asyncio.to_thread(fuzz, schema, base, headers, examples, ids)
        print(f"schemathesis ({'real' if ids else 'generated'} ids): {outcome['cases']} cases over "
              f"{outcome['operations']} operations in {outcome['seconds']:.1f} s; "
              f"statuses {outcome['statuses']}")
        assert not outcome["failures"], "\n\n".join(outcome["failures"]) + "\n" + log.read_text()[-3000:]
        assert outcome["operations"] >= 15
        assert outcome["cases"] >= least  # fewer than asked where the inputs are few (GET /me)
        assert not any(status >= 500 for status in outcome["statuses"])
        assert 200 in outcome["statuses"] and 422 in outcome["statuses"]


def fuzz(schema, base: str, headers: dict, examples_per_mode: dict,
         real_ids: dict | None) -> dict:
    """Every operation, generated requests of each mode, every check; failures collected."""
    started, cases, statuses, failures, operations = time.monotonic(), 0, {}, [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        names = {p.name for p in operation.path_parameters}
        fixed = {k: v for k, v in (real_ids or {}).items() if k in names} or None
        for mode, examples in examples_per_mode.items():

            @given(case=operation.as_strategy(generation_mode=mode, headers=headers,
                                              path_parameters=fixed))
            @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def check(case) -> None:
                nonlocal cases
                cases += 1
                response = case.call(base_url=base, headers=headers, timeout=60)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                case.validate_response(response, checks=CHECKS, headers=headers)

            try:
                check()
            except Unsatisfiable:
                continue  # nothing to get wrong: an operation without parameters or body (/health)
            except (Exception, BaseExceptionGroup) as failure:  # a failed check: FailureGroup
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {failure}")
    return {"cases": cases, "operations": operations, "statuses": dict(sorted(statuses.items())),
            "failures": failures, "seconds": time.monotonic() - started}
