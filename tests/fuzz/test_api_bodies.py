"""Fuzzed requests to the API's and web pages' changing routes, against the app over the real
PostgreSQL and Temporal dev server (tests/api/conftest.py): every answer is 2xx/3xx, or 4xx with a
JSON error sentence (a 422 naming the field) or an HTML page saying what is wrong; never 5xx.
Each request is checked on its own: a refused one writes nothing (no event by a person, no token),
an accepted one writes exactly what it reports (its `recorded` events, the PD session held).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from api.pages.session import COOKIE, csrf_value
from domain.actors import Role
from tests.api.conftest import DISTRICT_A, DISTRICT_B
from tests.fuzz.api_strategies import api_requests
from tests.fuzz.counts import count, planned
from tests.fuzz.live import FirstFailure, run_on

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres, pytest.mark.temporal]

CASES = planned("API bodies")
PEOPLE_EVENTS = ("SELECT count(*) FROM events WHERE stream_id LIKE $1 AND actor->>'id' <> 'rollout-engine'")


async def principals(api) -> dict[str, dict]:
    """name -> {"token", "headers", "actor"} for each kind of caller the fuzz plays."""
    kinds = {"coordinator": (Role.DISTRICT_COORDINATOR, DISTRICT_A), "coach": (Role.COACH, DISTRICT_A),
             "state_admin": (Role.STATE_ADMIN, None), "auditor": (Role.AUDITOR, None),
             "other_district": (Role.DISTRICT_COORDINATOR, DISTRICT_B)}
    found = {}
    for name, (role, district) in kinds.items():
        token = await api.token(role, district)
        headers = {"Authorization": f"Bearer {token}"}
        me = (await api.http.get("/me", headers=headers)).json()
        found[name] = {"token": token, "headers": headers, "actor": me["actor_id"]}
    return found


def request_of(case: dict, who: dict) -> dict:
    kwargs: dict = {"params": case.get("params") or None}
    if "form" in case:
        form = dict(case["form"])
        if case["csrf"] != "missing":
            form["csrf"] = csrf_value(who["token"]) if case["csrf"] == "valid" else "0" * 32
        kwargs["data"] = form
        kwargs["headers"] = {"Cookie": f"{COOKIE}={who['token']}"}
        if case["route"] == "web login" and form.get("token") == "valid":
            form["token"] = who["token"]
    else:
        kwargs["headers"] = {**who["headers"], "Content-Type": "application/json"}
        if case["method"] == "POST":  # as Python writes it: NaN and Infinity included
            kwargs["content"] = json.dumps(case["json"]).encode()
    return kwargs


def assert_clear(answer, case: dict) -> None:
    assert answer.status_code < 500, f"{case}: {answer.status_code} {answer.text[:500]}"
    if answer.status_code < 400:
        return
    if answer.headers.get("content-type", "").startswith("application/json"):
        body = answer.json()
        assert body["error"].strip(), case
        if answer.status_code == 422 and body["error"].startswith("Invalid request"):
            assert body["fields"] and all(f["path"] for f in body["fields"]), body
    else:
        assert "<html" in answer.text.lower() and len(answer.text) > 200, (case, answer.text[:300])


def api_property(on_loop, api, live: dict, people: dict, outcomes: Counter) -> None:
    stream_prefix = f"site-rollout/{live['initiative']}/%"

    async def one(case: dict) -> None:
        who = people[case["principal"]]
        tasks = {t["task_id"]: t for t in live["tasks"]}
        before = await api.pool.fetchval(PEOPLE_EVENTS, stream_prefix)
        tokens_before = await api.pool.fetchval("SELECT count(*) FROM api_tokens")
        answer = await api.http.request(case["method"], case["url"], **request_of(case, who))
        assert_clear(answer, case)
        outcomes[f"{case['route']} {answer.status_code // 100}xx"] += 1
        written = await api.pool.fetchval(PEOPLE_EVENTS, stream_prefix) - before
        tokens = await api.pool.fetchval("SELECT count(*) FROM api_tokens") - tokens_before
        accepted = answer.status_code < 400
        assert tokens == (1 if accepted and case["route"] == "token" else 0), (case, answer.text)
        if not accepted or case["route"] in ("token", "revoke", "tasks query", "web login"):
            assert written == 0, f"refused or read-only, yet {written} events were written: {case}"
        elif case["route"] in ("complete", "assess"):
            result = answer.json()
            kind = tasks.get(result.get("task_id") or "", {}).get("kind")
            held = 1 if kind == "hold_pd_session" and result["outcome"]["recorded"] else 0
            assert written == len(result["outcome"]["recorded"]) + held, (case, result)
        else:  # a web form sent: the task it answers is closed now, by this person's events
            assert answer.status_code == 303 and written >= 1, (case, answer.status_code)
        if accepted and case["route"] in ("complete", "assess", "web task"):
            live["tasks"] = await open_tasks(api, people, live["initiative"])

    @settings(max_examples=CASES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(data=st.data())
    def one_request(data) -> None:
        case = data.draw(api_requests(live["initiative"], [DISTRICT_A, DISTRICT_B],
                                      [t["task_id"] for t in live["tasks"]], live["spare_tokens"]),
                         label="request")
        first.run(lambda: on_loop(one(case)))

    first = FirstFailure()
    one_request()
    first.raise_it()


async def open_tasks(api, people: dict, initiative: str) -> list[dict]:
    answer = await api.http.get("/tasks", params={"initiative": initiative, "status": "open",
                                                  "limit": 1000},
                                headers=people["state_admin"]["headers"])
    return answer.json()["tasks"]


async def test_fuzzed_api_requests_get_a_clear_answer_and_write_only_what_they_report(api, world):
    people = await principals(api)
    initiative = await world.launch("fuzz-api", (DISTRICT_A, DISTRICT_B))
    await world.to_initial_implementation(initiative, DISTRICT_A, people["coordinator"]["headers"])
    spare = [(await api.http.post("/tokens", json={"role": "auditor"},
                                  headers=people["state_admin"]["headers"])).json()["info"]["token_id"]
             for _ in range(3)]
    live = {"initiative": initiative, "tasks": await open_tasks(api, people, initiative),
            "spare_tokens": spare}
    outcomes: Counter = Counter()
    await asyncio.to_thread(api_property, run_on(asyncio.get_running_loop()), api, live, people,
                            outcomes)
    count("API bodies", sum(outcomes.values()))
    print(f"API requests: {dict(sorted(outcomes.items()))}")
    assert sum(n for k, n in outcomes.items() if k.endswith("4xx")) >= CASES // 3, outcomes
    assert sum(n for k, n in outcomes.items() if k.endswith(("2xx", "3xx"))) >= 50, outcomes
