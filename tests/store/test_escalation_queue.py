"""The tasks projection follows what the state team does with a task (reassigned, extended,
waived) and a resumed site's shifted due dates; the escalation queue reads the escalated open
tasks oldest first, filtered by region, district, kind and age in school days; a rebuild gives
the same rows; migration 0016 fills in when earlier escalations happened."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest

from domain import commands as c
from domain import events as ev
from domain.actors import SYSTEM
from domain.calendar import add_school_days, school_days_between
from domain.plan_yaml import parse_plan
from domain.rollout import execute
from domain.school_clock import SchoolClock
from domain.site_state import SiteRolloutState
from rollouts import escalations
from store import escalation_queries
from store.eventstore import EventStore
from store.migrate import MIGRATIONS
from store.projections import rebuild
from tests.domain.builders import STATE
from tests.plan.examples import small_text
from tests.store.scenario import unique

pytestmark = pytest.mark.postgres

CALENDAR = parse_plan(small_text()).calendar
START = date(2026, 9, 1)
TODAY = date(2026, 10, 30)
"""The initiative's school day when the queue is read (a Friday)."""


def at(day: date) -> datetime:
    return datetime.combine(day, time(10, 0), tzinfo=timezone.utc)


class Site:
    """One site's rollout decided by the domain and appended as the workflow appends it."""

    def __init__(self, initiative_id: str, site_id: str, district: str, region: str) -> None:
        self.state, self.batches = SiteRolloutState(), []
        self.stream_id = ev.site_stream(initiative_id, site_id)
        self.run(c.EnrollSite(at=at(START), actor=SYSTEM, initiative_id=initiative_id,
                              site_id=site_id, site_name=site_id.title(), kind="district",
                              region=region, district=district, cohort_id="c1", practitioners=20))

    def run(self, command) -> None:
        before = self.state.version
        self.state, new = execute(self.state, command)
        if new:
            self.batches.append((before, new))

    def task(self, task_id: str, kind: str, due: date) -> None:
        self.run(c.AssignTask(at=at(START), actor=SYSTEM, task_id=task_id, kind=kind,
                              title=f"Do {task_id}", assignee_role="district", due=due))

    def escalate(self, task_id: str, on: date) -> None:
        self.run(c.EscalateTask(at=at(on), actor=SYSTEM, task_id=task_id, reason="overdue"))

    async def store(self, store: EventStore) -> None:
        for expected, batch in self.batches:
            await store.append(self.stream_id, batch, expected_version=expected, workflow_id="wf")


@pytest.fixture(scope="module")
async def world(pool):
    """Two initiatives' sites with escalations of different ages, and one launched before its
    calendar was recorded."""
    store, initiative, old = EventStore(pool), unique("esc"), unique("esc-old")
    clock = SchoolClock(origin_real=at(TODAY), origin_school=at(TODAY))
    for initiative_id, calendar in ((initiative, CALENDAR), (old, None)):
        await store.append(ev.initiative_stream(initiative_id), ev.envelope(
            [ev.InitiativeLaunchedPayload(
                initiative_id=initiative_id, name="Escalations", practice="PBIS", ssip_phase="III",
                simr="reading", site_count=2, cohort_ids=["c1"], plan_digest="x",
                school_clock=clock, calendar=calendar)],
            stream_id=ev.initiative_stream(initiative_id), after=0, occurred_at=at(START),
            actor=STATE), expected_version=0)

    adams = Site(initiative, "adams", "adams", "North")
    for task_id, kind in (("a-old", "action_item"), ("a-new", "submit_assessment"),
                          ("a-extended", "action_item"), ("a-waived", "action_item"),
                          ("a-open", "action_item"), ("a-done", "action_item")):
        adams.task(task_id, kind, date(2026, 9, 15))
    adams.escalate("a-old", date(2026, 10, 1))
    adams.escalate("a-new", date(2026, 10, 28))
    adams.escalate("a-extended", date(2026, 10, 2))
    adams.escalate("a-waived", date(2026, 10, 2))
    adams.escalate("a-done", date(2026, 10, 2))
    adams.run(c.CompleteTask(at=at(date(2026, 10, 5)), actor=STATE, task_id="a-done"))
    adams.run(c.ReassignTask(at=at(date(2026, 10, 5)), actor=STATE, task_id="a-old",
                             assignee="team:district:adams", reason="the district team owns it"))
    adams.run(c.ExtendTaskDue(at=at(date(2026, 10, 5)), actor=STATE, task_id="a-extended",
                              due=date(2026, 11, 16), reason="board meets later", calendar=CALENDAR))
    adams.run(c.WaiveTask(at=at(date(2026, 10, 5)), actor=STATE, task_id="a-waived",
                          reason="replaced by the new plan"))

    baker = Site(initiative, "baker", "baker", "South")
    baker.task("b-1", "action_item", date(2026, 9, 15))
    baker.escalate("b-1", date(2026, 10, 15))
    baker.task("b-2", "action_item", date(2026, 11, 2))
    baker.run(c.PauseRollout(at=at(date(2026, 10, 16)), actor=STATE, reason="budget"))
    baker.run(c.ResumeRollout(at=at(date(2026, 10, 23)), actor=STATE, calendar=CALENDAR))

    legacy = Site(old, "carver", "carver", "North")
    legacy.task("c-1", "action_item", date(2026, 9, 15))
    legacy.escalate("c-1", date(2026, 10, 19))
    for site in (adams, baker, legacy):
        await site.store(store)
    return dict(initiative=initiative, old=old, adams=adams, baker=baker)


