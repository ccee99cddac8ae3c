"""Every endpoint × every role (and no token) × a resource of the token's own district and of
another district, against a real running rollout, from the one table below.

Adding an endpoint without adding its row fails `test_the_table_covers_every_route`.

Expectations: OK (2xx, and for searches at least one item), EMPTY (200 with no items: a search
outside one's district finds nothing, exactly as a search for something that does not exist),
401, 403 (the role may not use the endpoint), 404 (another district's resource is "not found",
exactly like a missing one).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Callable

import pytest
import pytest_asyncio
from fastapi.routing import APIRoute, iter_route_contexts

from api.pages.session import PREFIX as WEB_PAGES
from domain.actors import Role
from domain.events import site_stream
from domain.stages import Stage
from store import tokens
from tests.api.conftest import DISTRICT_A, DISTRICT_B
from tests.domain.builders import capacity, fidelity
from tests.imports.test_import_rows import HEADER, capacity_rows

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

OK, EMPTY = "OK", "EMPTY"
NONE = "no token"
SA, DC, CO, AU = Role.STATE_ADMIN, Role.DISTRICT_COORDINATOR, Role.COACH, Role.AUDITOR
PRINCIPALS = (NONE, SA, DC, CO, AU)
PUBLIC_DOCS = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect")}
"""Documentation, readable without a token (it holds no data); every API route needs one."""


def api_routes(app) -> tuple[set, set]:
    """(method, path) of the API's routes, and of the other routes outside the web pages (HTML
    for browsers under /web, with their own cookie login and their own tests in tests/web)."""
    api, others = set(), set()
    for c in iter_route_contexts(app.routes):
        if c.path == WEB_PAGES or c.path.startswith(WEB_PAGES + "/"):
            continue
        if isinstance(c.original_route, APIRoute):
            api |= {(m, c.path) for m in c.methods}
        else:
            others |= {(m, c.path) for m in (c.methods or {"GET"}) - {"HEAD"}}
    return api, others


@dataclass(frozen=True)
class Place:
    """One district's resources in the running rollout."""

    initiative: str
    """An initiative the district takes part in ("other": one it does not)."""
    site: str
    district_task: str
    coach_task: str
    actor: str
    """Someone who acted in this district."""
    district_notification: str
    """A notification to the district's team about its site."""
    coach_notification: str
    """A notification to the coaches of its site."""


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    request: Callable[[Role | str, Place, "World"], dict]
    expect: dict
    """principal -> (own district, other district)"""
    ok_status: int = 200
    items: Callable[[dict], int] | None = None


def task_for(role, place: Place) -> str:
    return place.coach_task if role is CO else place.district_task


def notification_for(role, place: Place) -> str:
    return place.coach_notification if role is CO else place.district_notification


def notifications_of(role, place: Place) -> dict:
    """A state admin reads the state team's notifications, or names the team to read."""
    team = {"team": f"district:{place.site}"} if role is SA else {}
    return {"url": "/notifications", "params": {"site": place.site, **team}}


def assessment_for(role, place: Place) -> dict:
    """What each role would submit: a coach the fidelity counts, the others a capacity."""
    answers = fidelity(12, 20) if role is CO else capacity(1)
    who = role.value if isinstance(role, Role) else "anonymous"
    return {"assessment_id": f"matrix:{who}:{place.site}", "assessment": answers.model_dump(mode="json")}


def results_csv(place: Place, world: "World") -> dict:
    """A capacity assessment of the place's site, as a CSV import body."""
    rows = capacity_rows(sites=[place.site], dates=1)
    for row in rows:
        row[0] = world.main
    body = "\n".join(",".join(r) for r in [HEADER, *rows]) + "\n"
    return {"url": "/imports", "content": body, "headers": {"Content-Type": "text/csv"}}


WIDE = {"since": "2000-01-01T00:00:00Z", "until": "2200-01-01T00:00:00Z"}
READ_ONLY_OTHERS = {CO: (403, 403), AU: (403, 403)}

