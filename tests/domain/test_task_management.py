"""The state team works tasks (reassign, extend, waive); a pause moves due dates by the paused
school days; reviews name overdue work without turning it into more overdue work."""

from datetime import date, datetime, time, timezone

import pytest

from domain import commands as c
from domain.actors import SYSTEM
from domain.calendar import add_school_days, is_school_day, next_school_day, school_days_between
from domain.deadlines import DeadlinePolicy, deadline_commands
from domain.errors import DomainError
from domain.events import EVENTS_ADAPTER
from domain.plan_yaml import parse_plan
from domain.rollout import decide, execute, fold
from tests.domain.builders import COACH, COORDINATOR, STATE, enrolled
from tests.plan.examples import small_text

CALENDAR = parse_plan(small_text()).calendar
POLICY = DeadlinePolicy(remind_school_days_before=3, escalate_after_school_days=5)


def at(day: date) -> datetime:
    return datetime.combine(day, time(14, 0), tzinfo=timezone.utc)


def school_day(day: date) -> date:
    return next_school_day(CALENDAR, day)


def with_tasks(*dues: date, kind: str = "action_item"):
    """An enrolled site with one open task per due date (t1, t2, ...)."""
    state = enrolled()
    for n, due in enumerate(dues, start=1):
        state, _ = execute(state, c.AssignTask(
            at=at(date(2026, 9, 1)), actor=SYSTEM, task_id=f"t{n}", kind=kind,
            title=f"Task {n}", assignee_role="district", due=due))
    return state


def track(state, today: date):
    """Run the deadline policy on `today`, as the workflow does each school day."""
    commands = deadline_commands(state, today=today, at=at(today), calendar=CALENDAR, policy=POLICY)
    for command in commands:
        state, _ = execute(state, command)
    return state, [type(x).__name__ for x in commands]


def escalated_task(due: date = date(2026, 9, 15)):
    state = with_tasks(due)
    today = add_school_days(CALENDAR, due, POLICY.escalate_after_school_days)
    state, _ = track(state, today)
    assert state.tasks["t1"].escalated
    return state, today


# --- pausing shifts due dates ---------------------------------------------------------------

def test_pausing_ten_school_days_moves_every_open_tasks_due_date_by_ten_school_days():
    dues = [school_day(date(2026, 9, 14)), school_day(date(2026, 9, 30)),
            school_day(date(2026, 11, 20)), school_day(date(2026, 12, 18))]
    state = with_tasks(*dues)
    state, _ = execute(state, c.CompleteTask(at=at(date(2026, 9, 2)), actor=COORDINATOR,
                                             task_id="t4"))
    paused_on = school_day(date(2026, 9, 8))
    resumed_on = add_school_days(CALENDAR, paused_on, 10)
    state, _ = execute(state, c.PauseRollout(at=at(paused_on), actor=STATE, reason="new superintendent"))
    state, events = execute(state, c.ResumeRollout(at=at(resumed_on), actor=STATE, calendar=CALENDAR))

    assert [e.type for e in events] == ["RolloutResumed", "TaskDueDatesShifted"]
    shifted = events[1].payload
    assert (shifted.paused_on, shifted.resumed_on, shifted.school_days) == (paused_on, resumed_on, 10)
    assert {s.task_id for s in shifted.shifts} == {"t1", "t2", "t3"}  # t4 is completed
    for n, due in enumerate(dues[:3], start=1):
        moved = state.tasks[f"t{n}"].due
        assert school_days_between(CALENDAR, due, moved) == 10, (due, moved)
        assert is_school_day(CALENDAR, moved)
    assert state.tasks["t4"].due == dues[3]
    assert (state.status, state.paused_at) == ("active", None)
    # t1 fell due during the pause; on the day the site resumes it is not overdue, and the deadline
    # policy reminds, flags and escalates it by the school days the site is active.
    state, done = track(state, resumed_on)
    assert "MarkTaskOverdue" not in done and "EscalateTask" not in done
    state, done = track(state, state.tasks["t1"].due)
    assert "MarkTaskOverdue" not in done
    state, done = track(state, add_school_days(CALENDAR, state.tasks["t1"].due, 1))
    assert done.count("MarkTaskOverdue") == 1


