"""One coaching cycle: plan (pre-conference) → observe → debrief with feedback.

Each step is a task for the coach in the site's inbox. The site workflow forwards step completions
here; the cycle closes when the debrief is done, or when the site withdraws it (a stage change,
the end of the rollout), and its result goes back to the site run that started it.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.models import CoachingCycleInput, CycleOutcome, StepDone


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
        return CycleOutcome(
            cycle_id=input.cycle_id, steps_completed=len(self._done), withdrawn=self._withdrawn,
            practitioners_observed=self._observed(input),
            feedback_given=any(s.step == "debrief" and s.task_id in self._done for s in input.steps))

    @workflow.signal
    def step_done(self, done: StepDone) -> None:
        self._done.setdefault(done.task_id, done)

    @workflow.signal
    def withdraw(self) -> None:
        self._withdrawn = True

    def _observed(self, input: CoachingCycleInput) -> int:
        counts = [d.outcome.get("practitioners_observed", 0) for d in self._done.values()]
        return max([int(c) for c in counts if isinstance(c, (int, float))], default=0)