ROWS = [
    Row("GET", "/health", lambda r, p, w: {"url": "/health"},
        {NONE: (OK, OK), SA: (OK, OK), DC: (OK, OK), CO: (OK, OK), AU: (OK, OK)}),
    Row("GET", "/me", lambda r, p, w: {"url": "/me"},
        {SA: (OK, OK), DC: (OK, OK), CO: (OK, OK), AU: (OK, OK)}),
    Row("GET", "/tokens", lambda r, p, w: {"url": "/tokens"},
        {SA: (OK, OK), DC: (403, 403), CO: (403, 403), AU: (403, 403)}),
    Row("POST", "/tokens", lambda r, p, w: {"url": "/tokens", "json": {"role": "auditor",
                                                                      "name": "matrix"}},
        {SA: (OK, OK), DC: (403, 403), CO: (403, 403), AU: (403, 403)}, ok_status=201),
    Row("POST", "/tokens/{token_id}/revoke",
        lambda r, p, w: {"url": f"/tokens/{w.spare_token}/revoke"},
        {SA: (OK, OK), DC: (403, 403), CO: (403, 403), AU: (403, 403)}),
    Row("GET", "/tasks", lambda r, p, w: {"url": "/tasks", "params": {"site": p.site}},
        {SA: (OK, OK), DC: (OK, EMPTY), CO: (OK, EMPTY), AU: (403, 403)},
        items=lambda body: len(body["tasks"])),
    Row("GET", "/tasks/{task_id}", lambda r, p, w: {"url": f"/tasks/{task_for(r, p)}"},
        {SA: (OK, OK), DC: (OK, 404), CO: (OK, 404), AU: (403, 403)}),
    Row("POST", "/tasks/{task_id}/complete",
        lambda r, p, w: {"url": f"/tasks/{task_for(r, p)}/complete",
                         "json": {"outcome": {"attendees": 20, "practitioners_observed": 4}}},
        # The state admin completes the district's task first: the coordinator is let through
        # to the rollout, which answers that it is already completed (409).
        {SA: (OK, OK), DC: (409, 404), CO: (OK, 404), AU: (403, 403)}),
    Row("GET", "/sites/{initiative_id}/{site_id}",
        lambda r, p, w: {"url": f"/sites/{w.main}/{p.site}"},
        {SA: (OK, OK), DC: (OK, 404), **READ_ONLY_OTHERS}),
    Row("POST", "/sites/{initiative_id}/{site_id}/assessments",
        lambda r, p, w: {"url": f"/sites/{w.main}/{p.site}/assessments",
                         "json": assessment_for(r, p)},
        {SA: (OK, OK), DC: (OK, 404), CO: (OK, 404), AU: (403, 403)}),
    Row("GET", "/initiatives/{initiative_id}/status",
        lambda r, p, w: {"url": f"/initiatives/{p.initiative}/status"},
        {SA: (OK, OK), DC: (OK, 404), **READ_ONLY_OTHERS}),
    Row("GET", "/initiatives/{initiative_id}/board",
        lambda r, p, w: {"url": f"/initiatives/{p.initiative}/board"},
        {SA: (OK, OK), DC: (OK, 404), **READ_ONLY_OTHERS}),
    Row("GET", "/audit/sites/{initiative_id}/{site_id}",
        lambda r, p, w: {"url": f"/audit/sites/{w.main}/{p.site}"},
        {SA: (OK, OK), DC: (OK, 404), CO: (403, 403), AU: (OK, OK)}),
    Row("GET", "/audit/initiatives/{initiative_id}",
        lambda r, p, w: {"url": f"/audit/initiatives/{p.initiative}"},
        {SA: (OK, OK), DC: (403, 403), CO: (403, 403), AU: (OK, OK)}),
    Row("GET", "/audit/actors/{actor_id}", lambda r, p, w: {"url": f"/audit/actors/{p.actor}"},
        {SA: (OK, OK), DC: (OK, EMPTY), CO: (403, 403), AU: (OK, OK)},
        items=lambda body: body["count"]),
    Row("GET", "/audit/window",
        lambda r, p, w: {"url": "/audit/window", "params": {**WIDE, "initiative": p.initiative}},
        {SA: (OK, OK), DC: (OK, EMPTY), CO: (403, 403), AU: (OK, OK)},
        items=lambda body: body["count"]),
    Row("GET", "/instruments", lambda r, p, w: {"url": "/instruments"},
        {SA: (OK, OK), DC: (OK, OK), CO: (OK, OK), AU: (OK, OK)}, items=len),
    Row("GET", "/instruments/{definition_id}/{version}",
        lambda r, p, w: {"url": "/instruments/tfi/2.1"},
        {SA: (OK, OK), DC: (OK, OK), CO: (OK, OK), AU: (OK, OK)}),
    # Another district's site in a file is a bad row (422, naming it as it names a site that
    # does not exist), never a partial import.
    Row("POST", "/imports", lambda r, p, w: results_csv(p, w),
        {SA: (OK, OK), DC: (OK, 422), CO: (403, 403), AU: (403, 403)}),
    Row("GET", "/notifications", lambda r, p, w: notifications_of(r, p),
        {SA: (OK, OK), DC: (OK, EMPTY), CO: (OK, EMPTY), AU: (403, 403)},
        items=lambda body: len(body["notifications"])),
    Row("GET", "/notifications/{notification_id}",
        lambda r, p, w: {"url": f"/notifications/{notification_for(r, p)}"},
        {SA: (OK, OK), DC: (OK, 404), CO: (OK, 404), AU: (403, 403)}),
    Row("POST", "/notifications/{notification_id}/read",
        lambda r, p, w: {"url": f"/notifications/{notification_for(r, p)}/read"},
        {SA: (OK, OK), DC: (OK, 404), CO: (OK, 404), AU: (403, 403)}),
    Row("POST", "/notifications/read",
        lambda r, p, w: {"url": "/notifications/read", "params": {"site": p.site}},
        {SA: (OK, OK), DC: (OK, OK), CO: (OK, OK), AU: (403, 403)}),
]


