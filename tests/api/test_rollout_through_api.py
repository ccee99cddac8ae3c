"""A district moves its site through the API against a real running rollout: assessments and a
completed task reach the workflow and the event store; bad input is refused with the field path
before anything is recorded; another district's coordinator is refused and nothing is written;
every changing request is logged with its actor."""

from __future__ import annotations

import pytest

from domain import events as ev
from domain.actors import Role
from domain.stages import Stage
from store.eventstore import EventStore
from tests.api.conftest import DISTRICT_A, DISTRICT_B
from tests.domain.builders import capacity, fidelity
from workflows.ids import site_workflow_id
from workflows.models import ControlRequest
from workflows.site_rollout import SiteRolloutWorkflow
from tests.workflows.harness import STATE_ADMIN

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]


async def recorded(api, initiative_id: str, site_id: str, event_type: str | None = None,
                   actor_id: str | None = None) -> list[ev.Event]:
    """The site's events of a type and/or by an actor (the workflow keeps recording its own)."""
    stream = await EventStore(api.pool).read_stream(ev.site_stream(initiative_id, site_id))
    return [e for e in stream if event_type in (None, e.type) and actor_id in (None, e.actor.id)]


async def test_a_district_moves_its_site_through_the_api(world, api, temporal_client):
    initiative = await world.launch("api-flow")
    mine = await api.headers(Role.DISTRICT_COORDINATOR, DISTRICT_A)
    theirs = await api.headers(Role.DISTRICT_COORDINATOR, DISTRICT_B)
    site = DISTRICT_A
    await world.in_stage(initiative, site, Stage.EXPLORATION, ("fit_readiness", "adoption_decision"))

    # A body that does not validate: 422 naming the field path, nothing recorded.
    bad = capacity(1).model_dump(mode="json")
    bad["items"][0]["score"] = 7
    answer = await api.http.post(f"/sites/{initiative}/{site}/assessments",
                                 json={"assessment": bad}, headers=mine)
    assert answer.status_code == 422, answer.text
    paths = [f["path"] for f in answer.json()["fields"]]
    assert "body.assessment.capacity.items.0.score" in paths, paths
    assert "body.assessment.capacity.items.0.score" in answer.json()["error"]

    # Valid input the rollout's rules refuse (fidelity is not taken in Exploration): 422 with the
    # workflow's one sentence, nothing recorded.
    answer = await world.submit(initiative, site, fidelity(12), mine)
    assert answer.status_code == 422, answer.text
    assert "fidelity" in answer.json()["error"] and "Exploration" in answer.json()["error"]
    assert answer.json()["fields"][0]["path"] == "assessment.instrument"

    # Another district's coordinator: the site is "not found", and nothing is written.
    answer = await world.submit(initiative, site, capacity(2), theirs)
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"] == f"There is no site '{site}' in initiative '{initiative}'."
    assert await recorded(api, initiative, site, "AssessmentSubmitted") == []
    assert await recorded(api, initiative, site, actor_id=f"district_coordinator.{DISTRICT_B}") == []

    # The district answers Exploration and Installation: the site reaches Initial Implementation.
    status = await world.to_initial_implementation(initiative, site, mine)
    assert status["stage"] == Stage.INITIAL_IMPLEMENTATION.value
    stream = await EventStore(api.pool).read_stream(ev.site_stream(initiative, site))
    submitted = [e for e in stream if e.type == "AssessmentSubmitted"]
    assert [e.payload.score.instrument.value for e in submitted] == [
        "fit_readiness", "adoption_decision", "installation_checklist", "capacity"]
    assert {e.actor.id for e in submitted} == {f"district_coordinator.{DISTRICT_A}"}
    assert {e.actor.district for e in submitted} == {DISTRICT_A}

    # Completing a PD session task: done in the workflow, the event store and the inbox.
    pd_task = next(t for t in status["open_tasks"] if t["kind"] == "hold_pd_session")
    before = (await recorded(api, initiative, site))[-1].sequence
    refused = await api.http.post(f"/tasks/{pd_task['task_id']}/complete",
                                  json={"outcome": {"attendees": 24}}, headers=theirs)
    assert refused.status_code == 404, refused.text
    assert refused.json()["error"] == f"There is no task '{pd_task['task_id']}'."
    assert await recorded(api, initiative, site, actor_id=f"district_coordinator.{DISTRICT_B}") == []
    assert not [e for e in await recorded(api, initiative, site, "TaskCompleted")
                if e.payload.task_id == pd_task["task_id"]]

    answer = await api.http.post(f"/tasks/{pd_task['task_id']}/complete",
                                 json={"outcome": {"attendees": 24}}, headers=mine)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["outcome"]["recorded"] == ["TaskCompleted"] and not result["outcome"]["already_done"]

    live = await temporal_client.get_workflow_handle(site_workflow_id(initiative, site)).query(
        SiteRolloutWorkflow.status)
    assert pd_task["task_id"] not in {t.task_id for t in live.open_tasks}
    after = await EventStore(api.pool).read_stream(ev.site_stream(initiative, site), after=before)
    completed = [e for e in after if e.type == "TaskCompleted"]
    assert [(e.payload.task_id, e.payload.outcome, e.actor.id) for e in completed] == [
        (pd_task["task_id"], {"attendees": 24}, f"district_coordinator.{DISTRICT_A}")]
    assert [e.payload.attendees for e in after if e.type == "PdSessionHeld"] == [24]
    task = (await api.http.get(f"/tasks/{pd_task['task_id']}", headers=mine)).json()
    assert (task["status"], task["completed_by"]) == ("completed", f"district_coordinator.{DISTRICT_A}")

    # Completing it again records nothing new, and says so: 409.
    again = await api.http.post(f"/tasks/{pd_task['task_id']}/complete",
                                json={"outcome": {"attendees": 24}}, headers=mine)
    assert again.status_code == 409, again.text
    assert again.json()["error"] == f"Task '{pd_task['task_id']}' is already completed; nothing was recorded."

    # An assessment task is answered by its assessment, not by marking it complete.
    capacity_task = next(t for t in status["open_tasks"] if t["instrument"] == "capacity")
    refused = await api.http.post(f"/tasks/{capacity_task['task_id']}/complete", json={},
                                  headers=mine)
    assert refused.status_code == 422 and "submitting the capacity" in refused.json()["error"]

    # A coach may not submit a capacity assessment (a rule about who acts: 403).
    coach = await api.headers(Role.COACH, DISTRICT_A)
    refused = await world.submit(initiative, site, capacity(2), coach)
    assert refused.status_code == 403, refused.text
    assert "coach" in refused.json()["error"]

    # Every changing request is logged with its actor, refused ones included; never a token.
    logged = await api.pool.fetch(
        "SELECT actor_id, role, district, method, path, status FROM api_requests "
        "WHERE path LIKE $1 OR path = ANY($2::text[]) ORDER BY id",
        f"/sites/{initiative}/%", [f"/tasks/{pd_task['task_id']}/complete",
                                   f"/tasks/{capacity_task['task_id']}/complete"])
    seen = {(r["actor_id"], r["method"], r["path"], r["status"]) for r in logged}
    assert (f"district_coordinator.{DISTRICT_B}", "POST", f"/sites/{initiative}/{site}/assessments",
            404) in seen
    assert (f"district_coordinator.{DISTRICT_B}", "POST", f"/tasks/{pd_task['task_id']}/complete",
            404) in seen
    assert (f"district_coordinator.{DISTRICT_A}", "POST", f"/tasks/{pd_task['task_id']}/complete",
            200) in seen
    assert sum(1 for r in logged if r["status"] == 200) >= 5
    every_text = " ".join(str(v) for r in await api.pool.fetch("SELECT * FROM api_requests")
                          for v in r.values())
    assert "rollout_" not in every_text and "Bearer" not in every_text


async def test_a_finished_rollout_answers_409(world, api, temporal_client):
    initiative = await world.launch("api-done", districts=("lakeview-usd",))
    site = "lakeview-usd"
    await world.in_stage(initiative, site, Stage.EXPLORATION, ("fit_readiness",))
    handle = temporal_client.get_workflow_handle(site_workflow_id(initiative, site))
    await handle.execute_update(SiteRolloutWorkflow.control, ControlRequest(
        actor=STATE_ADMIN, action="cancel", reason="district withdrew", site_id=site))
    await handle.result()
    admin = await api.headers(Role.STATE_ADMIN)
    answer = await world.submit(initiative, site, capacity(2), admin)
    assert answer.status_code == 409, answer.text
    assert "not running" in answer.json()["error"]
    status = (await api.http.get(f"/sites/{initiative}/{site}", headers=admin)).json()
    assert (status["status"], status["source"]) == ("cancelled", "event store")
