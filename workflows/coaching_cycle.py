"""One coaching cycle: plan (pre-conference) → observe → debrief with feedback.

Each step is a task for the coach in the site's inbox. The site workflow forwards step completions
here; the cycle closes when the debrief is done, or when the site withdraws it (a stage change,
the end of the rollout). It reports its outcome to the site by a signal to the site's workflow id,
so whichever run of the site is current receives it (a site continues as new at each stage and
when its history grows; a cycle outlives the run that started it).
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.models import CoachingCycleInput, CycleOutcome, StepDone
    from workflows.relay import closed_target

REPORT_PATCH = "cycle-reports-its-outcome-to-the-site"
"""workflow.patched id: a cycle started with `report_to` signals its outcome there. Before, only
its result went back to the run that started it."""
OUTCOME_SIGNAL = "cycle_finished"


@workflow.defn
class CoachingCycleWorkflow:
    @workflow.init
    def __init__(self, input: CoachingCycleInput) -> None:
        self._done: dict[str, StepDone] = {}
        self._withdrawn = False

    @workflow.run
    async def run(self, input: CoachingCycleInput) -> CycleOutcome:
        for step in input.steps:
            await workflow.wait_condition(lambda: step.task_id in self._done or self._withdrawn)
            if self._withdrawn:
                break
            workflow.logger.info("coaching step %s done for %s", step.step, input.cycle_id)
        outcome = CycleOutcome(
            cycle_id=input.cycle_id, steps_completed=len(self._done), withdrawn=self._withdrawn,
            practitioners_observed=self._observed(input),
            feedback_given=any(s.step == "debrief" and s.task_id in self._done for s in input.steps))
        if input.report_to and workflow.patched(REPORT_PATCH):
            await self._report(input.report_to, outcome)
        return outcome

    async def _report(self, site_workflow_id: str, outcome: CycleOutcome) -> None:
        try:
            await workflow.get_external_workflow_handle(site_workflow_id).signal(
                OUTCOME_SIGNAL, outcome)
        except ApplicationError as failure:
            if not closed_target(failure):
                raise  # the site's rollout has ended: nobody waits for the outcome

    @workflow.signal
    def step_done(self, done: StepDone) -> None:
        self._done.setdefault(done.task_id, done)

    @workflow.signal
    def withdraw(self) -> None:
        self._withdrawn = True

    def _observed(self, input: CoachingCycleInput) -> int:
        counts = [d.outcome.get("practitioners_observed", 0) for d in self._done.values()]
        return max([int(c) for c in counts if isinstance(c, (int, float))], default=0)
