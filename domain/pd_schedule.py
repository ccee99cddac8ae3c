"""Placing a site's PD sessions on school days, within trainer capacity, before a deadline.

The scheduler is pure: the activity that calls it reads the trainers' existing bookings and
stores the result. Session ids derive from the caller's key prefix and the session's position, so
a retried activity computes the same ids and books nothing twice.

Rules: sessions are placed in the order given, each on the earliest school day on or after
`earliest` (and after the site's previous session: a site's practitioners attend one PD session a
day) on which some trainer still has a free slot; among the free trainers the one with the fewest
sessions in this placement gets it, ties going round-robin in the trainers' listed order.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Iterable, Sequence

from pydantic import BaseModel, ConfigDict

from domain.calendar import SchoolCalendar, add_school_days, next_school_day
from domain.errors import DomainError
from domain.plan import PdSession, Trainer


class ScheduledSession(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    session_id: str
    title: str
    hours: float
    capacity: int
    date: dt.date
    trainer_id: str


def session_id(key_prefix: str, index: int) -> str:
    """The id of the `index`-th (1-based) session placed under `key_prefix`."""
    return f"{key_prefix}:pd:{index}"


def schedule_sessions(
    sessions: Sequence[PdSession], *, calendar: SchoolCalendar, trainers: Sequence[Trainer],
    earliest: dt.date, deadline: dt.date | None = None,
    booked: Iterable[tuple[str, dt.date]] = (), key_prefix: str,
) -> list[ScheduledSession]:
    """Place every session or raise `DomainError`; `booked` holds one (trainer id, day) per
    session a trainer already teaches that day (elsewhere)."""
    if sessions and not trainers:
        raise DomainError(f"No trainers are available to run PD for {key_prefix}.",
                          field="trainers", value=[])
    used = Counter(booked)
    load = Counter[str]()
    placed: list[ScheduledSession] = []
    day, turn = next_school_day(calendar, earliest), 0
    for index, session in enumerate(sessions, start=1):
        while True:
            if deadline is not None and day > deadline:
                raise DomainError(
                    f"PD session {index} '{session.title}' for {key_prefix} cannot be placed on a "
                    f"school day from {earliest:%Y-%m-%d} to the deadline {deadline:%Y-%m-%d}: "
                    f"the {len(trainers)} trainer(s) are fully booked.",
                    field="deadline", value=deadline.isoformat())
            free = [(load[t.id], (i - turn) % len(trainers), i) for i, t in enumerate(trainers)
                    if used[(t.id, day)] < t.sessions_per_day]
            if free:
                break
            day = add_school_days(calendar, day, 1)
        chosen = min(free)[2]
        trainer, turn = trainers[chosen], (chosen + 1) % len(trainers)
        used[(trainer.id, day)] += 1
        load[trainer.id] += 1
        placed.append(ScheduledSession(
            session_id=session_id(key_prefix, index), title=session.title, hours=session.hours,
            capacity=session.capacity, date=day, trainer_id=trainer.id))
        day = add_school_days(calendar, day, 1)
    return placed