@dataclass
class World:
    main: str
    own: Place
    other: Place
    spare_token: str


@pytest_asyncio.fixture(scope="module")
async def matrix_world(world, api) -> World:
    """One initiative with both districts in Initial Implementation (PD and coaching tasks out),
    and one in which only the other district takes part."""
    main = await world.launch("matrix")
    elsewhere = await world.launch("matrix-b", districts=(DISTRICT_B,))
    places = {}
    for district, initiative in ((DISTRICT_A, main), (DISTRICT_B, elsewhere)):
        headers = await api.headers(DC, district)
        status = await world.to_initial_implementation(main, district, headers)
        tasks = {t["kind"]: t["task_id"] for t in status["open_tasks"]}
        places[district] = Place(initiative=initiative, site=district,
                                 district_task=tasks["hold_pd_session"],
                                 coach_task=tasks["coaching_step"],
                                 actor=f"district_coordinator.{district}",
                                 district_notification=await delivered(
                                     api.pool, main, district, f"district:{district}"),
                                 coach_notification=await delivered(
                                     api.pool, main, district, f"coach:{district}"))
    spare = await tokens.create(api.pool, role=AU, name="to be revoked", created_by="tests")
    return World(main=main, own=places[DISTRICT_A], other=places[DISTRICT_B],
                 spare_token=spare.info.token_id)


async def delivered(pool, initiative: str, site: str, recipient: str) -> str:
    """A notification about the site to `recipient`, once the worker has delivered one."""
    for _ in range(120):
        found = await pool.fetchval(
            "SELECT notification_id FROM notification_feed WHERE stream_id = $1 AND recipient = $2 "
            "ORDER BY notification_id LIMIT 1", site_stream(initiative, site), recipient)
        if found:
            return found
        await asyncio.sleep(0.5)
    raise AssertionError(f"no notification to {recipient} about {site} was delivered")


def test_the_table_covers_every_route(api):
    routes, others = api_routes(api.app)
    assert routes == {(row.method, row.path) for row in ROWS}
    assert others == PUBLIC_DOCS
    for row in ROWS:
        assert set(row.expect) | {NONE} == set(PRINCIPALS), row.path


