"""What each stage asks of a site: the assessments to request, and which routines run.

The workflow reads this table when a site enters a stage; changing a stage's work is a data
change here, not a change to orchestration code.
"""

from __future__ import annotations

from datetime import date, datetime

from domain.actors import SYSTEM
from domain.commands import AssignTask, EscalateTask, PdSessionPlan, SchedulePdSessions
from domain.criteria import ExitCriteria, InstrumentChoices
from domain.instruments import Instrument
from domain.site_state import SiteRolloutState
from domain.stages import Stage

STAGE_ASSESSMENTS: dict[Stage, tuple[Instrument, ...]] = {
    Stage.EXPLORATION: (Instrument.FIT_READINESS, Instrument.ADOPTION_DECISION),
    Stage.INSTALLATION: (Instrument.INSTALLATION_CHECKLIST, Instrument.CAPACITY),
    Stage.INITIAL_IMPLEMENTATION: (Instrument.CAPACITY, Instrument.FIDELITY),
    Stage.FULL_IMPLEMENTATION: (Instrument.FIDELITY, Instrument.CAPACITY),
}

TITLES: dict[Instrument, str] = {
    Instrument.FIT_READINESS: "Complete the fit and readiness review (Hexagon) with your team",
    Instrument.ADOPTION_DECISION: "Record the signed adoption decision and the implementation team",
    Instrument.INSTALLATION_CHECKLIST: "Complete the installation checklist",
    Instrument.CAPACITY: "Complete the capacity assessment with a trained facilitator",
    Instrument.FIDELITY: "Submit the fidelity assessment (counts of practitioners meeting criterion)",
    Instrument.STAGE_ANALYSIS: "Complete the stage analysis",
}

def title_for(instrument: Instrument, criteria: ExitCriteria) -> str:
    """The task's title: the instrument's own where the plan chose one other than the product's
    default (the TFI for fidelity, say), else the usual words."""
    use = criteria.instruments.for_evidence(instrument)
    if use is None or use == InstrumentChoices().for_evidence(instrument):
        return TITLES[instrument]
    return (f"Complete the {instrument.value.replace('_', ' ')} instrument {use.id} "
            f"(version {use.version})")


COACHING_STAGES = (Stage.INITIAL_IMPLEMENTATION, Stage.FULL_IMPLEMENTATION)
REVIEW_STAGES = (Stage.INSTALLATION, Stage.INITIAL_IMPLEMENTATION, Stage.FULL_IMPLEMENTATION)
PD_STAGES = (Stage.INSTALLATION, Stage.INITIAL_IMPLEMENTATION)


def entry_tasks(state: SiteRolloutState, *, at: datetime, due: date) -> list[AssignTask]:
    """The assessment tasks a site receives on entering its current stage."""
    return [
        AssignTask(
            at=at, actor=SYSTEM, task_id=state.key(instrument.value, 1), kind="submit_assessment",
            title=title_for(instrument, state.criteria), due=due, instrument=instrument,
            assignee_role="coach" if instrument is Instrument.FIDELITY else "district")
        for instrument in STAGE_ASSESSMENTS[state.stage]
    ]


def coaching_every_weeks(stage: Stage, initial_weeks: int, full_weeks: int) -> int | None:
    if stage not in COACHING_STAGES:
        return None
    return initial_weeks if stage is Stage.INITIAL_IMPLEMENTATION else full_weeks


def review_every_weeks(stage: Stage, initial_weeks: int, default_weeks: int) -> int | None:
    if stage not in REVIEW_STAGES:
        return None
    return initial_weeks if stage is Stage.INITIAL_IMPLEMENTATION else default_weeks


def pd_commands(planned: list[PdSessionPlan], *, at: datetime) -> list:
    """Book the stage's PD sessions and give the district one task per session: host it."""
    return [SchedulePdSessions(at=at, actor=SYSTEM, sessions=planned)] + [
        AssignTask(at=at, actor=SYSTEM, task_id=f"{s.session_id}:hold", kind="hold_pd_session",
                   title=f"Host PD: {s.title} on {s.on:%a %d %b %Y}", assignee_role="district",
                   due=s.on, ref=s.session_id)
        for s in planned]


def state_help_commands(state: SiteRolloutState, why: str, *, at: datetime, today: date) -> list:
    """Something the site cannot solve alone (PD that cannot be booked): an action item for the
    state team, escalated at once."""
    task_id = state.key("state-help", len(state.tasks) + 1)
    return [AssignTask(at=at, actor=SYSTEM, task_id=task_id, kind="action_item", title=why,
                       assignee_role="state", due=today),
            EscalateTask(at=at, actor=SYSTEM, task_id=task_id, reason=why)]
