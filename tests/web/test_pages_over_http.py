"""The pages over plain HTTP against the shared rollout: which role reaches which page, a task
completed through its form, and a refusal by the rollout's rules shown with the form."""

from __future__ import annotations

import re
import time
from html import unescape

import httpx
import pytest

from api.pages.session import COOKIE, csrf_value
from instrument_library import built_in
from tests.web.world import DISTRICT, OTHER_DISTRICT, SCHOOL, open_task
from tests.workflows.harness import STATE_ADMIN
from workflows.ids import site_workflow_id
from workflows.models import ControlRequest
from workflows.site_rollout import SiteRolloutWorkflow

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

WAIT = 30.0


def session(world: dict, name: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={world['tokens'][name]}"}


PAGES = ("/web/inbox", "/web/board", "/web/board/{i}", "/web/audit",
         "/web/initiatives/{i}/sites/" + DISTRICT, "/web/initiatives/{i}/sites/" + OTHER_DISTRICT)
EXPECTED = {
    "coordinator": (200, 200, 200, 403, 200, 404),
    "other": (200, 200, 200, 403, 404, 200),
    "coach": (200, 403, 403, 403, 403, 403),
    "auditor": (403, 403, 403, 200, 200, 200),
    "state": (200, 200, 200, 200, 200, 200),
}
"""Each role's pages, as the API admits the role: coordinators their district, coaches their
coaching work, auditors the audit record, state administrators everything."""


def test_each_role_reaches_only_its_pages(world):
    url, initiative_id = world["url"], world["plan"].initiative.id
    with httpx.Client(base_url=url, timeout=30) as http:
        for page in PAGES:
            anonymous = http.get(page.format(i=initiative_id))
            assert anonymous.status_code == 303, page
            assert anonymous.headers["location"].startswith("/web/login?next=/web/")
        for name, statuses in EXPECTED.items():
            got = tuple(http.get(page.format(i=initiative_id), headers=session(world, name))
                        .status_code for page in PAGES)
            assert got == statuses, name
        coach = http.get("/web/inbox", headers=session(world, "coach"))
        assert "Coaching cycle" in coach.text and "capacity assessment" not in coach.text
        district_board = http.get(f"/web/board/{initiative_id}",
                                  headers=session(world, "coordinator"))
        assert "Cedar Falls" in district_board.text and "Lakeview" not in district_board.text
        auditor_view = http.get(f"/web/initiatives/{initiative_id}/sites/{DISTRICT}",
                                headers=session(world, "auditor"))
        assert 'id="timeline"' in auditor_view.text and 'id="open-tasks"' not in auditor_view.text
        task_page = f"/web/tasks/{open_task(world, DISTRICT, 'capacity')}"
        unsigned = http.post(task_page, data={"consensus.facilitator": "x"})
        assert unsigned.status_code == 401 and "sign in" in unsigned.text.lower()
        forged = http.post(task_page, data={"csrf": "0" * 32},
                           headers=session(world, "coordinator"))
        assert forged.status_code == 403 and "expired" in forged.text


def test_a_pd_session_is_reported_held_through_its_form(world):
    """The completion form: its figure is checked by the domain command's bounds, then sent."""
    url, initiative_id = world["url"], world["plan"].initiative.id
    csrf = csrf_value(world["tokens"]["coordinator"])
    with httpx.Client(base_url=url, timeout=60, headers=session(world, "coordinator")) as http:
        deadline = time.monotonic() + WAIT
        while not (held := re.findall(rf'data-task-id="([^"]*:{SCHOOL}:[^"]*:hold)"',
                                      http.get("/web/inbox").text)):
            assert time.monotonic() < deadline, "no PD session to report at the school"
            time.sleep(0.5)
        page = f"/web/tasks/{held[0]}"
        refused = http.post(page, data={"csrf": csrf, "attendees": "-5"})
        assert refused.status_code == 422
        assert "Attendees should be greater than or equal to 0; you entered '-5'." in unescape(
            refused.text)
        done = http.post(page, data={"csrf": csrf, "attendees": "24"})
        assert done.status_code == 303
        assert done.headers["location"].startswith(
            f"/web/initiatives/{initiative_id}/sites/{SCHOOL}?recorded=")
        timeline = http.get(done.headers["location"]).text
        assert "PdSessionHeld" in timeline and "24 attended" in timeline
        again = http.post(page, data={"csrf": csrf, "attendees": "24"})
        assert again.status_code == 409 and "already completed" in again.text


async def test_a_refusal_by_the_rollout_is_shown_above_the_form_with_the_answers_kept(world):
    """A form that validates but that the workflow's rules refuse (the school's rollout is
    paused): the one-sentence reason is shown with the form, the answers stay, and nothing is
    recorded."""
    handle = world["client"].get_workflow_handle(
        site_workflow_id(world["plan"].initiative.id, SCHOOL))
    await handle.execute_update(SiteRolloutWorkflow.control, ControlRequest(
        actor=STATE_ADMIN, action="pause", reason="district asked for a pause", site_id=SCHOOL))
    task = open_task(world, SCHOOL, "capacity")
    posted = {f"items.{i.id}.value": "1" for i in built_in().require("dca", "6.0").items}
    posted.update({"consensus.facilitator": "Dana Whitfield", "nonce": "abcdef123456",
                   "consensus.participants.1.role": "district leader",
                   "consensus.participants.1.count": "4",
                   "csrf": csrf_value(world["tokens"]["coordinator"])})
    try:
        async with httpx.AsyncClient(base_url=world["url"], timeout=60,
                                     headers=session(world, "coordinator")) as http:
            refused = await http.post(f"/web/tasks/{task}", data=posted)
    finally:
        await handle.execute_update(SiteRolloutWorkflow.control, ControlRequest(
            actor=STATE_ADMIN, action="resume", site_id=SCHOOL))
    page = unescape(refused.text)
    assert refused.status_code == 422
    assert "Not recorded" in page and "is paused; ask the state team to resume it first." in page
    assert 'value="Dana Whitfield"' in page and 'value="abcdef123456"' in page
    status = await handle.query(SiteRolloutWorkflow.status)
    assert any(t.task_id == task for t in status.open_tasks), "nothing was recorded"
