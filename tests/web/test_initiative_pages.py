"""The state's pages over plain HTTP against the shared world: who reaches the decision queue and
the initiatives; a plan uploaded, refused in the words `rollout plan validate` prints, then
started; a decision-gated cohort opened with a reason; an initiative and a site paused and resumed
with a reason; a coordinator's decision refused."""

from __future__ import annotations

import json
import re
import uuid
from html import unescape

import httpx
import pytest
from typer.testing import CliRunner

from api.pages.session import COOKIE, csrf_value
from cli.main import app as cli
from domain import events as ev
from store.db import connect
from store.eventstore import EventStore
from tests.web.world import DISTRICT, SCHOOL
from tests.workflows.harness import ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

PAGES = ("/web/decisions", "/web/initiatives", "/web/initiatives/{i}")
EXPECTED = {"coordinator": (200, 403, 403), "coach": (403, 403, 403),
            "auditor": (403, 403, 403), "state": (200, 200, 200)}


def signed_in(world: dict, name: str) -> httpx.Client:
    return httpx.Client(base_url=world["url"], timeout=60,
                        headers={"Cookie": f"{COOKIE}={world['tokens'][name]}"})


def text_of(answer: httpx.Response) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", answer.text))


def test_the_state_pages_are_the_state_admins(world):
    initiative_id = world["plan"].initiative.id
    for name, statuses in EXPECTED.items():
        with signed_in(world, name) as http:
            got = tuple(http.get(p.format(i=initiative_id)).status_code for p in PAGES)
        assert got == statuses, name
    with signed_in(world, "coordinator") as http:
        queue = http.get("/web/decisions")
        assert "Stage moves waiting for the state: " + DISTRICT in queue.text
        csrf = csrf_value(world["tokens"]["coordinator"])
        refused = http.post(f"/web/initiatives/{initiative_id}/sites/{DISTRICT}/decision",
                            data={"csrf": csrf, "decision": "approve"})
        assert refused.status_code == 403 and "Decisions are the state" in unescape(refused.text)
        site = http.get(f"/web/initiatives/{initiative_id}/sites/{DISTRICT}")
        assert site.status_code == 200 and 'id="decide"' not in site.text


def test_a_plan_is_uploaded_checked_and_started_and_a_cohort_opened(world, tmp_path):
    csrf = csrf_value(world["tokens"]["state"])
    text = (ROOT / "examples" / "small.yaml").read_text()
    broken = text.replace("readiness_mean_min: 3.0", "readiness_mean_min: 9")
    file = tmp_path / "broken.yaml"
    file.write_text(broken)
    printed = CliRunner().invoke(cli, ["plan", "validate", str(file)], env={"COLUMNS": "300"})
    printed_lines = [line.strip() for line in printed.output.splitlines()[1:] if line.strip()]
    with signed_in(world, "state") as http:
        checked = http.post("/web/initiatives", data={"csrf": csrf, "action": "start"},
                            files={"plan_file": ("broken.yaml", broken.encode())})
        assert checked.status_code == 422
        page = text_of(checked)
        assert "broken.yaml: 1 problem in the plan" in page
        assert printed_lines and all(line in page for line in printed_lines), (printed_lines, page)

        # A valid plan, checked then started: two cohorts, the second on a state decision.
        initiative_id = f"web-gated-{uuid.uuid4().hex[:6]}"
        data = json.loads(json.dumps(world["plan"].model_dump(mode="json")))
        members = [s["id"] for s in data["sites"]]
        data["cohorts"] = [
            {"id": "c1", "name": "Cohort 1", "members": members[:2], "gate": {"kind": "immediate"}},
            {"id": "c2", "name": "Cohort 2", "members": members[2:], "gate": {"kind": "decision"}}]
        form = {"csrf": csrf, "plan_yaml": json.dumps(data), "initiative_id": initiative_id,
                "speedup": "1"}
        valid = http.post("/web/initiatives", data={**form, "action": "check"})
        assert valid.status_code == 200 and "Valid plan:" in text_of(valid)
        started = http.post("/web/initiatives", data={**form, "action": "start"})
        assert started.status_code == 303, text_of(started)
        assert started.headers["location"] == f"/web/initiatives/{initiative_id}?started=1"
        again = http.post("/web/initiatives", data={**form, "action": "start"})
        assert again.status_code == 409 and "already been started" in text_of(again)

        page = http.get(started.headers["location"])
        assert "waiting for a state decision" in text_of(page)
        short = http.post(f"/web/initiatives/{initiative_id}/cohorts/c2/open",
                          data={"csrf": csrf, "reason": "go"})
        assert short.status_code == 422 and "at least 10 characters" in text_of(short)
        reason = "Cohort 1 has its teams; open cohort 2 for the spring"
        opened = http.post(f"/web/initiatives/{initiative_id}/cohorts/c2/open",
                           data={"csrf": csrf, "reason": reason})
        assert opened.status_code == 303, text_of(opened)
        page = text_of(http.get(opened.headers["location"]))
        assert "Recorded: opened c2." in page
        assert "opened by state_admin." in page and reason in page

        # The initiative paused and resumed with a reason; too short a reason is refused.
        control = f"/web/initiatives/{initiative_id}/control"
        refused = http.post(control, data={"csrf": csrf, "action": "pause", "reason": "x"})
        assert refused.status_code == 422 and "at least 3 characters" in text_of(refused)
        paused = http.post(control, data={"csrf": csrf, "action": "pause",
                                          "reason": "State budget review"})
        assert paused.status_code == 303 and "Recorded: paused." in text_of(http.get(paused.headers["location"]))
        resumed = http.post(control, data={"csrf": csrf, "action": "resume",
                                           "reason": "Budget confirmed"})
        assert resumed.status_code == 303
        cancelled = http.post(control, data={"csrf": csrf, "action": "cancel",
                                             "reason": "A test initiative, done"})
        assert cancelled.status_code == 303


async def test_a_site_is_paused_and_resumed_from_its_page(world):
    initiative_id = world["plan"].initiative.id
    csrf = csrf_value(world["tokens"]["state"])
    page = f"/web/initiatives/{initiative_id}/sites/{SCHOOL}"
    async with httpx.AsyncClient(base_url=world["url"], timeout=60,
                                 headers={"Cookie": f"{COOKIE}={world['tokens']['state']}"}) as http:
        paused = await http.post(page + "/control", data={"csrf": csrf, "action": "pause",
                                                         "reason": "Principal on leave"})
        assert paused.status_code == 303 and "decided=pause" in paused.headers["location"]
        shown = text_of(await http.get(paused.headers["location"]))
        assert "Recorded: you paused the rollout." in shown and "Resume" in shown
        resumed = await http.post(page + "/control", data={"csrf": csrf, "action": "resume",
                                                          "reason": "Principal is back"})
        assert resumed.status_code == 303
    pool = await connect(world["dsn"])
    try:
        events = await EventStore(pool).read_stream(ev.site_stream(initiative_id, SCHOOL))
    finally:
        await pool.close()
    controls = [(e.type, e.payload.reason if e.type == "RolloutPaused" else e.payload.note)
                for e in events if e.type in ("RolloutPaused", "RolloutResumed")
                and e.actor.role == "state_admin" and e.actor.id.startswith("state_admin.")]
    assert controls[-2:] == [("RolloutPaused", "Principal on leave"),
                             ("RolloutResumed", "Principal is back")]
