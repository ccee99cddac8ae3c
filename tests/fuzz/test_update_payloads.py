"""Fuzzed Updates against real SiteRolloutWorkflow and InitiativeWorkflow executions (dev server,
real worker, real PostgreSQL): each is refused with a sentence or accepted; afterwards no workflow
task has failed, the workflows are running (or finished by an accepted cancel), and the event
store holds exactly the events the accepted Updates recorded (folded, the stream gives the state
the workflow reports), nothing from a refused one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from domain.actors import Actor, Role
from domain.events import initiative_stream
from domain.rollout import fold
from domain.site_state import SiteRolloutState
from domain.stages import Stage
from store.eventstore import EventStore
from tests.domain.builders import adoption, readiness
from tests.fuzz.counts import count, planned
from tests.fuzz.live import (
    FirstFailure, OnLoop, assert_valid_verb, by_people, failed_workflow_tasks, poll, query_patiently,
    renamed, run_on, send, start,
)
from tests.fuzz.update_strategies import initiative_payloads, site_payloads
from tests.workflows.harness import STATE_ADMIN, one_cohort_plan
from worker import running_worker
from workflows.ids import site_workflow_id
from workflows.initiative import InitiativeWorkflow
from workflows.models import InitiativeStatus, SubmitAssessmentRequest, UpdateOutcome
from workflows.site_rollout import SiteRolloutWorkflow

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres, pytest.mark.temporal]

SITE_CASES = planned("site updates")
INITIATIVE_CASES = planned("initiative updates")
FUZZ = dict(deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                   HealthCheck.data_too_large])
"""No shrinking: the workflows under test keep their state between examples, so a shrunk example
would not replay the failure; the failing example is reported as generated."""
REFUSALS: Counter = Counter()
CONTROL_EVENTS = {"pause": "RolloutPaused", "resume": "RolloutResumed", "cancel": "RolloutCancelled"}


@pytest_asyncio.fixture(scope="module")
async def queue(client, database):
    name = f"fuzz-{uuid.uuid4().hex[:8]}"
    async with running_worker(client, database[0], task_queue=name):
        yield name


@dataclass
class SiteUnderFuzz:
    initiative_id: str
    site_id: str
    handle: object
    expected: Counter = field(default_factory=Counter)
    accepted: int = 0

    @property
    def stream_id(self) -> str:
        return f"site-rollout/{self.initiative_id}/{self.site_id}"


async def site_in_installation(client, queue: str) -> SiteUnderFuzz:
    """A one-site rollout answered through Exploration, so PD sessions are out to report."""
    plan = renamed(one_cohort_plan(sites=1), "fuzz-site")
    await start(client, plan, queue)
    site = plan.sites[0].id
    handle = client.get_workflow_handle(site_workflow_id(plan.initiative.id, site))
    status = lambda: handle.query(SiteRolloutWorkflow.status)  # noqa: E731
    await poll(status, lambda s: len(s.open_tasks) >= 2, "Exploration tasks out")
    me = Actor(id="ann.coord", role=Role.DISTRICT_COORDINATOR, district=site)
    under_fuzz = SiteUnderFuzz(plan.initiative.id, site, handle)
    for number, answers in enumerate((readiness(4), adoption())):
        done = await handle.execute_update(SiteRolloutWorkflow.submit_assessment, SubmitAssessmentRequest(
            actor=me, site_id=site, assessment_id=f"setup-{number}", assessment=answers))
        under_fuzz.expected.update((me.id, kind) for kind in done.recorded)
    await poll(status, lambda s: s.stage is Stage.INSTALLATION and any(
        t.kind == "hold_pd_session" for t in s.open_tasks), "Installation with PD sessions")
    return under_fuzz


def site_property(on_loop: OnLoop, sites: list[SiteUnderFuzz], client, queue: str, outcomes: Counter):
    first = FirstFailure()

    @settings(max_examples=SITE_CASES, **FUZZ)
    @given(data=st.data())
    def one_update(data) -> None:
        drew: list[bool] = []
        if first.failure is None:
            first.run(lambda: check_one(data, drew))
        if not drew:  # skipped after a failure, or failed before its draw: draw as the others do,
            # so hypothesis sees no flakiness and the failure is reported as itself
            data.draw(site_payloads(sites[-1].site_id, []), label="skipped")

    def check_one(data, drew: list[bool]) -> None:
        target = sites[-1]
        live = on_loop(query_patiently(target.handle, SiteRolloutWorkflow.status))
        kinds = {t.task_id: t.kind for t in live.open_tasks}
        reporting = [t for t in sorted(kinds) if kinds[t] in ("hold_pd_session", "coaching_step")]
        name, payload = data.draw(site_payloads(target.site_id, reporting * 3 + sorted(kinds)),
                                  label="update")  # tasks that report a figure, more often
        drew.append(True)
        outcome, result = on_loop(send(target.handle, name, payload, UpdateOutcome))
        outcomes[outcome] += 1
        if outcome == "refused":
            REFUSALS[result[:50]] += 1
        if outcome == "accepted":
            assert_valid_verb(name, payload)
            target.accepted += 1
            actor = payload["actor"]["id"]
            target.expected.update((actor, kind) for kind in result.recorded)
            if name == "complete_task" and result.recorded and \
                    kinds.get(payload["task_id"]) == "hold_pd_session":
                target.expected[(actor, "PdSessionHeld")] += 1
        if outcome == "finished" or (outcome == "accepted" and result.status == "cancelled"):
            sites.append(on_loop(site_in_installation(client, queue)))

    one_update()
    first.raise_it()


async def test_fuzzed_site_updates_are_refused_or_recorded_exactly(client, database, queue):
    pool, _ = database
    sites, outcomes = [await site_in_installation(client, queue)], Counter()
    await asyncio.to_thread(site_property, run_on(asyncio.get_running_loop()), sites, client, queue,
                            outcomes)
    count("update payloads", sum(outcomes.values()))
    print(f"site updates: {dict(outcomes)} over {len(sites)} rollouts")
    print("\n".join(f"{n:4} {m}" for m, n in REFUSALS.most_common(25)))
    assert outcomes["accepted"] >= 5 and outcomes["refused"] >= SITE_CASES // 2, outcomes
    store = EventStore(pool)
    for site in sites:
        status = await poll(lambda: site.handle.query(SiteRolloutWorkflow.status),
                            lambda s: True, "status") if await _running(site.handle) else None
        events = await _settled(store, site)
        assert [e.sequence for e in events] == list(range(1, len(events) + 1))
        assert by_people(events) == site.expected, \
            "people's events in the store are exactly those the accepted Updates recorded"
        state = fold(events, SiteRolloutState())
        if status is not None:
            assert (state.version, state.stage, state.status) == \
                   (status.version, status.stage, status.status)
        else:
            assert state.status == "cancelled"
    assert await failed_workflow_tasks(client, queue) == {}


async def _running(handle) -> bool:
    return (await handle.describe()).status.name == "RUNNING"


async def _settled(store: EventStore, site: SiteUnderFuzz):
    """The stream once the workflow has recorded everything it decided (evaluations run after an
    Update returns)."""
    async def versions():
        if not await _running(site.handle):
            return None
        return (await site.handle.query(SiteRolloutWorkflow.status)).version, \
            await store.stream_version(site.stream_id)
    if await _running(site.handle):
        await poll(versions, lambda v: v is None or v[0] == v[1], "store caught up with the workflow")
    return await store.read_stream(site.stream_id)


def decision_plan():
    """Two districts: the first starts at once, the second when the state admin approves."""
    plan = one_cohort_plan(sites=2)
    data = plan.model_dump(mode="json")
    first, second = (s["id"] for s in data["sites"])
    data["cohorts"] = [
        {"id": "c1", "name": "Cohort 1", "members": [first], "gate": {"kind": "immediate"}},
        {"id": "c2", "name": "Cohort 2", "members": [second], "gate": {"kind": "decision"}}]
    return renamed(type(plan).model_validate(data), "fuzz-init")


@dataclass
class InitiativeUnderFuzz:
    plan: object
    handle: object
    expected: Counter = field(default_factory=Counter)
    site_controls: Counter = field(default_factory=Counter)
    status: str = "active"


def initiative_property(on_loop: OnLoop, initiatives: list, client, queue: str, outcomes: Counter):
    first = FirstFailure()

    @settings(max_examples=INITIATIVE_CASES, **FUZZ)
    @given(data=st.data())
    def one_update(data) -> None:
        drew: list[bool] = []
        if first.failure is None:
            first.run(lambda: check_one(data, drew))
        if not drew:  # as for the sites: the same draws whatever happened
            plan = initiatives[-1].plan
            data.draw(initiative_payloads([c.id for c in plan.cohorts], [s.id for s in plan.sites]),
                      label="skipped")

    def check_one(data, drew: list[bool]) -> None:
        target = initiatives[-1]
        plan = target.plan
        name, payload = data.draw(initiative_payloads(
            [c.id for c in plan.cohorts], [s.id for s in plan.sites]), label="update")
        drew.append(True)
        outcome, result = on_loop(send(target.handle, name, payload, InitiativeStatus))
        outcomes[outcome] += 1
        if outcome == "accepted" and name == "control":
            assert_valid_verb(name, payload)
            kind = (payload["actor"]["id"], CONTROL_EVENTS[payload["action"]])
            if payload.get("site_id") is not None:
                target.site_controls[(payload["site_id"], *kind)] += 1
            elif result.status != target.status:  # pausing a paused initiative records nothing
                target.expected[kind] += 1
        if outcome == "accepted":
            target.status = result.status
        if outcome == "finished" or (outcome == "accepted" and result.status == "cancelled"):
            initiatives.append(on_loop(_new_initiative(client, queue)))

    one_update()
    first.raise_it()


async def _new_initiative(client, queue: str) -> InitiativeUnderFuzz:
    plan = decision_plan()
    handle = await start(client, plan, queue)
    await poll(lambda: handle.query(InitiativeWorkflow.status), lambda s: s.cohorts[0].started,
               "first cohort started")
    return InitiativeUnderFuzz(plan, handle)


async def test_fuzzed_initiative_updates_are_refused_or_recorded_exactly(client, database, queue):
    pool, _ = database
    initiatives, outcomes = [await _new_initiative(client, queue)], Counter()
    await asyncio.to_thread(initiative_property, run_on(asyncio.get_running_loop()), initiatives,
                            client, queue, outcomes)
    count("update payloads", sum(outcomes.values()))
    print(f"initiative updates: {dict(outcomes)} over {len(initiatives)} initiatives")
    assert outcomes["accepted"] >= 5 and outcomes["refused"] >= INITIATIVE_CASES // 2, outcomes
    store = EventStore(pool)
    for target in initiatives:
        initiative_id = target.plan.initiative.id
        events = await store.read_stream(initiative_stream(initiative_id))
        assert by_people(events) == target.expected + Counter({
            (STATE_ADMIN.id, "InitiativeLaunched"): 1})
        whole = Counter({kind: n for kind, n in target.expected.items()})
        for site in target.plan.sites:
            stream = await store.read_stream(f"site-rollout/{initiative_id}/{site.id}")
            # (a cancel also withdraws the open tasks, and a resume moves their due dates, in the
            # name of whoever cancelled or resumed)
            allowed = whole + Counter({(actor, kind): n for (s, actor, kind), n
                                       in target.site_controls.items() if s == site.id})
            relayed = Counter({k: n for k, n in by_people(stream).items()
                               if k[1] not in ("TaskWithdrawn", "TaskDueDatesShifted")})
            assert not relayed - allowed, \
                f"{site.id}: events by people that no accepted control asked for"
        if target.status != "cancelled":
            assert (await target.handle.describe()).status.name == "RUNNING"
    assert await failed_workflow_tasks(client, queue) == {}
