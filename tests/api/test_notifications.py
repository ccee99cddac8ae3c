"""Each reader's notifications through the API and the web page: their team's only, unread first,
marked read one at a time or all at once, for the one reader alone.

The notifications come the way they do in production: domain-decided events appended to the
event store (the outbox projection writes them), then delivered by the outbox to the in-app feed.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from api.pages.session import COOKIE, CSRF_FIELD, csrf_value
from domain import commands as c
from domain import events as ev
from domain.actors import SYSTEM, Role
from domain.rollout import execute
from store.eventstore import EventStore
from store.outbox import InAppFeed, dispatch_once
from tests.domain.builders import Clock
from tests.store.scenario import enroll, site_history, unique

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]


async def deliver(pool) -> None:
    await dispatch_once(pool, InAppFeed(pool), now=datetime.now(timezone.utc) + timedelta(seconds=1),
                        limit=1000)


async def append(pool, stream_id: str, batches) -> None:
    for expected, batch in batches:
        await EventStore(pool).append(stream_id, batch, expected_version=expected)


async def another_district_site(pool, initiative: str, district: str) -> None:
    """A school of another district with one task assigned to its district team."""
    clock = Clock()
    state, enrolled = enroll(initiative, f"{district}-elem", clock, district=district,
                             site_name="Zion Elementary")
    state, assigned = execute(state, c.AssignTask(
        at=clock.tick(), actor=SYSTEM, task_id=state.key("plan"), kind="action_item",
        title="Write the plan", assignee_role="district", due=(clock.now + timedelta(days=5)).date()))
    await append(pool, ev.site_stream(initiative, f"{district}-elem"),
                 [(0, enrolled), (len(enrolled), assigned)])


@pytest.fixture(scope="module")
async def feed(api):
    """Adams (a whole four-stage history) and Zion (one task) in one initiative, delivered."""
    initiative, adams, zion = unique("notes"), f"adams-{unique('d')}", f"zion-{unique('d')}"
    batches = site_history(initiative)
    enrolled, *rest = batches[0][1]
    # The scenario's school belongs to the "adams" district; give each run its own district.
    batches[0] = (0, [enrolled.model_copy(update={"payload": enrolled.payload.model_copy(
        update={"district": adams})}), *rest])
    await append(api.pool, ev.site_stream(initiative, "adams-elem"), batches)
    await another_district_site(api.pool, initiative, zion)
    await deliver(api.pool)
    return {"initiative": initiative, "adams": adams, "zion": zion}


async def headers(api, role: Role, district: str | None = None, actor_id: str | None = None):
    token = await api.token(role, district, actor_id=actor_id)
    return {"Authorization": f"Bearer {token}"}


async def listed(api, who: dict, **params) -> dict:
    answer = await api.http.get("/notifications", headers=who, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_coordinator_reads_their_districts_notifications_unread_first(api, feed):
    ann = await headers(api, Role.DISTRICT_COORDINATOR, feed["adams"], f"ann.{feed['adams']}")
    page = await listed(api, ann)
    notes = page["notifications"]
    assert len(notes) >= 5 and page["unread"] == len(notes)
    assert {n["recipient"] for n in notes} == {f"district:{feed['adams']}"}
    assert {n["site_id"] for n in notes} == {"adams-elem"}
    times = [n["delivered_at"] for n in notes]
    assert times == sorted(times, reverse=True), "newest first"
    with_task = [n for n in notes if n["task_id"]]
    assert with_task and all(n["links"]["task"] == f"/tasks/{n['task_id']}" for n in with_task)
    assert all(n["links"]["site"] == f"/sites/{feed['initiative']}/adams-elem" for n in notes)
    assert any(n["subject"].startswith("Overdue") for n in notes)

    oldest = notes[-1]["notification_id"]
    marked = await api.http.post(f"/notifications/{oldest}/read", headers=ann)
    assert marked.status_code == 200 and marked.json()["read"] is True
    again = await api.http.post(f"/notifications/{oldest}/read", headers=ann)
    assert again.json()["read_at"] == marked.json()["read_at"], "marking again changes nothing"
    page = await listed(api, ann)
    assert page["unread"] == len(notes) - 1
    assert page["notifications"][-1]["notification_id"] == oldest, "a read one goes after the unread"
    assert [n["read"] for n in page["notifications"]] == [False] * (len(notes) - 1) + [True]
    assert [n["notification_id"] for n in await_unread(await listed(api, ann, unread=True))] == [
        n["notification_id"] for n in page["notifications"][:-1]]

    # Read state is the reader's own: a colleague in the same district still has it unread.
    bob = await headers(api, Role.DISTRICT_COORDINATOR, feed["adams"], f"bob.{feed['adams']}")
    assert (await listed(api, bob))["unread"] == len(notes)

    everything = await api.http.post("/notifications/read", headers=ann)
    assert everything.json() == {"marked": len(notes) - 1, "unread": 0}
    assert (await listed(api, bob))["unread"] == len(notes)

    # A notification delivered afterwards arrives unread, on top.
    await another_district_site(api.pool, feed["initiative"], feed["adams"].replace("adams", "late"))
    late = await headers(api, Role.DISTRICT_COORDINATOR, feed["adams"].replace("adams", "late"))
    before = (await listed(api, ann))["notifications"]
    await deliver(api.pool)
    fresh = await listed(api, late)
    assert fresh["unread"] == len(fresh["notifications"]) >= 2, "its stage and its task"
    assert (await listed(api, ann))["notifications"] == before, "another district's news is not Ann's"


def await_unread(page: dict) -> list[dict]:
    assert all(not n["read"] for n in page["notifications"])
    return page["notifications"]


async def test_another_districts_notifications_are_not_listed_and_answer_404(api, feed):
    zion = await headers(api, Role.DISTRICT_COORDINATOR, feed["zion"])
    mine = (await listed(api, zion))["notifications"]
    assert mine and {n["recipient"] for n in mine} == {f"district:{feed['zion']}"}
    adams = await headers(api, Role.DISTRICT_COORDINATOR, feed["adams"])
    theirs = (await listed(api, adams))["notifications"][0]["notification_id"]
    for answer in (await api.http.get(f"/notifications/{theirs}", headers=zion),
                   await api.http.post(f"/notifications/{theirs}/read", headers=zion),
                   await api.http.get("/notifications/no-such-notification", headers=zion)):
        assert answer.status_code == 404
        assert answer.json()["error"].startswith("There is no notification")
    assert (await listed(api, zion, team=f"district:{feed['adams']}"))["notifications"] == [], \
        "naming another team does not widen a coordinator's reach"


async def test_coaches_state_and_auditors(api, feed):
    coach = await headers(api, Role.COACH, feed["adams"])
    coached = (await listed(api, coach))["notifications"]
    assert coached and {n["recipient"] for n in coached} == {"coach:adams-elem"}
    state = await headers(api, Role.STATE_ADMIN)
    escalated = (await listed(api, state, initiative=feed["initiative"]))["notifications"]
    assert escalated and {n["recipient"] for n in escalated} == {"state-team"}
    assert any(n["subject"].startswith("Escalated") for n in escalated)
    district = await listed(api, state, team=f"district:{feed['adams']}")
    assert district["notifications"] and district["unread"] == len(district["notifications"])
    auditor = await headers(api, Role.AUDITOR)
    assert (await api.http.get("/notifications", headers=auditor)).status_code == 403


async def test_the_page_shows_unread_first_and_marks_read(api, feed):
    token = await api.token(Role.DISTRICT_COORDINATOR, feed["adams"], actor_id=f"web.{feed['adams']}")
    cookie = {"Cookie": f"{COOKIE}={token}"}
    page = await api.http.get("/web/notifications", headers=cookie)
    assert page.status_code == 200
    ids = re.findall(r'data-notification-id="([^"]+)" data-read="(yes|no)"', page.text)
    assert ids and all(read == "no" for _, read in ids)
    assert 'href="/web/notifications"' in page.text, "the navigation links the page"
    assert f'href="/web/initiatives/{feed["initiative"]}/sites/adams-elem"' in page.text
    assert 'href="/web/inbox#task-' in page.text

    chosen = ids[-1][0]
    refused = await api.http.post(f"/web/notifications/{chosen}/read", headers=cookie,
                                  data={CSRF_FIELD: "forged"})
    assert refused.status_code == 403
    done = await api.http.post(f"/web/notifications/{chosen}/read", headers=cookie,
                               data={CSRF_FIELD: csrf_value(token)})
    assert done.status_code == 303 and done.headers["location"].endswith("marked=one")
    page = await api.http.get(done.headers["location"], headers=cookie)
    after = re.findall(r'data-notification-id="([^"]+)" data-read="(yes|no)"', page.text)
    assert after[-1] == (chosen, "yes") and all(read == "no" for _, read in after[:-1])
    assert f"{len(ids) - 1} unread" in page.text

    done = await api.http.post("/web/notifications/read", headers=cookie,
                               data={CSRF_FIELD: csrf_value(token)})
    page = await api.http.get(done.headers["location"], headers=cookie)
    assert "0 unread" in page.text and 'data-read="no"' not in page.text
    auditor = await api.token(Role.AUDITOR)
    assert (await api.http.get("/web/notifications",
                               headers={"Cookie": f"{COOKIE}={auditor}"})).status_code == 403
