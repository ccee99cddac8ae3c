"""One site's rollout of one initiative: Exploration → Installation → Initial → Full Implementation.

The workflow is the application service around the domain aggregate: it turns time, people's
Updates and activity results into commands, lets `domain.rollout.decide` rule on them, folds the
events into its state and records them in the event store. Each run handles one stage entry and
then continues as new, so a five-year rollout keeps short histories.

One coroutine, the main loop, does all the work: it alone runs activities, timers, child
workflows and signals. An Update handler only waits: its validator has checked the request
against the rules; the handler hands the request to the main loop's inbox and waits until the
main loop has carried it out and left the outcome. A worker that picks the workflow up cold
therefore replays one sequence of commands, whatever order the SDK hands it the Update and the
results of the work in flight (temporalio/sdk-python#1591 is what the other order cost).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import commands as cmd
    from domain.calendar import add_school_days
    from domain.errors import DomainError
    from domain.rollout import decide
    from domain.site_state import TaskState
    from domain.standing import explain
    from workflows.coaching_cycle import OUTCOME_SIGNAL, CoachingCycleWorkflow
    from workflows.ids import coaching_workflow_id
    from workflows.models import (
        CompleteTaskRequest, ControlRequest, CycleOutcome, SiteProgress, SiteRolloutInput, SiteStatus,
        StageDecisionRequest, StepDone, SubmitAssessmentRequest, TaskManagementRequest,
        UpdateOutcome,
    )
    from workflows.relay import closed_target
    from workflows.site_rollout_locked import LockedShape
    from workflows.site_work import FINISHED, SiteWork, control_command
    from workflows.update_checks import (
        check_figures, check_storable, domain_refusal, refusal, refusing_invalid, require_request,
    )

MAIN_LOOP_PATCH = "updates-carried-out-by-the-main-loop"
"""workflow.patched id: Update handlers hand their request to the main loop and wait for its
outcome; the main loop is the only coroutine that runs activities, timers, children and signals,
and a run continues as new right after its handlers have finished, with no work in between.
Runs recorded before the patch replay through `LockedShape`."""


CLOSING_PAUSE = timedelta(milliseconds=100)


@dataclass
class _Pending:
    """An accepted Update, waiting in the inbox for the main loop."""

    ticket: int
    request: (SubmitAssessmentRequest | CompleteTaskRequest | StageDecisionRequest | ControlRequest
              | TaskManagementRequest)


@workflow.defn
class SiteRolloutWorkflow(SiteWork, LockedShape):
    @workflow.init
    def __init__(self, input: SiteRolloutInput) -> None:
        self._start_work(input)
        self._lock = asyncio.Lock()
        self._inbox: list[_Pending] = []
        self._outcomes: dict[int, UpdateOutcome | ApplicationError] = {}
        self._tickets = 0

    def _by_main_loop(self) -> bool:
        """Whether this run hands its Updates to the main loop (the SDK keeps the first answer
        for the rest of the run)."""
        return workflow.patched(MAIN_LOOP_PATCH)

    # --- the main loop ----------------------------------------------------------------------

    @workflow.run
    async def run(self, input: SiteRolloutInput) -> SiteProgress:
        if not self._by_main_loop():
            return await self._run_locked()
        if self._state.status == "not_enrolled":
            await self._enroll()
        while True:
            await self._apply_controls()
            await self._carry_out_updates()
            if self._state.status in FINISHED:
                await self._withdraw_cycle()
                if self._handlers_done():
                    return self._progress()
                await self._let_handlers_return()
                continue
            await self._step_stage_work()
            if self._should_continue_as_new():
                if self._handlers_done():
                    workflow.continue_as_new(self._carried())
                await self._let_handlers_return()
                continue
            await self._sleep_until_next_due()

    def _handlers_done(self) -> bool:
        """No Update waits in the inbox and every handler has returned its outcome: the run may
        close. Checked, never awaited: the run closes in a task where no handler ran."""
        return not self._inbox and workflow.all_handlers_finished()

    async def _let_handlers_return(self) -> None:
        """Before the run closes, a pause in which the handlers given their outcome return (in
        this task) and the run closes in the next one; an Update arriving meanwhile ends the pause.
        (An Update completed in the task that closes the run also keeps the time-skipping test
        server's clock locked.)"""
        try:
            await workflow.wait_condition(lambda: bool(self._inbox), timeout=CLOSING_PAUSE)
        except asyncio.TimeoutError:
            pass

    async def _carry_out_updates(self) -> None:
        while self._inbox:
            pending = self._inbox.pop(0)
            self._outcomes[pending.ticket] = await self._carry_out(pending.request)

    async def _carry_out(self, request) -> UpdateOutcome | ApplicationError:
        match request:
            case SubmitAssessmentRequest():
                return await self._decide_and_evaluate(self._submission(request))
            case CompleteTaskRequest():
                return await self._complete(request)
            case StageDecisionRequest():
                return await self._decide_and_evaluate(self._stage_decision(request))
            case ControlRequest():
                return await self._decide_and_evaluate(self._control_command(request))
            case TaskManagementRequest():
                return await self._decide_and_evaluate(self._task_management(request))
        raise TypeError(f"not a site update: {request!r}")

    async def _complete(self, request: CompleteTaskRequest) -> UpdateOutcome | ApplicationError:
        """Complete the task, then what it stands for: a PD session held, a coaching step done."""
        task = self._state.tasks.get(request.task_id)
        outcome = await self._decide_and_evaluate(self._completion(request))
        if isinstance(outcome, ApplicationError) or outcome.already_done or task is None:
            return outcome
        await self._record_session_held(task, request)
        if task.kind == "coaching_step" and task.ref:
            await self._tell_cycle(task, request)
        return outcome

    async def _tell_cycle(self, task: TaskState, request: CompleteTaskRequest) -> None:
        try:
            await workflow.get_external_workflow_handle(coaching_workflow_id(task.ref)).signal(
                CoachingCycleWorkflow.step_done, StepDone(task_id=task.task_id, outcome=request.outcome))
        except ApplicationError as failure:
            if not closed_target(failure):
                raise
            workflow.logger.info("coaching cycle %s had closed; step %s is recorded", task.ref,
                                 task.task_id)

    async def _decide_and_evaluate(self, command) -> UpdateOutcome | ApplicationError:
        try:
            events = await self._execute([command])
        except DomainError as refused:
            return domain_refusal(refused)
        if self._needs_evaluation:
            await self._evaluate()
        return UpdateOutcome(
            already_done=not events, recorded=[e.type for e in events], stage=self._state.stage,
            status=self._state.status,
            explanation="Already recorded; nothing changed." if not events else explain(self._state))

    async def _hand_over(self, request) -> UpdateOutcome:
        """Leave the request in the main loop's inbox; return the outcome it leaves."""
        self._tickets += 1
        ticket = self._tickets
        self._inbox.append(_Pending(ticket, request))
        self._dirty = True
        await workflow.wait_condition(lambda: ticket in self._outcomes)
        outcome = self._outcomes.pop(ticket)
        if isinstance(outcome, ApplicationError):
            raise outcome
        return outcome

    # --- people: updates with validators ----------------------------------------------------

    @workflow.update
    async def submit_assessment(self, request: SubmitAssessmentRequest) -> UpdateOutcome:
        if self._by_main_loop():
            return await self._hand_over(request)
        return await self._handle(self._submission(request))

    @submit_assessment.validator
    def _validate_submission(self, request: SubmitAssessmentRequest) -> None:
        require_request(request, "submit_assessment")
        check_storable(request)
        self._check_site(request.site_id)
        with refusing_invalid():
            self._dry_run(self._submission(request))

    @workflow.update
    async def complete_task(self, request: CompleteTaskRequest) -> UpdateOutcome:
        if self._by_main_loop():
            return await self._hand_over(request)
        return await self._complete_task_locked(request)

    @complete_task.validator
    def _validate_completion(self, request: CompleteTaskRequest) -> None:
        require_request(request, "complete_task")
        check_storable(request)
        self._check_site(request.site_id)
        with refusing_invalid():
            self._dry_run(self._completion(request))
        task = self._state.tasks.get(request.task_id)
        if task is not None and task.status == "open":
            check_figures(task.kind, request.outcome)

    @workflow.update
    async def decide_stage_move(self, request: StageDecisionRequest) -> UpdateOutcome:
        if self._by_main_loop():
            return await self._hand_over(request)
        return await self._handle(self._stage_decision(request))

    @decide_stage_move.validator
    def _validate_stage_decision(self, request: StageDecisionRequest) -> None:
        require_request(request, "decide_stage_move")
        check_storable(request)
        self._check_site(request.site_id)
        with refusing_invalid():
            self._dry_run(self._stage_decision(request))

    @workflow.update
    async def control(self, request: ControlRequest) -> UpdateOutcome:
        if self._by_main_loop():
            return await self._hand_over(request)
        return await self._handle(control_command(request, self._now()))

    @control.validator
    def _validate_control(self, request: ControlRequest) -> None:
        require_request(request, "control")
        check_storable(request)
        if request.site_id is not None:
            self._check_site(request.site_id)
        with refusing_invalid():
            self._dry_run(control_command(request, self._now()))

    @workflow.update
    async def manage_task(self, request: TaskManagementRequest) -> UpdateOutcome:
        if self._by_main_loop():
            return await self._hand_over(request)
        return await self._handle(self._task_management(request))

    @manage_task.validator
    def _validate_task_management(self, request: TaskManagementRequest) -> None:
        require_request(request, "manage_task")
        check_storable(request)
        self._check_site(request.site_id)
        with refusing_invalid():
            self._dry_run(self._task_management(request))

    @workflow.signal
    def initiative_control(self, request: ControlRequest) -> None:
        """From the initiative: pause, resume or cancel every site (already authorized there)."""
        self._controls.append(request)
        self._dirty = True

    @workflow.signal(name=OUTCOME_SIGNAL)
    def cycle_finished(self, outcome: CycleOutcome) -> None:
        """From a coaching cycle this site started (in this run or an earlier one)."""
        self._cycle_outcomes.append(outcome)
        self._dirty = True

    @workflow.query
    def status(self) -> SiteStatus:
        """For operators in the Temporal UI; people read the site from the event store."""
        state = self._state
        if not state.site_id:  # before enrolment
            state = state.model_copy(update=dict(site_id=self._site.site_id, site_name=self._site.site_name,
                                                 region=self._site.region, cohort_id=self._site.cohort_id))
        return SiteStatus.of(state, self._today())

    # --- requests as domain commands --------------------------------------------------------

    def _dry_run(self, command) -> None:
        try:
            decide(self._state, command)
        except DomainError as refused:
            raise domain_refusal(refused) from None

    def _check_site(self, site_id: str) -> None:
        if site_id != self._site.site_id:
            raise refusal(f"This is the rollout of site '{self._site.site_id}', not '{site_id}'.",
                          "site_id", site_id)

    def _submission(self, r: SubmitAssessmentRequest) -> cmd.SubmitAssessment:
        return cmd.SubmitAssessment(at=self._now(), actor=r.actor, assessment_id=r.assessment_id,
                                    assessment=r.assessment, task_id=r.task_id)

    def _completion(self, r: CompleteTaskRequest) -> cmd.CompleteTask:
        return cmd.CompleteTask(at=self._now(), actor=r.actor, task_id=r.task_id, outcome=r.outcome)

    def _stage_decision(self, r: StageDecisionRequest):
        common = dict(at=self._now(), actor=r.actor, to_stage=r.to_stage)
        if r.decision == "approve":
            return cmd.ApproveStageMove(**common, note=r.reason)
        if r.decision == "override":
            return cmd.OverrideStageMove(**common, reason=r.reason)
        if r.decision == "decline":  # a value added later: no history recorded before carries it
            return cmd.DeclineStageMove(**common, reason=r.reason, follow_up_due=add_school_days(
                self._set.calendar, self._today(), self._set.cadences.remeasure_school_days))
        return cmd.RegressSite(**common, reason=r.reason)

    def _task_management(self, r: TaskManagementRequest):
        common = dict(at=self._now(), actor=r.actor, task_id=r.task_id, reason=r.reason)
        if r.action == "reassign":
            return cmd.ReassignTask(**common, assignee=r.assignee)
        if r.action == "extend":
            return cmd.ExtendTaskDue(**common, due=r.due, calendar=self._set.calendar)
        return cmd.WaiveTask(**common)