def test_the_shift_counts_school_days_only_and_is_folded_from_the_record():
    due = school_day(date(2026, 11, 30))
    state = with_tasks(due)
    paused_on = date(2026, 11, 20)  # a Friday; Thanksgiving break and two weekends follow
    resumed_on = date(2026, 12, 7)
    state, _ = execute(state, c.PauseRollout(at=at(paused_on), actor=STATE, reason="budget"))
    state, events = execute(state, c.ResumeRollout(at=at(resumed_on), actor=STATE, calendar=CALENDAR))
    days = school_days_between(CALENDAR, paused_on, resumed_on)
    assert days == 8  # 23, 24 Nov; 30 Nov to 4 Dec; 7 Dec
    assert events[1].payload.school_days == days
    assert school_days_between(CALENDAR, due, state.tasks["t1"].due) == days
    replayed = EVENTS_ADAPTER.validate_json(EVENTS_ADAPTER.dump_json(events))
    before = with_tasks(due)
    before, _ = execute(before, c.PauseRollout(at=at(paused_on), actor=STATE, reason="budget"))
    assert fold(replayed, before) == state


def test_a_resume_without_the_calendar_shifts_nothing_as_runs_before_the_patch_did():
    due = school_day(date(2026, 9, 14))
    state = with_tasks(due)
    state, _ = execute(state, c.PauseRollout(at=at(date(2026, 9, 8)), actor=STATE, reason="budget"))
    state, events = execute(state, c.ResumeRollout(at=at(date(2026, 9, 28)), actor=STATE))
    assert [e.type for e in events] == ["RolloutResumed"] and state.tasks["t1"].due == due


def test_a_resume_the_same_day_or_with_no_open_task_records_no_shift():
    day = school_day(date(2026, 9, 8))
    state = with_tasks(school_day(date(2026, 9, 14)))
    state, _ = execute(state, c.PauseRollout(at=at(day), actor=STATE, reason="budget"))
    _, events = execute(state, c.ResumeRollout(at=at(day), actor=STATE, calendar=CALENDAR))
    assert [e.type for e in events] == ["RolloutResumed"]
    empty = enrolled()
    empty, _ = execute(empty, c.PauseRollout(at=at(day), actor=STATE, reason="budget"))
    _, events = execute(empty, c.ResumeRollout(at=at(date(2026, 10, 1)), actor=STATE, calendar=CALENDAR))
    assert [e.type for e in events] == ["RolloutResumed"]


# --- the state team works an escalated task -------------------------------------------------

def test_reassigning_records_who_had_it_who_has_it_and_why():
    state, today = escalated_task()
    command = c.ReassignTask(at=at(today), actor=STATE, task_id="t1",
                             assignee="team:district:cedar-falls-sd", reason="the new team owns it")
    state, events = execute(state, command)
    p = events[0].payload
    assert (events[0].type, p.from_assignee, p.to_assignee, p.reason, events[0].actor) == (
        "TaskReassigned", "district", "team:district:cedar-falls-sd", "the new team owns it", STATE)
    assert state.tasks["t1"].assignee == "team:district:cedar-falls-sd"
    assert decide(state, command) == []  # a retry records nothing
    _, events = execute(state, command.model_copy(update=dict(assignee="person:ann@example.org")))
    assert events[0].payload.from_assignee == "team:district:cedar-falls-sd"


@pytest.mark.parametrize("assignee", ["district", "team:", "person:", "team:district:a b",
                                      "someone@example.org", "person:a:b"])
def test_an_assignee_names_its_kind(assignee):
    with pytest.raises(ValueError, match="assignee"):
        c.ReassignTask(at=at(date(2026, 9, 1)), actor=STATE, task_id="t1", assignee=assignee,
                       reason="because")


def test_extending_clears_the_flags_and_the_deadline_policy_restarts_from_the_new_date():
    state, today = escalated_task()
    new_due = add_school_days(CALENDAR, today, 10)
    state, events = execute(state, c.ExtendTaskDue(
        at=at(today), actor=STATE, task_id="t1", due=new_due, reason="waiting on the board vote",
        calendar=CALENDAR))
    p = events[0].payload
    assert (events[0].type, p.from_due, p.to_due) == ("TaskDueDateExtended", date(2026, 9, 15), new_due)
    task = state.tasks["t1"]
    assert (task.due, task.reminded, task.overdue, task.escalated) == (new_due, False, False, False)
    state, done = track(state, today)
    assert done == []
    state, done = track(state, add_school_days(CALENDAR, new_due, -3))
    assert done == ["RemindTask"]
    state, done = track(state, add_school_days(CALENDAR, new_due, 1))
    assert done == ["MarkTaskOverdue"]
    state, done = track(state, add_school_days(CALENDAR, new_due, 5))
    assert done == ["EscalateTask"]


