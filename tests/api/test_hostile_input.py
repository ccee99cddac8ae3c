"""Hostile input through the API (issue 18, findings 1-3), against the app over the real
PostgreSQL and Temporal dev server: an assessment of 30,000 items is refused with a 422 naming the
field while /health answers; a chunked body over the cap is refused with 413 as it streams (in
the ASGI app and over the wire, from uvicorn); counts that are not counts are 422s naming the
field and record nothing; no token, and no Update, may act under an id the engine reserves.

The times are printed for the record, never asserted: the tests assert what was refused and how
much was read before it."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from typer.testing import CliRunner

from api.app import create_app
from api.limits import MAX_BODY_BYTES
from cli.main import app as cli
from domain.actors import Actor, Role
from domain.stages import Stage
from rollouts import task_actions
from rollouts.task_actions import ActionFailed
from runtime.settings import Settings
from tests.api.conftest import DISTRICT_A
from tests.domain.builders import readiness
from tests.web.served import ServedApp

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

CHUNK = 65_536
CHUNKS = 50
"""3.2 MB sent in 64 kB chunks, without a Content-Length (as in the review: 90,000 items)."""


async def timed(request) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    answer = await request
    return answer, time.perf_counter() - started


def stage_analysis_body(items: int) -> bytes:
    """Distinct item names, as short as they come (base 36), compact JSON: under 1 MB."""
    def name(n: int) -> str:
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"
        return digits[n] if n < 36 else name(n // 36) + digits[n % 36]
    return json.dumps({"assessment": {"instrument": "stage_analysis", "items": [
        {"item": name(n), "status": "partly"} for n in range(items)]}},
        separators=(",", ":")).encode()


async def test_an_assessment_of_30000_items_is_refused_while_health_answers(api):
    body = stage_analysis_body(30_000)
    assert len(body) < MAX_BODY_BYTES, "under the body cap, as in the review"
    headers = {**await api.headers(Role.STATE_ADMIN), "Content-Type": "application/json"}
    (answer, took), (health, health_took) = await asyncio.gather(
        timed(api.http.post(f"/sites/any-initiative/{DISTRICT_A}/assessments", content=body,
                            headers=headers)),
        timed(api.http.get("/health")))
    assert answer.status_code == 422, answer.text[:500]
    refused = answer.json()
    assert [f["path"] for f in refused["fields"]] == ["body.assessment.stage_analysis.items"]
    assert "at most 200 items" in refused["error"]
    assert health.status_code == 200, health.text
    print(f"30,000 items ({len(body):,} bytes): 422 in {took:.3f} s; /health meanwhile "
          f"{health.status_code} in {health_took:.3f} s")


async def test_a_chunked_body_over_the_cap_is_refused_as_it_streams(api):
    pulled = 0

    async def chunks():
        nonlocal pulled
        for _ in range(CHUNKS):
            pulled += 1
            yield b" " * CHUNK

    headers = {**await api.headers(Role.STATE_ADMIN), "Content-Type": "application/json"}
    answer = await api.http.post("/tokens", content=chunks(), headers=headers)
    assert answer.status_code == 413, answer.text[:500]
    assert answer.json()["error"] == f"The request body is over {MAX_BODY_BYTES:,} bytes."
    assert pulled <= MAX_BODY_BYTES // CHUNK + 1, f"{pulled} of {CHUNKS} chunks were read"


async def test_over_the_wire_the_chunked_body_is_cut_off_and_health_answers(api, api_database,
                                                                           temporal_dev):
    """uvicorn serving the app: the 413 arrives while the client is still sending, and /health
    answers on another connection meanwhile."""
    token = (await api.headers(Role.STATE_ADMIN))["Authorization"]
    app = create_app(Settings(database_url=api_database[1], temporal_address=temporal_dev.address))
    with ServedApp(app) as served:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        writer.write(f"POST /tokens HTTP/1.1\r\nHost: api\r\nAuthorization: {token}\r\n"
                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        sent, head, health, started = 0, b"", None, time.perf_counter()
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
            for n in range(CHUNKS):
                try:
                    writer.write(b"%x\r\n" % CHUNK + b" " * CHUNK + b"\r\n")
                    await writer.drain()
                except ConnectionError:
                    break
                sent += 1
                if n == MAX_BODY_BYTES // CHUNK // 2:
                    health = await http.get("/health")
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.1)
                    break
                except asyncio.TimeoutError:
                    continue
        took = time.perf_counter() - started
        writer.close()
    assert head.startswith(b"HTTP/1.1 413"), head
    assert sent < CHUNKS, "the answer came while the body was still being sent"
    assert health is not None and health.status_code == 200
    print(f"chunked over the wire: 413 after {sent} of {CHUNKS} chunks of 64 kB, {took:.3f} s; "
          f"/health meanwhile {health.status_code}")


async def test_counts_that_are_not_counts_are_422_naming_the_field_and_record_nothing(api, world):
    coordinator = await api.headers(Role.DISTRICT_COORDINATOR, DISTRICT_A)
    coach = await api.headers(Role.COACH, DISTRICT_A)
    initiative = await world.launch("counts", (DISTRICT_A,))
    status = await world.to_initial_implementation(initiative, DISTRICT_A, coordinator)
    pd = next(t for t in status["open_tasks"] if t["kind"] == "hold_pd_session")
    step = next(t for t in status["open_tasks"] if t["kind"] == "coaching_step")
    for task, who, name, value in [(pd, coordinator, "attendees", 2.5),
                                   (pd, coordinator, "attendees", True),
                                   (step, coach, "practitioners_observed", 2.5),
                                   (step, coach, "practitioners_observed", -0.5)]:
        answer = await api.http.post(f"/tasks/{task['task_id']}/complete",
                                     json={"outcome": {name: value}}, headers=who)
        assert answer.status_code == 422, (name, value, answer.text)
        refused = answer.json()
        assert [f["path"] for f in refused["fields"]] == [f"outcome.{name}"], refused
        assert "must be a whole number from 0 to 10,000" in refused["error"], refused
    for task, who, name in [(pd, coordinator, "attendees"), (step, coach, "practitioners_observed")]:
        done = await api.http.post(f"/tasks/{task['task_id']}/complete",
                                   json={"outcome": {name: 12}}, headers=who)
        assert done.status_code == 200 and "TaskCompleted" in done.json()["outcome"]["recorded"], \
            "the refused completions recorded nothing: the task was still open"


@pytest.mark.parametrize("actor_id", ["rollout-engine", "Rollout-Engine", " rollout-engine ",
                                      "rollout-worker", "ｒｏｌｌｏｕｔ-engine"])
async def test_a_token_for_an_id_the_engine_reserves_is_refused(api, actor_id):
    admin = await api.headers(Role.STATE_ADMIN)
    before = await api.pool.fetchval("SELECT count(*) FROM api_tokens")
    answer = await api.http.post("/tokens", json={"role": "state_admin", "actor_id": actor_id},
                                 headers=admin)
    assert answer.status_code == 422, answer.text
    assert [f["path"] for f in answer.json()["fields"]] == ["body.actor_id"]
    assert "reserved for the engine itself" in answer.json()["error"]
    assert await api.pool.fetchval("SELECT count(*) FROM api_tokens") == before


def test_rollout_token_create_refuses_the_engines_id_before_touching_the_database():
    result = CliRunner().invoke(cli, ["token", "create", "--role", "state_admin", "--actor",
                                      "rollout-engine", "--database-url",
                                      "postgresql://nobody@127.0.0.1:9/none"])
    said = result.output + (result.stderr if result.stderr_bytes else "")
    assert result.exit_code == 2, said
    assert "Cannot create the token: actor 'rollout-engine' is reserved for the engine itself" in said


async def test_an_update_under_the_engines_id_is_refused(api, world):
    initiative = await world.launch("engine-id", (DISTRICT_A,))
    await world.in_stage(initiative, DISTRICT_A, Stage.EXPLORATION, ("fit_readiness",))
    with pytest.raises(ActionFailed) as refused:
        await task_actions.submit_assessment(
            world.client, initiative_id=initiative, site_id=DISTRICT_A,
            actor=Actor(id="rollout-engine", role=Role.STATE_ADMIN), assessment_id="as-engine",
            assessment=readiness(4))
    assert (refused.value.kind, refused.value.field) == ("forbidden", "actor.id")
