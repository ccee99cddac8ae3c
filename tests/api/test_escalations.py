"""The state team works the escalation queue through the API against a real running rollout: a
district's repeated capacity shortfall is escalated; the queue lists it (filtered by district,
region, kind and age); a state admin reassigns it, extends it (the escalation clears) and waives
the next one, each recorded with the person and the reason and told by the audit; a district
coordinator sees their own district's queue and may not act on it."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from domain import events as ev
from domain.actors import Role
from domain.calendar import add_school_days, next_school_day
from store.eventstore import EventStore
from tests.api.conftest import DISTRICT_A, DISTRICT_B, WAIT_SECONDS
from tests.domain.builders import capacity
from tests.workflows.harness import small_plan

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]
CALENDAR = small_plan().calendar


async def escalated(api, headers: dict, district: str, known: set[str] = frozenset()) -> dict:
    """The district's first escalated task not in `known`, once the queue shows one."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        answer = await api.http.get("/escalations", params={"district": district}, headers=headers)
        assert answer.status_code == 200, answer.text
        fresh = [t for t in answer.json()["escalations"] if t["task_id"] not in known]
        if fresh:
            return fresh[0]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no escalation for {district}")


async def escalate_capacity(world, initiative: str, site: str, headers: dict, times: int) -> None:
    """Capacity assessments below the goal, each one more failed measurement: from the second,
    the follow-up task asking for a new one is escalated to the state team."""
    for _ in range(times):
        answer = await world.submit(initiative, site, capacity(1), headers)
        assert answer.status_code == 200, answer.text


