"""The bare baseline: what Temporal alone costs for the same work as a site rollout.

A site's script holds the steps its real rollout took, read from its histories: lane 0 is the site
workflow itself (every run, continue-as-new flattened), one more lane per coaching cycle, started
when the site started that cycle and run beside it, as the real child ran. A step is an activity,
a timer of the same length, or an Update from a person. The bare workflow does exactly that with
no domain logic and no event store: activities are no-ops, timers sleep as long, and each Update
waits until lane 0 reaches it. Same activities, timers and updates per site; the difference in
throughput is what the engine adds on top of Temporal.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio import activity, workflow

ACTIVITY, TIMER, UPDATE = "activity", "timer", "update"


class Step(BaseModel):
    kind: str
    seconds: float = 0.0


class Lane(BaseModel):
    starts_after: int = Field(-1, description="lane 0's step after which this lane starts")
    steps: list[Step] = Field(default_factory=list)


class Script(BaseModel):
    site_id: str
    lanes: list[Lane]

    def count(self, kind: str) -> int:
        return sum(step.kind == kind for lane in self.lanes for step in lane.steps)


@activity.defn
async def bare_step(n: int) -> int:
    return n


@workflow.defn
class BareSiteWorkflow:
    def __init__(self) -> None:
        self._main: list[Step] = []
        self._at = -1
        self._answered = -1

    @workflow.run
    async def run(self, script: Script) -> int:
        main, *others = script.lanes
        self._main = main.steps
        pending = [lane for lane in others]
        running: list[asyncio.Task] = []
        for self._at in range(len(main.steps)):
            while pending and pending[0].starts_after < self._at:
                running.append(asyncio.create_task(self._lane(pending.pop(0).steps)))
            step = main.steps[self._at]
            if step.kind == UPDATE:
                await workflow.wait_condition(lambda: self._answered >= self._at)
            else:
                await self._step(step, self._at)
        running += [asyncio.create_task(self._lane(lane.steps)) for lane in pending]
        await asyncio.gather(*running)
        return sum(len(lane.steps) for lane in script.lanes)

    async def _lane(self, steps: list[Step]) -> None:
        for n, step in enumerate(steps):
            await self._step(step, n)

    @staticmethod
    async def _step(step: Step, n: int) -> None:
        if step.kind == ACTIVITY:
            await workflow.execute_activity(bare_step, n, start_to_close_timeout=timedelta(minutes=1))
        elif step.kind == TIMER:
            await workflow.sleep(step.seconds)

    @workflow.update
    async def answer(self) -> int:
        """A person's input: taken when lane 0 is waiting for one."""
        await workflow.wait_condition(
            lambda: 0 <= self._at < len(self._main) and self._main[self._at].kind == UPDATE
            and self._answered < self._at)
        self._answered = self._at
        return self._at