async def rows_of(pool, *task_ids: str) -> dict[str, dict]:
    found = await pool.fetch("SELECT * FROM tasks WHERE task_id = ANY($1::text[])", list(task_ids))
    return {r["task_id"]: dict(r) for r in found}


async def test_the_inbox_follows_reassigned_extended_waived_and_shifted_tasks(pool, world):
    rows = await rows_of(pool, "a-old", "a-extended", "a-waived", "b-1", "b-2")
    assert (rows["a-old"]["assignee"], rows["a-old"]["escalated"], rows["a-old"]["status"]) == (
        "team:district:adams", True, "open")
    extended = rows["a-extended"]
    assert (extended["due"], extended["escalated"], extended["overdue"], extended["escalated_at"],
            extended["escalated_to"]) == (date(2026, 11, 16), False, False, None, None)
    waived = rows["a-waived"]
    assert (waived["status"], waived["waived_by"], waived["waived_reason"], waived["waived_at"]) == (
        "waived", "sam.state", "replaced by the new plan", at(date(2026, 10, 5)))
    paused = school_days_between(CALENDAR, date(2026, 10, 16), date(2026, 10, 23))
    assert paused == 5
    for task_id, due in (("b-1", date(2026, 9, 15)), ("b-2", date(2026, 11, 2))):
        assert rows[task_id]["due"] == add_school_days(CALENDAR, due, paused), task_id
    assert rows["b-1"]["escalated_at"] == at(date(2026, 10, 15))


async def test_the_queue_lists_escalated_open_tasks_oldest_first_with_their_age(pool, world):
    now = at(TODAY)
    queue = await escalations.queue(pool, initiative_id=world["initiative"], now=now)
    assert [(t.task_id, t.age_school_days) for t in queue] == [
        ("a-old", school_days_between(CALENDAR, date(2026, 10, 1), TODAY)),
        ("b-1", school_days_between(CALENDAR, date(2026, 10, 15), TODAY)),
        ("a-new", 2)]
    first = queue[0]
    assert (first.site_name, first.region, first.district_id, first.assignee, first.kind) == (
        "Adams", "North", "adams", "team:district:adams", "action_item")

    async def ids(**filters) -> list[str]:
        return [t.task_id for t in await escalations.queue(pool, now=now, **filters)]
    mine = dict(initiative_id=world["initiative"])
    assert await ids(**mine, region="South") == ["b-1"]
    assert await ids(**mine, district="adams") == ["a-old", "a-new"]
    assert await ids(**mine, kind="submit_assessment") == ["a-new"]
    assert await ids(**mine, older_than_days=2) == ["a-old", "b-1", "a-new"]
    assert await ids(**mine, older_than_days=3) == ["a-old", "b-1"]
    assert await ids(**mine, older_than_days=11) == ["a-old", "b-1"]
    assert await ids(**mine, older_than_days=12) == ["a-old"]
    assert await ids(**mine, older_than_days=30) == []
    assert await ids(**mine, district="nowhere") == []


async def test_on_a_weekend_the_age_counts_the_school_days_up_to_it(pool, world):
    saturday = at(date(2026, 10, 31))
    queue = await escalations.queue(pool, initiative_id=world["initiative"], kind="submit_assessment",
                                    now=saturday)
    assert [(t.task_id, t.age_school_days) for t in queue] == [("a-new", 2)]  # Thu 29, Fri 30
    for older_than, listed in ((2, ["a-new"]), (3, [])):
        assert [t.task_id for t in await escalations.queue(
            pool, initiative_id=world["initiative"], kind="submit_assessment", now=saturday,
            older_than_days=older_than)] == listed, older_than


async def test_an_initiative_launched_without_its_calendar_counts_weekdays(pool, world):
    (legacy,) = await escalations.queue(pool, initiative_id=world["old"], now=at(TODAY))
    assert (legacy.task_id, legacy.age_school_days) == ("c-1", 9)  # Mon 19 to Fri 30 Oct
    assert await escalations.queue(pool, initiative_id=world["old"], now=at(TODAY),
                                   older_than_days=10) == []


async def test_the_rebuilt_inbox_equals_the_live_one(pool, world):
    live = [dict(r) for r in await pool.fetch("SELECT * FROM tasks ORDER BY task_id")]
    await rebuild(pool, "tasks")
    assert [dict(r) for r in await pool.fetch("SELECT * FROM tasks ORDER BY task_id")] == live


async def test_the_migration_fills_in_when_earlier_tasks_were_escalated(pool, world):
    sql = (MIGRATIONS / "0016_task_management.sql").read_text()
    backfill = next(s for s in sql.split(";") if "UPDATE tasks t SET escalated_at" in s)
    await pool.execute("UPDATE tasks SET escalated_at = NULL")
    await pool.execute(backfill)
    rows = await rows_of(pool, "a-old", "b-1", "a-extended", "a-open")
    assert (rows["a-old"]["escalated_at"], rows["b-1"]["escalated_at"]) == (
        at(date(2026, 10, 1)), at(date(2026, 10, 15)))
    assert rows["a-extended"]["escalated_at"] is None and rows["a-open"]["escalated_at"] is None
    assert await escalation_queries.escalated_initiatives(pool, district="adams") == [
        world["initiative"]]


def test_the_queue_reads_the_same_columns_as_the_inbox():
    """The queue's written-out column list names the inbox's columns, each of the tasks table."""
    from store.inbox_queries import TASK_COLUMNS

    assert escalation_queries._COLUMNS.split(", ") == [
        f"t.{c.strip()}" for c in TASK_COLUMNS.split(",")]
