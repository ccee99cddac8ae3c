"""The work of one site's rollout, as the site workflow carries it out: enrolment, each stage's
entry work, deadlines, reviews and coaching cycles, the exit evaluation, and recording it all.

The rules are the domain's (`domain.stage_work`, `domain.coaching`, `domain.deadlines`,
`domain.rollout`); this mixin only runs them at the right moment, calls the activities and
starts the coaching-cycle children. `SiteRolloutWorkflow` runs it from its main loop.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.coaching import CycleStarter, StartCycleInput
    from activities.pd_scheduling import PdScheduleInput, PdScheduler
    from activities.readiness import ReadinessInput, check_readiness
    from activities.reviews import ReviewInput, hold_review
    from domain import commands as cmd
    from domain.actors import SYSTEM
    from domain.calendar import SchoolCalendar, add_school_days
    from domain.coaching import cycle_commands, step_dues, step_task_id
    from domain.deadlines import DeadlinePolicy, deadline_commands, next_deadline
    from domain.errors import DomainError
    from domain.events import Event
    from domain.rollout import decide, fold
    from domain.site_state import SiteRolloutState, TaskState
    from domain.stage_work import (
        coaching_every_weeks, entry_tasks, pd_commands, review_every_weeks, state_help_commands,
    )
    from workflows import search_attributes as sa
    from workflows.activity_options import PURE, SCHEDULE
    from workflows.coaching_cycle import CoachingCycleWorkflow
    from workflows.ids import coaching_workflow_id
    from workflows.models import (
        CoachingCycleInput, CoachingStep, CompleteTaskRequest, ControlRequest, CycleOutcome,
        SiteProgress, SiteRolloutInput,
    )
    from workflows.recording import record
    from workflows.relay import closed_target

FINISHED = ("completed", "cancelled")
RUN_EVENT_BUDGET = 2_000
"""A run this long continues as new even inside a stage that lasts years (the server's own
suggestion comes much later), so every run replays quickly."""
PAUSE_SHIFT_PATCH = "shift-due-dates-by-the-paused-school-days"
"""workflow.patched id: resuming a paused site moves its open tasks' due dates by the school days
it was paused (TaskDueDatesShifted), so its deadlines count only the days it was active. Runs
recorded before the patch resumed without a shift and replay so."""
FINISHED_CYCLE_PATCH = "record-a-cycle-that-finished-before-its-withdrawal"
"""workflow.patched id: a coaching cycle that finished by itself in the moment its site changed
stage is recorded as completed; before, the withdrawal signal sent to the closed cycle failed the
site's workflow (ExternalWorkflowExecutionNotFound). Runs recorded before the patch replay as
they ran."""


class SiteWork:
    """State and steps of one site's rollout run (mixed into SiteRolloutWorkflow)."""

    def _start_work(self, input: SiteRolloutInput) -> None:
        self._ctx = input.context
        self._set = input.context.settings
        self._site = input.context.site
        self._state = input.state or SiteRolloutState()
        self._routine = input.routine.model_copy(deep=True)
        self._dirty = False
        self._needs_evaluation = False
        self._controls: list[ControlRequest] = []
        self._setups_this_run = 0
        self._reported: tuple = ()
        self._cycle: workflow.ChildWorkflowHandle | None = None
        """The open cycle's handle, in runs before the main-loop patch (which await its result)."""
        self._cycle_outcomes: list[CycleOutcome] = []
        """Outcomes cycles have signalled, for the main loop to record."""

    def _carried(self) -> SiteRolloutInput:
        return SiteRolloutInput(context=self._ctx, state=self._state, routine=self._routine)

    # --- one pass of the loop -----------------------------------------------------------------

    async def _step_stage_work(self) -> None:
        """Everything due now for an active site: a new stage's setup, finished cycles,
        deadlines, routines and, when new evidence came in, the exit evaluation."""
        if self._state.status != "active":
            return
        if self._routine.setup_entry != self._state.stage_entries:
            if self._setups_this_run and self._state.stage_entries > self._routine.setup_entry:
                if self._by_main_loop():
                    await self._record_finished_cycles()  # outcomes that came in meanwhile
                await self._withdraw_cycle()
                return  # a new stage: set it up in a fresh run (continue-as-new)
            await self._set_up_stage()
        await self._record_finished_cycles()
        await self._track_deadlines()
        await self._run_routines()
        if self._needs_evaluation:
            await self._evaluate()

    def _should_continue_as_new(self) -> bool:
        stage_boundary = (self._setups_this_run > 0
                          and self._routine.setup_entry != self._state.stage_entries)
        info = workflow.info()
        too_long = info.is_continue_as_new_suggested() or \
            info.get_current_history_length() > RUN_EVENT_BUDGET
        if not self._by_main_loop():
            # These runs await their cycle's result, so they never close with a cycle open.
            return stage_boundary or (too_long and self._cycle is None)
        return stage_boundary or too_long

    async def _sleep_until_next_due(self) -> None:
        wake = self._next_due()
        timeout = None if wake is None else self._set.clock.real_delay_until(workflow.now(), wake)
        try:
            await workflow.wait_condition(lambda: self._dirty or self._cycle_finished(), timeout=timeout)
        except asyncio.TimeoutError:
            pass
        self._dirty = False

    # --- stage work -------------------------------------------------------------------------

    async def _enroll(self) -> None:
        site, settings = self._site, self._set
        await self._execute([cmd.EnrollSite(
            at=self._now(), actor=SYSTEM, initiative_id=settings.initiative_id, site_id=site.site_id,
            site_name=site.site_name, kind=site.kind, region=site.region, district=site.district,
            cohort_id=site.cohort_id, practitioners=site.practitioners, criteria=settings.criteria,
            approval_required_for=settings.approval_required_for)])

    async def _set_up_stage(self) -> None:
        """Entering a stage: assign its tasks, schedule its PD, start its routines."""
        self._setups_this_run += 1
        self._routine.setup_entry = self._state.stage_entries
        await self._withdraw_cycle()
        today, stage = self._today(), self._state.stage
        due = add_school_days(self._set.calendar, today, self._set.cadences.assessment_school_days)
        await self._execute(entry_tasks(self._state, at=self._now(), due=due))
        await self._schedule_pd(today)
        cad = self._set.cadences
        review_weeks = review_every_weeks(stage, cad.review_initial_weeks, cad.review_default_weeks)
        self._routine.next_review_on = today + timedelta(weeks=review_weeks) if review_weeks else None
        self._routine.next_cycle_on = today if self._coaching_weeks() else None
        self._needs_evaluation = True

    async def _schedule_pd(self, today: date) -> None:
        sessions = self._set.pd_sessions.get(self._state.stage, [])
        if not sessions:
            return
        settings = self._set
        request = PdScheduleInput(
            initiative_id=settings.initiative_id, site_id=self._site.site_id,
            key_prefix=self._state.key(), sessions=sessions, trainers=settings.trainers,
            calendar=settings.calendar, earliest=add_school_days(settings.calendar, today, 5),
            deadline=add_school_days(settings.calendar, today,
                                     settings.cadences.assessment_school_days * 3))
        try:
            planned = await workflow.execute_activity_method(
                PdScheduler.schedule_pd, request, **SCHEDULE)
        except ActivityError as failure:
            await self._execute(state_help_commands(
                self._state, f"PD could not be scheduled: {_cause(failure)}", at=self._now(),
                today=self._today()))
            return
        await self._execute(pd_commands(planned, at=self._now()))

    async def _evaluate(self) -> None:
        """Ask the rules whether the stage's exit holds: advance, hold (ask again) or regress."""
        self._needs_evaluation = False
        if self._state.status != "active" or self._state.pending_move is not None:
            return
        if self._routine.setup_entry != self._state.stage_entries:
            return  # a stage just entered is judged once its tasks are out
        cad = self._set.cadences
        request = ReadinessInput(
            state=self._state, at=self._now(), escalate_after_failures=cad.escalate_after_failures,
            follow_up_due=add_school_days(self._set.calendar, self._today(), cad.remeasure_school_days))
        events = await workflow.execute_activity(check_readiness, request, **PURE)
        await self._fold_and_record(events)

    # --- deadlines and routines -------------------------------------------------------------

    async def _track_deadlines(self) -> None:
        await self._execute(deadline_commands(
            self._state, today=self._today(), at=self._now(), calendar=self._set.calendar,
            policy=self._deadline_policy()))

    async def _run_routines(self) -> None:
        today, r = self._today(), self._routine
        if self._coaching_weeks() and r.active_cycle is None and \
                r.next_cycle_on is not None and today >= r.next_cycle_on:
            await self._start_coaching_cycle(today)
        review_weeks = self._review_weeks()
        if review_weeks and r.next_review_on is not None and today >= r.next_review_on:
            r.reviews_held += 1
            request = ReviewInput(
                state=self._state, at=self._now(), review_id=self._state.key("review", r.reviews_held),
                number=r.reviews_held,
                action_due=add_school_days(self._set.calendar, today, self._set.cadences.task_school_days))
            await self._fold_and_record(await workflow.execute_activity(hold_review, request, **PURE))
            r.next_review_on = today + timedelta(weeks=review_weeks)

    async def _start_coaching_cycle(self, today: date) -> None:
        """Start the next cycle: a workflow of its own (activities/coaching.py), which outlives
        this run and signals its outcome to the site's workflow id. Runs before the main-loop
        patch started it as a child and awaited its result."""
        r = self._routine
        r.cycles_started += 1
        cycle_id = self._state.key("coaching", r.cycles_started)
        dues = step_dues(self._set.calendar, today)
        commands = cycle_commands(cycle_id=cycle_id, number=r.cycles_started,
                                  coach_id=self._site.coach_id, dues=dues, at=self._now())
        await self._execute(commands)
        steps = [CoachingStep(step=step, task_id=step_task_id(cycle_id, step), due=due)
                 for step, due in dues.items()]
        cycle = CoachingCycleInput(cycle_id=cycle_id, coach_id=self._site.coach_id, steps=steps)
        if self._by_main_loop():
            await workflow.execute_activity_method(
                CycleStarter.start_coaching_cycle,
                StartCycleInput(workflow_id=coaching_workflow_id(cycle_id),
                                cycle=cycle.model_copy(update={"report_to": workflow.info().workflow_id})),
                **SCHEDULE)
        else:
            self._cycle = await workflow.start_child_workflow(
                CoachingCycleWorkflow.run, cycle, id=coaching_workflow_id(cycle_id),
                parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL)
        r.active_cycle = cycle_id
        r.next_cycle_on = today + timedelta(weeks=self._coaching_weeks())

    def _cycle_finished(self) -> bool:
        if not self._by_main_loop():
            return self._cycle is not None and self._cycle.done()
        return bool(self._cycle_outcomes)

    async def _record_finished_cycles(self) -> None:
        if not self._by_main_loop():
            if self._cycle_finished():
                outcome: CycleOutcome = self._cycle.result()
                self._cycle, self._routine.active_cycle = None, None
                await self._record_cycle(outcome)
            return
        while self._cycle_outcomes:
            outcome = self._cycle_outcomes.pop(0)
            if outcome.cycle_id == self._routine.active_cycle:
                self._routine.active_cycle = None
            await self._record_cycle(outcome)

    async def _record_cycle(self, outcome: CycleOutcome) -> None:
        """A cycle that ran to its debrief is recorded, whenever its outcome arrives, unless the
        rollout has ended (its record ends with it); a withdrawn one needs no record."""
        if outcome.withdrawn or self._state.coaching_cycles.get(outcome.cycle_id, True) or \
                self._state.status != "active":
            return
        await self._execute([cmd.CompleteCoachingCycle(
            at=self._now(), actor=SYSTEM, cycle_id=outcome.cycle_id,
            practitioners_observed=outcome.practitioners_observed,
            feedback_given=outcome.feedback_given)])

    async def _withdraw_cycle(self) -> None:
        """A stage change or the end of the rollout closes a cycle still under way. The cycle
        answers with its outcome: withdrawn, or, had it just finished by itself, complete (and
        then recorded as such)."""
        if not self._by_main_loop():
            return await self._withdraw_child_cycle()
        cycle_id, self._routine.active_cycle = self._routine.active_cycle, None
        if cycle_id is None:
            return
        try:
            await workflow.get_external_workflow_handle(coaching_workflow_id(cycle_id)).signal(
                CoachingCycleWorkflow.withdraw)
        except ApplicationError as failure:
            if not closed_target(failure):
                raise  # a cycle already closed has sent its outcome

    async def _withdraw_child_cycle(self) -> None:
        """As runs before the main-loop patch withdrew the child cycle they await; a cycle that
        finished by itself first is recorded as completed instead of being sent a withdrawal it
        can no longer receive."""
        if self._cycle is None:
            return
        if self._cycle.done() and workflow.patched(FINISHED_CYCLE_PATCH):
            await self._record_finished_cycles()
            return
        try:
            await self._cycle.signal(CoachingCycleWorkflow.withdraw)
        except ApplicationError as failure:
            if not (closed_target(failure) and workflow.patched(FINISHED_CYCLE_PATCH)):
                raise
            await self._cycle  # it finished while the withdrawal was on its way
            await self._record_finished_cycles()
            return
        await self._cycle
        self._cycle, self._routine.active_cycle = None, None

    async def _record_session_held(self, task: TaskState, request: CompleteTaskRequest) -> None:
        """A completed 'host the PD session' task: the session was held, with its attendance."""
        if task.kind == "hold_pd_session" and task.ref:
            await self._execute([cmd.RecordPdSessionHeld(
                at=self._now(), actor=request.actor, session_id=task.ref,
                attendees=int(request.outcome.get("attendees", 0)))])

    def _control_command(self, request: ControlRequest):
        """Pause, resume or cancel; a resume with the calendar, to shift the due dates."""
        calendar = None
        if request.action == "resume" and workflow.patched(PAUSE_SHIFT_PATCH):
            calendar = self._set.calendar
        return control_command(request, self._now(), calendar)

    async def _apply_controls(self) -> None:
        while self._controls:
            request = self._controls.pop(0)
            try:
                await self._execute([self._control_command(request)])
            except DomainError as refused:
                workflow.logger.info("initiative control not applied: %s", refused.message)

    # --- recording --------------------------------------------------------------------------

    async def _execute(self, commands: list) -> list[Event]:
        """Decide each command in turn, fold the events, and record them in one batch; the
        events that stand (see `_record`)."""
        before, events = self._state, []
        for command in commands:
            new = decide(self._state, command)
            self._state = fold(new, self._state)
            events += new
        return await self._record(events, before)

    async def _fold_and_record(self, events: list[Event]) -> None:
        before, self._state = self._state, fold(events, self._state)
        await self._record(events, before)

    async def _record(self, events: list[Event], before: SiteRolloutState) -> list[Event]:
        """Record the batch. If this task ran before (a reset re-ran it) and stored different
        events at these numbers then, those stand: the state is folded from them instead."""
        if not events:
            return events
        events, adopted = await record(events, before, fold)
        if adopted is not None:
            self._state = adopted
        if any(e.type in ("AssessmentSubmitted", "PdSessionScheduled", "StageMoveApproved")
               for e in events):
            self._needs_evaluation = True
        if self._set.search_attributes and any(e.type == "StageEntered" for e in events):
            workflow.upsert_search_attributes([sa.ROLLOUT_STAGE.value_set(self._state.stage.value)])
        await self._report_progress()
        return events

    async def _report_progress(self) -> None:
        progress = self._progress()
        key = (progress.stage, progress.status)
        if key == self._reported:
            return
        self._reported = key
        await workflow.get_external_workflow_handle(self._set.initiative_workflow_id).signal(
            "site_progress", progress)

    # --- time -------------------------------------------------------------------------------

    def _now(self):
        return self._set.clock.school_now(workflow.now())

    def _today(self) -> date:
        return self._set.clock.today(workflow.now())

    def _coaching_weeks(self) -> int | None:
        cad = self._set.cadences
        return coaching_every_weeks(self._state.stage, cad.coaching_initial_weeks, cad.coaching_full_weeks)

    def _review_weeks(self) -> int | None:
        cad = self._set.cadences
        return review_every_weeks(self._state.stage, cad.review_initial_weeks, cad.review_default_weeks)

    def _deadline_policy(self) -> DeadlinePolicy:
        cad = self._set.cadences
        return DeadlinePolicy(remind_school_days_before=cad.reminder_school_days_before,
                              escalate_after_school_days=cad.escalate_after_school_days)

    def _next_due(self) -> date | None:
        """The next school day something is due: a reminder, a deadline, a cycle or a review."""
        if self._state.status != "active":
            return None
        today, r = self._today(), self._routine
        candidates = [next_deadline(self._state, today=today, calendar=self._set.calendar,
                                    policy=self._deadline_policy())]
        if self._coaching_weeks() and r.active_cycle is None:
            candidates.append(r.next_cycle_on)
        if self._review_weeks():
            candidates.append(r.next_review_on)
        future = [d for d in candidates if d is not None and d > today]
        return min(future, default=None)

    def _progress(self) -> SiteProgress:
        return SiteProgress(site_id=self._site.site_id, cohort_id=self._site.cohort_id,
                            region=self._site.region, stage=self._state.stage,
                            status=self._state.status, version=self._state.version)


def control_command(request: ControlRequest, at, calendar: SchoolCalendar | None = None):
    if request.action == "pause":
        return cmd.PauseRollout(at=at, actor=request.actor, reason=request.reason or "paused")
    if request.action == "resume":
        return cmd.ResumeRollout(at=at, actor=request.actor, note=request.reason, calendar=calendar)
    return cmd.CancelRollout(at=at, actor=request.actor, reason=request.reason or "cancelled")


def _cause(failure: ActivityError) -> str:
    cause = failure.cause
    return getattr(cause, "message", None) or str(cause or failure)
