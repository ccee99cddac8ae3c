"""The escalation queue's web page (served by the API application, signed in with the session
cookie as the browser is): state staff see every district's queue with the three actions and a
link to the site; a coordinator sees their own district's, read-only; input the API would refuse
and the rollout's refusals are shown next to the form with what was entered kept."""

from __future__ import annotations

from datetime import date, timedelta
from html import unescape
from urllib.parse import quote

import pytest

from api.pages.session import COOKIE, csrf_value
from domain.actors import Role
from domain.calendar import add_school_days
from tests.api.conftest import DISTRICT_A, DISTRICT_B
from tests.api.test_escalations import CALENDAR, escalate_capacity, escalated

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]


async def test_the_state_team_works_the_queue_from_its_page(world, api):
    initiative = await world.launch("escalation-page")
    coordinator = await api.headers(Role.DISTRICT_COORDINATOR, DISTRICT_A)
    await world.to_initial_implementation(initiative, DISTRICT_A, coordinator)
    await escalate_capacity(world, initiative, DISTRICT_A, coordinator, times=2)
    task = await escalated(api, await api.headers(Role.STATE_ADMIN), DISTRICT_A)
    task_id, quoted = task["task_id"], quote(task["task_id"], safe="")
    tokens = {name: await api.token(role, district) for name, (role, district) in {
        "state": (Role.STATE_ADMIN, None), "mine": (Role.DISTRICT_COORDINATOR, DISTRICT_A),
        "theirs": (Role.DISTRICT_COORDINATOR, DISTRICT_B), "coach": (Role.COACH, DISTRICT_A),
        "auditor": (Role.AUDITOR, None)}.items()}

    async def page(name: str, url: str = "/web/escalations", **params):
        return await api.http.get(url, params=params, headers={"Cookie": f"{COOKIE}={tokens[name]}"})

    async def post(name: str, action: str, data: dict, csrf: str | None = None):
        form = {"csrf": csrf or csrf_value(tokens[name]), **data}
        return await api.http.post(f"/web/escalations/{quoted}/{action}", data=form,
                                   headers={"Cookie": f"{COOKIE}={tokens[name]}"})

    state = await page("state", initiative=initiative)
    assert state.status_code == 200
    text = unescape(state.text)
    assert f'data-task-id="{task_id}"' in text and task["title"] in text
    assert f'href="/web/initiatives/{initiative}/sites/{DISTRICT_A}"' in text
    for action in ("reassign", "extend", "waive"):
        assert f'action="/web/escalations/{quoted}/{action}"' in state.text
    assert 'href="/web/escalations"' in state.text  # in the navigation

    mine = unescape((await page("mine")).text)
    assert f'data-task-id="{task_id}"' in mine and "/reassign" not in mine
    assert "the state team reassigns, extends or waives them" in mine
    assert f'data-task-id="{task_id}"' not in (await page("theirs")).text
    assert (await page("coach")).status_code == 403 and (await page("auditor")).status_code == 403
    assert f'data-task-id="{task_id}"' not in (await page("state", kind="action_item")).text
    bad_age = await page("state", older_than_days="soon")
    assert bad_age.status_code == 200 and "A whole number of school days" in bad_age.text

    # Refused before it is sent: the problem next to the field, the entry kept.
    refused = await post("state", "reassign", {"assignee": "ann", "reason": "she has time"})
    assert refused.status_code == 422
    assert "Name a team or a person" in refused.text and 'value="ann"' in refused.text
    assert (await post("mine", "reassign", {"assignee": "team:district:x", "reason": "ours"})
            ).status_code == 403
    forged = await post("state", "waive", {"reason": "gone"}, csrf="0" * 32)
    assert forged.status_code == 403 and "expired" in forged.text

    done = await post("state", "reassign", {"assignee": "person:ann@example.org",
                                            "reason": "Ann runs the district's data team"})
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"/web/escalations?done={quoted}&action=reassign")
    after = unescape((await page("state", "/web/escalations", done=task_id, action="reassign")).text)
    assert f"Recorded: '{task['title']}' was reassigned." in after
    assert "with person:ann@example.org" in after
    inbox = unescape((await page("mine", "/web/inbox")).text)
    assert "for person:ann@example.org (reassigned by the state team)" in inbox
    site = unescape((await page("state", f"/web/initiatives/{initiative}/sites/{DISTRICT_A}")).text)
    assert "<td>person:ann@example.org</td>" in site

    # Refused by the rollout's rules: its sentence above the form, the date kept.
    today = date.fromisoformat(task["due"])
    saturday = add_school_days(CALENDAR, today, 30)
    saturday += timedelta(days=(5 - saturday.weekday()) % 7)
    refused = await post("state", "extend", {"due": saturday.isoformat(), "reason": "more time"})
    assert refused.status_code == 422
    assert "not a school day" in unescape(refused.text) and saturday.isoformat() in refused.text

    waived = await post("state", "waive", {"reason": "the spring assessment replaces it"})
    assert waived.status_code == 303
    assert f'data-task-id="{task_id}"' not in (await page("state", initiative=initiative)).text
    audit = (await api.http.get(f"/audit/sites/{initiative}/{DISTRICT_A}",
                                headers=await api.headers(Role.STATE_ADMIN))).json()
    assert any(e["summary"].startswith("Waived ") and "the spring assessment replaces it" in
               e["summary"] for e in audit["events"])
