"""People decide through the API, against a real running rollout: the state's queue of stage
moves with their evidence, approving, declining with a reason, overriding a failed gate and
sending a site back, each recorded with the person and the text; a cohort opened by a state
decision with its reason; a plan checked and launched as the CLI does; a site and an initiative
paused, resumed and cancelled with a reason."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from typer.testing import CliRunner

from cli.main import app as cli_app
from domain import events as ev
from domain.actors import Role
from domain.stages import Stage
from store.eventstore import EventStore
from tests.api.conftest import DISTRICT_A, DISTRICT_B, plan_for
from tests.domain.builders import capacity, fidelity
from tests.workflows.harness import ROOT
from workflows.ids import site_workflow_id
from workflows.site_rollout import SiteRolloutWorkflow

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

SA, DC = Role.STATE_ADMIN, Role.DISTRICT_COORDINATOR
DECLINE = "Fidelity was observed in one classroom only; observe two more"
APPROVE = "Two observations across grades now hold the criterion"
OVERRIDE = "Capacity items are in place per the regional team's visit"
SEND_BACK = "The principal and both coaches left; rebuild the team first"


async def stream(api, initiative_id: str, site_id: str, event_type: str) -> list[ev.Event]:
    events = await EventStore(api.pool).read_stream(ev.site_stream(initiative_id, site_id))
    return [e for e in events if e.type == event_type]


async def waiting_for_full(world, api, initiative: str, site: str) -> dict:
    """The district answers Initial Implementation until its move to Full waits for the state."""
    headers = await api.headers(DC, DISTRICT_A if site.startswith("cedar") else DISTRICT_B)
    await world.to_initial_implementation(initiative, site, headers)
    for number, answers in enumerate((capacity(2), fidelity(12), fidelity(14))):
        answer = await world.submit(initiative, site, answers, headers,
                                    assessment_id=f"{site}:initial:{number}")
        assert answer.status_code == 200, answer.text
    return await world.site(initiative, site, lambda s: s["pending_move"] == Stage.FULL_IMPLEMENTATION,
                            "a move to Full Implementation waiting for the state")


async def cohort_started(api, initiative: str, cohort_id: str) -> ev.Event:
    """The cohort's CohortStarted event, once recorded (the Update answers when the workflow has
    decided it; the recording activity may take a moment longer)."""
    for _ in range(100):
        events = await EventStore(api.pool).read_stream(ev.initiative_stream(initiative))
        found = [e for e in events if e.type == "CohortStarted" and e.payload.cohort_id == cohort_id]
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"cohort {cohort_id} of {initiative} never recorded its start")


async def decide(api, initiative: str, site: str, body: dict, role=SA, district=None):
    return await api.http.post(f"/sites/{initiative}/{site}/decision", json=body,
                               headers=await api.headers(role, district))


async def test_the_state_decides_stage_moves_through_the_api(world, api):
    initiative = await world.launch("decide")
    await waiting_for_full(world, api, initiative, DISTRICT_A)

    # The queue: the site, with the checks the rules weighed; the district sees its own queue only.
    queue = (await api.http.get("/decisions", params={"initiative": initiative},
                                headers=await api.headers(SA))).json()
    (item,) = queue["decisions"]
    assert (item["site_id"], item["to_stage"]) == (DISTRICT_A, "Full Implementation")
    assert {c["name"] for c in item["checks"]} == {"capacity assessment", "fidelity assessments taken"}
    assert all(c["met"] for c in item["checks"])
    own = await api.http.get("/decisions", params={"initiative": initiative},
                             headers=await api.headers(DC, DISTRICT_A))
    assert [d["site_id"] for d in own.json()["decisions"]] == [DISTRICT_A]
    other = await api.http.get("/decisions", params={"district": DISTRICT_A},
                               headers=await api.headers(DC, DISTRICT_B))
    assert other.status_code == 404
    theirs = await api.http.get("/decisions", params={"initiative": initiative},
                                headers=await api.headers(DC, DISTRICT_B))
    assert theirs.json()["decisions"] == []

    # A coordinator cannot decide for the state; a decline needs a reason of substance.
    refused = await decide(api, initiative, DISTRICT_A, {"decision": "approve"}, DC, DISTRICT_A)
    assert refused.status_code == 403
    for reason, words in (("", "give a reason"), ("too short", "at least 10 characters")):
        answer = await decide(api, initiative, DISTRICT_A, {"decision": "decline", "reason": reason})
        assert answer.status_code == 422 and words in answer.json()["error"], answer.text
        assert answer.json()["fields"][0]["path"] == "reason"
    assert await stream(api, initiative, DISTRICT_A, "StageMoveDeclined") == []

    # Declined: the site stays, the queue empties, new evidence is asked for.
    answer = await decide(api, initiative, DISTRICT_A, {"decision": "decline", "reason": DECLINE})
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"]["recorded"][0] == "StageMoveDeclined"
    assert answer.json()["to_stage"] == "Full Implementation"
    (declined,) = await stream(api, initiative, DISTRICT_A, "StageMoveDeclined")
    assert declined.actor.role == SA and declined.payload.reason == DECLINE
    person = declined.actor.id
    site = await world.site(initiative, DISTRICT_A, lambda s: s["pending_move"] is None, "declined")
    assert site["stage"] == "Initial Implementation"
    assert any("declined the move to Full Implementation" in t["title"] for t in site["open_tasks"])
    assert (await api.http.get("/decisions", params={"initiative": initiative},
                               headers=await api.headers(SA))).json()["decisions"] == []
    nothing = await decide(api, initiative, DISTRICT_A, {"decision": "approve"})
    assert nothing.status_code == 422 and "no stage move waiting" in nothing.json()["error"]

    # New evidence asks again; this time the state approves, with a note.
    headers = await api.headers(DC, DISTRICT_A)
    assert (await world.submit(initiative, DISTRICT_A, fidelity(15), headers)).status_code == 200
    await world.site(initiative, DISTRICT_A, lambda s: s["pending_move"] == "Full Implementation",
                     "asked again")
    answer = await decide(api, initiative, DISTRICT_A, {"decision": "approve", "reason": APPROVE})
    assert answer.status_code == 200, answer.text
    await world.site(initiative, DISTRICT_A, lambda s: s["stage"] == "Full Implementation", "Full")

    # Another site: its gate failed (capacity at 50%), and the state overrides with a rationale.
    other_site = DISTRICT_B
    theirs_headers = await api.headers(DC, DISTRICT_B)
    await world.to_initial_implementation(initiative, other_site, theirs_headers)
    assert (await world.submit(initiative, other_site, capacity(1), theirs_headers)).status_code == 200
    await world.site(initiative, other_site, lambda s: any(
        c["name"] == "capacity assessment" and not c["met"] and not c["pending"]
        for c in s["last_checks"]), "a failed capacity check")
    answer = await decide(api, initiative, other_site, {"decision": "override", "reason": OVERRIDE})
    assert answer.status_code == 200 and answer.json()["to_stage"] == "Full Implementation", answer.text
    (overridden,) = await stream(api, initiative, other_site, "StageMoveOverridden")
    assert overridden.payload.reason == OVERRIDE
    assert [c.name for c in overridden.payload.unmet] == ["capacity assessment",
                                                          "fidelity assessments taken"]

    # ...then sends it back a stage, with the reason.
    answer = await decide(api, initiative, other_site, {"decision": "send_back", "reason": SEND_BACK})
    assert answer.status_code == 200 and answer.json()["to_stage"] == "Initial Implementation"
    (regressed,) = await stream(api, initiative, other_site, "SiteRegressed")
    assert (regressed.actor.id, regressed.payload.reason) == (person, SEND_BACK)

    # The audit tells each decision with the person and the text.
    audit = (await api.http.get(f"/audit/sites/{initiative}/{DISTRICT_A}",
                                headers=await api.headers(SA))).json()
    told = [e["summary"] for e in audit["events"]]
    assert any(s.startswith("Declined Initial Implementation → Full Implementation: " + DECLINE)
               for s in told), told
    assert f"Approved Initial Implementation → Full Implementation: {APPROVE}" in told
    moves = [m["trigger"] for m in audit["moves"] if m["to_stage"] == "Full Implementation"]
    assert f"approved by {person} (state_admin)" in moves[0] and APPROVE in moves[0]


def gated_plan(initiative: str) -> dict:
    """The small example in two cohorts, the second opened by a state decision (as JSON)."""
    data = plan_for(initiative).model_dump(mode="json")
    members = [s["id"] for s in data["sites"]]
    data["cohorts"] = [
        {"id": "c1", "name": "Cohort 1", "members": members[:2], "gate": {"kind": "immediate"}},
        {"id": "c2", "name": "Cohort 2", "members": members[2:], "gate": {"kind": "decision"}}]
    return data


async def test_a_decision_gated_cohort_is_opened_with_a_reason(world, api, temporal_client):
    initiative = f"gated-{uuid.uuid4().hex[:6]}"
    data = gated_plan(initiative)
    members = [s["id"] for s in data["sites"]]
    launched = await api.http.post("/initiatives", headers=await api.headers(SA), json={
        "plan_yaml": json.dumps(data), "source": "gated.json"})
    assert launched.status_code == 201, launched.text
    assert launched.json()["worker_polling"] is True
    await world.site(initiative, members[0], lambda s: s["stage"] is not None, "enrolled")

    board = (await api.http.get(f"/initiatives/{initiative}/cohorts",
                                headers=await api.headers(SA))).json()
    first, second = board["cohorts"]
    assert (first["started"], second["started"], second["waiting_for_decision"]) == (True, False, True)
    assert second["earlier_cohort"] == "c1" and sum(second["earlier_by_stage"].values()) == 2
    assert second["earlier_share"]["Exploration"] == 100.0
    assert (await api.http.get(f"/initiatives/{initiative}/cohorts",
                               headers=await api.headers(DC, DISTRICT_A))).status_code == 403

    path = f"/initiatives/{initiative}/cohorts/c2/open"
    short = await api.http.post(path, json={"reason": "go"}, headers=await api.headers(SA))
    assert short.status_code == 422 and short.json()["fields"][0]["path"] == "body.reason"
    wrong = await api.http.post(f"/initiatives/{initiative}/cohorts/c1/open", headers=await api.headers(SA),
                                json={"reason": "Cohort one is ready to start"})
    assert wrong.status_code == 422 and "needs no decision" in wrong.json()["error"]
    reason = "Cohort 1 is installed; funding for cohort 2 confirmed"
    opened = await api.http.post(path, json={"reason": reason}, headers=await api.headers(SA))
    assert opened.status_code == 200, opened.text
    assert opened.json()["started"] is True
    person = opened.json()["opened_by"]
    assert person.startswith("state_admin")
    started = await cohort_started(api, initiative, "c2")
    assert (started.payload.decided_by, started.payload.reason) == (person, reason)
    board = (await api.http.get(f"/initiatives/{initiative}/cohorts",
                                headers=await api.headers(SA))).json()
    assert board["cohorts"][1]["opened_by"] == person and board["cohorts"][1]["reason"] == reason

    # Controls with a reason: a site paused and resumed, the initiative cancelled.
    site_path = f"/sites/{initiative}/{members[0]}/control"
    paused = await api.http.post(site_path, headers=await api.headers(SA),
                                 json={"action": "pause", "reason": "Superintendent change"})
    assert paused.status_code == 200 and paused.json()["status"] == "paused", paused.text
    coordinator = await api.http.post(site_path, headers=await api.headers(DC, DISTRICT_A),
                                      json={"action": "resume", "reason": "we are ready"})
    assert coordinator.status_code == 403
    resumed = await api.http.post(site_path, headers=await api.headers(SA),
                                  json={"action": "resume", "reason": "New superintendent on board"})
    assert resumed.json()["status"] == "active"
    cancelled = await api.http.post(f"/initiatives/{initiative}/control",
                                    headers=await api.headers(SA),
                                    json={"action": "cancel", "reason": "Funding withdrawn"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    paused_events = await stream(api, initiative, members[0], "RolloutPaused")
    assert [(e.actor.id, e.payload.reason) for e in paused_events] == [
        (person, "Superintendent change")]
    handle = temporal_client.get_workflow_handle(site_workflow_id(initiative, members[0]))
    assert (await handle.query(SiteRolloutWorkflow.status)).status == "cancelled"


async def test_a_plan_is_checked_and_launched_as_the_cli_does(api, tmp_path):
    text = (ROOT / "examples" / "small.yaml").read_text()
    broken = text.replace("readiness_mean_min: 3.0", "readiness_mean_min: 9").replace(
        "capacity: 30", "capacity: -5", 1)
    file = tmp_path / "broken.yaml"
    file.write_text(broken)
    cli = CliRunner().invoke(cli_app, ["plan", "validate", str(file), "--json"])
    assert cli.exit_code == 2
    checked = await api.http.post("/plans/check", headers=await api.headers(SA),
                                  json={"plan_yaml": broken, "source": str(file)})
    printed_json = json.loads(cli.output)
    assert checked.status_code == 200 and checked.json()["valid"] is False
    assert checked.json()["errors"] == printed_json["errors"] and len(printed_json["errors"]) >= 2
    assert checked.json()["problem"].startswith(f"{file}: {len(printed_json['errors'])} problems")
    refused = await api.http.post("/initiatives", headers=await api.headers(SA),
                                  json={"plan_yaml": broken, "source": str(file)})
    assert refused.status_code == 422
    lines = [f["message"] for f in refused.json()["fields"]]
    printed = CliRunner().invoke(cli_app, ["plan", "validate", str(file)], env={"COLUMNS": "300"})
    assert lines and all(line in printed.output for line in lines), (lines, printed.output)
    assert (await api.http.post("/plans/check", json={"plan_yaml": text},
                                headers=await api.headers(DC, DISTRICT_A))).status_code == 403

    # Against the instrument definitions too, as the CLI checks it: an instrument nobody defines.
    unknown = text.replace("pd:\n  trainers:",
                           "instruments:\n  fidelity: {id: tfx, version: '2.1'}\npd:\n  trainers:", 1)
    file.write_text(unknown)
    cli = CliRunner().invoke(cli_app, ["plan", "validate", str(file), "--json"])
    checked = await api.http.post("/plans/check", headers=await api.headers(SA),
                                  json={"plan_yaml": unknown, "source": str(file)})
    assert cli.exit_code == 2 and checked.json()["errors"] == json.loads(cli.output)["errors"]
    assert [e["path"] for e in checked.json()["errors"]] == ["instruments.fidelity.id"]

    initiative = f"launched-{uuid.uuid4().hex[:6]}"
    body = {"plan_yaml": text, "initiative_id": initiative}
    first = await api.http.post("/initiatives", json=body, headers=await api.headers(SA))
    assert first.status_code == 201 and first.json()["initiative_id"] == initiative, first.text
    again = await api.http.post("/initiatives", json=body, headers=await api.headers(SA))
    assert again.status_code == 409 and "already been started" in again.json()["error"]
    bad_id = await api.http.post("/initiatives", headers=await api.headers(SA),
                                 json={**body, "initiative_id": "Not A Slug"})
    assert bad_id.status_code == 422 and bad_id.json()["fields"][0]["path"] == "body.initiative_id"
