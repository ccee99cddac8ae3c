"""PD scheduling: put a stage's sessions on real school days within trainers' capacity.

Placement is the domain's (`domain.pd_schedule`); booking is the store's, under a lock shared by
all sites of the initiative so two sites never take the same trainer's day. Session ids derive
from the site's stage entry, so a retried activity returns the sessions it booked the first time.
"""

from __future__ import annotations

from datetime import date

import asyncpg
from pydantic import BaseModel
from temporalio import activity

from activities.refusals import domain_refusal
from domain.calendar import SchoolCalendar
from domain.commands import PdSessionPlan
from domain.errors import DomainError
from domain.pd_schedule import schedule_sessions
from domain.plan import PdSession, Trainer
from store.pd_bookings import book_sessions


class PdScheduleInput(BaseModel):
    initiative_id: str
    site_id: str
    key_prefix: str
    sessions: list[PdSession]
    trainers: list[Trainer]
    calendar: SchoolCalendar
    earliest: date
    deadline: date | None = None


class PdScheduler:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn
    async def schedule_pd(self, request: PdScheduleInput) -> list[PdSessionPlan]:
        def place(booked: dict[tuple[str, date], int]):
            already = [slot for slot, n in booked.items() for _ in range(n)]
            return schedule_sessions(
                request.sessions, calendar=request.calendar, trainers=request.trainers,
                earliest=request.earliest, deadline=request.deadline, booked=already,
                key_prefix=request.key_prefix)

        try:
            bookings = await book_sessions(self._pool, request.initiative_id, request.site_id,
                                           f"{request.key_prefix}:pd:", place)
        except DomainError as refused:
            raise domain_refusal(refused) from None
        return [PdSessionPlan(session_id=b.session_id, title=b.title, on=b.date,
                              trainer_id=b.trainer_id, hours=b.hours, capacity=b.capacity)
                for b in sorted(bookings, key=lambda b: (b.date, b.session_id))]
