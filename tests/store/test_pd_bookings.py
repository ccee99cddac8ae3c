"""PD bookings: concurrent sites never over-book a trainer day; a retry books nothing new."""

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from store.pd_bookings import book_sessions
from tests.store.scenario import unique

pytestmark = pytest.mark.postgres

FIRST_DAY = date(2026, 9, 7)  # a Monday


@dataclass(frozen=True)
class Session:
    session_id: str
    trainer_id: str
    date: date
    title: str = "Tier 1 launch"
    hours: float = 6.0
    capacity: int = 30


def earliest_free_weekday(key_prefix: str, trainer: str = "t1", per_day: int = 1, sessions: int = 1):
    """A `place` callback: each session on the earliest weekday the trainer still has room."""
    def place(booked: dict[tuple[str, date], int]) -> list[Session]:
        used, placed, day = dict(booked), [], FIRST_DAY
        for index in range(1, sessions + 1):
            while day.weekday() >= 5 or used.get((trainer, day), 0) >= per_day:
                day += timedelta(days=1)
            used[(trainer, day)] = used.get((trainer, day), 0) + 1
            placed.append(Session(f"{key_prefix}:pd:{index}", trainer, day))
        return placed
    return place


async def test_concurrent_sites_never_share_a_trainer_day(pool):
    initiative = unique("pbis")
    sites = [f"site-{n:02d}" for n in range(20)]
    booked = await asyncio.gather(*(
        book_sessions(pool, initiative, site, f"{initiative}:{site}:e2:pd",
                      earliest_free_weekday(f"{initiative}:{site}:e2:pd"))
        for site in sites))
    days = [b.date for bookings in booked for b in bookings]
    assert len(days) == 20 and len(set(days)) == 20
    assert all(day.weekday() < 5 for day in days)
    assert max(days) == date(2026, 10, 2), "20 weekdays from 7 September, no gaps"
    rows = await pool.fetch("SELECT site_id, day FROM pd_bookings WHERE initiative_id = $1",
                            initiative)
    assert sorted(r["site_id"] for r in rows) == sites


async def test_a_retry_returns_the_first_booking_without_placing_again(pool):
    initiative = unique("pbis")
    prefix = f"{initiative}:adams:e2:pd"
    first = await book_sessions(pool, initiative, "adams", prefix,
                                earliest_free_weekday(prefix, sessions=3, per_day=2))
    assert [(b.session_id, b.date) for b in first] == [
        (f"{prefix}:pd:1", FIRST_DAY), (f"{prefix}:pd:2", FIRST_DAY),
        (f"{prefix}:pd:3", FIRST_DAY + timedelta(days=1))]
    assert (first[0].initiative_id, first[0].site_id, first[0].hours) == (initiative, "adams", 6.0)

    def must_not_place(booked):
        raise AssertionError("a retry must not place sessions again")

    assert await book_sessions(pool, initiative, "adams", prefix, must_not_place) == first


async def test_other_initiatives_do_not_take_the_trainer_days(pool):
    first, second = unique("pbis"), unique("mtss")
    for initiative in (first, second):
        prefix = f"{initiative}:adams:e2:pd"
        (booking,) = await book_sessions(pool, initiative, "adams", prefix,
                                         earliest_free_weekday(prefix))
        assert booking.date == FIRST_DAY


async def test_session_ids_outside_the_key_prefix_are_refused(pool):
    initiative = unique("pbis")
    with pytest.raises(ValueError, match="must start with"):
        await book_sessions(pool, initiative, "adams", f"{initiative}:adams",
                            earliest_free_weekday("somewhere-else"))
    assert await pool.fetchval("SELECT count(*) FROM pd_bookings WHERE initiative_id = $1",
                               initiative) == 0