def test_an_extension_is_later_than_today_and_the_due_date_and_lands_on_a_school_day():
    state, today = escalated_task()

    def extend(due):
        return decide(state, c.ExtendTaskDue(at=at(today), actor=STATE, task_id="t1", due=due,
                                             reason="more time", calendar=CALENDAR))
    with pytest.raises(DomainError, match="not after today") as refused:
        extend(today)
    assert refused.value.field == "due"
    saturday = date(2026, 10, 3)
    with pytest.raises(DomainError, match="not a school day.*next one is 2026-10-05"):
        extend(saturday)
    assert extend(date(2026, 10, 5))


def test_waiving_closes_the_task_without_completing_it():
    state, today = escalated_task()
    command = c.WaiveTask(at=at(today), actor=STATE, task_id="t1", reason="replaced by the new plan")
    state, events = execute(state, command)
    assert [e.type for e in events] == ["TaskWaived"] and state.tasks["t1"].status == "waived"
    assert state.open_tasks() == [] and decide(state, command) == []
    with pytest.raises(DomainError, match="waived by the state team"):
        decide(state, c.CompleteTask(at=at(today), actor=COORDINATOR, task_id="t1"))
    with pytest.raises(DomainError, match="already waived; there is nothing to extend"):
        decide(state, c.ExtendTaskDue(at=at(today), actor=STATE, task_id="t1",
                                      due=date(2026, 12, 1), reason="more time"))
    assert track(state, date(2026, 12, 1))[1] == []


def test_a_coaching_step_is_not_waived_its_cycle_waits_for_it():
    state = with_tasks(date(2026, 9, 15), kind="coaching_step")
    with pytest.raises(DomainError, match="step of a coaching cycle"):
        decide(state, c.WaiveTask(at=at(date(2026, 9, 30)), actor=STATE, task_id="t1",
                                  reason="not needed"))


@pytest.mark.parametrize("actor", [COORDINATOR, COACH])
def test_only_a_state_admin_works_the_queue(actor):
    state, today = escalated_task()
    for command in (
            c.ReassignTask(at=at(today), actor=actor, task_id="t1", assignee="person:x@y.org", reason="why"),
            c.ExtendTaskDue(at=at(today), actor=actor, task_id="t1", due=date(2026, 12, 1), reason="why"),
            c.WaiveTask(at=at(today), actor=actor, task_id="t1", reason="why")):
        with pytest.raises(DomainError, match="Only a state admin") as refused:
            decide(state, command)
        assert refused.value.field == "actor.role"


def test_a_paused_site_is_extended_after_it_resumes_but_may_be_reassigned_or_waived():
    state, today = escalated_task()
    state, _ = execute(state, c.PauseRollout(at=at(today), actor=STATE, reason="budget"))
    with pytest.raises(DomainError, match="paused: its open tasks' due dates move"):
        decide(state, c.ExtendTaskDue(at=at(today), actor=STATE, task_id="t1",
                                      due=date(2026, 12, 1), reason="more time"))
    assert decide(state, c.ReassignTask(at=at(today), actor=STATE, task_id="t1",
                                        assignee="team:state:sit", reason="the state takes it"))
    assert decide(state, c.WaiveTask(at=at(today), actor=STATE, task_id="t1", reason="dropped"))


def test_unknown_tasks_and_finished_rollouts_are_refused():
    state, today = escalated_task()
    with pytest.raises(DomainError, match="no task 'nope'"):
        decide(state, c.WaiveTask(at=at(today), actor=STATE, task_id="nope", reason="dropped"))
    state, _ = execute(state, c.CancelRollout(at=at(today), actor=STATE, reason="withdrew"))
    with pytest.raises(DomainError, match="is cancelled"):
        decide(state, c.ReassignTask(at=at(today), actor=STATE, task_id="t1",
                                     assignee="team:state:sit", reason="the state takes it"))


# --- reviews ----------------------------------------------------------------------------------

