"""Simulated districts, schools and coaches for the demo and the tests.

They answer exactly as people do: they read a site's open tasks from the event store, as the site
page does, and send the same Updates the API sends (submit an assessment, complete a task,
approve a move). Each site follows a profile, so a
run shows the paths that matter: steady progress, readiness that fails, fidelity that collapses.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Callable

from datetime import datetime, timezone
from typing import Awaitable

import asyncpg
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from domain.actors import Actor, Role
from domain.instrument_definitions import Catalogue, InstrumentDefinition, respond
from domain.instruments import SCALES, AdoptionDecision, Consensus, Instrument
from domain.stages import Stage
from domain.plan import Plan
from instrument_library import built_in
from rollouts.views import SiteView, initiative_board, site_view
from store import district_queries
from workflows.ids import site_workflow_id
from workflows.models import (
    CompleteTaskRequest, InitiativeStatus, OpenTask, StageDecisionRequest, SubmitAssessmentRequest,
)
from workflows.site_rollout import SiteRolloutWorkflow

ACT_DAYS_BEFORE_DUE = 6
STATE_ADMIN = Actor(id="state.implementation.team", role=Role.STATE_ADMIN)
TEAM = Consensus(facilitator="regional facilitator",
                 participants={"district leader": 2, "principal": 2, "coach": 1})
"""A district team as the simulated sites convene it: five voting members, a facilitator."""
FIRST_DISAGREEMENT = ("Split at first (three said partly, two fully); agreed after the "
                      "facilitator read the item's anchors aloud.")


class Profile(StrEnum):
    STEADY = "steady"
    READINESS_FAILS = "readiness-fails"
    FIDELITY_COLLAPSES = "fidelity-collapses"
    CAPACITY_STALLS = "capacity-stalls"


@dataclass
class SiteMemory:
    """What a simulated team remembers: how many times it answered each instrument per stage."""

    answers: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    collapsed: bool = False


class SimulatedDistricts:
    def __init__(self, client: Client, pool: asyncpg.Pool, plan: Plan,
                 profiles: dict[str, Profile] | None = None,
                 act_days_before_due: int = ACT_DAYS_BEFORE_DUE,
                 now: Callable[[], Awaitable[datetime]] | None = None,
                 instruments: Catalogue | None = None) -> None:
        """`act_days_before_due`: how close to its due date a team gets to a task (a large number:
        as soon as it is asked, which the benchmarks use so that no deadline passes for want of
        an answer however loaded the machine). `now`: the real time the teams live in (the
        time-skipping test server's, in tests; this moment's otherwise). `instruments`: the
        definitions the teams answer (the product's by default), as the plan chooses them."""
        self._act_days_before_due = act_days_before_due
        self._client = client
        self._pool = pool
        self._now = now or _wall_clock
        self._plan = plan
        self._instruments = instruments or built_in()
        self._initiative_id = plan.initiative.id
        self._profiles = profiles or {}
        self._districts = {s.id: s.district or s.id for s in plan.sites}
        """Who answers for each site: its district (a district answers for itself)."""
        self._memory: dict[str, SiteMemory] = defaultdict(SiteMemory)
        self.updates_sent = 0

    @property
    def client(self) -> Client:
        return self._client

    @property
    def initiative_id(self) -> str:
        return self._initiative_id

    async def board(self) -> InitiativeStatus:
        """The initiative's board, as the state's page shows it (from the read models)."""
        return await initiative_board(self._pool, self._plan)

    async def answer_site(self, site_id: str, *, approve_moves: bool = True,
                          holding: Callable[[OpenTask], bool] | None = None) -> int:
        """Answer every open task of one site (but those `holding` says a team sits on), and as
        the state approve a move it asks for; return how many answers were sent."""
        handle = self._client.get_workflow_handle(site_workflow_id(self._initiative_id, site_id))
        row = await district_queries.site(self._pool, self._initiative_id, site_id, None)
        if row is None:
            return 0  # not enrolled yet
        status = await site_view(self._pool, row, now=await self._now())
        if status.status != "active":
            return 0
        sent = 0
        if status.pending_move is not None and approve_moves:
            sent += await self._send(handle.execute_update(
                SiteRolloutWorkflow.decide_stage_move,
                StageDecisionRequest(actor=STATE_ADMIN, site_id=site_id, decision="approve",
                                     to_stage=status.pending_move, reason="Evidence reviewed")))
        for task in status.open_tasks:
            request = None if holding and holding(task) else self._answer(site_id, status, task)
            if request is None:
                continue
            update = (SiteRolloutWorkflow.submit_assessment if isinstance(request, SubmitAssessmentRequest)
                      else SiteRolloutWorkflow.complete_task)
            sent += await self._send(handle.execute_update(update, request))
        return sent

    async def _send(self, update) -> int:
        try:
            await update
        except (WorkflowUpdateFailedError, RPCError):
            return 0  # the site moved on meanwhile (task withdrawn, rollout finished): fine
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            return 0  # a busy server: the next round sees whether it landed, and answers again
        self.updates_sent += 1
        return 1

    def _answer(self, site_id: str, status: SiteView, task: OpenTask):
        if task.assignee_role == "state" or not self._time_to_act(status.school_today, task):
            return None
        coordinator = Actor(id=f"coordinator.{self._districts.get(site_id, site_id)}",
                            role=Role.DISTRICT_COORDINATOR,
                            district=self._districts.get(site_id, site_id))
        coach = Actor(id=f"coach.{site_id}", role=Role.COACH)
        if task.kind == "submit_assessment" and task.instrument:
            memory = self._memory[site_id]
            count = memory.answers[(status.stage, task.instrument)] = \
                memory.answers[(status.stage, task.instrument)] + 1
            answers = self._assessment(site_id, status.stage, task.instrument, count)
            return SubmitAssessmentRequest(
                actor=coach if task.instrument == "fidelity" else coordinator, site_id=site_id,
                assessment_id=f"{task.task_id}:answer", assessment=answers, task_id=task.task_id)
        outcome = {"hold_pd_session": {"attendees": 24},
                   "coaching_step": {"practitioners_observed": 5}}.get(task.kind, {"done": True})
        actor = coach if task.kind == "coaching_step" else coordinator
        return CompleteTaskRequest(actor=actor, site_id=site_id, task_id=task.task_id, outcome=outcome)

    def _time_to_act(self, today, task: OpenTask) -> bool:
        """Teams act close to the deadline, and a PD session is reported once it has taken place
        (at once where the school day is not known: an initiative launched before its clock was
        recorded)."""
        if today is None:
            return True
        days_left = (task.due - today).days
        return days_left <= 0 if task.kind == "hold_pd_session" else days_left <= self._act_days_before_due

    def _assessment(self, site_id: str, stage: Stage, instrument: str, count: int):
        """The team's answers to the instrument the plan chose for this evidence."""
        profile = self._profiles.get(site_id, Profile.STEADY)
        if instrument == "adoption_decision":
            return AdoptionDecision(decision="adopt", signed_by="superintendent",
                                    implementation_team_members=4)
        use = self._plan.instruments.for_evidence(Instrument(instrument))
        if use is None:
            raise ValueError(f"no simulated answer for {instrument}")
        definition = self._instruments.require(use.id, use.version)
        match instrument:
            case "fit_readiness":
                return _all_at(definition, 1 if profile is Profile.READINESS_FAILS else 3)
            case "installation_checklist":
                return _all_at(definition, -1)
            case "capacity":
                stalls = profile is Profile.CAPACITY_STALLS
                answered = _all_at(definition, 1 if stage is Stage.INSTALLATION or stalls else -1,
                                   first_note=count == 1)
                return answered
            case "fidelity":
                return _fidelity(definition, self._meeting(site_id, stage, count), of=20)
            case "stage_analysis":
                return _all_at(definition, -1)
        raise ValueError(f"no simulated answer for {instrument}")

    def _meeting(self, site_id: str, stage: Stage, count: int) -> int:
        """Practitioners (of 20) meeting fidelity: growing, or collapsing once then recovering."""
        memory = self._memory[site_id]
        if self._profiles.get(site_id) is Profile.FIDELITY_COLLAPSES and not memory.collapsed \
                and stage is Stage.INITIAL_IMPLEMENTATION:
            if count >= 2:
                memory.collapsed = True
                memory.answers.clear()
            return 2
        return min(20, (8 if stage is Stage.INITIAL_IMPLEMENTATION else 11) + 2 * count)


def _all_at(definition: InstrumentDefinition, level: int, *, first_note: bool = False):
    """Every required item at one level of the scale (by index: -1 the top), by consensus."""
    chosen = SCALES[definition.scale][level].value
    items = [i for g in definition.groups if g.required for i in definition.items_of(g.id)]
    notes = {items[0].id: FIRST_DISAGREEMENT} if first_note and items else {}
    team = TEAM if definition.completed_by.by == "team-consensus" else None
    return respond(definition, {i.id: chosen for i in items}, consensus=team, resolutions=notes)


def _fidelity(definition: InstrumentDefinition, meeting: int, of: int):
    """`meeting` of `of` practitioners at fidelity, or, for a team-scored inventory, the
    headline part (the TFI's Tier I) scored to the same share of its points."""
    if definition.scoring.rule == "share":
        return respond(definition, practitioners=(of, meeting))
    part = definition.scoring.headline
    items = definition.items_of(part) if part != "total" else \
        [i for g in definition.groups if g.required for i in definition.items_of(g.id)]
    levels = SCALES[definition.scale]
    top = levels[-1].points
    points = round(meeting / of * top * len(items))
    answered = {}
    for item in items:  # fill the items in order, each as high as the points left allow
        give = min(top, points)
        answered[item.id] = next(level.value for level in levels if level.points == give)
        points -= give
    team = TEAM if definition.completed_by.by == "team-consensus" else None
    return respond(definition, answered, consensus=team)


async def _wall_clock() -> datetime:
    return datetime.now(timezone.utc)
