"""The state's view of one initiative: launch, cohorts through their gates, progress, controls.

Sites report every stage or status change here by signal; the initiative keeps the board (sites
per stage per cohort and region), opens the next cohort when its gate holds, and relays
initiative-wide pause, resume and cancel through the site groups.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from datetime import datetime, time, timezone

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import initiative as agg
    from domain.actors import SYSTEM, require_state_admin
    from domain.calendar import next_school_day
    from domain.coaching import choose_coach
    from domain.cohorts import check_cohort_decision, date_gate_opens
    from domain.errors import DomainError
    from domain.events import InitiativeLaunchedPayload
    from domain.plan import Plan
    from domain.school_clock import SchoolClock
    from workflows.ids import group_workflow_id, site_workflow_id
    from workflows.models import (
        Cadences, CohortDecisionRequest, ControlRequest, GroupInput, InitiativeCarry,
        InitiativeInput, InitiativeStatus, RolloutSettings, SiteProgress, SiteRef,
    )
    from workflows.site_group import SiteGroupWorkflow
    from workflows.site_rollout import CLOSING_PAUSE, SiteRolloutWorkflow
    from workflows.site_work import control_command as site_control_command
    from workflows.recording import record
    from workflows.relay import RELAY_PATCH, closed_target
    from workflows.update_checks import (
        check_storable, domain_refusal, refusal, refusing_domain_errors, refusing_invalid,
        require_request,
    )

FINISHED = ("completed", "cancelled")
SCHOOL_DAY_GATE_PATCH = "date-gates-open-on-a-school-day"
"""workflow.patched id: a date gate opens on the first school day on or after its date (it opened
on the date itself, a Saturday or a holiday included). Runs recorded before replay as they ran."""
MAIN_LOOP_PATCH = "initiative-controls-carried-out-by-the-main-loop"
"""workflow.patched id: the control Update hands its request to the main loop, which alone
records and relays it, and a date gate that comes due wakes the main loop instead of failing the
run (an uncaught timeout of the wait failed it). Runs recorded before replay as they ran."""


@workflow.defn
class InitiativeWorkflow:
    @workflow.init
    def __init__(self, input: InitiativeInput) -> None:
        self._plan: Plan = input.plan
        self._options = input.options
        self._carry = input.carried or InitiativeCarry(
            clock=_clock_for(input), state=agg.InitiativeState())
        self._dirty = False
        self._groups: list[workflow.ChildWorkflowHandle] = []
        self._inbox: list[tuple[int, ControlRequest]] = []
        self._answered: set[int] = set()
        self._tickets = 0

    @workflow.run
    async def run(self, input: InitiativeInput) -> InitiativeStatus:
        if not workflow.patched(MAIN_LOOP_PATCH):
            return await self._run_before_main_loop(input)
        if self._carry.state.status == "not_launched":
            await self._execute(agg.LaunchInitiative(
                at=self._now(), actor=input.launched_by,
                payload=_launch_payload(self._plan, self._carry.clock)))
        while True:
            await self._carry_out_controls()
            if self._done():
                if self._handlers_done():
                    return self.status()
                await self._let_handlers_return()
                continue
            await self._start_ready_cohorts()
            if workflow.info().is_continue_as_new_suggested():
                if self._handlers_done():
                    workflow.continue_as_new(self._carried(input))
                await self._let_handlers_return()
                continue
            await self._wait_for_news()

    async def _wait_for_news(self) -> None:
        """Until a site reports, a person acts, or the next date gate opens."""
        try:
            await workflow.wait_condition(lambda: self._dirty or bool(self._inbox) or self._done(),
                                          timeout=self._until_next_date_gate())
        except asyncio.TimeoutError:
            pass  # a date gate is due: the next pass opens its cohort
        self._dirty = False

    def _handlers_done(self) -> bool:
        """No control waits in the inbox and every handler has returned: the run may close."""
        return not self._inbox and workflow.all_handlers_finished()

    async def _let_handlers_return(self) -> None:
        """A pause in which handlers return, so the run closes in a task where none ran (as the
        site rollout does, workflows/site_rollout.py)."""
        try:
            await workflow.wait_condition(lambda: bool(self._inbox), timeout=CLOSING_PAUSE)
        except asyncio.TimeoutError:
            pass

    async def _run_before_main_loop(self, input: InitiativeInput) -> InitiativeStatus:
        """The run as recorded before MAIN_LOOP_PATCH: the control handler did its own work."""
        if self._carry.state.status == "not_launched":
            await self._execute(agg.LaunchInitiative(
                at=self._now(), actor=input.launched_by, payload=_launch_payload(self._plan)))
        while not self._done():
            await self._start_ready_cohorts()
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._carried(input))
            await workflow.wait_condition(lambda: self._dirty or self._done(),
                                          timeout=self._until_next_date_gate())
            self._dirty = False
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    def _carried(self, input: InitiativeInput) -> InitiativeInput:
        return InitiativeInput(plan=self._plan, launched_by=input.launched_by,
                               options=self._options, carried=self._carry)

    # --- cohorts ----------------------------------------------------------------------------

    async def _start_ready_cohorts(self) -> None:
        """Open cohorts in plan order while their gates hold."""
        state = self._carry.state
        for index, cohort in enumerate(self._plan.cohorts):
            if cohort.id in state.cohorts_started:
                continue
            if state.status != "active":
                return
            previous = self._plan.cohorts[index - 1].id if index else None
            try:
                await self._execute(agg.StartCohort(
                    at=self._now(), actor=SYSTEM, cohort_id=cohort.id, site_count=len(cohort.members),
                    gate=cohort.gate, today=self._today(), previous_stages=self._stages_of(previous),
                    decided_by=self._carry.cohort_decisions.get(cohort.id),
                    calendar=self._school_days_gate()))
            except DomainError:
                return
            await self._start_groups(cohort)
            state = self._carry.state

    async def _start_groups(self, cohort) -> None:
        settings = self._settings()
        by_region: dict[str, list[SiteRef]] = defaultdict(list)
        for site_id in cohort.members:
            site = self._plan.site(site_id)
            by_region[site.region].append(self._site_ref(site, cohort.id))
            self._carry.sites[site_id] = SiteProgress(
                site_id=site_id, cohort_id=cohort.id, region=site.region, stage=None,
                status="starting", version=0)
        size, group_ids = self._options.group_size, []
        for region, sites in sorted(by_region.items()):
            for chunk, start in enumerate(range(0, len(sites), size)):
                group_id = group_workflow_id(settings.initiative_id, cohort.id, region, chunk)
                handle = await workflow.start_child_workflow(
                    SiteGroupWorkflow.run,
                    GroupInput(group_id=group_id, settings=settings, sites=sites[start:start + size]),
                    id=group_id, parent_close_policy=workflow.ParentClosePolicy.ABANDON)
                self._groups.append(handle)
                group_ids.append(group_id)
        self._carry.groups[cohort.id] = group_ids

    def _stages_of(self, cohort_id: str | None):
        if cohort_id is None:
            return []
        members = next(c.members for c in self._plan.cohorts if c.id == cohort_id)
        return [self._carry.sites[m].stage if m in self._carry.sites else None for m in members]

    def _school_days_gate(self):
        """The calendar date gates open by: the plan's (patched), or none (runs before)."""
        return self._plan.calendar if workflow.patched(SCHOOL_DAY_GATE_PATCH) else None

    def _until_next_date_gate(self):
        calendar = self._school_days_gate()
        upcoming = [date_gate_opens(c.gate, calendar) for c in self._plan.cohorts
                    if c.id not in self._carry.state.cohorts_started and c.gate.kind == "date"]
        if not upcoming or self._carry.state.status != "active":
            return None
        return self._carry.clock.real_delay_until(workflow.now(), min(upcoming))

    def _done(self) -> bool:
        """Every site has finished, and so has every group this run started (a run closes only
        after its children, so their results are never reported to a closed run)."""
        return self._sites_finished() and all(group.done() for group in self._groups)

    def _sites_finished(self) -> bool:
        state = self._carry.state
        all_started = len(state.cohorts_started) == len(self._plan.cohorts)
        if not (all_started or state.status == "cancelled"):
            return False
        return all(p.status in FINISHED for p in self._carry.sites.values())

    # --- people -----------------------------------------------------------------------------

    @workflow.signal
    def site_progress(self, progress: SiteProgress) -> None:
        known = self._carry.sites.get(progress.site_id)
        if known is None or progress.version >= known.version:
            self._carry.sites[progress.site_id] = progress
        self._dirty = True

    @workflow.update
    async def approve_cohort(self, request: CohortDecisionRequest) -> InitiativeStatus:
        self._carry.cohort_decisions[request.cohort_id] = request.actor.id
        self._dirty = True
        await workflow.wait_condition(
            lambda: request.cohort_id in self._carry.state.cohorts_started
            or self._carry.state.status != "active")
        return self.status()

    @approve_cohort.validator
    def _validate_cohort_decision(self, request: CohortDecisionRequest) -> None:
        require_request(request, "approve_cohort")
        check_storable(request)
        with refusing_domain_errors():
            require_state_admin(request.actor, "open a cohort")
            check_cohort_decision(self._plan.cohorts, self._carry.state.cohorts_started,
                                  request.cohort_id)

    @workflow.update
    async def control(self, request: ControlRequest) -> InitiativeStatus:
        if not workflow.patched(MAIN_LOOP_PATCH):
            await self._carry_out_control(request)
            return self.status()
        self._tickets += 1
        ticket = self._tickets
        self._inbox.append((ticket, request))
        await workflow.wait_condition(lambda: ticket in self._answered)
        self._answered.discard(ticket)
        return self.status()

    async def _carry_out_controls(self) -> None:
        while self._inbox:
            ticket, request = self._inbox.pop(0)
            await self._carry_out_control(request)
            self._answered.add(ticket)

    async def _carry_out_control(self, request: ControlRequest) -> None:
        """A site's control goes to its workflow; the initiative's is recorded and relayed to
        every group, which relays it to its sites."""
        if request.site_id is not None:
            await workflow.get_external_workflow_handle(
                site_workflow_id(self._plan.initiative.id, request.site_id)
            ).signal(SiteRolloutWorkflow.initiative_control, request)
            return
        await self._execute(self._control_command(request))
        if workflow.patched(RELAY_PATCH):
            await self._relay_to_groups(request)
        else:
            for group_ids in self._carry.groups.values():
                for group_id in group_ids:
                    await workflow.get_external_workflow_handle(group_id).signal(
                        SiteGroupWorkflow.control, request)
        self._dirty = True

    async def _relay_to_groups(self, request: ControlRequest) -> None:
        """Each group once, including one a cohort starting meanwhile adds (the groups change while
        the signals are sent); a group whose sites have all finished has closed and is skipped."""
        relayed: set[str] = set()
        while pending := [g for ids in self._carry.groups.values() for g in ids if g not in relayed]:
            for group_id in pending:
                relayed.add(group_id)
                try:
                    await workflow.get_external_workflow_handle(group_id).signal(
                        SiteGroupWorkflow.control, request)
                except ApplicationError as failure:
                    if not closed_target(failure):
                        raise

    @control.validator
    def _validate_control(self, request: ControlRequest) -> None:
        require_request(request, "control")
        check_storable(request)
        with refusing_domain_errors():
            require_state_admin(request.actor, f"{request.action} a rollout")
        with refusing_invalid():  # every site applies it too: its command must be valid there
            site_control_command(request, self._now())
        if request.site_id is not None:
            if request.site_id not in self._carry.sites:
                raise refusal(f"Site '{request.site_id}' has no rollout under way in this initiative.",
                              "site_id", request.site_id)
            if self._carry.sites[request.site_id].status in FINISHED:
                raise refusal(f"The rollout of site '{request.site_id}' is "
                              f"{self._carry.sites[request.site_id].status}; there is nothing to "
                              f"{request.action}.", "site_id", request.site_id)
            return
        try:
            agg.decide(self._carry.state, self._control_command(request))
        except DomainError as refused:
            raise refusal(refused.message, refused.field, refused.value) from None

    @workflow.query
    def status(self) -> InitiativeStatus:
        return InitiativeStatus.of(self._plan, self._carry.state, self._carry.sites)

    # --- helpers ----------------------------------------------------------------------------

    async def _execute(self, command) -> None:
        events = agg.decide(self._carry.state, command)
        if not events:
            return
        before, self._carry.state = self._carry.state, agg.fold(events, self._carry.state)
        _, adopted = await record(events, before, agg.fold)
        if adopted is not None:
            self._carry.state = adopted

    def _control_command(self, request: ControlRequest) -> agg.ControlInitiative:
        return agg.ControlInitiative(at=self._now(), actor=request.actor, action=request.action,
                                     reason=request.reason)

    def _settings(self) -> RolloutSettings:
        plan = self._plan
        return RolloutSettings(
            initiative_id=plan.initiative.id, initiative_workflow_id=workflow.info().workflow_id,
            criteria=plan.exit_criteria, approval_required_for=plan.approvals.state_approval_required_for,
            pd_sessions=plan.pd.sessions, trainers=plan.pd.trainers, cadences=_cadences(plan),
            calendar=plan.calendar, clock=self._carry.clock,
            search_attributes=self._options.search_attributes)

    def _site_ref(self, site, cohort_id: str) -> SiteRef:
        return SiteRef(site_id=site.id, site_name=site.name, kind=site.kind, region=site.region,
                       district=site.district, cohort_id=cohort_id,
                       practitioners=site.practitioners,
                       coach_id=choose_coach(site.id, site.region, self._plan.pd.trainers))

    def _now(self) -> datetime:
        return self._carry.clock.school_now(workflow.now())

    def _today(self):
        return self._carry.clock.today(workflow.now())