def test_reviews_name_overdue_work_but_add_no_item_that_goes_overdue_in_turn():
    state, today = escalated_task()
    items, overdue_counts, kept = [], [], []

    def review(number: int):
        nonlocal state
        day = add_school_days(CALENDAR, today, 20 * number)
        state, _ = track(state, day)
        state, events = execute(state, c.HoldReview(
            at=at(day), actor=SYSTEM, review_id=f"rev-{number}", number=number,
            action_due=add_school_days(CALENDAR, day, 10)))
        found = events[0].payload
        named = [f for f in found.findings if "overdue" in f]
        assert len(named) == 1 and "'Task 1' (due 15 Sep 2026, escalated)" in named[0]
        overdue_counts.append(int(named[0].split()[0]))
        kept.append([f for f in found.findings if f.startswith("Still open from earlier reviews")])
        items.extend(a.title for a in found.action_items)
        return found

    for number in (1, 2, 3):
        review(number)
    # The overdue work is named, never made an item; the missing capacity assessment becomes one
    # item, which the next reviews name while it is open instead of assigning it again.
    assert items == ["Schedule the team's capacity assessment with a trained facilitator"]
    assert overdue_counts == [1, 2, 2]
    assert kept[0] == [] and kept[1] == kept[2] == [
        "Still open from earlier reviews, so not assigned again: 'Schedule the team's capacity "
        f"assessment with a trained facilitator' (due {state.tasks['rev-1:action:1'].due:%d %b %Y})."]
    state, _ = execute(state, c.CompleteTask(at=at(date(2027, 1, 4)), actor=COORDINATOR,
                                             task_id="rev-1:action:1"))
    assert [a.barrier for a in review(4).action_items] == ["capacity-assessment"]


def test_a_review_assigns_each_low_driver_once_while_its_item_is_open():
    from tests.domain.builders import capacity

    state = enrolled()
    state, _ = execute(state, c.SubmitAssessment(at=at(date(2026, 9, 2)), actor=COORDINATOR,
                                                 assessment_id="cap-1", assessment=capacity(1)))

    def review(number: int, day: date):
        nonlocal state
        state, events = execute(state, c.HoldReview(at=at(day), actor=SYSTEM, review_id=f"r{number}",
                                                    number=number, action_due=date(2026, 12, 1)))
        return events[0].payload, [e.type for e in events]

    first, types = review(1, date(2026, 9, 10))
    assert len(first.action_items) == 9 and types.count("TaskEscalated") == 1  # systems intervention
    state, _ = execute(state, c.WaiveTask(at=at(date(2026, 9, 11)), actor=STATE,
                                          task_id=first.action_items[0].action_id, reason="merged"))
    second, types = review(2, date(2026, 10, 8))
    assert [a.barrier for a in second.action_items] == [first.action_items[0].barrier]
    assert "TaskEscalated" not in types
    assert any(f.startswith("Still open from earlier reviews") for f in second.findings)


def test_the_audit_tells_who_worked_a_task_and_why():
    from audit.wording import summarize

    state, today = escalated_task()
    events = []
    for command in (
            c.ReassignTask(at=at(today), actor=STATE, task_id="t1", assignee="person:ann@example.org",
                           reason="Ann runs the data team"),
            c.ExtendTaskDue(at=at(today), actor=STATE, task_id="t1", due=date(2026, 11, 2),
                            reason="the board meets later"),
            c.PauseRollout(at=at(date(2026, 10, 5)), actor=STATE, reason="budget"),
            c.ResumeRollout(at=at(date(2026, 10, 12)), actor=STATE, calendar=CALENDAR),
            c.WaiveTask(at=at(date(2026, 10, 12)), actor=STATE, task_id="t1", reason="replaced")):
        state, new = execute(state, command)
        events += new
    names = {("task", "t1"): "Task 1"}  # as names_in reads them from the TaskAssigned event
    told = [summarize(e, names) for e in events if e.type.startswith("Task")]
    assert told == [
        "Reassigned 'Task 1' from district to person:ann@example.org: Ann runs the data team",
        "Extended 'Task 1' from 2026-09-15 to 2026-11-02: the board meets later",
        "Moved the due dates of 1 open task by 4 school day(s), the time paused from 2026-10-05 "
        "to 2026-10-12: 'Task 1' 2026-11-02 → 2026-11-06",  # 9 Oct is a blackout date
        "Waived 'Task 1' (closed, not completed): replaced"]
