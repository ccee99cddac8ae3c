"""The site rollout as it ran before its Updates were handed to the main loop.

Runs recorded before the patch `MAIN_LOOP_PATCH` (workflows/site_rollout.py) replay through this
shape: Update handlers took a lock shared with the main loop and carried out their own work
(recording, evaluating, signalling the coaching cycle), and the run waited for them, slept a second
and waited again before it continued as new. That shape met temporalio/sdk-python#1591 (a
nondeterministic history written by a worker with a cold cache), so no new run takes it. Remove
this module once no run recorded before the patch can still be open (first `deprecate_patch`).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.errors import DomainError
    from domain.standing import explain
    from workflows.coaching_cycle import CoachingCycleWorkflow
    from workflows.ids import coaching_workflow_id
    from workflows.models import CompleteTaskRequest, SiteProgress, StepDone, UpdateOutcome
    from workflows.site_work import FINISHED
    from workflows.update_checks import domain_refusal


class LockedShape:
    """Mixed into SiteRolloutWorkflow beside SiteWork; used only by runs without the patch."""

    async def _run_locked(self) -> SiteProgress:
        async with self._lock:
            if self._state.status == "not_enrolled":
                await self._enroll()
        while self._state.status not in FINISHED:
            async with self._lock:
                await self._apply_controls()
                await self._step_stage_work()
            if self._should_continue_as_new():
                await self._let_handlers_finish()
                if self._state.status not in FINISHED:
                    workflow.continue_as_new(self._carried())
            if self._state.status not in FINISHED:
                await self._sleep_until_next_due()
        async with self._lock:
            await self._withdraw_cycle()
        await self._let_handlers_finish()
        return self._progress()

    async def _let_handlers_finish(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        await workflow.sleep(timedelta(seconds=1))
        await workflow.wait_condition(workflow.all_handlers_finished)

    async def _handle(self, command) -> UpdateOutcome:
        async with self._lock:
            return await self._handle_locked(command)

    async def _complete_task_locked(self, request: CompleteTaskRequest) -> UpdateOutcome:
        async with self._lock:
            task = self._state.tasks.get(request.task_id)
            outcome = await self._handle_locked(self._completion(request))
            if outcome.already_done or task is None:
                return outcome
            await self._record_session_held(task, request)
            if task.kind == "coaching_step" and task.ref:
                await workflow.get_external_workflow_handle(coaching_workflow_id(task.ref)).signal(
                    CoachingCycleWorkflow.step_done, StepDone(task_id=task.task_id, outcome=request.outcome))
            return outcome

    async def _handle_locked(self, command) -> UpdateOutcome:
        try:
            events = await self._execute([command])
        except DomainError as refused:
            raise domain_refusal(refused) from None
        if self._needs_evaluation:
            await self._evaluate()
        self._dirty = True
        return UpdateOutcome(
            already_done=not events, recorded=[e.type for e in events], stage=self._state.stage,
            status=self._state.status,
            explanation="Already recorded; nothing changed." if not events else explain(self._state))