async def test_a_state_admin_reassigns_extends_and_waives_an_escalated_task(world, api):
    initiative = await world.launch("escalations")
    site = DISTRICT_A
    admin = await api.headers(Role.STATE_ADMIN)
    admin_id = (await api.http.get("/me", headers=admin)).json()["actor_id"]
    mine = await api.headers(Role.DISTRICT_COORDINATOR, DISTRICT_A)
    theirs = await api.headers(Role.DISTRICT_COORDINATOR, DISTRICT_B)
    status = await world.to_initial_implementation(initiative, site, mine)
    await escalate_capacity(world, initiative, site, mine, times=2)
    task = await escalated(api, admin, site)
    task_id = task["task_id"]
    assert (task["initiative_id"], task["site_id"], task["kind"], task["region"]) == (
        initiative, site, "submit_assessment", "North")
    assert task["escalated_to"] == "State Implementation Team" and task["age_school_days"] == 0
    assert task["links"] == {"site": f"/sites/{initiative}/{site}",
                             "page": f"/web/initiatives/{initiative}/sites/{site}"}

    # The queue's filters.
    async def listed(headers=admin, **params) -> list[str]:
        answer = await api.http.get("/escalations", params={"initiative": initiative, **params},
                                    headers=headers)
        assert answer.status_code == 200, answer.text
        return [t["task_id"] for t in answer.json()["escalations"]]
    assert task_id in await listed(district=site, region="North", kind="submit_assessment",
                                   older_than_days=0)
    assert task_id not in await listed(region="South")
    assert task_id not in await listed(kind="action_item")
    assert task_id not in await listed(older_than_days=1)  # escalated today
    refused = await api.http.get("/escalations", params={"kind": "homework"}, headers=admin)
    assert refused.status_code == 422 and refused.json()["fields"][0]["path"] == "query.kind"

    # A coordinator sees their district's queue, not another's, and may not act on it.
    assert task_id in await listed(mine)
    assert await listed(theirs) == [] and await listed(mine, district=DISTRICT_B) == []
    for action, body in (("reassign", {"assignee": "team:district:cedar-falls-sd", "reason": "ours"}),
                         ("extend", {"due": "2030-01-07", "reason": "more time"}),
                         ("waive", {"reason": "not needed"})):
        answer = await api.http.post(f"/tasks/{task_id}/{action}", json=body, headers=mine)
        assert answer.status_code == 403, answer.text
    coach = await api.headers(Role.COACH, DISTRICT_A)
    assert (await api.http.get("/escalations", headers=coach)).status_code == 403

    # Reassign: recorded with who and why; the inbox names the new assignee; a retry is harmless.
    body = {"assignee": "team:district:cedar-falls-sd", "reason": "the district's data team owns it"}
    answer = await api.http.post(f"/tasks/{task_id}/reassign", json=body, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"]["recorded"] == ["TaskReassigned"]
    again = await api.http.post(f"/tasks/{task_id}/reassign", json=body, headers=admin)
    assert again.status_code == 200 and again.json()["outcome"]["already_done"]
    assert (await api.http.get(f"/tasks/{task_id}", headers=admin)).json()["assignee"] == \
        "team:district:cedar-falls-sd"
    bad = await api.http.post(f"/tasks/{task_id}/reassign",
                              json={"assignee": "ann", "reason": "why"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["fields"][0]["path"] == "body.assignee"

    # Extend: a Saturday is refused naming the field; a school day clears the escalation.
    today = (await api.http.get(f"/sites/{initiative}/{site}", headers=admin)).json()["school_today"]
    later = add_school_days(CALENDAR, max(date.fromisoformat(today), date.fromisoformat(task["due"])), 15)
    saturday = later + timedelta(days=(5 - later.weekday()) % 7)
    refused = await api.http.post(f"/tasks/{task_id}/extend",
                                  json={"due": saturday.isoformat(), "reason": "more time"},
                                  headers=admin)
    assert refused.status_code == 422, refused.text
    assert refused.json()["fields"][0]["path"] == "due" and "not a school day" in refused.json()["error"]
    answer = await api.http.post(f"/tasks/{task_id}/extend", json={
        "due": later.isoformat(), "reason": "the facilitator is booked until then"}, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"]["recorded"] == ["TaskDueDateExtended"]
    row = (await api.http.get(f"/tasks/{task_id}", headers=admin)).json()
    assert (row["due"], row["escalated"], row["overdue"], row["status"]) == (
        later.isoformat(), False, False, "open")
    assert task_id not in await listed()
    assert next_school_day(CALENDAR, later) == later

    # Waive: another failed measurement escalates the next follow-up task; the state waives it.
    await escalate_capacity(world, initiative, site, mine, times=1)
    waived = (await escalated(api, admin, site, known={task_id}))["task_id"]
    answer = await api.http.post(f"/tasks/{waived}/waive",
                                 json={"reason": "the spring assessment replaces it"}, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"]["recorded"] == ["TaskWaived"]
    row = (await api.http.get(f"/tasks/{waived}", headers=admin)).json()
    assert (row["status"], row["waived_by"], row["waived_reason"]) == (
        "waived", admin_id, "the spring assessment replaces it")
    assert waived not in await listed()
    refused = await api.http.post(f"/tasks/{waived}/extend",
                                  json={"due": later.isoformat(), "reason": "too late"}, headers=admin)
    assert refused.status_code == 422 and "already waived" in refused.json()["error"]
    missing = await api.http.post("/tasks/no-such-task/waive", json={"reason": "nothing"},
                                  headers=admin)
    assert missing.status_code == 404

    # The record: who, what and why, in the event store and the audit.
    stream = await EventStore(api.pool).read_stream(ev.site_stream(initiative, site))
    managed = [(e.type, e.actor.id, e.actor.role.value, e.payload.reason) for e in stream
               if e.type in ("TaskReassigned", "TaskDueDateExtended", "TaskWaived")]
    assert managed == [
        ("TaskReassigned", admin_id, "state_admin", "the district's data team owns it"),
        ("TaskDueDateExtended", admin_id, "state_admin", "the facilitator is booked until then"),
        ("TaskWaived", admin_id, "state_admin", "the spring assessment replaces it")]
    audit = (await api.http.get(f"/audit/sites/{initiative}/{site}", headers=admin)).json()
    told = [e["summary"] for e in audit["events"]]
    assert any(s.startswith("Reassigned 'Submit a new capacity") and
               "to team:district:cedar-falls-sd: the district's data team owns it" in s for s in told)
    assert any(s.startswith("Extended ") and f"to {later}" in s for s in told)
    assert any(s.startswith("Waived ") and "(closed, not completed)" in s for s in told)
    assert status["stage"] == "Initial Implementation"