def _clock_for(input: InitiativeInput) -> SchoolClock:
    first_day = next_school_day(input.plan.calendar, input.plan.calendar.years[0].start)
    return SchoolClock(origin_real=workflow.now(),
                       origin_school=datetime.combine(first_day, time(8, 0), tzinfo=timezone.utc),
                       speedup=input.options.speedup)


def _cadences(plan: Plan) -> Cadences:
    return Cadences(
        coaching_initial_weeks=plan.coaching.initial_every_weeks,
        coaching_full_weeks=plan.coaching.full_every_weeks,
        review_initial_weeks=plan.reviews.initial_every_weeks,
        review_default_weeks=plan.reviews.default_every_weeks,
        assessment_school_days=plan.deadlines.assessment_school_days,
        task_school_days=plan.deadlines.task_school_days,
        reminder_school_days_before=plan.deadlines.reminder_school_days_before,
        escalate_after_school_days=plan.deadlines.escalate_after_school_days,
        remeasure_school_days=plan.deadlines.remeasure_school_days)


def _launch_payload(plan: Plan, clock: SchoolClock | None = None) -> InitiativeLaunchedPayload:
    return InitiativeLaunchedPayload(
        initiative_id=plan.initiative.id, name=plan.initiative.name,
        practice=plan.initiative.practice.name, ssip_phase=plan.initiative.ssip.phase,
        simr=plan.initiative.ssip.simr, site_count=len(plan.sites),
        cohort_ids=[c.id for c in plan.cohorts],
        plan_digest=hashlib.sha256(plan.model_dump_json().encode()).hexdigest(), school_clock=clock,
        min_cell_size=plan.privacy.min_cell_size)