async def test_public_docs_need_no_token_and_the_schema_lists_every_route(api):
    schema = await api.http.get("/openapi.json")
    assert schema.status_code == 200
    listed = {(m.upper(), p) for p, ops in schema.json()["paths"].items() for m in ops}
    assert listed == {(row.method, row.path) for row in ROWS}
    assert (await api.http.get("/docs")).status_code == 200


async def test_every_endpoint_for_every_role_in_own_and_other_district(matrix_world, api):
    checked, wrong = 0, []
    for row in ROWS:
        for principal in PRINCIPALS:
            own, other = row.expect.get(principal, (401, 401))
            headers = {} if principal == NONE else await api.headers(
                principal, DISTRICT_A if principal in tokens.DISTRICT_ROLES else None)
            for where, place, expected in (("own", matrix_world.own, own),
                                           ("other", matrix_world.other, other)):
                spec = row.request(principal, place, matrix_world)
                sent = {**headers, **spec.pop("headers", {})}
                answer = await api.http.request(row.method, spec.pop("url"), headers=sent, **spec)
                checked += 1
                got = answer.status_code
                if expected in (OK, EMPTY):
                    status_ok = got == (200 if expected == EMPTY else row.ok_status)
                    count_ok = row.items is None or not status_ok or (
                        (row.items(answer.json()) == 0) == (expected == EMPTY))
                    fine = status_ok and count_ok
                else:
                    fine = got == expected
                if not fine:
                    wrong.append(f"{row.method} {row.path} as {principal} ({where}): expected "
                                 f"{expected}, got {got} {answer.text[:200]}")
    print(f"authorization matrix: {checked} cases")
    assert not wrong, "\n".join(wrong)
    assert checked == len(ROWS) * len(PRINCIPALS) * 2


async def test_a_coordinators_searches_stay_inside_their_district(matrix_world, api):
    mine = await api.headers(DC, DISTRICT_A)
    tasks = (await api.http.get("/tasks", params={"limit": 1000}, headers=mine)).json()["tasks"]
    assert tasks and {t["district_id"] for t in tasks} == {DISTRICT_A}
    window = (await api.http.get("/audit/window", params=WIDE, headers=mine)).json()
    streams = {e["event"]["stream_id"] for e in window["events"]}
    assert streams and all(s.split("/")[2] in (DISTRICT_A, "cedar-falls-lincoln-es") for s in streams)
    board = (await api.http.get(f"/initiatives/{matrix_world.main}/board",
                                params={"points": 1}, headers=mine)).json()
    assert board["district"] == DISTRICT_A
    assert sum(c["sites"] for c in board["cells"]) == 2  # the district and its school
    status = (await api.http.get(f"/initiatives/{matrix_world.main}/status", headers=mine)).json()
    assert {s["site_id"] for s in status["sites"]} == {DISTRICT_A, "cedar-falls-lincoln-es"}
    coach = await api.headers(CO, DISTRICT_A)
    coached = (await api.http.get("/tasks", params={"limit": 1000}, headers=coach)).json()["tasks"]
    assert coached and {(t["district_id"], t["assignee_role"]) for t in coached} == {(DISTRICT_A, "coach")}


async def test_unknown_ids_answer_exactly_like_another_districts(matrix_world, api):
    mine = await api.headers(DC, DISTRICT_A)
    for known, missing in (
            (f"/tasks/{matrix_world.other.district_task}", f"/tasks/no-such-task-{uuid.uuid4().hex}"),
            (f"/sites/{matrix_world.main}/{DISTRICT_B}", f"/sites/{matrix_world.main}/no-such-site")):
        a, b = await api.http.get(known, headers=mine), await api.http.get(missing, headers=mine)
        assert a.status_code == b.status_code == 404
        assert a.json()["error"].split("'")[0] == b.json()["error"].split("'")[0]
    assert Stage.INITIAL_IMPLEMENTATION  # the fixture put both districts there
