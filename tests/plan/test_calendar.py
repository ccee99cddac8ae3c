"""School days: hand-worked cases on one real-looking year, projection into later (and earlier)
years, and properties that must hold for any date."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import (
    Break, SchoolCalendar, SchoolYear, add_school_days, is_school_day, next_school_day,
    school_days_between,
)
from domain.deadlines import _school_days_before
from domain.plan_yaml import parse_plan
from tests.plan.examples import small_text

# 2026-27: Mon 17 Aug 2026 .. Fri 4 Jun 2027; Labor Day (Mon 7 Sep) is a blackout date.
YEAR = SchoolYear(
    name="2026-27", start=date(2026, 8, 17), end=date(2027, 6, 4),
    breaks=[Break(name="Thanksgiving", start=date(2026, 11, 25), end=date(2026, 11, 27)),
            Break(name="Winter break", start=date(2026, 12, 21), end=date(2027, 1, 1))],
    blackout_dates=[date(2026, 9, 7)])
ONE_YEAR = SchoolCalendar(years=[YEAR])
# 2027-28 has a blackout on Feb 29, to see where it lands in the non-leap years it repeats into.
LEAP = SchoolCalendar(years=[YEAR, SchoolYear(
    name="2027-28", start=date(2027, 8, 16), end=date(2028, 6, 2),
    blackout_dates=[date(2028, 2, 29)])])


@pytest.mark.parametrize(("day", "expected"), [
    (date(2026, 8, 17), True),    # first day, a Monday
    (date(2026, 8, 22), False),   # Saturday
    (date(2026, 8, 23), False),   # Sunday
    (date(2026, 9, 7), False),    # Labor Day blackout
    (date(2026, 9, 8), True),
    (date(2026, 11, 24), True),   # Tuesday before Thanksgiving break
    (date(2026, 11, 25), False),  # Thanksgiving break, Wednesday
    (date(2026, 12, 31), False),  # winter break
    (date(2027, 1, 4), True),     # back on Monday
    (date(2027, 6, 4), True),     # last day
    (date(2027, 6, 7), False),    # summer
    (date(2026, 8, 14), False),   # the summer before the first year (projected backwards)
])
def test_is_school_day(day, expected):
    assert is_school_day(ONE_YEAR, day) is expected


@pytest.mark.parametrize(("day", "expected"), [
    (date(2026, 8, 17), date(2026, 8, 17)),   # a school day is its own next school day
    (date(2026, 8, 22), date(2026, 8, 24)),   # Saturday -> Monday
    (date(2026, 9, 5), date(2026, 9, 8)),     # Saturday before the Labor Day blackout
    (date(2026, 11, 25), date(2026, 11, 30)),
    (date(2026, 12, 19), date(2027, 1, 4)),
    (date(2027, 6, 5), date(2027, 8, 17)),    # summer -> the projected 2027-28 (a Tuesday)
    (date(2026, 6, 5), date(2026, 8, 17)),    # summer before the first year
    (date(2026, 5, 30), date(2026, 6, 1)),    # the first year repeated backwards: a Monday
])
def test_next_school_day(day, expected):
    assert next_school_day(ONE_YEAR, day) == expected


def test_later_years_repeat_the_last_years_pattern_by_date():
    # 2027-28 is not defined: breaks and blackouts repeat on the same dates, weekends recomputed
    assert not is_school_day(ONE_YEAR, date(2027, 11, 25))    # Thanksgiving break, Thursday
    assert is_school_day(ONE_YEAR, date(2027, 11, 24))        # a Wednesday, outside the break
    assert not is_school_day(ONE_YEAR, date(2027, 9, 7))      # the blackout date, now a Tuesday
    assert not is_school_day(ONE_YEAR, date(2027, 8, 16))     # the year starts on 17 Aug
    assert is_school_day(ONE_YEAR, date(2027, 8, 17))
    assert not is_school_day(ONE_YEAR, date(2031, 12, 24))    # many years on: still winter break
    assert is_school_day(ONE_YEAR, date(2031, 12, 19))        # a Friday before it


def test_feb_29_repeats_as_feb_28_in_non_leap_years():
    assert not is_school_day(LEAP, date(2028, 2, 29))         # defined (a Tuesday)
    assert not is_school_day(LEAP, date(2029, 2, 28))         # projected: a Wednesday
    assert is_school_day(LEAP, date(2029, 3, 1))
    assert is_school_day(LEAP, date(2029, 2, 27))


def test_add_school_days_skips_weekends_breaks_and_summers():
    friday = date(2026, 11, 20)
    assert add_school_days(ONE_YEAR, friday, 1) == date(2026, 11, 23)
    assert add_school_days(ONE_YEAR, friday, 3) == date(2026, 11, 30)  # over Thanksgiving break
    assert add_school_days(ONE_YEAR, date(2026, 8, 22), 0) == date(2026, 8, 24)
    assert add_school_days(ONE_YEAR, date(2027, 6, 3), 2) == date(2027, 8, 17)  # over summer
    assert add_school_days(ONE_YEAR, date(2026, 11, 30), -1) == date(2026, 11, 24)
    assert add_school_days(ONE_YEAR, date(2027, 8, 17), -1) == date(2027, 6, 4)


def test_school_days_between_counts_after_a_up_to_and_including_b():
    assert school_days_between(ONE_YEAR, date(2026, 11, 20), date(2026, 11, 30)) == 3
    assert school_days_between(ONE_YEAR, date(2026, 11, 30), date(2026, 11, 20)) == -3
    assert school_days_between(ONE_YEAR, date(2026, 11, 21), date(2026, 11, 22)) == 0
    whole_year = [YEAR.start + timedelta(days=i) for i in range((YEAR.end - YEAR.start).days + 1)]
    expected = sum(1 for d in whole_year if d.weekday() < 5 and d != date(2026, 9, 7)
                   and not date(2026, 11, 25) <= d <= date(2026, 11, 27)
                   and not date(2026, 12, 21) <= d <= date(2027, 1, 1))
    assert school_days_between(ONE_YEAR, YEAR.start - timedelta(days=1), YEAR.end) == expected


def test_the_cache_neither_changes_equality_nor_serialization():
    fresh = SchoolCalendar.model_validate(ONE_YEAR.model_dump())
    is_school_day(ONE_YEAR, date(2030, 1, 7))
    assert fresh == ONE_YEAR and fresh.model_dump() == ONE_YEAR.model_dump()
    moved = ONE_YEAR.model_copy(update={"years": [YEAR.model_copy(update={"blackout_dates": []})]})
    assert is_school_day(moved, date(2026, 9, 7)), "an updated copy does not reuse the old days"
    assert not is_school_day(ONE_YEAR, date(2026, 9, 7))


def _naive_is_school_day(cal: SchoolCalendar, d: date) -> bool:
    """An independent oracle: try each whole-year shift of the nearest defined year."""
    def shift(x: date, k: int) -> date:
        return x.replace(year=x.year + k) if (x.month, x.day) != (2, 29) or (x.year + k) % 4 == 0 \
            else date(x.year + k, 2, 28)
    first, last = cal.years[0], cal.years[-1]
    candidates = [(y, 0) for y in cal.years] + [(last, k) for k in range(1, 40)] + \
        [(first, -k) for k in range(1, 40)]
    for year, k in candidates:
        if shift(year.start, k) <= d <= shift(year.end, k):
            return d.weekday() < 5 and d not in {shift(b, k) for b in year.blackout_dates} and \
                not any(shift(b.start, k) <= d <= shift(b.end, k) for b in year.breaks)
    return False


days = st.dates(min_value=date(2015, 1, 1), max_value=date(2045, 12, 31))
calendars = st.sampled_from([ONE_YEAR, LEAP, parse_plan(small_text()).calendar])


@given(calendars, days)
def test_is_school_day_matches_the_oracle(cal, d):
    assert is_school_day(cal, d) == _naive_is_school_day(cal, d)


@given(calendars, days)
def test_next_school_day_is_the_first_school_day_on_or_after(cal, d):
    found = next_school_day(cal, d)
    assert found >= d and is_school_day(cal, found)
    assert not any(is_school_day(cal, d + timedelta(days=i)) for i in range((found - d).days))


@settings(max_examples=200)
@given(calendars, days, st.integers(-300, 300), st.integers(-300, 300))
def test_add_school_days_is_monotonic_in_n(cal, d, n1, n2):
    low, high = sorted((n1, n2))
    assert add_school_days(cal, d, low) <= add_school_days(cal, d, high)
    if low < high and (low >= 1 or high <= -1):
        assert add_school_days(cal, d, low) < add_school_days(cal, d, high)
    assert is_school_day(cal, add_school_days(cal, d, n1))


@given(calendars, days, st.integers(1, 300))
def test_add_and_between_agree(cal, d, n):
    later = add_school_days(cal, d, n)
    assert school_days_between(cal, d, later) == n
    assert school_days_between(cal, d, later - timedelta(days=1)) == n - 1
    start = next_school_day(cal, d)
    assert add_school_days(cal, add_school_days(cal, start, n), -n) == start


def _day_by_day_school_days_before(cal, due, n):
    """The reminder date as first written (and as recorded histories computed it): step back a
    day at a time until more than n school days lie between the day before and `due`."""
    day = due
    for _ in range(366):
        earlier = day - timedelta(days=1)
        if school_days_between(cal, earlier, due) > n:
            return day
        day = earlier
    return day


@given(calendars, days, st.integers(0, 60))
def test_reminder_dates_equal_the_day_by_day_walk(cal, due, n):
    """Timers of running workflows depend on this date: the direct rule must not move it."""
    assert _school_days_before(cal, due, n) == _day_by_day_school_days_before(cal, due, n)
