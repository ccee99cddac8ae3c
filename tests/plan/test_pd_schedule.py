"""PD placement: school days only, within each trainer's daily capacity, deterministic ids,
and a clear refusal when the deadline cannot be met."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import add_school_days, is_school_day, next_school_day
from domain.errors import DomainError
from domain.pd_schedule import schedule_sessions
from domain.plan import PdSession, Trainer
from domain.plan_yaml import parse_plan
from tests.plan.examples import small_text

CALENDAR = parse_plan(small_text()).calendar
SESSIONS = [PdSession(title=f"Module {n}", hours=3, capacity=25) for n in range(1, 5)]
ANN = Trainer(id="ann", name="Ann", sessions_per_day=1)
BEN = Trainer(id="ben", name="Ben", sessions_per_day=1)
PREFIX = "k3:cedar-falls-sd:e2:Installation"


def test_sessions_start_on_the_first_school_day_and_alternate_between_free_trainers():
    saturday_before_thanksgiving = date(2026, 11, 21)
    placed = schedule_sessions(SESSIONS, calendar=CALENDAR, trainers=[ANN, BEN],
                               earliest=saturday_before_thanksgiving, key_prefix=PREFIX)
    assert [(s.date, s.trainer_id) for s in placed] == [
        (date(2026, 11, 23), "ann"), (date(2026, 11, 24), "ben"),
        (date(2026, 11, 30), "ann"), (date(2026, 12, 1), "ben")]  # Thanksgiving break skipped
    assert [s.session_id for s in placed] == [f"{PREFIX}:pd:{n}" for n in range(1, 5)]
    assert [(s.title, s.hours, s.capacity) for s in placed] == [
        (s.title, s.hours, s.capacity) for s in SESSIONS]


def test_a_booked_trainer_is_passed_over_for_a_free_one_the_same_day():
    monday = date(2026, 11, 23)
    placed = schedule_sessions(SESSIONS[:1], calendar=CALENDAR, trainers=[ANN, BEN],
                               earliest=monday, booked=[("ann", monday)], key_prefix=PREFIX)
    assert (placed[0].date, placed[0].trainer_id) == (monday, "ben")


def test_when_every_trainer_is_booked_the_session_waits_for_a_free_school_day():
    monday = date(2026, 11, 23)
    booked = [("ann", monday), ("ann", date(2026, 11, 24))]
    placed = schedule_sessions(SESSIONS[:1], calendar=CALENDAR, trainers=[ANN], earliest=monday,
                               booked=booked, key_prefix=PREFIX)
    assert placed[0].date == date(2026, 11, 30)


def test_a_trainer_with_two_slots_a_day_takes_two_sites_the_same_day():
    monday = date(2026, 11, 23)
    duo = Trainer(id="duo", name="Duo", sessions_per_day=2)
    placed = schedule_sessions(SESSIONS[:1], calendar=CALENDAR, trainers=[duo], earliest=monday,
                               booked=[("duo", monday)], key_prefix=PREFIX)
    assert placed[0].date == monday
    full = schedule_sessions(SESSIONS[:1], calendar=CALENDAR, trainers=[duo], earliest=monday,
                             booked=[("duo", monday)] * 2, key_prefix=PREFIX)
    assert full[0].date == date(2026, 11, 24)


def test_placement_is_deterministic_so_a_retry_books_the_same_sessions():
    args = dict(calendar=CALENDAR, trainers=[ANN, BEN], earliest=date(2027, 1, 4),
                booked=[("ben", date(2027, 1, 5))], key_prefix=PREFIX)
    assert schedule_sessions(SESSIONS, **args) == schedule_sessions(SESSIONS, **args)


def test_a_session_that_cannot_be_placed_before_the_deadline_is_refused():
    monday = date(2026, 12, 14)
    booked = [("ann", monday + timedelta(days=i)) for i in range(5)]
    with pytest.raises(DomainError) as raised:
        schedule_sessions(SESSIONS[:1], calendar=CALENDAR, trainers=[ANN], earliest=monday,
                          deadline=date(2026, 12, 31), booked=booked, key_prefix=PREFIX)
    message = str(raised.value)
    assert "'Module 1'" in message and PREFIX in message and "2026-12-31" in message
    assert raised.value.field == "deadline"


def test_the_deadline_day_itself_is_usable():
    placed = schedule_sessions(SESSIONS[:2], calendar=CALENDAR, trainers=[ANN],
                               earliest=date(2026, 12, 17), deadline=date(2026, 12, 18),
                               key_prefix=PREFIX)
    assert [s.date for s in placed] == [date(2026, 12, 17), date(2026, 12, 18)]


def test_no_trainers_is_refused():
    with pytest.raises(DomainError, match="No trainers"):
        schedule_sessions(SESSIONS, calendar=CALENDAR, trainers=[], earliest=date(2026, 9, 1),
                          key_prefix=PREFIX)


trainer_lists = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(
    lambda caps: [Trainer(id=f"t{i}", name=f"T{i}", sessions_per_day=c) for i, c in enumerate(caps)])


@settings(max_examples=150)
@given(trainers=trainer_lists, count=st.integers(1, 8),
       earliest=st.dates(min_value=date(2026, 6, 1), max_value=date(2031, 6, 1)),
       booked_offsets=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 30)), max_size=60))
def test_never_on_a_non_school_day_never_over_capacity(trainers, count, earliest, booked_offsets):
    booked = [(trainers[t % len(trainers)].id, add_school_days(CALENDAR, earliest, d))
              for t, d in booked_offsets]
    sessions = [PdSession(title=f"S{n}", hours=2, capacity=20) for n in range(count)]
    placed = schedule_sessions(sessions, calendar=CALENDAR, trainers=trainers, earliest=earliest,
                               booked=booked, key_prefix=PREFIX)
    assert len(placed) == count
    load = Counter(booked) + Counter((s.trainer_id, s.date) for s in placed)
    capacity = {t.id: t.sessions_per_day for t in trainers}
    assert all(load[(s.trainer_id, s.date)] <= capacity[s.trainer_id] for s in placed)
    assert all(is_school_day(CALENDAR, s.date) and s.date >= earliest for s in placed)
    assert [s.date for s in placed] == sorted({s.date for s in placed}), "one a day, in order"
    assert placed[0].date >= next_school_day(CALENDAR, earliest)
    assert len({s.session_id for s in placed}) == count
